// First and later sign-ins, and a person editing their own profile. Runs on PGlite and on
// PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { createFakeIdentity, type FakeIdentity } from "../../tests/support/identity";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { Forbidden, Unauthenticated, ValidationFailed } from "./errors";
import { createIssuerDirectory } from "./issuers.server";
import { ANONYMOUS, principalFromToken, type UserPrincipal } from "./principal.server";
import { signInUser, updateOwnProfile } from "./users.server";
import { createTokenVerifier, type TokenVerifier, type VerifiedToken } from "./verify.server";

let database: TestDatabase;
let identity: FakeIdentity;
let verifier: TokenVerifier;
let paris: TestCity;
let budapest: TestCity;

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createFakeIdentity();
  paris = await createCity(database);
  budapest = await createCity(database);
  // Paris speaks French and English.
  await withPlatformAdmin(
    (tx) => tx.city.update({ where: { id: paris.id }, data: { enabledLocales: ["fr", "en"], defaultLocale: "fr" } }),
    database,
  );
  await Promise.all([identity.addRealm(paris.slug), identity.addRealm(budapest.slug)]);
  verifier = createTokenVerifier({ backend: identity, issuers: createIssuerDirectory({ backend: identity, database }), database });
});

afterAll(async () => {
  await database?.drop();
});

async function verifiedAtParis(options: Parameters<FakeIdentity["accessToken"]>[1]): Promise<VerifiedToken> {
  return verifier.verify(await identity.accessToken(paris.slug, options), { tenantId: paris.id });
}

const signIn = (verified: VerifiedToken) => withTenant(paris.id, (tx) => signInUser(tx, paris.id, verified), database);

async function stored(userId: string) {
  return withTenant(
    paris.id,
    async (tx) => ({
      user: await tx.user.findFirstOrThrow({ where: { id: userId } }),
      roles: (await tx.membership.findMany({ where: { userId }, select: { role: true } })).map((m) => m.role),
      audit: await tx.auditEvent.findMany({ where: { subjectType: "user", subjectId: userId }, orderBy: { occurredAt: "asc" } }),
    }),
    database,
  );
}

describe("signInUser", () => {
  it("records the roles the realm grants, and audits each change of them at sign-in", async () => {
    const first = await signIn(await verifiedAtParis({ subject: "sub-realm-roles", realmRoles: ["city-staff"] }));
    const changes = async () =>
      (await stored(first.userId)).audit.filter((event) => event.action === "membership.provider_roles_changed");
    expect((await stored(first.userId)).user.providerRoles).toEqual(["staff"]);
    expect(await changes()).toEqual([]);
    // Unchanged at the next sign-in: nothing to record.
    await signIn(await verifiedAtParis({ subject: "sub-realm-roles", realmRoles: ["city-staff"] }));
    expect(await changes()).toEqual([]);
    // Promoted in the realm, then everything withdrawn there.
    await signIn(await verifiedAtParis({ subject: "sub-realm-roles", realmRoles: ["city-staff", "city-admin"] }));
    await signIn(await verifiedAtParis({ subject: "sub-realm-roles", realmRoles: [] }));
    expect((await changes()).map((event) => [event.before, event.after])).toEqual([
      [{ providerRoles: ["staff"] }, { providerRoles: ["staff", "admin"] }],
      [{ providerRoles: ["staff", "admin"] }, { providerRoles: [] }],
    ]);
    expect((await stored(first.userId)).user.providerRoles).toEqual([]);
  });

  it("creates the user and a resident membership on first sign-in, and audits it", async () => {
    const verified = await verifiedAtParis({ subject: "sub-first", email: "amelie@paris.test", name: "Amélie", locale: "fr" });
    const result = await signIn(verified);
    expect(result.created).toBe(true);
    const { user, roles, audit } = await stored(result.userId);
    expect(user).toMatchObject({ tenantId: paris.id, realm: paris.slug, subject: "sub-first", email: "amelie@paris.test", displayName: "Amélie", locale: "fr" });
    expect(roles).toEqual(["resident"]);
    expect(audit).toEqual([
      expect.objectContaining({
        action: "user.created",
        actorType: "user",
        actorId: result.userId,
        after: { realm: paris.slug, email: "amelie@paris.test", displayName: "Amélie", locale: "fr", roles: ["resident"], providerRoles: [] },
      }),
    ]);
  });

  it("updates the provider's fields on a later sign-in, keeps the person's own, and creates nothing", async () => {
    const first = await signIn(await verifiedAtParis({ subject: "sub-later", email: "old@paris.test", name: "From provider" }));
    await updateOwnProfile(
      { kind: "user", tenantId: paris.id, userId: first.userId, subject: "sub-later", roles: ["resident"], permissions: ["profile.edit_own"] },
      { displayName: "Chosen name" },
      { database },
    );
    const second = await signIn(await verifiedAtParis({ subject: "sub-later", email: "new@paris.test", name: "Renamed at provider", locale: "en" }));
    expect(second).toEqual({ userId: first.userId, created: false });
    const { user, roles, audit } = await stored(first.userId);
    expect(user).toMatchObject({ email: "new@paris.test", displayName: "Chosen name", locale: "en" });
    expect(roles).toEqual(["resident"]);
    expect(audit.map((event) => event.action)).toEqual(["user.created", "user.profile_updated", "user.updated_from_provider"]);
    expect(audit[2]).toMatchObject({ before: { email: "old@paris.test", locale: null }, after: { email: "new@paris.test", locale: "en" } });
    // Nothing changed: nothing audited.
    await signIn(await verifiedAtParis({ subject: "sub-later", email: "new@paris.test" }));
    expect((await stored(first.userId)).audit).toHaveLength(3);
  });

  it("ignores a provider language the city does not offer", async () => {
    const { userId } = await signIn(await verifiedAtParis({ subject: "sub-lang", locale: "hu" }));
    expect((await stored(userId)).user.locale).toBeNull();
  });

  it("creates one user when the same person's first two sign-ins race", async () => {
    const verified = await verifiedAtParis({ subject: "sub-race" });
    const results = await Promise.all([signIn(verified), signIn(verified)]);
    expect(results[0].userId).toBe(results[1].userId);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const { audit } = await stored(results[0].userId);
    expect(audit.filter((event) => event.action === "user.created")).toHaveLength(1);
  });

  it("refuses a token verified for another city, or a machine client's", async () => {
    const atBudapest = await verifier.verify(await identity.accessToken(budapest.slug), { tenantId: budapest.id });
    await expect(signIn(atBudapest)).rejects.toThrow(TypeError);
    const client = { ...(await verifiedAtParis({})), kind: "client" as const };
    await expect(signIn(client)).rejects.toThrow(TypeError);
  });
});

describe("updateOwnProfile", () => {
  let me: UserPrincipal;

  beforeAll(async () => {
    const principal = await principalFromToken(await verifiedAtParis({ subject: "sub-profile", name: "Before" }), { database });
    if (principal.kind !== "user") throw new Error("expected a person");
    me = principal;
  });

  it("changes the display name and language, audited with before and after", async () => {
    const profile = await updateOwnProfile(me, { displayName: "  Après  ", locale: "en" }, { requestId: "req-9", database });
    expect(profile).toMatchObject({ userId: me.userId, displayName: "Après", locale: "en" });
    const { audit } = await stored(me.userId);
    expect(audit.at(-1)).toMatchObject({
      action: "user.profile_updated",
      before: { displayName: "Before", locale: null },
      after: { displayName: "Après", locale: "en" },
      requestId: "req-9",
    });
    await expect(updateOwnProfile(me, { locale: null }, { database })).resolves.toMatchObject({ locale: null, displayName: "Après" });
  });

  it("refuses a language the city does not offer, an empty or long name, unknown fields and empty input", async () => {
    const cases: [unknown, string][] = [
      [{ locale: "hu" }, "locale"],
      [{ displayName: "   " }, "displayName"],
      [{ displayName: "x".repeat(101) }, "displayName"],
      [{ displayName: 42 }, "displayName"],
      [{ email: "me@evil.test" }, ""],
      [{}, ""],
    ];
    for (const [input, field] of cases) {
      const error = await updateOwnProfile(me, input as never, { database }).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationFailed);
      expect(Object.keys((error as ValidationFailed).fields)).toEqual([field]);
    }
    expect((await stored(me.userId)).user.locale).toBeNull();
  });

  it("is refused to nobody, and at another city", async () => {
    await expect(updateOwnProfile(ANONYMOUS, { displayName: "X" }, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(updateOwnProfile(me, { displayName: "X" }, { tenantId: budapest.id, database })).rejects.toBeInstanceOf(Forbidden);
  });
});
