// The staff's list of reports (reporting.triage), newest first, without a map: filters by
// status, category, assignee, words, an area around a point and the dates of the report (days
// in the city's time zone); pages follow each other by cursor, filters kept in the address.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { ValidationFailed } from "../../../app/auth/errors";
import { can } from "../../../app/auth/permissions";
import { listServiceCategories } from "../categories.server";
import { listServiceRequests, REQUEST_STATUSES, type RequestStatus, type ServiceRequestFilters } from "../requests.server";
import { assignableStaff } from "../triage.server";
import type { FieldError } from "./index.server";
import { displayOf, localText, NO_STORE, pageTitle, staffPage, type ReportingPage } from "./page.server";

export const PAGE_SIZE = 25;
const RADIUS_MAX = 50_000;

/** The filters as typed in the address (strings, "" when absent). */
export type StaffFilters = {
  status: string;
  category: string;
  assignee: string;
  q: string;
  from: string;
  to: string;
  lat: string;
  long: string;
  radius: string;
};

const FILTER_NAMES = ["status", "category", "assignee", "q", "from", "to", "lat", "long", "radius"] as const;

/** Offset of a time zone from UTC at an instant, in minutes ("Europe/Paris" in July: 120). */
function zoneOffsetMinutes(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(at);
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const asUtc = Date.UTC(value("year"), value("month") - 1, value("day"), value("hour"), value("minute"), value("second"));
  return Math.round((asUtc - at.getTime()) / 60_000);
}

/** The instant a day starts in the city ("2026-03-29" in Europe/Paris), or null if not a date. */
export function startOfDay(day: string, timeZone: string, plusDays = 0): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim());
  if (!match) return null;
  const midnightUtc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays);
  if (Number.isNaN(midnightUtc)) return null;
  // Twice: the offset at the guess may differ from the offset at the answer around a change.
  let guess = midnightUtc - zoneOffsetMinutes(timeZone, new Date(midnightUtc)) * 60_000;
  guess = midnightUtc - zoneOffsetMinutes(timeZone, new Date(guess)) * 60_000;
  return new Date(guess);
}

function numberOf(typed: string): number | null {
  const value = Number(typed.trim().replace(",", "."));
  return typed.trim() === "" || !Number.isFinite(value) ? null : value;
}

/** The service's filters from the typed ones; problems per field (translation keys). */
export function filtersOf(page: ReportingPage, typed: StaffFilters, userId: string | null): { filters: ServiceRequestFilters; errors: Record<string, FieldError> } {
  const errors: Record<string, FieldError> = {};
  const filters: ServiceRequestFilters = {};
  if (typed.status) {
    if ((REQUEST_STATUSES as readonly string[]).includes(typed.status)) filters.statuses = [typed.status as RequestStatus];
    else if (typed.status === "active") filters.statuses = REQUEST_STATUSES.filter((status) => status !== "closed");
    else errors.status = { key: "reporting:staff.errors.status" };
  }
  if (typed.category) filters.categoryCodes = [typed.category];
  if (typed.assignee) filters.assigneeUserId = typed.assignee === "me" ? userId : typed.assignee;
  if (typed.q.trim()) filters.search = typed.q.trim().slice(0, 200);
  if (typed.from) {
    const from = startOfDay(typed.from, page.city.timeZone);
    if (from) filters.createdAfter = from;
    else errors.from = { key: "reporting:staff.errors.date" };
  }
  if (typed.to) {
    // "To" includes that whole day.
    const to = startOfDay(typed.to, page.city.timeZone, 1);
    if (to) filters.createdBefore = new Date(to.getTime() - 1);
    else errors.to = { key: "reporting:staff.errors.date" };
  }
  if (typed.lat || typed.long || typed.radius) {
    const latitude = numberOf(typed.lat);
    const longitude = numberOf(typed.long);
    const radius = numberOf(typed.radius || "500");
    if (latitude === null || latitude < -90 || latitude > 90) errors.lat = { key: "reporting:form.errors.latitude" };
    if (longitude === null || longitude < -180 || longitude > 180) errors.long = { key: "reporting:form.errors.longitude" };
    if (radius === null || radius <= 0 || radius > RADIUS_MAX) errors.radius = { key: "reporting:staff.errors.radius", values: { max: RADIUS_MAX } };
    if (latitude !== null && longitude !== null && radius !== null && !errors.lat && !errors.long && !errors.radius) {
      // The box around the circle; the service filters by box.
      const dLat = radius / 111_320;
      const dLong = Math.min(180, radius / (111_320 * Math.max(Math.cos((latitude * Math.PI) / 180), 1e-6)));
      const wrap = (value: number) => (value > 180 ? value - 360 : value < -180 ? value + 360 : value);
      filters.area = { south: Math.max(-90, latitude - dLat), north: Math.min(90, latitude + dLat), west: wrap(longitude - dLong), east: wrap(longitude + dLong) };
    }
  }
  return { filters, errors };
}

export async function staffListPage(args: LoaderFunctionArgs) {
  const page = await staffPage(args, "reporting.triage");
  const url = new URL(args.request.url);
  const typed = Object.fromEntries(FILTER_NAMES.map((name) => [name, url.searchParams.get(name) ?? ""])) as StaffFilters;
  const after = url.searchParams.get("after");
  const userId = page.staff.kind === "user" ? page.staff.userId : null;
  const { filters, errors } = filtersOf(page, typed, userId);
  const [categories, staff] = await Promise.all([listServiceCategories(page.principal, { includeArchived: can(page.principal, "reporting.configure") }, page.service), assignableStaff(page.principal, page.service)]);
  let result = { requests: [] as Awaited<ReturnType<typeof listServiceRequests>>["requests"], hasNextPage: false, endCursor: null as string | null };
  if (Object.keys(errors).length === 0) {
    try {
      result = await listServiceRequests(page.principal, { ...filters, first: PAGE_SIZE, after: after || null }, page.service);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      // A cursor or a filter value made up by hand: say so instead of failing.
      errors[Object.keys(error.fields)[0] === "after" ? "after" : "filters"] = { key: "reporting:staff.errors.filters" };
    }
  }
  const names = new Map(staff.map((member) => [member.userId, member.displayName ?? member.email ?? member.userId]));
  const query = new URLSearchParams(Object.entries(typed).filter(([, value]) => value !== ""));
  return json(
    {
      title: pageTitle(page, "reporting:staff.list.title"),
      display: displayOf(page),
      servicePath: page.servicePath,
      canConfigure: can(page.principal, "reporting.configure"),
      filters: typed,
      errors,
      filtered: query.size > 0,
      categories: categories.map((category) => ({ code: category.code, name: localText(page, category.names) })),
      staff: staff.map((member) => ({ userId: member.userId, name: names.get(member.userId)! })),
      signedInStaff: userId !== null,
      requests: result.requests.map((request) => ({
        trackingId: request.trackingId,
        category: localText(page, request.category.names),
        status: request.status,
        description: request.description.length > 140 ? `${request.description.slice(0, 140)}…` : request.description,
        address: request.address,
        latitude: request.latitude,
        longitude: request.longitude,
        createdAt: request.createdAt.toISOString(),
        assignee: request.assigneeUserId ? (names.get(request.assigneeUserId) ?? null) : null,
      })),
      nextHref: result.hasNextPage && result.endCursor ? `?${new URLSearchParams([...query, ["after", result.endCursor]])}` : null,
      firstHref: after ? `?${query}` : null,
    },
    { headers: NO_STORE },
  );
}
