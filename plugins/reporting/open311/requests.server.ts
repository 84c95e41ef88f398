// Open311 service requests over the reporting services: POST files a report through reportIssue
// (the same validation, history, notifications and audit as GraphQL and the portal) in two round
// trips, and the reads answer from one statement each — the request, its category, its latest
// public note and first photo — because GET requests may return a thousand of them and is what
// clients poll.
import { NotFound, ValidationFailed } from "../../../app/auth/errors";
import { joinSql, literalSql, prepared, readInTenant, type Database, type LiteralSql } from "../../../app/db/database.server";
import type { SqlRow } from "../../../app/db/sql.server";
import { isSupportedLocale } from "../../../app/i18n/locales";
import type { ResolvedCity } from "../../../app/tenancy/resolve.server";
import { CATEGORY_CODE, type Translated } from "../categories.server";
import { normaliseTrackingId, open311Status, photoPath, reportIssue, type ReportCategory, type RequestStatus } from "../requests.server";
import { readSettings, REPORTING_PLUGIN_ID, type ReportingSettings } from "../settings.server";
import { claimOfKey, clientOfKey, type ApiClientRow } from "./api-keys.server";
import { badRequest, forbidden, notFound } from "./errors.server";
import type { Element } from "./format.server";
import { parseW3Datetime, type Params } from "./params.server";
import { translate, type Language } from "./services.server";

const DAY_MS = 86_400_000;
/** The spec's ceiling: "90 days or first 1000 requests returned, whichever is smallest". */
export const MAX_REQUESTS = 1_000;
export const MAX_SPAN_DAYS = 90;
const OPEN_STATUSES: readonly RequestStatus[] = ["open", "acknowledged", "in_progress"];


// --- Writing ---------------------------------------------------------------------------------

const number = (params: Params, name: string): number | undefined => {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(value)) throw badRequest(`${name} must be a number (WGS84 degrees).`);
  return value;
};

/**
 * POST requests: files the report as the api_key's client; answers its service_request_id.
 * Two round trips, each its own unit of work in the city (RLS as everywhere): one reads what
 * the answer depends on (the city's installation, the key's client, the category), the other
 * writes the report (reportIssue, in one statement). Under READ COMMITTED a transaction around
 * both would see no more than this does: each statement reads what is committed when it starts.
 */
export async function createOpen311Request(options: {
  params: Params;
  city: ResolvedCity;
  language: Language;
  requestId: string;
  database?: Database;
  /** Counts the call against its client's limit, once the key holds and before the report is read. */
  admit: (clientId: string) => Promise<void>;
}): Promise<Element> {
  const { params, city, language } = options;
  const tenantId = city.id;
  const claim = await claimOfKey({ tenantId, apiKey: params.get("api_key"), database: options.database });
  const code = params.get("service_code");
  const wanted = code?.toLowerCase() ?? "";
  // A client or code that cannot exist is asked for as "": it matches nothing.
  const [installation = [], clients = [], categories = []] = await readInTenant(
    tenantId,
    [
      installationOf(tenantId),
      literalSql`SELECT id::text AS id, scopes, revoked_at AS "revokedAt" FROM api_clients WHERE tenant_id = ${tenantId}::uuid AND client_id = ${claim.ok ? claim.clientId : ""}`,
      literalSql`SELECT id::text AS id, code, names, attributes, archived_at AS "archivedAt" FROM reporting_categories WHERE tenant_id = ${tenantId}::uuid AND code = ${CATEGORY_CODE.test(wanted) ? wanted : ""}`,
    ],
    options.database,
  );
  // The order of the answers is the spec's: no service, then the key, then the report.
  const [found] = installation;
  if (!found) throw new NotFound("service");
  const settings = readSettings((found.settings ?? {}) as Record<string, unknown>);
  const check = claim.ok ? clientOfKey(tenantId, claim.clientId, (clients[0] as ApiClientRow | undefined) ?? null) : claim;
  if (!check.ok) {
    throw forbidden(
      check.reason === "missing"
        ? "api_key was not provided -- can't proceed with create_request."
        : "Invalid api_key received -- can't proceed with create_request.",
    );
  }
  await options.admit(check.principal.clientId);

  if (code === undefined) throw badRequest("service_code was not provided.");
  const unknownCode = () => notFound(`service_code ${code.slice(0, 64)} was not found.`);
  const category = (categories[0] as ReportCategory | undefined) ?? null;

  const latitude = number(params, "lat");
  const longitude = number(params, "long");
  const address = params.get("address_string");
  if ((latitude === undefined) !== (longitude === undefined)) throw badRequest("lat and long must be sent together.");
  if (latitude === undefined && address === undefined) {
    throw badRequest(
      params.get("address_id") !== undefined
        ? "address_id is not known to this jurisdiction (it has no address repository): send lat & long or address_string."
        : "A location was not provided: send lat & long, or address_string.",
    );
  }
  // Optional in Open311, required in Civitas: without one, the report says what kind it is.
  let description = params.get("description");
  if (description === undefined) {
    if (!category || category.archivedAt) throw unknownCode();
    const names = category.names && typeof category.names === "object" && !Array.isArray(category.names) ? (category.names as Translated) : {};
    description = translate(names, { locale: city.defaultLocale, cityDefault: city.defaultLocale }) ?? category.code;
  }
  try {
    const result = await reportIssue(
      check.principal,
      {
        categoryCode: code,
        description,
        latitude: latitude ?? null,
        longitude: longitude ?? null,
        address: address ?? null,
        attributes: params.attributes(),
        email: params.get("email") ?? null,
        firstName: params.get("first_name") ?? null,
        lastName: params.get("last_name") ?? null,
        phone: params.get("phone") ?? null,
        mediaUrl: params.get("media_url") ?? null,
        locale: isSupportedLocale(language.locale) ? language.locale : null,
        // A machine client cannot be asked "is it this one?": staff merge duplicates later.
        confirmNotDuplicate: true,
      },
      // Read above: the city's settings, the city itself and the category.
      { tenantId, database: options.database, requestId: options.requestId, source: "open311", settings, city, category, receipt: true },
    );
    if (result.kind !== "created") throw new Error("reportIssue answered duplicates despite confirmNotDuplicate.");
    return { service_request_id: result.trackingId, service_notice: null, account_id: null };
  } catch (error) {
    // The one category check is the service's: an unknown or archived code is Open311's 404.
    if (error instanceof ValidationFailed && error.fields.categoryCode) throw unknownCode();
    throw error;
  }
}

// --- Reading ---------------------------------------------------------------------------------
// Clients poll these: each read is ONE round trip (readInTenant: the city's read-only unit of
// work, RLS as everywhere), whose first statement is the city's installation of the plugin —
// none (not installed, or disabled) answers not found, exactly, with no cache to go stale.

/**
 * A request as the statement answers it: its datetimes already in the w3 format, and its
 * category's name in the client's language or the city's default, or when it has neither, all
 * its names (JSON text) for translate's last resort.
 */
type Row = {
  tracking_id: string;
  status: RequestStatus;
  description: string;
  latitude: number | null;
  longitude: number | null;
  address: string | null;
  media_url: string | null;
  created_at: string;
  updated_at: string;
  expected_at: string | null;
  code: string;
  service_name: string | null;
  names: string | null;
  status_notes: string | null;
  photo_id: string | null;
};

export type ReadContext = { tenantId: string; city: ResolvedCity; language: Language; origin: string; database?: Database };

const installationOf = (tenantId: string) =>
  prepared(literalSql`SELECT settings FROM plugin_installations WHERE tenant_id = ${tenantId}::uuid AND plugin_id = ${REPORTING_PLUGIN_ID} AND enabled`);

/** The city's settings and the statement's rows, in one round trip; NotFound("service") where the city does not run the plugin. */
async function readWithSettings(context: ReadContext, statement: LiteralSql): Promise<{ settings: ReportingSettings; rows: SqlRow[] }> {
  const [installation = [], rows = []] = await readInTenant(context.tenantId, [installationOf(context.tenantId), statement], context.database);
  const [found] = installation;
  if (!found) throw new NotFound("service");
  return { settings: readSettings((found.settings ?? {}) as Record<string, unknown>), rows };
}

/** The category's name in `locale` when it has one (a string, not empty: translate's test), else NULL. */
const categoryNameIn = (locale: string) =>
  literalSql`CASE WHEN jsonb_typeof(c.names -> ${locale}) = 'string' THEN NULLIF(c.names ->> ${locale}, '') END`;

function requestsStatement(context: ReadContext, conditions: readonly LiteralSql[], limit: number): LiteralSql {
  const where = joinSql([literalSql`r.tenant_id = ${context.tenantId}::uuid`, ...conditions], " AND ");
  const { locale, cityDefault } = context.language;
  const name = literalSql`COALESCE(${joinSql([...new Set([locale, cityDefault])].map(categoryNameIn), ", ")})`;
  // What the answer prints, as it prints it, written by PostgreSQL so that each row does not
  // carry more than that: the datetimes as w3Datetime writes them (UTC, whole seconds, truncated;
  // the same text for years 1 to 9999, and no other can be entered) rather than three Date
  // objects, and the category's name (translate's first two choices) rather than its names in
  // every language, which come only for the rare category named in neither. Prepared: planning
  // it cost PostgreSQL as much as running it; its plan (the city's requests by the index on
  // tenant, category and time, or by tracking id) does not depend on the values.
  return prepared(literalSql`
    SELECT r.tracking_id, r.status::text AS status, r.description, r.latitude, r.longitude, r.address, r.media_url,
           to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
           to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at,
           to_char(r.expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expected_at,
           c.code, ${name} AS service_name, CASE WHEN ${name} IS NULL THEN c.names::text END AS names,
           (SELECT e.body FROM reporting_events e
             WHERE e.tenant_id = r.tenant_id AND e.request_id = r.id AND e.public AND e.body IS NOT NULL
             ORDER BY e.created_at DESC, e.id DESC LIMIT 1) AS status_notes,
           (SELECT p.id::text FROM reporting_photos p
             WHERE p.tenant_id = r.tenant_id AND p.request_id = r.id
             ORDER BY p.created_at, p.id LIMIT 1) AS photo_id
      FROM reporting_requests r
      JOIN reporting_categories c ON c.tenant_id = r.tenant_id AND c.id = r.category_id
     WHERE ${where}
     ORDER BY r.created_at DESC, r.id DESC
     LIMIT ${limit}`);
}

/** Who answers for the city's requests (the same for every request of a list). */
function agencyOf(context: ReadContext, settings: ReportingSettings): string | null {
  return translate(settings.agencyName, context.language) ?? translate(context.city.names, context.language) ?? null;
}

/** The service_name of a row: PostgreSQL's pick, or translate's last resort among its names (the code if none). */
function serviceNameOf(row: Row, language: Language): string {
  if (row.service_name !== null) return row.service_name;
  return translate(row.names === null ? {} : (JSON.parse(row.names) as Translated), language) ?? row.code;
}

/** A request in the spec's element order (GET requests, GET requests/{id}). */
function requestElement(row: Row, context: ReadContext, agency: string | null): Element {
  return {
    service_request_id: row.tracking_id,
    status: open311Status(row.status),
    status_notes: row.status_notes,
    service_name: serviceNameOf(row, context.language),
    service_code: row.code,
    description: row.description,
    agency_responsible: agency,
    service_notice: null,
    requested_datetime: row.created_at,
    updated_datetime: row.updated_at,
    expected_datetime: row.expected_at,
    address: row.address,
    address_id: null,
    zipcode: null,
    lat: row.latitude,
    long: row.longitude,
    media_url: row.photo_id ? `${context.origin}${photoPath(row.photo_id)}` : row.media_url,
  };
}

function date(params: Params, name: string): Date | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const parsed = parseW3Datetime(text);
  if (!parsed) throw badRequest(`${name} must be a date and time in w3 format with its time zone, for example 2010-01-01T00:00:00Z.`);
  return parsed;
}

/** GET requests: by ids (which override every other argument), or by codes, statuses and dates. */
export async function listOpen311Requests(options: ReadContext & { params: Params }): Promise<Element[]> {
  const { params, tenantId } = options;
  const ids = params.list("service_request_id", { split: true });
  if (ids.length > 0) {
    if (ids.length > MAX_REQUESTS) throw badRequest(`service_request_id may list at most ${MAX_REQUESTS} ids.`);
    const trackingIds = [...new Set(ids.flatMap((id) => normaliseTrackingId(id) ?? []))];
    // Still asked with no id that can exist: the city must run the service all the same.
    const { settings, rows } = await readWithSettings(options, requestsStatement(options, [literalSql`r.tracking_id = ANY(${trackingIds})`], MAX_REQUESTS));
    const agency = agencyOf(options, settings);
    return (rows as Row[]).map((row) => requestElement(row, options, agency));
  }

  const conditions: LiteralSql[] = [];
  const codes = params.list("service_code", { split: true }).map((code) => code.toLowerCase());
  if (codes.length > 0) conditions.push(literalSql`c.code = ANY(${codes.filter((code) => CATEGORY_CODE.test(code))})`);
  const statuses = params.list("status", { split: true }).map((status) => status.toLowerCase());
  const wrong = statuses.filter((status) => status !== "open" && status !== "closed");
  if (wrong.length > 0) throw badRequest(`status must be open or closed (comma-delimited for both), not ${wrong.join(", ").slice(0, 100)}.`);
  if (statuses.length > 0 && new Set(statuses).size === 1) {
    const wanted = statuses[0] === "closed" ? ["closed"] : [...OPEN_STATUSES];
    conditions.push(literalSql`r.status::text = ANY(${wanted})`);
  }

  // The default window is the city's setting: read in the same statement, not before it.
  const start = date(params, "start_date");
  const end = date(params, "end_date");
  if (start && end && start > end) throw badRequest("start_date must not be after end_date.");
  const days = literalSql`make_interval(days => (SELECT COALESCE((i.settings->>'defaultListDays')::int, 90) FROM plugin_installations i WHERE i.tenant_id = ${tenantId}::uuid AND i.plugin_id = ${REPORTING_PLUGIN_ID}))`;
  if (start && end) conditions.push(literalSql`r.created_at >= ${start} AND r.created_at <= ${end}`);
  else if (start) conditions.push(literalSql`r.created_at >= ${start} AND r.created_at <= ${start} + ${days}`);
  else if (end) conditions.push(literalSql`r.created_at <= ${end} AND r.created_at >= ${end} - ${days}`);
  else conditions.push(literalSql`r.created_at >= now() - ${days}`);

  const { settings, rows } = await readWithSettings(options, requestsStatement(options, conditions, MAX_REQUESTS));
  const maxSpanMs = Math.max(MAX_SPAN_DAYS, settings.defaultListDays) * DAY_MS;
  if (start && end && end.getTime() - start.getTime() > maxSpanMs) {
    throw badRequest(`start_date and end_date may not span more than ${maxSpanMs / DAY_MS} days.`);
  }
  const agency = agencyOf(options, settings);
  return (rows as Row[]).map((row) => requestElement(row, options, agency));
}

/** GET requests/{service_request_id}: the request, or null when the city has none by that id. */
export async function getOpen311Request(options: ReadContext & { serviceRequestId: string }): Promise<Element | null> {
  const trackingId = normaliseTrackingId(options.serviceRequestId) ?? "";
  const { settings, rows } = await readWithSettings(options, requestsStatement(options, [literalSql`r.tracking_id = ${trackingId}`], 1));
  const [row] = rows as Row[];
  return row ? requestElement(row, options, agencyOf(options, settings)) : null;
}

/**
 * GET tokens/{token}. Civitas files requests at once, so POST answers the service_request_id and
 * never a token (the spec: one or the other). A client written for batch servers may still ask
 * with what it has: the service_request_id is accepted as the token and resolves to itself.
 */
export async function requestByToken(options: ReadContext & { token: string }): Promise<Element | null> {
  const trackingId = normaliseTrackingId(options.token) ?? "";
  const { rows } = await readWithSettings(
    options,
    literalSql`SELECT tracking_id FROM reporting_requests WHERE tenant_id = ${options.tenantId}::uuid AND tracking_id = ${trackingId}`,
  );
  const [row] = rows as { tracking_id: string }[];
  return row ? { service_request_id: row.tracking_id, token: options.token } : null;
}
