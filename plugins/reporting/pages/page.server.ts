// What every page of the reporting service starts with: the city must run the plugin
// (requirePluginPage, else 404), then who asks, in which language, with the city's settings.
// Staff pages add the triage or configure permission: nobody signed in is sent to sign in and
// back, someone without the permission gets 403.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { principalOf } from "../../../app/auth/account.server";
import { Forbidden, Unauthenticated } from "../../../app/auth/errors";
import { requireCityPermission, type CityPrincipal, type Principal } from "../../../app/auth/permissions";
import type { Locale } from "../../../app/i18n/locales";
import { pickTranslation, type TranslatedText } from "../../../app/i18n/translated";
import { requirePluginPage, type PluginPage } from "../../../app/plugins/pages.server";
import { pageLocale, siteName } from "../../../app/site.server";
import { withTenant } from "../../../app/db/database.server";
import { notFound } from "../../../app/tenancy/guard.server";
import { reportingTranslator } from "../notifications.server";
import { normaliseTrackingId } from "../requests.server";
import type { RequestEvent } from "../triage.server";
import type { LocalText } from "./components/format";
import type { HistoryEvent } from "./components/history";
import { readSettings, REPORTING_PLUGIN_ID, type ReportingSettings } from "../settings.server";

export const NO_STORE = { "Cache-Control": "no-store" } as const;

type RouteArgs = Pick<LoaderFunctionArgs | ActionFunctionArgs, "request" | "context" | "params">;

export type ReportingPage = PluginPage & {
  principal: Principal;
  locale: Locale;
  settings: ReportingSettings;
  /** The city's name in the page's language. */
  cityName: string;
  /** For the services' context: the request's city and id. */
  service: { tenantId: string; requestId: string };
};

export async function reportingPage({ request, context, params }: RouteArgs): Promise<ReportingPage> {
  const page = await requirePluginPage({ context, params }, REPORTING_PLUGIN_ID);
  const [principal, locale] = await Promise.all([principalOf(request, context), pageLocale(request, context)]);
  return {
    ...page,
    principal,
    locale,
    settings: readSettings(page.installation.settings),
    cityName: siteName(context, locale).text,
    service: { tenantId: page.tenantId, requestId: context.requestId },
  };
}

/** Where sign-in sends back to: this very page (path and query). */
export function signInPath(basePath: string, request: Request): string {
  const url = new URL(request.url);
  return `${basePath}/auth/login?returnTo=${encodeURIComponent(url.pathname + url.search)}`;
}

export function forbidden(): Response {
  return new Response(null, { status: 403, statusText: "Forbidden", headers: NO_STORE });
}

/**
 * A staff page: the city's person (or client) holding `permission`. Nobody signed in is sent
 * to sign in (and back); anyone else without it gets 403.
 */
export async function staffPage(
  args: RouteArgs,
  permission: "reporting.triage" | "reporting.configure" | "api_clients.manage",
): Promise<ReportingPage & { staff: CityPrincipal }> {
  const page = await reportingPage(args);
  try {
    return { ...page, staff: requireCityPermission(page.principal, page.tenantId, permission) };
  } catch (error) {
    if (error instanceof Unauthenticated) throw redirect(signInPath(page.basePath, args.request), { headers: NO_STORE });
    if (error instanceof Forbidden) throw forbidden();
    throw error;
  }
}

/** The tracking id of the address in its stored form ("k7m2q9xh" → "K7M2-Q9XH"); 404 if it cannot be one. */
export function trackingIdParam(params: RouteArgs["params"]): string {
  const trackingId = normaliseTrackingId(params.trackingId ?? "");
  if (!trackingId) throw notFound();
  return trackingId;
}

/** What the browser needs to show dates and the city's texts: language, zone, fallback. */
export function displayOf(page: ReportingPage) {
  return { locale: page.locale, timeZone: page.city.timeZone, cityDefault: page.city.defaultLocale };
}

/** "{page} – {city}", in the page's language. */
export function pageTitle(page: ReportingPage, key: string, options: Record<string, string> = {}): string {
  const t = reportingTranslator(page.locale);
  return `${t(key, options)} – ${page.cityName}`;
}

/** A form field as text ("" when absent or a file). */
export function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/** A city-written text for the browser: the text, and its language when not the page's. */
export function localText(page: Pick<ReportingPage, "locale" | "city">, text: Record<string, string | undefined>): LocalText {
  const picked = pickTranslation(text as TranslatedText, page.locale, page.city.defaultLocale);
  if (!picked) return { text: "" };
  return picked.locale === page.locale ? { text: picked.text } : { text: picked.text, lang: picked.locale };
}

/**
 * A request's history as the pages show it. Merges name the other request (looked up by id);
 * staff pages also say who did what and to whom it was assigned (`names` by user id).
 */
export async function historyOf(
  page: ReportingPage,
  events: readonly RequestEvent[],
  options: { staff: boolean; names?: ReadonlyMap<string, string> },
): Promise<HistoryEvent[]> {
  const relatedIds = [...new Set(events.flatMap((event) => (event.relatedRequestId ? [event.relatedRequestId] : [])))];
  const related = relatedIds.length
    ? await withTenant(page.tenantId, (tx) =>
        tx.reportingRequest.findMany({ where: { tenantId: page.tenantId, id: { in: relatedIds } }, select: { id: true, trackingId: true, mergedIntoId: true } }),
      )
    : [];
  // Staff see who did what: people named as they chose (staff who left included), else by email.
  const names = new Map(options.names ?? []);
  const unnamed = options.staff ? [...new Set(events.flatMap((event) => (event.actorType === "user" && event.actorId && !names.has(event.actorId) ? [event.actorId] : [])))] : [];
  if (unnamed.length > 0) {
    const people = await withTenant(page.tenantId, (tx) =>
      tx.user.findMany({ where: { tenantId: page.tenantId, id: { in: unnamed } }, select: { id: true, displayName: true, email: true } }),
    );
    for (const person of people) if (person.displayName ?? person.email) names.set(person.id, (person.displayName ?? person.email)!);
  }
  const t = reportingTranslator(page.locale);
  const nameOf = (userId: string | null | undefined) => (userId ? (names.get(userId) ?? t("reporting:staff.history.someone")) : null);
  return events.map((event) => {
    const other = related.find((row) => row.id === event.relatedRequestId);
    const base: HistoryEvent = {
      id: event.id,
      kind: event.kind,
      public: event.public,
      toStatus: event.toStatus,
      reason: event.reason,
      body: event.body,
      at: event.createdAt.toISOString(),
      related: other
        ? {
            trackingId: other.trackingId,
            href: `${page.servicePath}${options.staff ? "/staff" : ""}/requests/${other.trackingId}`,
            // The duplicate is the one merged into the other.
            duplicate: other.mergedIntoId !== event.requestId,
          }
        : null,
    };
    if (!options.staff) return base;
    const actor =
      event.actorType === "user" ? (event.actorId && names.get(event.actorId)) || t("reporting:staff.history.resident") : event.actorType === "client" ? t("reporting:staff.history.apiClient") : event.actorType === "system" ? t("reporting:staff.history.resident") : t("reporting:staff.history.someone");
    return { ...base, actor, assignee: event.kind === "assigned" ? nameOf(event.assigneeUserId) : null };
  });
}
