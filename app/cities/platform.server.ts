// The operators' side of cities (platform.cities.manage): the list, onboarding, suspension and
// a health summary, all as platform administration (withPlatformAdmin).
//
// Onboarding spans the database and the identity provider, and the provider's realm can only
// be described from the city's row (provisionRealm reads it), so the order is:
//   1. validate everything (the city-file schema, the first admin) and write nothing if invalid;
//   2. one unit of work: refuse a taken slug, realm or host name, then the city with its domains
//      and `city.created`, and the first admin's invitation with `invitation.created`;
//   3. the provider: the city's realm, then the first admin's account in it;
//   4. `city.onboarded` in the platform's log.
// If 3 or 4 fails, the city is deleted again (its domains, invitation, audit events and realm
// row go with it), `city.onboarding_failed` is logged, and the error is thrown: nobody holds the
// invitation's token, so a half-made city would be of no use. What the provider already made
// stays there: the embedded provider's realm is rows that go with the city, but a Keycloak realm
// remains, marked as the deleted city's, and a new attempt with the same realm name is refused
// until an operator removes it (the log line says so).
import { z } from "zod";
import { cursorArgument, DEFAULT_PAGE_SIZE, pageOf, pageSize } from "../db/pages.server";
import { recordAudit, recordPlatformAudit, type AuditActor } from "../audit/audit.server";
import type { IssuerDirectory } from "../auth/issuers.server";
import { Conflict, NotFound, parseInput, ValidationFailed } from "../auth/errors";
import { requirePermission, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { UUID_PATTERN, withPlatformAdmin, type Tx } from "../db/database.server";
import { Prisma, type City } from "../db/generated/client.ts";
import type { IdentityBackend } from "../identity/backend.server";
import { provisionRealm } from "../identity/provision.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { CityFileError, fieldPath, parseCityData, SLUG_PATTERN, type CityFile, type cityFileSchema } from "../tenancy/city-file.server";
import { insertCity } from "../tenancy/city-files.server";
import { forgetTenantLookups } from "../tenancy/resolve.server";
import { emailSchema } from "../auth/users.server";
import { insertInvitation, type CreatedInvitation } from "./invitations.server";

const PERMISSION = "platform.cities.manage";

/** The process' caches of the city table besides the tenant resolver (the token verifier's issuers). */
type Caches = { issuers?: Pick<IssuerDirectory, "invalidate"> };

/** The process' caches of the city table forget it, once the change is committed. */
function forgetCities(context: ServiceContext & Caches): void {
  const forget = () => {
    forgetTenantLookups();
    context.issuers?.invalidate();
  };
  if (context.afterCommit) context.afterCommit(forget);
  else forget();
}

/** A city by id or by slug. */
export type CityRef = { id: string; slug?: undefined } | { slug: string; id?: undefined };

// --- The list ------------------------------------------------------------------------------

export type CityListInput = {
  status?: "active" | "suspended" | null;
  /** Part of the slug, realm, a host name or a name in any language (case ignored). */
  search?: string | null;
  /** 1 to 100 cities; 25 when absent. */
  first?: number | null;
  /** The endCursor of the previous page. */
  after?: string | null;
};

/** Cities by slug. With a `select` query, cities hold only what it selects (plus slug). */
export type CityPage = { cities: City[]; hasNextPage: boolean; startCursor: string | null; endCursor: string | null };

/** The Prisma selection GraphQL passes (Pothos plugin-prisma's `query`). */
export type CityQuery = { select?: Prisma.CitySelect } | { include?: Prisma.CityInclude };

/** The cursor of a city in the list (a connection edge's cursor). */
export const cityCursor = (city: { slug: string }): string => Buffer.from(city.slug, "utf8").toString("base64url");

function readCityCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(cursor)) return null;
  const slug = Buffer.from(cursor, "base64url").toString("utf8");
  return SLUG_PATTERN.test(slug) ? slug : null;
}

const listSchema = z.strictObject({
  status: z.enum(["active", "suspended"], { error: "must be active or suspended" }).nullish(),
  search: z.string({ error: "must be text" }).trim().max(100, { error: "must be at most 100 characters" }).nullish(),
  first: pageSize,
  after: cursorArgument(readCityCursor),
});

function searchWhere(search: string): Prisma.CityWhereInput {
  const contains = { contains: search, mode: "insensitive" } as const;
  return {
    OR: [
      { slug: contains },
      { identityRealm: contains },
      { domains: { some: { hostname: contains } } },
      ...SUPPORTED_LOCALES.map((locale) => ({
        names: { path: [locale], string_contains: search, mode: "insensitive" as const },
      })),
    ],
  };
}

function selection(query: CityQuery | undefined) {
  if (query && "select" in query && query.select) return { select: { ...query.select, slug: true } };
  if (query && "include" in query && query.include) return { include: query.include };
  return {};
}

/** Every city, by slug (operators). */
export async function listCities(
  principal: Principal,
  input: CityListInput = {},
  context: Pick<ServiceContext, "database"> = {},
  query?: CityQuery,
): Promise<CityPage> {
  requirePermission(principal, PERMISSION);
  const { status, search, first, after } = parseInput(listSchema, input);
  const size = first ?? DEFAULT_PAGE_SIZE;
  const rows = await withPlatformAdmin(
    (tx) =>
      tx.city.findMany({
        ...selection(query),
        where: {
          ...(status && { status }),
          ...(search && searchWhere(search)),
          ...(after && { slug: { gt: after } }),
        },
        orderBy: { slug: "asc" },
        take: size + 1,
      } satisfies Prisma.CityFindManyArgs as Prisma.CityFindManyArgs),
    context.database,
  );
  const { rows: cities, ...page } = pageOf(rows as City[], size, cityCursor);
  return { cities, ...page };
}

// --- Onboarding ----------------------------------------------------------------------------

/** A city file's content (tenants/README.md), plus who administers the city first. */
export type OnboardCityInput = z.input<typeof cityFileSchema> & {
  firstAdmin: { email: string; displayName?: string | null };
};

export type OnboardingContext = ServiceContext &
  Caches & {
    backend: IdentityBackend;
    /** The instance's public URL (redirect addresses of the realm); defaults to the configured one. */
    publicUrl?: string;
    /** Host names under it are refused, as in city files; defaults to CIVITAS_DOMAIN. */
    platformDomain?: string;
  };

export type OnboardedCity = {
  city: City;
  /** The first admin's invitation; its token is shown this once. */
  invitation: CreatedInvitation;
  /** False when the provider had the realm already (made by an earlier, failed attempt). */
  realmCreated: boolean;
};

const firstAdminSchema = z.strictObject(
  {
    email: emailSchema,
    displayName: z
      .string({ error: "must be text" })
      .trim()
      .min(1, { error: "must not be empty" })
      .max(100, { error: "must be at most 100 characters" })
      .nullish(),
  },
  { error: "is required: the email address (and name) of the city's first admin" },
);

const topLevel = (field: string) => field.split(/[.[]/)[0] ?? "";

/**
 * The city with the city files' own schema and rules (parseCityData), and the first admin; every
 * problem at once, keyed by top-level field, the message naming a nested field.
 */
function parseOnboarding(input: unknown, platformDomain: string | undefined) {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationFailed({ "": ["must be a city (slug, names, locales, timeZone, branding…) and its firstAdmin"] });
  }
  const { firstAdmin, ...data } = input as Record<string, unknown>;
  const fields: Record<string, string[]> = {};
  const add = (field: string, message: string) => {
    const key = topLevel(field);
    (fields[key] ??= []).push(field === key ? message : `${field}: ${message}`);
  };
  let city: CityFile | undefined;
  try {
    city = parseCityData(data, { source: "input", platformDomain });
  } catch (error) {
    if (!(error instanceof CityFileError)) throw error;
    for (const problem of error.problems) add(problem.field, problem.message);
  }
  const admin = firstAdminSchema.safeParse(firstAdmin);
  if (!admin.success) {
    for (const issue of admin.error.issues) add(fieldPath(["firstAdmin", ...issue.path]), issue.message);
  }
  if (!city || !admin.success) throw new ValidationFailed(fields);
  return { city, firstAdmin: admin.data };
}

/** The first slug, realm or host name of `city` that another city holds. */
async function refuseTaken(tx: Tx, city: CityFile): Promise<void> {
  const owners = await tx.city.findMany({
    where: { OR: [{ slug: city.slug }, { identityRealm: city.identity.realm }] },
    select: { slug: true, identityRealm: true },
  });
  if (owners.some((owner) => owner.slug === city.slug)) throw taken("slug", city.slug);
  const realmOwner = owners.find((owner) => owner.identityRealm === city.identity.realm);
  if (realmOwner) throw taken("identity.realm", city.identity.realm, realmOwner.slug);
  if (city.domains.length === 0) return;
  const domain = await tx.cityDomain.findFirst({
    where: { hostname: { in: city.domains } },
    select: { hostname: true, city: { select: { slug: true } } },
    orderBy: { hostname: "asc" },
  });
  if (domain) throw taken("domains", domain.hostname, domain.city.slug);
}

const REASONS = { slug: "slug_taken", "identity.realm": "realm_taken", domains: "domain_taken" } as const;

function taken(field: keyof typeof REASONS, value: string, owner?: string): Conflict {
  const whose = owner ? `city "${owner}"` : "another city";
  const what = { slug: "the slug", "identity.realm": "the identity realm", domains: "a host name" }[field];
  return new Conflict(REASONS[field], `${field}: "${value}" is already ${what} of ${whose}.`);
}

/** Another writer took a value between the checks and the insert: the same Conflict, from the index. */
function takenMeanwhile(error: unknown, city: CityFile): Conflict | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return null;
  // PGlite names the columns, PostgreSQL the index: both contain the column name.
  const target = JSON.stringify(error.meta ?? {});
  if (target.includes("identity_realm")) return taken("identity.realm", city.identity.realm);
  if (target.includes("hostname")) return taken("domains", city.domains.join(", "));
  if (target.includes("slug")) return taken("slug", city.slug);
  return null;
}

/**
 * Onboards a city (operators): the city as a city file declares it, its realm at the provider,
 * the first admin's account there (username = their address, no password: the provider's
 * "forgot password" or a Keycloak action sets one) and an invitation to become its admin. See
 * the module's header for the order and what happens on failure. A taken slug, realm or host
 * name is a Conflict (reason slug_taken, realm_taken, domain_taken) and writes nothing.
 */
export async function onboardCity(
  principal: Principal,
  input: OnboardCityInput,
  context: OnboardingContext,
): Promise<OnboardedCity> {
  requirePermission(principal, PERMISSION);
  const actor = auditActor(principal);
  const { city, firstAdmin } = parseOnboarding(input, context.platformDomain);
  const realm = city.identity.realm;
  const { database, requestId } = context;

  const created = await withPlatformAdmin(async (tx) => {
    await refuseTaken(tx, city);
    let cityId: string;
    try {
      cityId = await insertCity(tx, city, { actor, requestId });
    } catch (error) {
      throw takenMeanwhile(error, city) ?? error;
    }
    const invitation = await insertInvitation(tx, cityId, { email: firstAdmin.email, role: "admin", actor, requestId });
    return { cityId, invitation };
  }, database);
  const { cityId, invitation } = created;

  let step: "realm" | "first_admin" | "record" = "realm";
  let realmCreated: boolean;
  let row: City;
  try {
    ({ created: realmCreated } = await provisionRealm(realm, cityId, { backend: context.backend, database, publicUrl: context.publicUrl }));
    step = "first_admin";
    await context.backend.ensureUser(realm, {
      username: firstAdmin.email,
      email: firstAdmin.email,
      // The provider's "name" claim joins first and last name: the whole name fits in the first.
      ...(firstAdmin.displayName && { firstName: firstAdmin.displayName }),
      locale: city.locales.default,
    });
    step = "record";
    row = await withPlatformAdmin(async (tx) => {
      await recordPlatformAudit({
        actor,
        action: "city.onboarded",
        subject: { type: "city", id: cityId },
        after: {
          slug: city.slug,
          identityRealm: realm,
          domains: city.domains,
          status: city.status,
          firstAdmin: { email: firstAdmin.email, displayName: firstAdmin.displayName ?? null },
          invitationId: invitation.id,
          realmCreated,
        },
        requestId,
      });
      return tx.city.findUniqueOrThrow({ where: { id: cityId } });
    }, database);
  } catch (error) {
    await undoOnboarding({ cityId, slug: city.slug, realm, step, actor, context });
    throw error;
  }
  forgetCities(context);
  return { city: row, invitation, realmCreated };
}

async function undoOnboarding({
  cityId,
  slug,
  realm,
  step,
  actor,
  context,
}: {
  cityId: string;
  slug: string;
  realm: string;
  step: string;
  actor: AuditActor;
  context: OnboardingContext;
}): Promise<void> {
  const where = `[${context.requestId ?? "-"}] onboarding of ${slug}`;
  try {
    await withPlatformAdmin(async (tx) => {
      await tx.city.deleteMany({ where: { id: cityId } });
      await recordPlatformAudit({
        actor,
        action: "city.onboarding_failed",
        subject: { type: "city", id: cityId },
        after: { slug, identityRealm: realm, step },
        requestId: context.requestId,
      });
    }, context.database);
  } catch (cleanup) {
    console.error(`${where} failed at ${step}, and city ${cityId} could not be deleted again; delete it by hand:`, cleanup);
    return;
  }
  if (context.backend.kind === "keycloak") {
    console.error(
      `${where} failed at ${step}: the city was removed, but realm ${realm} may remain at Keycloak, marked for ` +
        `city ${cityId}; delete that realm before onboarding ${slug} with the same realm again.`,
    );
  }
}

// --- Suspension ----------------------------------------------------------------------------

export type CityStatusChange = {
  city: { id: string; slug: string; status: "active" | "suspended" };
  /** False when the city had this status already. */
  changed: boolean;
};

const ref = {
  id: z.string({ error: "must be a city id" }).optional(),
  slug: z.string({ error: "must be a city slug" }).optional(),
};
const oneOf = (value: { id?: string; slug?: string }) => (value.id === undefined) !== (value.slug === undefined);
const refSchema = z.strictObject(ref).refine(oneOf, { error: "give the city's id or its slug" });
const statusSchema = z
  .strictObject({
    ...ref,
    reason: z.string({ error: "must be text" }).trim().max(500, { error: "must be at most 500 characters" }).optional(),
  })
  .refine(oneOf, { error: "give the city's id or its slug" });

/** A where that names at most one city, or null when the reference names none at all. */
function cityWhere({ id, slug }: { id?: string; slug?: string }): { id: string } | { slug: string } | null {
  if (id !== undefined) return UUID_PATTERN.test(id) ? { id } : null;
  return slug !== undefined && SLUG_PATTERN.test(slug) ? { slug } : null;
}

async function changeStatus(
  principal: Principal,
  input: CityRef & { reason?: string },
  context: ServiceContext & Caches,
  status: "active" | "suspended",
): Promise<CityStatusChange> {
  requirePermission(principal, PERMISSION);
  const actor = auditActor(principal);
  const { reason, ...named } = parseInput(statusSchema, input);
  const where = cityWhere(named);
  if (!where) throw new NotFound("city");
  const action = status === "suspended" ? "city.suspended" : "city.resumed";
  const answer = await withPlatformAdmin(async (tx) => {
    const city = await tx.city.findFirst({ where, select: { id: true, slug: true, status: true } });
    if (!city) throw new NotFound("city");
    if (city.status === status) return { city, changed: false };
    // Only from the status just read: of two operators at once, the second changes nothing.
    const { count } = await tx.city.updateMany({
      where: { id: city.id, status: city.status },
      data: { status, updatedAt: new Date() },
    });
    if (count === 0) return { city: { ...city, status }, changed: false };
    const event = {
      actor,
      action,
      subject: { type: "city", id: city.id },
      before: { status: city.status },
      after: { status, ...(reason && { reason }) },
      requestId: context.requestId,
    };
    await recordAudit(tx, city.id, event);
    await recordPlatformAudit({ ...event, after: { slug: city.slug, status, ...(reason && { reason }) } });
    return { city: { ...city, status }, changed: true };
  }, context.database);
  if (answer.changed) forgetCities(context);
  return answer;
}

/**
 * Suspends a city (operators): it answers no requests and its tokens are refused, at once in this
 * process and within the caches' lifetime (seconds) elsewhere. Already suspended: nothing changes.
 */
export function suspendCity(
  principal: Principal,
  input: CityRef & { reason?: string },
  context: ServiceContext & Caches = {},
): Promise<CityStatusChange> {
  return changeStatus(principal, input, context, "suspended");
}

/** Lifts a suspension (operators). Already active: nothing changes. */
export function resumeCity(
  principal: Principal,
  input: CityRef & { reason?: string },
  context: ServiceContext & Caches = {},
): Promise<CityStatusChange> {
  return changeStatus(principal, input, context, "active");
}

// --- Health --------------------------------------------------------------------------------

export type CityHealth = {
  id: string;
  slug: string;
  status: "active" | "suspended";
  /** People known to the city (users rows). */
  members: number;
  /** People holding admin, through a membership or the provider's realm role. */
  admins: number;
  pendingInvitations: number;
  /** The city's latest audit event; null when there is none. */
  lastActivityAt: Date | null;
  /** Whether the city's realm is recorded (provisioned at least once, under its current name). */
  realmProvisioned: boolean;
};

type HealthRow = {
  id: string;
  slug: string;
  status: "active" | "suspended";
  members: number;
  admins: number;
  pending_invitations: number;
  last_activity_at: Date | string | null;
  realm_provisioned: boolean;
};

/** What the platform console shows for one city, in one statement (operators). */
export async function cityHealth(
  principal: Principal,
  input: CityRef,
  context: Pick<ServiceContext, "database"> = {},
): Promise<CityHealth> {
  requirePermission(principal, PERMISSION);
  const where = cityWhere(parseInput(refSchema, input));
  if (!where) throw new NotFound("city");
  const condition = "id" in where ? Prisma.sql`c.id = ${where.id}::uuid` : Prisma.sql`c.slug = ${where.slug}`;
  const rows = await withPlatformAdmin(
    (tx) => tx.$queryRaw<HealthRow[]>`
      SELECT c.id::text AS id, c.slug, c.status::text AS status,
             (SELECT count(*)::int FROM users u WHERE u.tenant_id = c.id) AS members,
             (SELECT count(*)::int FROM users u
               WHERE u.tenant_id = c.id
                 AND ('admin' = ANY (u.provider_roles)
                      OR EXISTS (SELECT 1 FROM memberships m
                                  WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.role = 'admin'))) AS admins,
             (SELECT count(*)::int FROM invitations i
               WHERE i.tenant_id = c.id AND i.accepted_at IS NULL AND i.revoked_at IS NULL
                 AND i.expires_at > CURRENT_TIMESTAMP) AS pending_invitations,
             (SELECT max(a.occurred_at) FROM audit_events a WHERE a.tenant_id = c.id) AS last_activity_at,
             EXISTS (SELECT 1 FROM identity_realms r WHERE r.city_id = c.id AND r.realm = c.identity_realm) AS realm_provisioned
        FROM cities c
       WHERE ${condition}`,
    context.database,
  );
  const row = rows[0];
  if (!row) throw new NotFound("city");
  return {
    id: row.id,
    slug: row.slug,
    status: row.status,
    members: row.members,
    admins: row.admins,
    pendingInvitations: row.pending_invitations,
    lastActivityAt: row.last_activity_at === null ? null : new Date(row.last_activity_at),
    realmProvisioned: row.realm_provisioned,
  };
}
