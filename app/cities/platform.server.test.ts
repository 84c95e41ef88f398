// Operators' work on cities: the list, onboarding (database and identity provider), suspension
// and the health summary. Runs on PGlite and on PostgreSQL, with a fake identity provider.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson, createFakeIdentity, type FakeIdentity } from "../../tests/support/identity";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS, permissionsFor, type OperatorPrincipal } from "../auth/permissions";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { acceptInvitation, hashToken } from "./invitations.server";
import {
  cityCursor,
  cityHealth,
  listCities,
  onboardCity,
  resumeCity,
  suspendCity,
  type OnboardCityInput,
  type OnboardingContext,
} from "./platform.server";

let database: TestDatabase;
let paris: TestCity;
let identity: FakeIdentity;

const operator: OperatorPrincipal = {
  kind: "operator",
  operatorId: randomUUID(),
  subject: "operator-subject",
  permissions: permissionsFor(["operator"]),
};

const adminOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });

let counter = 0;
/** A valid onboarding input with a fresh slug (the file name rule does not apply to API input). */
function lyonLike(overrides: Partial<OnboardCityInput> = {}): OnboardCityInput {
  counter += 1;
  const slug = `onboard-${counter}-${randomUUID().slice(0, 6)}`;
  return {
    slug,
    names: { fr: `Ville ${counter}`, en: `Town ${counter}` },
    locales: { default: "fr", enabled: ["fr", "en"] },
    timeZone: "Europe/Paris",
    branding: { primaryColor: "#8b1e3f", accentColor: "#f2c14e" },
    domains: [`services.${slug}.example`],
    firstAdmin: { email: `Mayor@${slug}.example`, displayName: "Madame la Maire" },
    ...overrides,
  };
}

const context = (extra: Partial<OnboardingContext> = {}): OnboardingContext => ({
  backend: identity,
  database,
  publicUrl: "http://localhost:3000",
  platformDomain: "civitas.test",
  ...extra,
});

const cityBySlug = (slug: string) => withPlatformAdmin((tx) => tx.city.findUnique({ where: { slug } }), database);

const platformEvents = (subjectId: string) =>
  withPlatformAdmin((tx) => tx.platformAuditEvent.findMany({ where: { subjectId }, orderBy: { occurredAt: "asc" } }), database);

const cityEvents = (cityId: string) =>
  withTenant(cityId, (tx) => tx.auditEvent.findMany({ orderBy: [{ occurredAt: "asc" }, { action: "asc" }] }), database);

async function counts() {
  return withPlatformAdmin(
    async (tx) => ({
      cities: await tx.city.count(),
      domains: await tx.cityDomain.count(),
      invitations: await tx.invitation.count(),
      realms: await tx.identityRealm.count(),
      cityEvents: await tx.auditEvent.count(),
    }),
    database,
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createFakeIdentity();
  paris = await createCity(database);
});

afterAll(async () => {
  await database?.drop();
});

describe("onboardCity", () => {
  it("creates the city, its realm, the first admin's account and invitation, audited in both logs", async () => {
    const input = lyonLike();
    const onboarded = await onboardCity(operator, input, context({ requestId: "req-onboard" }));
    const { city, invitation } = onboarded;
    expect(city).toMatchObject({
      slug: input.slug,
      names: input.names,
      status: "active",
      defaultLocale: "fr",
      enabledLocales: ["fr", "en"],
      identityRealm: input.slug,
    });
    expect(onboarded.realmCreated).toBe(true);
    expect(invitation).toMatchObject({ email: `mayor@${input.slug}.example`, role: "admin" });
    expect(invitation.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const stored = await withPlatformAdmin(
      (tx) =>
        tx.city.findUniqueOrThrow({
          where: { id: city.id },
          include: { domains: true, invitations: true, identity: true },
        }),
      database,
    );
    expect(stored.domains.map((d) => [d.hostname, d.isPrimary])).toEqual([[`services.${input.slug}.example`, true]]);
    expect(stored.invitations).toHaveLength(1);
    expect(stored.invitations[0]).toMatchObject({
      tokenHash: hashToken(invitation.token),
      invitedByType: "operator",
      invitedBy: operator.operatorId,
    });
    expect(stored.identity?.realm).toBe(input.slug);

    // The provider: the realm, and the first admin's account with no password and no roles.
    expect(identity.calls.filter((call) => call.realm === input.slug).map((call) => call.method)).toEqual(["ensureRealm", "ensureUser"]);
    const account = identity.user(input.slug, `mayor@${input.slug}.example`);
    expect(account).toMatchObject({ email: `mayor@${input.slug}.example`, firstName: "Madame la Maire", realmRoles: [], locale: "fr" });
    expect(account?.password).toBeUndefined();

    const [onboardedEvent, ...others] = await platformEvents(city.id);
    expect(others).toEqual([]);
    expect(onboardedEvent).toMatchObject({
      action: "city.onboarded",
      actorType: "operator",
      actorId: operator.operatorId,
      requestId: "req-onboard",
      after: { slug: input.slug, identityRealm: input.slug, invitationId: invitation.id, realmCreated: true },
    });
    const events = await cityEvents(city.id);
    expect(events.map((event) => event.action).sort()).toEqual(["city.created", "invitation.created"]);
    expect(events.every((event) => event.actorType === "operator" && event.requestId === "req-onboard")).toBe(true);
    expect(JSON.stringify([onboardedEvent, ...events])).not.toContain(invitation.token);
  });

  it("hands the city to whoever signs in there with the token: they become its admin", async () => {
    const { city, invitation } = await onboardCity(operator, lyonLike(), context());
    const mayor = await addPerson(database, { id: city.id, slug: city.slug });
    const principal = userPrincipal({ tenantId: city.id, userId: mayor.userId, subject: mayor.subject, memberships: [] });
    await expect(acceptInvitation(principal, { token: invitation.token }, { database })).resolves.toMatchObject({
      role: "admin",
      granted: true,
    });
  });

  it("validates the city with the city files' schema and the first admin, all problems at once, writing nothing", async () => {
    const before = await counts();
    const callsBefore = identity.calls.length;
    const input = lyonLike({
      slug: "Not A Slug",
      locales: { default: "de", enabled: ["fr", "en"] },
      branding: { primaryColor: "red", accentColor: "#f2c14e" },
      domains: ["paris.civitas.test"],
      firstAdmin: { email: "nobody" },
    });
    const error = await onboardCity(operator, input, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailed);
    const { fields } = error as ValidationFailed;
    expect(fields.slug?.[0]).toMatch(/is not a valid slug/);
    expect(fields.locales).toEqual([expect.stringMatching(/^locales\.default: "de" is not one of locales\.enabled/)]);
    expect(fields.branding).toEqual([expect.stringMatching(/^branding\.primaryColor: "red" is not a colour/)]);
    expect(fields.domains).toEqual([expect.stringMatching(/^domains\[0\]: .*under the platform domain civitas\.test/)]);
    expect(fields.firstAdmin).toEqual(["firstAdmin.email: must be an email address"]);
    expect(await counts()).toEqual(before);
    expect(identity.calls.length).toBe(callsBefore);
  });

  it("asks for the first admin and refuses fields a city file does not have", async () => {
    const { firstAdmin: _firstAdmin, ...withoutAdmin } = lyonLike();
    const missing = await onboardCity(operator, withoutAdmin as OnboardCityInput, context()).catch((e: unknown) => e);
    expect((missing as ValidationFailed).fields.firstAdmin?.[0]).toMatch(/first admin/);
    const extra = await onboardCity(operator, { ...lyonLike(), colour: "blue" } as OnboardCityInput, context()).catch((e: unknown) => e);
    expect((extra as ValidationFailed).fields.colour).toEqual(["unknown field (allowed here: slug, names, locales, timeZone, status, branding, domains, identity)"]);
    const notAnObject = await onboardCity(operator, "paris" as unknown as OnboardCityInput, context()).catch((e: unknown) => e);
    expect(notAnObject).toBeInstanceOf(ValidationFailed);
  });

  it("refuses a slug, realm or host name another city holds, naming it, and writes nothing", async () => {
    const existing = await onboardCity(operator, lyonLike(), context());
    const before = await counts();
    const callsBefore = identity.calls.length;
    const attempts: [Partial<OnboardCityInput>, string, RegExp][] = [
      [{ slug: existing.city.slug }, "slug_taken", /^slug: /],
      [{ identity: { realm: existing.city.identityRealm } }, "realm_taken", /^identity\.realm: .*city "onboard-/],
      [{ domains: ["other.example", `services.${existing.city.slug}.example`] }, "domain_taken", /^domains: /],
      [{ identity: { realm: paris.slug } }, "realm_taken", new RegExp(`city "${paris.slug}"`)],
    ];
    for (const [overrides, reason, message] of attempts) {
      const input = lyonLike(overrides);
      const error = await onboardCity(operator, input, context()).catch((e: unknown) => e);
      expect(error, reason).toBeInstanceOf(Conflict);
      expect(error).toMatchObject({ reason, message: expect.stringMatching(message) });
      if (overrides.slug === undefined) expect(await cityBySlug(input.slug)).toBeNull();
      const invited = await withPlatformAdmin((tx) => tx.invitation.count({ where: { email: input.firstAdmin.email.toLowerCase() } }), database);
      expect(invited).toBe(0);
    }
    expect(await counts()).toEqual(before);
    expect(identity.calls.length).toBe(callsBefore);
  });

  it("undoes the city when the provider fails, logs the failure, and lets the operator try again", async () => {
    const input = lyonLike();
    const before = await counts();
    identity.failNext("ensureUser", new Error("provider unavailable"));
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      await expect(onboardCity(operator, input, context({ requestId: "req-fail" }))).rejects.toThrow("provider unavailable");
    } finally {
      quiet.mockRestore();
    }
    expect(await cityBySlug(input.slug)).toBeNull();
    expect(await counts()).toEqual(before);
    const failed = await withPlatformAdmin(
      (tx) => tx.platformAuditEvent.findMany({ where: { action: "city.onboarding_failed", requestId: "req-fail" } }),
      database,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]?.after).toMatchObject({ slug: input.slug, step: "first_admin" });

    // The provider kept the realm it made: the second attempt finds it and goes on.
    const again = await onboardCity(operator, input, context());
    expect(again.realmCreated).toBe(false);
    expect(await cityBySlug(input.slug)).not.toBeNull();
  });

  it("is for operators only", async () => {
    const before = await counts();
    await expect(onboardCity(ANONYMOUS, lyonLike(), context())).rejects.toBeInstanceOf(Unauthenticated);
    await expect(onboardCity(adminOf(paris), lyonLike(), context())).rejects.toBeInstanceOf(Forbidden);
    expect(await counts()).toEqual(before);
  });
});

describe("listCities", () => {
  it("pages through every city by slug", async () => {
    const everyone = (await listCities(operator, { first: 100 }, { database })).cities.map((city) => city.slug);
    expect(everyone).toEqual([...everyone].sort());
    expect(everyone).toContain(paris.slug);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await listCities(operator, { first: 2, after }, { database });
      seen.push(...page.cities.map((city) => city.slug));
      expect(page.endCursor).toBe(page.cities.length ? cityCursor(page.cities.at(-1)!) : null);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toEqual(everyone);
  });

  it("filters by status and finds cities by slug, host name or a name in any language", async () => {
    const { city } = await onboardCity(
      operator,
      lyonLike({ names: { fr: "Saint-Étienne-du-Rouvray", en: "Saint Etienne du Rouvray" } }),
      context(),
    );
    const search = async (text: string) => (await listCities(operator, { search: text }, { database })).cities.map((c) => c.slug);
    expect(await search("étienne-du")).toEqual([city.slug]);
    expect(await search("ETIENNE DU")).toEqual([city.slug]);
    expect(await search(`services.${city.slug}`)).toEqual([city.slug]);
    expect(await search(city.slug.toUpperCase())).toEqual([city.slug]);
    expect(await search("no city is called this")).toEqual([]);

    const suspended = await createCity(database, { status: "suspended" });
    const bySuspension = (await listCities(operator, { status: "suspended", first: 100 }, { database })).cities;
    expect(bySuspension.map((c) => c.slug)).toContain(suspended.slug);
    expect(bySuspension.every((c) => c.status === "suspended")).toBe(true);
  });

  it("fetches what GraphQL selects, and refuses a bad cursor", async () => {
    const selected = await listCities(operator, { first: 1 }, { database }, { select: { id: true } });
    expect(Object.keys(selected.cities[0]!).sort()).toEqual(["id", "slug"]);
    const included = await listCities(operator, { search: paris.slug }, { database }, { include: { domains: true } });
    expect((included.cities[0] as unknown as { domains: { hostname: string }[] }).domains[0]?.hostname).toBe(`${paris.slug}.example`);
    const error = await listCities(operator, { after: cityCursor({ slug: "Not a slug!" }) }, { database }).catch((e: unknown) => e);
    expect((error as ValidationFailed).fields.after).toEqual(["is not a cursor of this list"]);
  });

  it("is for operators only", async () => {
    await expect(listCities(ANONYMOUS, {}, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(listCities(adminOf(paris), {}, { database })).rejects.toBeInstanceOf(Forbidden);
  });
});

describe("suspendCity and resumeCity", () => {
  it("suspends once, audited in the city's and the platform's logs, and forgets the caches", async () => {
    const city = await createCity(database);
    const issuers = { invalidate: vi.fn() };
    const done = await suspendCity(operator, { slug: city.slug, reason: "unpaid" }, { database, issuers, requestId: "req-suspend" });
    expect(done).toEqual({ city: { id: city.id, slug: city.slug, status: "suspended" }, changed: true });
    expect((await cityBySlug(city.slug))?.status).toBe("suspended");
    expect(issuers.invalidate).toHaveBeenCalledTimes(1);

    const again = await suspendCity(operator, { id: city.id }, { database, issuers });
    expect(again).toEqual({ city: { id: city.id, slug: city.slug, status: "suspended" }, changed: false });
    expect(issuers.invalidate).toHaveBeenCalledTimes(1);

    const inCity = (await cityEvents(city.id)).filter((event) => event.action === "city.suspended");
    expect(inCity).toHaveLength(1);
    expect(inCity[0]).toMatchObject({
      actorType: "operator",
      actorId: operator.operatorId,
      requestId: "req-suspend",
      before: { status: "active" },
      after: { status: "suspended", reason: "unpaid" },
    });
    expect((await platformEvents(city.id)).map((event) => event.action)).toEqual(["city.suspended"]);

    const resumed = await resumeCity(operator, { id: city.id }, { database });
    expect(resumed.changed).toBe(true);
    expect((await cityBySlug(city.slug))?.status).toBe("active");
    expect((await resumeCity(operator, { id: city.id }, { database })).changed).toBe(false);
    expect((await platformEvents(city.id)).map((event) => event.action)).toEqual(["city.suspended", "city.resumed"]);
  });

  it("answers not found for no such city, and needs an id or a slug", async () => {
    await expect(suspendCity(operator, { id: randomUUID() }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(suspendCity(operator, { id: "paris" }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(suspendCity(operator, { slug: "no-such-city" }, { database })).rejects.toBeInstanceOf(NotFound);
    const neither = await suspendCity(operator, {} as { id: string }, { database }).catch((e: unknown) => e);
    expect((neither as ValidationFailed).fields[""]).toEqual(["give the city's id or its slug"]);
  });

  it("is for operators only", async () => {
    await expect(suspendCity(ANONYMOUS, { id: paris.id }, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(suspendCity(adminOf(paris), { id: paris.id }, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(resumeCity(adminOf(paris), { id: paris.id }, { database })).rejects.toBeInstanceOf(Forbidden);
    expect((await cityBySlug(paris.slug))?.status).toBe("active");
  });
});

describe("cityHealth", () => {
  it("counts people, admins (membership or realm role) and pending invitations, with the last activity", async () => {
    const city = await createCity(database);
    await addPerson(database, city, { roles: ["staff"] });
    await addPerson(database, city, { roles: ["admin"] });
    const realmAdmin = await addPerson(database, city);
    await withPlatformAdmin(
      (tx) => tx.user.update({ where: { tenantId_id: { tenantId: city.id, id: realmAdmin.userId } }, data: { providerRoles: ["admin"] } }),
      database,
    );
    const health = await cityHealth(operator, { id: city.id }, { database });
    const lastEvent = await withPlatformAdmin(
      (tx) => tx.auditEvent.findFirstOrThrow({ where: { tenantId: city.id }, orderBy: { occurredAt: "desc" } }),
      database,
    );
    expect(health).toEqual({
      id: city.id,
      slug: city.slug,
      status: "active",
      members: 4,
      admins: 3,
      pendingInvitations: 1,
      lastActivityAt: lastEvent.occurredAt,
      realmProvisioned: false,
    });
  });

  it("sees an onboarded city's realm, by slug too", async () => {
    const { city } = await onboardCity(operator, lyonLike(), context());
    expect(await cityHealth(operator, { slug: city.slug }, { database })).toMatchObject({
      members: 0,
      admins: 0,
      pendingInvitations: 1,
      realmProvisioned: true,
    });
  });

  it("is for operators only, and answers not found for no such city", async () => {
    await expect(cityHealth(operator, { id: randomUUID() }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(cityHealth(ANONYMOUS, { id: paris.id }, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cityHealth(adminOf(paris), { id: paris.id }, { database })).rejects.toBeInstanceOf(Forbidden);
  });
});
