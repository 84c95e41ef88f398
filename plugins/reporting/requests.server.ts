// Service requests (reports of issues): filed by residents through the portal, GraphQL or
// Open311, all the same objects. A report gets a short public tracking id; one made near an
// open report of the same category is offered to follow that one instead; staff merge
// duplicates, and whoever followed the duplicate follows the request it was merged into.
import { randomInt, randomUUID } from "node:crypto";
import { z } from "zod";
import { emailSchema } from "../../app/auth/users.server";
import { recordAudit, type AuditActor } from "../../app/audit/audit.server";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed, parseInput } from "../../app/auth/errors";
import { can, requireCityPermission, type Principal } from "../../app/auth/permissions";
import { auditActor, type ServiceContext } from "../../app/auth/principal.server";
import { joinSql, literalSql, UUID_PATTERN, withTenant, writeInTenant, type Database, type Tx } from "../../app/db/database.server";
import type { Prisma, ReportingRequest } from "../../app/db/generated/client.ts";
import { readTimeCursor, timeCursor, pageOf, DEFAULT_PAGE_SIZE, pageSize, cursorArgument } from "../../app/db/pages.server";
import { SUPPORTED_LOCALES } from "../../app/i18n/locales";
import { pickTranslation } from "../../app/i18n/translated";
import { checkAttributeValues, storedAttributes, type AttributeValues, type Translated } from "./attributes";
import { categoryCodeSchema, findCategory, readerCity } from "./categories.server";
import { outboxMessages, queueNotifications } from "./notifications.server";
import { preparePhotos, type PreparedPhoto } from "./photos.server";
import { reportingSettings, type ReportingSettings } from "./settings.server";

export const REQUEST_STATUSES = ["open", "acknowledged", "in_progress", "closed"] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type RequestSource = "graphql" | "portal" | "open311";

/** The entry point files a report through (the source recorded with it). */
export type ReportingContext = ServiceContext & {
  source?: RequestSource;
  /** Already read by the caller in this unit of work (Open311 has both): not read again. */
  settings?: ReportingSettings;
  city?: { slug: string; names: Record<string, string>; defaultLocale: string };
  /** Read by the caller (Open311, with the api_key's client); null: the city has no such category. */
  category?: ReportCategory | null;
  /** Answer the new request's id and tracking id only, without reading it back (Open311). */
  receipt?: boolean;
};

/** A request with what every view of it needs: its category, photos, latest public note, merge target. */
export type ServiceRequestDetail = ReportingRequest & {
  category: { id: string; code: string; names: Translated };
  photoIds: string[];
  /** The latest public update or status note (Open311 status_notes). */
  statusNotes: string | null;
  mergedIntoTrackingId: string | null;
};

/** An open request close to a new report, offered to follow instead. */
export type DuplicateCandidate = {
  id: string;
  trackingId: string;
  status: RequestStatus;
  description: string;
  latitude: number;
  longitude: number;
  address: string | null;
  createdAt: Date;
  distanceMeters: number;
};

export type ReportIssueInput = {
  /** Open311 service_code; or `categoryId`. */
  categoryCode?: string | null;
  categoryId?: string | null;
  description: string;
  latitude?: number | null;
  longitude?: number | null;
  address?: string | null;
  /** Values by attribute code (lists as arrays). */
  attributes?: Record<string, unknown> | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
  /** Open311 media_url: kept as given, never fetched. */
  mediaUrl?: string | null;
  photos?: readonly Uint8Array[] | null;
  /** The reporter's language (their notifications use it); default: the city's default. */
  locale?: string | null;
  /** True: file it even when open requests nearby look the same. */
  confirmNotDuplicate?: boolean | null;
};

export type ReportIssueResult =
  | { kind: "created"; id: string; trackingId: string; request: ServiceRequestDetail | null }
  | { kind: "duplicates"; candidates: DuplicateCandidate[] };

export type ServiceRequestFilters = {
  statuses?: readonly RequestStatus[] | null;
  categoryCodes?: readonly string[] | null;
  /** A box: south-west and north-east corners. */
  area?: { south: number; west: number; north: number; east: number } | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** Staff only (reporting.triage); "none" for unassigned. */
  assigneeUserId?: string | null;
  trackingIds?: readonly string[] | null;
  /** Words of the description or address. Staff only. */
  search?: string | null;
  first?: number | null;
  after?: string | null;
};

export type ServiceRequestPage = {
  requests: ServiceRequestDetail[];
  hasNextPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

/**
 * A request as Open311 GeoReport v2 shows it (the Open311 adapter serialises it). Open311 knows
 * only open and closed: acknowledged and in progress are open. Never any contact of the reporter.
 */
export type ServiceRequestView = {
  serviceRequestId: string;
  status: "open" | "closed";
  statusNotes: string | null;
  serviceName: string;
  serviceCode: string;
  description: string;
  agencyResponsible: string | null;
  serviceNotice: string | null;
  requestedDatetime: Date;
  updatedDatetime: Date;
  expectedDatetime: Date | null;
  address: string | null;
  addressId: string | null;
  zipcode: string | null;
  lat: number | null;
  long: number | null;
  mediaUrl: string | null;
};

// --- Tracking ids --------------------------------------------------------------------------

// Crockford's base32: no I, L, O, U, so ids read aloud and typed by hand survive.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const TRACKING_ID = /^[0-9A-Z]{4}-[0-9A-Z]{4}$/;

export function newTrackingId(): string {
  let id = "";
  for (let i = 0; i < 8; i += 1) id += ALPHABET[randomInt(ALPHABET.length)];
  return `${id.slice(0, 4)}-${id.slice(4)}`;
}

/** A tracking id as people type it ("k7m2 q9xh", "K7M2Q9XH", O for 0) in its stored form, or null. */
export function normaliseTrackingId(text: string): string | null {
  const compact = text
    .toUpperCase()
    .replace(/[\s-]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  if (!/^[0-9A-Z]{8}$/.test(compact) || /[U]/.test(compact)) return null;
  return `${compact.slice(0, 4)}-${compact.slice(4)}`;
}

/** The request's page on the portal, under the city's path (pages/requests.$trackingId). */
/**
 * A resident's own requests, newest first: those they reported signed in, and those they follow.
 * For "my account"; `limit` of the latest, and whether there are more.
 */
export async function myServiceRequests(
  options: { tenantId: string; userId: string; limit: number; database?: Database },
): Promise<{ requests: { trackingId: string; status: RequestStatus; createdAt: Date; categoryNames: Translated; reported: boolean }[]; more: boolean }> {
  const { tenantId, userId, limit } = options;
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.reportingRequest.findMany({
        where: { tenantId, OR: [{ reporterUserId: userId }, { followers: { some: { userId } } }] },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit + 1,
        select: { trackingId: true, status: true, createdAt: true, reporterUserId: true, category: { select: { names: true } } },
      }),
    options.database,
  );
  return {
    requests: rows.slice(0, limit).map((row) => ({
      trackingId: row.trackingId,
      status: row.status,
      createdAt: row.createdAt,
      categoryNames: (row.category.names ?? {}) as Translated,
      reported: row.reporterUserId === userId,
    })),
    more: rows.length > limit,
  };
}

export const trackingPath = (trackingId: string): string => `/services/reporting/requests/${encodeURIComponent(trackingId)}`;

/** Where a photo's bytes are served (pages/photos.$photoId). */
export const photoPath = (photoId: string): string => `/services/reporting/photos/${encodeURIComponent(photoId)}`;

// --- Who reports --------------------------------------------------------------------------

export type Reporter = { tenantId: string; actor: AuditActor; userId: string | null; principal: Principal };

/**
 * The city and actor of someone filing or following a report: a person or client of the
 * request's city holding reporting.report, or anyone when the city takes anonymous reports.
 */
export function reporterOf(principal: Principal, context: ServiceContext, settings: ReportingSettings | null): Reporter {
  if (principal.kind === "anonymous") {
    if (!context.tenantId) throw new NotFound("service");
    if (settings && !settings.anonymousReports) throw new Unauthenticated("Sign in to report an issue in this city.");
    return { tenantId: context.tenantId, actor: { type: "system", id: "anonymous" }, userId: null, principal };
  }
  const actor = requireCityPermission(principal, context.tenantId, "reporting.report");
  return { tenantId: actor.tenantId, actor: auditActor(actor), userId: actor.kind === "user" ? actor.userId : null, principal };
}

/** The city a report or follow is for, before the principal is checked against it. */
function cityHint(principal: Principal, context: ServiceContext): string {
  const tenantId = principal.kind === "user" || principal.kind === "client" ? principal.tenantId : context.tenantId;
  if (principal.kind === "operator") throw new Forbidden("reporting.report");
  if (!tenantId) throw new NotFound("service");
  return tenantId;
}

/** Whether the principal triages the city's requests (sees contacts, internal notes). */
export function isStaff(principal: Principal, tenantId: string): boolean {
  return (principal.kind === "user" || principal.kind === "client") && principal.tenantId === tenantId && can(principal, "reporting.triage");
}

// --- Input --------------------------------------------------------------------------------

const optionalText = (max: number) =>
  z
    .string({ error: "must be text" })
    .trim()
    .max(max, { error: `must be at most ${max} characters` })
    .nullish()
    .transform((value) => (value ? value : null));


const reportSchema = z
  .strictObject({
    categoryCode: categoryCodeSchema.nullish(),
    categoryId: z.string({ error: "must be a category id" }).nullish(),
    description: z
      .string({ error: "must be text" })
      .trim()
      .min(1, { error: "describe the issue" })
      .max(4000, { error: "must be at most 4000 characters" }),
    latitude: z.number({ error: "must be a number" }).min(-90, { error: "must be between -90 and 90" }).max(90, { error: "must be between -90 and 90" }).nullish(),
    longitude: z.number({ error: "must be a number" }).min(-180, { error: "must be between -180 and 180" }).max(180, { error: "must be between -180 and 180" }).nullish(),
    address: optionalText(500),
    attributes: z.record(z.string(), z.unknown(), { error: "must be values by attribute code" }).nullish(),
    email: emailSchema.nullish(),
    firstName: optionalText(100),
    lastName: optionalText(100),
    phone: z
      .string({ error: "must be a phone number" })
      .trim()
      .max(40, { error: "must be at most 40 characters" })
      .regex(/^[+0-9 ().-]*$/, { error: "must be a phone number" })
      .nullish()
      .transform((value) => (value ? value : null)),
    mediaUrl: z
      .string({ error: "must be an address" })
      .trim()
      .max(2000, { error: "must be at most 2000 characters" })
      .regex(/^https?:\/\/\S+$/, { error: "must be an http(s) address" })
      .nullish(),
    photos: z.array(z.instanceof(Uint8Array, { error: "must be image bytes" }), { error: "must be a list of images" }).nullish(),
    locale: z.enum(SUPPORTED_LOCALES, { error: "is not a supported language" }).nullish(),
    confirmNotDuplicate: z.boolean({ error: "must be true or false" }).nullish(),
  })
  .superRefine((input, ctx) => {
    if (!input.categoryCode && !input.categoryId) ctx.addIssue({ code: "custom", path: ["categoryCode"], message: "choose a category" });
    const hasLat = input.latitude !== null && input.latitude !== undefined;
    const hasLong = input.longitude !== null && input.longitude !== undefined;
    if (hasLat !== hasLong) ctx.addIssue({ code: "custom", path: [hasLat ? "longitude" : "latitude"], message: "give both latitude and longitude" });
    if (!hasLat && !hasLong && !input.address) ctx.addIssue({ code: "custom", path: ["address"], message: "give a place: a point on the map or an address" });
  });

// --- Reading ------------------------------------------------------------------------------

const DETAIL_INCLUDE = {
  category: { select: { id: true, code: true, names: true } },
  photos: { select: { id: true }, orderBy: { createdAt: "asc" } },
  events: {
    where: { public: true, body: { not: null } },
    select: { body: true },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 1,
  },
  mergedInto: { select: { trackingId: true } },
} satisfies Prisma.ReportingRequestInclude;

type DetailRow = Prisma.ReportingRequestGetPayload<{ include: typeof DETAIL_INCLUDE }>;

function toDetail(row: DetailRow): ServiceRequestDetail {
  const { category, photos, events, mergedInto, ...request } = row;
  return {
    ...request,
    category: { id: category.id, code: category.code, names: (category.names ?? {}) as Translated },
    photoIds: photos.map((photo) => photo.id),
    statusNotes: events[0]?.body ?? null,
    mergedIntoTrackingId: mergedInto?.trackingId ?? null,
  };
}

/** A request of the city by tracking id (inside a unit of work), with its details; null if none. */
export async function findRequest(tx: Tx, tenantId: string, trackingId: string): Promise<ServiceRequestDetail | null> {
  const normalised = normaliseTrackingId(trackingId);
  if (!normalised) return null;
  const row = await tx.reportingRequest.findFirst({ where: { tenantId, trackingId: normalised }, include: DETAIL_INCLUDE });
  return row ? toDetail(row) : null;
}

/** One request by its tracking id. Anyone may follow a report's progress with it. */
export async function getServiceRequest(principal: Principal, input: { trackingId: string }, context: ServiceContext = {}): Promise<ServiceRequestDetail> {
  const tenantId = readerCity(principal, context);
  await reportingSettings(tenantId, context.database);
  const request = await withTenant(tenantId, (tx) => findRequest(tx, tenantId, String(input.trackingId ?? "")), context.database);
  if (!request) throw new NotFound("service request");
  return request;
}

const AREA = z
  .strictObject({
    south: z.number({ error: "must be a latitude" }).min(-90).max(90),
    west: z.number({ error: "must be a longitude" }).min(-180).max(180),
    north: z.number({ error: "must be a latitude" }).min(-90).max(90),
    east: z.number({ error: "must be a longitude" }).min(-180).max(180),
  })
  .refine((box) => box.south <= box.north, { error: "south must not be north of north" });

const listSchema = z.strictObject({
  statuses: z.array(z.enum(REQUEST_STATUSES, { error: `must be among ${REQUEST_STATUSES.join(", ")}` })).max(4).nullish(),
  categoryCodes: z.array(categoryCodeSchema).max(100, { error: "must list at most 100 categories" }).nullish(),
  area: AREA.nullish(),
  createdAfter: z.date({ error: "must be a date" }).nullish(),
  createdBefore: z.date({ error: "must be a date" }).nullish(),
  assigneeUserId: z
    .string({ error: "must be a person's id" })
    .refine((value) => value === "none" || UUID_PATTERN.test(value), { error: "must be a person's id or none" })
    .nullish(),
  trackingIds: z.array(z.string({ error: "must be tracking ids" })).max(100, { error: "must list at most 100 tracking ids" }).nullish(),
  search: z.string({ error: "must be text" }).trim().max(200, { error: "must be at most 200 characters" }).nullish(),
  first: pageSize,
  after: cursorArgument(readTimeCursor),
});

/** The cursor of a request in newest-first lists. */
export const requestCursor = (request: { id: string; createdAt: Date }): string => timeCursor(request, request.createdAt);

/**
 * The city's requests, newest first, by status, category, area, dates and tracking ids
 * (anyone: the public map and Open311's GET). Assignee and text search are for staff.
 */
export async function listServiceRequests(principal: Principal, input: ServiceRequestFilters = {}, context: ServiceContext = {}): Promise<ServiceRequestPage> {
  const tenantId = readerCity(principal, context);
  const filters = parseInput(listSchema, input);
  if (filters.assigneeUserId || filters.search) requireCityPermission(principal, tenantId, "reporting.triage");
  await reportingSettings(tenantId, context.database);
  const size = filters.first ?? DEFAULT_PAGE_SIZE;
  const where: Prisma.ReportingRequestWhereInput = { tenantId };
  if (filters.statuses?.length) where.status = { in: [...filters.statuses] };
  if (filters.categoryCodes?.length) where.category = { code: { in: filters.categoryCodes } };
  if (filters.area) {
    const { south, west, north, east } = filters.area;
    where.latitude = { gte: south, lte: north };
    // A box across the antimeridian has west > east.
    where.longitude = west <= east ? { gte: west, lte: east } : undefined;
    if (west > east) where.OR = [{ longitude: { gte: west } }, { longitude: { lte: east } }];
  }
  if (filters.createdAfter || filters.createdBefore) {
    where.createdAt = { ...(filters.createdAfter && { gte: filters.createdAfter }), ...(filters.createdBefore && { lte: filters.createdBefore }) };
  }
  if (filters.assigneeUserId) where.assigneeUserId = filters.assigneeUserId === "none" ? null : filters.assigneeUserId.toLowerCase();
  if (filters.trackingIds) where.trackingId = { in: filters.trackingIds.flatMap((id) => normaliseTrackingId(id) ?? []) };
  if (filters.search) {
    const words = filters.search.split(/\s+/).filter(Boolean).slice(0, 8);
    where.AND = words.map((word) => ({
      OR: [
        { description: { contains: word, mode: "insensitive" as const } },
        { address: { contains: word, mode: "insensitive" as const } },
        { trackingId: { equals: normaliseTrackingId(word) ?? "" } },
      ],
    }));
  }
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.reportingRequest.findMany({
        where,
        include: DETAIL_INCLUDE,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: size + 1,
        ...(filters.after && { cursor: { tenantId_id: { tenantId, id: filters.after.id } }, skip: 1 }),
      }),
    context.database,
  );
  const { rows: page, ...info } = pageOf(rows.map(toDetail), size, requestCursor);
  return { requests: page, ...info };
}

// --- Duplicates ---------------------------------------------------------------------------

const EARTH_RADIUS_METERS = 6_371_008.8;

/** Great-circle distance in metres (haversine). */
export function distanceMeters(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLong = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLong / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Open requests of a category near a point, reported within the window, closest first. A box
 * around the point narrows the rows in SQL (index on tenant, category, status); the exact
 * distance decides.
 */
export async function duplicatesNear(
  tx: Tx,
  tenantId: string,
  { categoryId, latitude, longitude, radiusMeters, windowDays, now = new Date(), excludeId }: {
    categoryId: string;
    latitude: number;
    longitude: number;
    radiusMeters: number;
    windowDays: number;
    now?: Date;
    excludeId?: string;
  },
): Promise<DuplicateCandidate[]> {
  if (radiusMeters <= 0 || windowDays <= 0) return [];
  const dLat = radiusMeters / 111_320;
  const cos = Math.cos((latitude * Math.PI) / 180);
  const dLong = cos < 1e-6 ? 180 : Math.min(180, radiusMeters / (111_320 * cos));
  const rows = await tx.reportingRequest.findMany({
    where: {
      tenantId,
      categoryId,
      status: { not: "closed" },
      mergedIntoId: null,
      createdAt: { gte: new Date(now.getTime() - windowDays * 86_400_000) },
      latitude: { gte: latitude - dLat, lte: latitude + dLat },
      longitude: { gte: longitude - dLong, lte: longitude + dLong },
      ...(excludeId && { id: { not: excludeId } }),
    },
    select: { id: true, trackingId: true, status: true, description: true, latitude: true, longitude: true, address: true, createdAt: true },
    take: 200,
  });
  return rows
    .map((row) => ({
      ...row,
      latitude: row.latitude!,
      longitude: row.longitude!,
      distanceMeters: Math.round(distanceMeters({ latitude, longitude }, { latitude: row.latitude!, longitude: row.longitude! })),
    }))
    .filter((row) => row.distanceMeters <= radiusMeters)
    .sort((a, b) => a.distanceMeters - b.distanceMeters || b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, 10);
}

/** Open requests that look like a report about to be made (same category, near, recent). */
export async function findDuplicateCandidates(
  principal: Principal,
  input: { categoryCode?: string | null; categoryId?: string | null; latitude: number; longitude: number },
  context: ServiceContext = {},
): Promise<DuplicateCandidate[]> {
  const tenantId = readerCity(principal, context);
  const settings = await reportingSettings(tenantId, context.database);
  const { latitude, longitude } = parseInput(
    z.object({ latitude: z.number({ error: "must be a number" }).min(-90).max(90), longitude: z.number({ error: "must be a number" }).min(-180).max(180) }),
    input,
  );
  return withTenant(
    tenantId,
    async (tx) => {
      const category = await findCategory(tx, tenantId, { code: input.categoryCode, id: input.categoryId });
      if (!category) throw new NotFound("category");
      return duplicatesNear(tx, tenantId, {
        categoryId: category.id,
        latitude,
        longitude,
        radiusMeters: settings.duplicateRadiusMeters,
        windowDays: settings.duplicateWindowDays,
      });
    },
    context.database,
  );
}

// --- Reporting ----------------------------------------------------------------------------

/** What filing a report needs of its category (Open311 reads it with the api_key's client). */
export type ReportCategory = { id: string; code: string; names: unknown; attributes: unknown; archivedAt: Date | null };

type ReportData = z.output<typeof reportSchema>;

/** The category a report may be filed in, and its attribute values checked against it. */
function acceptReport(category: ReportCategory | null, data: ReportData): { category: ReportCategory; values: AttributeValues } {
  if (!category || category.archivedAt) {
    throw new ValidationFailed({ [data.categoryCode ? "categoryCode" : "categoryId"]: ["is not a category of this city"] });
  }
  const { values, problems } = checkAttributeValues(storedAttributes(category.attributes), data.attributes);
  if (Object.keys(problems).length > 0) throw new ValidationFailed(problems);
  return { category, values };
}

/**
 * Files a report. Anonymous where the city allows it; a signed-in reporter follows it by
 * account, an email address given follows it by email. Near an open request of the same
 * category, answers those as duplicates instead (nothing is written) unless
 * `confirmNotDuplicate`.
 */
export async function reportIssue(principal: Principal, input: ReportIssueInput, context: ReportingContext = {}): Promise<ReportIssueResult> {
  const settings = context.settings ?? (await reportingSettings(cityHint(principal, context), context.database));
  const reporter = reporterOf(principal, context, settings);
  const { tenantId } = reporter;
  const data = parseInput(reportSchema, input);
  const photos: PreparedPhoto[] = data.photos?.length ? await preparePhotos(data.photos, settings) : [];
  const hasPoint = data.latitude != null && data.longitude != null;
  const checkDuplicates = hasPoint && !data.confirmNotDuplicate;

  // The caller read the category and the city (Open311, with the api_key's client), and nothing
  // else is to be read — no account's address, no duplicate question, no photos, no request to
  // answer back: the report is filed in one round trip of its own, not a transaction of several.
  if (context.category !== undefined && context.city && context.receipt && !reporter.userId && !checkDuplicates && photos.length === 0) {
    const { category, values } = acceptReport(context.category, data);
    const created = await fileReport({ tenantId, reporter, data, category, values, city: context.city, hasPoint, photoCount: 0, accountEmail: null, context });
    return { kind: "created", ...created, request: null };
  }

  return withTenant(
    tenantId,
    async (tx) => {
      const read = context.category !== undefined ? context.category : await findCategory(tx, tenantId, { code: data.categoryCode, id: data.categoryId });
      const { category, values } = acceptReport(read, data);
      if (checkDuplicates) {
        const candidates = await duplicatesNear(tx, tenantId, {
          categoryId: category.id,
          latitude: data.latitude!,
          longitude: data.longitude!,
          radiusMeters: settings.duplicateRadiusMeters,
          windowDays: settings.duplicateWindowDays,
        });
        if (candidates.length > 0) return { kind: "duplicates", candidates };
      }
      const city = context.city ?? (await tx.city.findFirstOrThrow({ where: { id: tenantId }, select: { slug: true, names: true, defaultLocale: true } }));
      // The receipt goes to the reporter's account too (queueNotifications' recipients of a receipt).
      const account = reporter.userId ? await tx.user.findFirst({ where: { tenantId, id: reporter.userId }, select: { email: true } }) : null;
      const created = await fileReport({ tenantId, reporter, data, category, values, city, hasPoint, photoCount: photos.length, accountEmail: account?.email ?? null, context });
      for (const photo of photos) {
        await tx.reportingPhoto.create({ data: { tenantId, id: randomUUID(), requestId: created.id, ...photo, bytes: photo.bytes as Uint8Array<ArrayBuffer> } });
      }
      const request = context.receipt ? null : await findRequest(tx, tenantId, created.trackingId);
      return { kind: "created", ...created, request };
    },
    context.database,
  );
}

/**
 * Writes a new report in ONE statement (a data-modifying CTE): the request, its "created" event,
 * its followers (the reporter's account, the address given), the audit event and the receipt in
 * the outbox — the rows addEvent, recordAudit and queueNotifications write, with the same values.
 * In the caller's unit of work when one is open (writeInTenant joins it), else in one round trip.
 */
async function fileReport(options: {
  tenantId: string;
  reporter: Reporter;
  data: ReportData;
  category: ReportCategory;
  values: AttributeValues;
  city: { slug: string; names: unknown; defaultLocale: string };
  hasPoint: boolean;
  photoCount: number;
  /** The signed-in reporter's address, which gets the receipt too. */
  accountEmail: string | null;
  context: ReportingContext;
}): Promise<{ id: string; trackingId: string }> {
  const { tenantId, reporter, data, category, values, city, hasPoint, context } = options;
  const id = randomUUID();
  const eventId = randomUUID();
  const locale = data.locale ?? city.defaultLocale;
  const source = context.source ?? "graphql";
  const reporterEmail = data.email ?? null;
  const recipients = new Set<string>();
  if (reporterEmail) recipients.add(reporterEmail);
  if (options.accountEmail) recipients.add(options.accountEmail.toLowerCase());
  const followers = [
    ...(reporter.userId ? [{ userId: reporter.userId, email: null }] : []),
    ...(reporterEmail ? [{ userId: null, email: reporterEmail }] : []),
  ];
  const actorId = reporter.actor.id ?? null;
  const attributeValues = JSON.stringify(values);

  // 32⁸ tracking ids per city: a clash is rare, and then the insert does nothing (no error,
  // which would end the transaction), nothing else is written, and another id is drawn.
  for (;;) {
    const trackingId = newTrackingId();
    const now = new Date();
    const after = JSON.stringify({ trackingId, category: category.code, source, photos: options.photoCount, attributes: values });
    const receipt = outboxMessages(
      tenantId,
      { requestId: id, eventId, kind: "created" },
      { request: { trackingId, status: "open", locale, category: { names: category.names } }, event: { body: null, reason: null }, city },
      recipients,
    );
    const parts = [
      literalSql`request AS (
        INSERT INTO reporting_requests (tenant_id, id, tracking_id, category_id, status, description, latitude, longitude, address, attribute_values,
                                        media_url, source, locale, reporter_user_id, reporter_email, reporter_first_name, reporter_last_name, reporter_phone,
                                        created_at, updated_at)
        VALUES (${tenantId}::uuid, ${id}::uuid, ${trackingId}, ${category.id}::uuid, 'open', ${data.description},
                ${hasPoint ? data.latitude! : null}::double precision, ${hasPoint ? data.longitude! : null}::double precision, ${data.address}, ${attributeValues}::jsonb,
                ${data.mediaUrl ?? null}, ${source}, ${locale}, ${reporter.userId}::uuid, ${reporterEmail}, ${data.firstName}, ${data.lastName}, ${data.phone},
                ${now}, ${now})
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, id)`,
      literalSql`event AS (
        INSERT INTO reporting_events (tenant_id, id, request_id, kind, public, from_status, to_status, reason, body, assignee_user_id, related_request_id, actor_type, actor_id, created_at)
        SELECT tenant_id, ${eventId}::uuid, id, 'created'::reporting_event_kind, TRUE, NULL::reporting_request_status, 'open'::reporting_request_status,
               NULL::text, NULL::text, NULL::uuid, NULL::uuid, ${reporter.actor.type}::actor_type, ${actorId}::text, ${now}
          FROM request)`,
      literalSql`audit AS (
        INSERT INTO audit_events (tenant_id, id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, after, request_id)
        SELECT tenant_id, ${randomUUID()}::uuid, ${now}, ${reporter.actor.type}::actor_type, ${actorId}::text, 'reporting.request_created', 'reporting_request', id::text,
               ${after}::jsonb, ${context.requestId ?? null}::text
          FROM request)`,
    ];
    if (followers.length > 0) {
      const rows = joinSql(followers.map((follower) => literalSql`(${randomUUID()}::uuid, ${follower.userId}::uuid, ${follower.email}::text)`), ", ");
      parts.push(literalSql`followers AS (
        INSERT INTO reporting_followers (tenant_id, id, request_id, user_id, email, created_at)
        SELECT request.tenant_id, f.id, request.id, f.user_id, f.email, ${now} FROM request, (VALUES ${rows}) AS f (id, user_id, email)
        ON CONFLICT DO NOTHING)`);
    }
    if (receipt.length > 0) {
      const rows = joinSql(receipt.map((message) => literalSql`(${message.id}::uuid, ${message.dedupeKey}, ${message.recipient}, ${message.locale}, ${message.subject}, ${message.body})`), ", ");
      parts.push(literalSql`receipt AS (
        INSERT INTO reporting_outbox (tenant_id, id, dedupe_key, request_id, recipient, locale, subject, body, status, attempts, next_attempt_at, created_at)
        SELECT request.tenant_id, m.id, m.dedupe_key, request.id, m.recipient, m.locale, m.subject, m.body, 'pending'::reporting_outbox_status, 0, ${now}, ${now}
          FROM request, (VALUES ${rows}) AS m (id, dedupe_key, recipient, locale, subject, body)
        ON CONFLICT DO NOTHING)`);
    }
    const [[written] = []] = await writeInTenant(tenantId, [literalSql`WITH ${joinSql(parts, ", ")} SELECT count(*)::int AS created FROM request`], context.database);
    if (Number(written?.created) === 1) return { id, trackingId };
  }
}

export type EventInput = {
  kind: "created" | "status_changed" | "assigned" | "internal_note" | "public_update" | "merged" | "photo_added";
  public: boolean;
  fromStatus?: RequestStatus | null;
  toStatus?: RequestStatus | null;
  reason?: string | null;
  body?: string | null;
  assigneeUserId?: string | null;
  relatedRequestId?: string | null;
  at?: Date;
};

/** Appends to a request's history. */
export function addEvent(tx: Tx, tenantId: string, requestId: string, actor: AuditActor, event: EventInput) {
  return tx.reportingEvent.create({
    data: {
      tenantId,
      id: randomUUID(),
      requestId,
      kind: event.kind,
      public: event.public,
      fromStatus: event.fromStatus ?? null,
      toStatus: event.toStatus ?? null,
      reason: event.reason ?? null,
      body: event.body ?? null,
      assigneeUserId: event.assigneeUserId ?? null,
      relatedRequestId: event.relatedRequestId ?? null,
      actorType: actor.type,
      actorId: actor.id ?? null,
      ...(event.at && { createdAt: event.at }),
    },
    select: { id: true, createdAt: true },
  });
}

// --- Following ----------------------------------------------------------------------------

export type FollowResult = { trackingId: string; following: boolean; changed: boolean };

const followSchema = z.strictObject({ trackingId: z.string({ error: "must be a tracking id" }), email: emailSchema.nullish() });

/**
 * Follows a request: a signed-in person by account, anyone else by email address (where the
 * city takes anonymous reports). Following twice changes nothing.
 */
export async function followServiceRequest(principal: Principal, input: { trackingId: string; email?: string | null }, context: ServiceContext = {}): Promise<FollowResult> {
  const settings = await reportingSettings(cityHint(principal, context), context.database);
  const reporter = reporterOf(principal, context, settings);
  const { tenantId } = reporter;
  const { trackingId, email } = parseInput(followSchema, input);
  if (!reporter.userId && !email) throw new ValidationFailed({ email: ["give an email address to be kept informed"] });
  return withTenant(
    tenantId,
    async (tx) => {
      const request = await findRequest(tx, tenantId, trackingId);
      if (!request) throw new NotFound("service request");
      const follower = reporter.userId ? { userId: reporter.userId } : { email: email! };
      const { count } = await tx.reportingFollower.createMany({ data: [{ tenantId, id: randomUUID(), requestId: request.id, ...follower }], skipDuplicates: true });
      if (count > 0) {
        await recordAudit(tx, tenantId, {
          actor: reporter.actor,
          action: "reporting.request_followed",
          subject: { type: "reporting_request", id: request.id },
          after: { trackingId: request.trackingId, by: reporter.userId ? "account" : "email" },
          requestId: context.requestId,
        });
      }
      return { trackingId: request.trackingId, following: true, changed: count > 0 };
    },
    context.database,
  );
}

/** Stops following a request (a signed-in person's own following). */
export async function unfollowServiceRequest(principal: Principal, input: { trackingId: string }, context: ServiceContext = {}): Promise<FollowResult> {
  const reporter = reporterOf(principal, context, null);
  if (!reporter.userId) throw new Unauthenticated("Sign in to stop following a report.");
  const { tenantId, userId } = reporter;
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const request = await findRequest(tx, tenantId, String(input.trackingId ?? ""));
      if (!request) throw new NotFound("service request");
      const { count } = await tx.reportingFollower.deleteMany({ where: { tenantId, requestId: request.id, userId } });
      if (count > 0) {
        await recordAudit(tx, tenantId, {
          actor: reporter.actor,
          action: "reporting.request_unfollowed",
          subject: { type: "reporting_request", id: request.id },
          after: { trackingId: request.trackingId },
          requestId: context.requestId,
        });
      }
      return { trackingId: request.trackingId, following: false, changed: count > 0 };
    },
    context.database,
  );
}

/** Whether the principal follows the request (signed-in people only). */
export async function isFollowing(principal: Principal, requestId: string, context: ServiceContext = {}): Promise<boolean> {
  if (principal.kind !== "user") return false;
  if (context.tenantId !== undefined && context.tenantId !== principal.tenantId) return false;
  const { tenantId, userId } = principal;
  const row = await withTenant(tenantId, (tx) => tx.reportingFollower.findFirst({ where: { tenantId, requestId, userId }, select: { id: true } }), context.database);
  return row !== null;
}

// --- Merging ------------------------------------------------------------------------------

export type MergeResult = { duplicate: ServiceRequestDetail; into: ServiceRequestDetail; followersAdded: number };

const mergeSchema = z.strictObject({
  duplicateTrackingId: z.string({ error: "must be a tracking id" }),
  intoTrackingId: z.string({ error: "must be a tracking id" }),
  note: optionalText(4000),
});

/**
 * Merges a duplicate into another request (reporting.triage): the duplicate is closed
 * (reason "duplicate") and points at it; its followers follow the other one from now on and
 * are told so. Requests already merged cannot be merged again.
 */
export async function mergeServiceRequests(
  principal: Principal,
  input: { duplicateTrackingId: string; intoTrackingId: string; note?: string | null },
  context: ServiceContext = {},
): Promise<MergeResult> {
  const staff = requireCityPermission(principal, context.tenantId, "reporting.triage");
  const { tenantId } = staff;
  const { duplicateTrackingId, intoTrackingId, note } = parseInput(mergeSchema, input);
  await reportingSettings(tenantId, context.database);
  const actor = auditActor(staff);
  return withTenant(
    tenantId,
    async (tx) => {
      // Both rows locked, always in the same order, before either is read: two staff merging A
      // into B and B into A at the same moment cannot both succeed (the second sees the first).
      const ids = [normaliseTrackingId(duplicateTrackingId) ?? "", normaliseTrackingId(intoTrackingId) ?? ""];
      await tx.$queryRaw`SELECT id FROM reporting_requests WHERE tenant_id = ${tenantId}::uuid AND tracking_id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
      const duplicate = await findRequest(tx, tenantId, duplicateTrackingId);
      if (!duplicate) throw new NotFound("service request");
      const into = await findRequest(tx, tenantId, intoTrackingId);
      if (!into) throw new NotFound("service request");
      if (duplicate.id === into.id) throw new ValidationFailed({ intoTrackingId: ["must be another request"] });
      if (duplicate.mergedIntoId) throw new Conflict("already_merged", `${duplicate.trackingId} is merged into ${duplicate.mergedIntoTrackingId} already.`);
      if (into.mergedIntoId) throw new Conflict("target_merged", `${into.trackingId} is itself merged into ${into.mergedIntoTrackingId}: merge into that one.`);
      const now = new Date();
      const { count } = await tx.reportingRequest.updateMany({
        where: { tenantId, id: duplicate.id, mergedIntoId: null },
        data: {
          status: "closed",
          closeReason: "duplicate",
          mergedIntoId: into.id,
          closedAt: now,
          acknowledgedAt: duplicate.acknowledgedAt ?? now,
        },
      });
      if (count === 0) throw new Conflict("already_merged", `${duplicate.trackingId} was merged a moment ago.`);
      // The duplicate's followers (its reporter among them) now follow the request that stays.
      const followers = await tx.reportingFollower.findMany({ where: { tenantId, requestId: duplicate.id }, select: { userId: true, email: true } });
      const added = followers.length
        ? await tx.reportingFollower.createMany({
            data: followers.map((follower) => ({ tenantId, id: randomUUID(), requestId: into.id, userId: follower.userId, email: follower.email })),
            skipDuplicates: true,
          })
        : { count: 0 };
      const closedEvent = await addEvent(tx, tenantId, duplicate.id, actor, {
        kind: "merged",
        public: true,
        fromStatus: duplicate.status,
        toStatus: "closed",
        reason: "duplicate",
        body: note,
        relatedRequestId: into.id,
      });
      await addEvent(tx, tenantId, into.id, actor, { kind: "merged", public: true, relatedRequestId: duplicate.id });
      await recordAudit(tx, tenantId, {
        actor,
        action: "reporting.request_merged",
        subject: { type: "reporting_request", id: duplicate.id },
        before: { status: duplicate.status, mergedInto: null },
        after: { status: "closed", closeReason: "duplicate", mergedInto: into.trackingId, followersAdded: added.count },
        requestId: context.requestId,
      });
      await queueNotifications(tx, tenantId, { requestId: duplicate.id, eventId: closedEvent.id, kind: "merged", mergedIntoTrackingId: into.trackingId, exceptUserId: staff.kind === "user" ? staff.userId : null });
      return {
        duplicate: (await findRequest(tx, tenantId, duplicate.trackingId))!,
        into: (await findRequest(tx, tenantId, into.trackingId))!,
        followersAdded: added.count,
      };
    },
    context.database,
  );
}

// --- Open311 ------------------------------------------------------------------------------

/** Open311's two statuses. */
export const open311Status = (status: RequestStatus): "open" | "closed" => (status === "closed" ? "closed" : "open");

/**
 * A request in Open311's terms. `origin` is the address of the city's site (scheme, host and
 * the city's path prefix if any), for the media_url of its first photo.
 */
export function serviceRequestView(
  request: ServiceRequestDetail,
  options: { locale: string; cityDefault: string; agency?: string | null; origin: string },
): ServiceRequestView {
  const name = pickTranslation(request.category.names as Record<string, string>, options.locale, options.cityDefault);
  const photo = request.photoIds[0];
  return {
    serviceRequestId: request.trackingId,
    status: open311Status(request.status),
    statusNotes: request.statusNotes,
    serviceName: name?.text ?? request.category.code,
    serviceCode: request.category.code,
    description: request.description,
    agencyResponsible: options.agency ?? null,
    serviceNotice: null,
    requestedDatetime: request.createdAt,
    updatedDatetime: request.updatedAt,
    expectedDatetime: request.expectedAt,
    address: request.address,
    addressId: null,
    zipcode: null,
    lat: request.latitude,
    long: request.longitude,
    mediaUrl: photo ? `${options.origin}${photoPath(photo)}` : request.mediaUrl,
  };
}

export type { AttributeValues };
