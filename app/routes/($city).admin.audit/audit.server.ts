// The city's audit log for its admins: newest first, a page at a time (forward cursor), filtered
// by action, actor (an email address of one of the city's people, or an actor id) and days, the
// days being the city's (its time zone), as are the times shown.
import type { AppLoadContext } from "@remix-run/node";
import { json } from "@remix-run/node";
import { listAuditEvents, type AuditEventFilter } from "~/audit/audit-log.server";
import { requireCityConsole } from "~/auth/console.server";
import { ValidationFailed } from "~/auth/errors";
import { withTenant } from "~/db/database.server";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const ERRORS = {
  date: "admin:audit.errors.date",
  range: "admin:audit.errors.range",
  actor: "admin:audit.errors.actor",
  cursor: "admin:audit.errors.cursor",
} as const;

export type AuditFilters = { action: string; actor: string; from: string; to: string };

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** How far `zone` is ahead of UTC at `instant`, in milliseconds. */
function offsetAt(instant: number, zone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(instant))
      .map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** Midnight starting `day` (YYYY-MM-DD) in `zone`, plus `days`; null for no such day. */
export function startOfDay(day: string, zone: string, days = 0): Date | null {
  const match = DAY.exec(day);
  if (!match) return null;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const utc = Date.UTC(year, month - 1, date + days);
  const check = new Date(Date.UTC(year, month - 1, date));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null;
  // Twice: the offset at the guess may differ from the offset at the answer (a DST change that day).
  let instant = utc - offsetAt(utc, zone);
  instant = utc - offsetAt(instant, zone);
  return new Date(instant);
}

async function actorIdFor(tenantId: string, actor: string): Promise<string | null> {
  if (!actor.includes("@")) return actor;
  const user = await withTenant(tenantId, (tx) => tx.user.findFirst({ where: { tenantId, email: { equals: actor, mode: "insensitive" } }, select: { id: true } }));
  return user?.id ?? null;
}

export async function auditPage(args: Args) {
  const { principal, tenantId, basePath } = await requireCityConsole(args, "audit.read");
  const { request, context } = args;
  const url = new URL(request.url);
  const filters: AuditFilters = {
    action: (url.searchParams.get("action") ?? "").trim(),
    actor: (url.searchParams.get("actor") ?? "").trim(),
    from: (url.searchParams.get("from") ?? "").trim(),
    to: (url.searchParams.get("to") ?? "").trim(),
  };
  const after = url.searchParams.get("after");
  const locale = await pageLocale(request, context);
  const timeZone = context.tenant.kind === "city" ? context.tenant.city.timeZone : "UTC";
  const errors: Record<string, string> = {};

  const since = filters.from ? startOfDay(filters.from, timeZone) : null;
  const until = filters.to ? startOfDay(filters.to, timeZone, 1) : null;
  if (filters.from && !since) errors["filter-from"] = ERRORS.date;
  if (filters.to && !until) errors["filter-to"] = ERRORS.date;
  if (since && until && until <= since) errors["filter-to"] = ERRORS.range;
  const actorId = filters.actor ? await actorIdFor(tenantId, filters.actor) : null;
  if (filters.actor && !actorId) errors["filter-actor"] = ERRORS.actor;

  const filter: AuditEventFilter = {
    first: 25,
    after: after || null,
    action: filters.action.slice(0, 100) || null,
    actorId: actorId ? actorId.slice(0, 200) : null,
    since,
    until,
  };
  let page: Awaited<ReturnType<typeof listAuditEvents>> = { events: [], hasNextPage: false, startCursor: null, endCursor: null };
  if (Object.keys(errors).length === 0) {
    try {
      page = await listAuditEvents(principal, filter, { tenantId });
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      // A cursor from no page of this list (edited by hand): start again from the first page.
      errors["filter-action"] = error.fields.after ? ERRORS.cursor : ERRORS.date;
    }
  }

  // People are shown by name or address, other actors by kind (and a client by its id).
  const userIds = [...new Set(page.events.filter((event) => event.actorType === "user" && event.actorId).map((event) => event.actorId as string))];
  const people = userIds.length
    ? await withTenant(tenantId, (tx) => tx.user.findMany({ where: { tenantId, id: { in: userIds } }, select: { id: true, displayName: true, email: true } }))
    : [];
  const names = new Map(people.map((person) => [person.id, person.displayName ?? person.email ?? person.id]));

  const next = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== ""));
  if (page.endCursor) next.set("after", page.endCursor);
  return json(
    {
      title: `${translator(locale, "admin")("audit.title")} – ${siteName(context, locale).text}`,
      basePath,
      locale,
      timeZone,
      filters,
      errors,
      firstHref: after ? `${basePath}/admin/audit?${new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== "")).toString()}` : null,
      nextHref: page.hasNextPage ? `${basePath}/admin/audit?${next.toString()}` : null,
      events: page.events.map((event) => ({
        id: event.id,
        occurredAt: event.occurredAt.toISOString(),
        action: event.action,
        actorType: event.actorType,
        actor: event.actorType === "user" && event.actorId ? (names.get(event.actorId) ?? event.actorId) : event.actorId,
        subject: [event.subjectType, event.subjectId].filter(Boolean).join(" "),
      })),
    },
    { status: Object.keys(errors).length > 0 ? 400 : 200, headers: { "Cache-Control": "no-store" } },
  );
}
