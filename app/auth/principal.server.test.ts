// From a token to a principal, end to end (fake provider, real verifier, real database): what a
// resident, a staff member, an admin and an operator may do, at their city and at another.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson, createFakeIdentity, type FakeIdentity } from "../../tests/support/identity";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { PLATFORM_REALM } from "../identity/realm";
import { createApiClient, listApiClients } from "./api-clients.server";
import { Forbidden, Unauthenticated } from "./errors";
import { createIssuerDirectory } from "./issuers.server";
import { grantRole, listMembers } from "./members.server";
import { definePermissions, permissionsFor } from "./permissions";
import { ANONYMOUS, auditActor, can, principalFromToken, principalOpening, requirePermission, type Principal } from "./principal.server";
import { createTokenVerifier, type ExpectedIssuer, type TokenVerifier } from "./verify.server";

let database: TestDatabase;
let identity: FakeIdentity;
let verifier: TokenVerifier;
let paris: TestCity;
let budapest: TestCity;

const STAFF_ACTIONS = ["members.read"];
const ADMIN_ACTIONS = ["members.manage", "api_clients.manage", "audit.read", "city.settings.update"];

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createFakeIdentity();
  paris = await createCity(database);
  budapest = await createCity(database);
  await Promise.all([identity.addRealm(paris.slug), identity.addRealm(budapest.slug), identity.addRealm(PLATFORM_REALM)]);
  verifier = createTokenVerifier({ backend: identity, issuers: createIssuerDirectory({ backend: identity, database }), database });
  definePermissions("test-moderation", [
    { id: "test_moderation.hide_comment", description: "test-moderation:permissions.hide_comment", grantedTo: ["staff"] },
  ]);
});

afterAll(async () => {
  await database?.drop();
});

async function principalOf(token: string, expected: ExpectedIssuer): Promise<Principal> {
  return principalFromToken(await verifier.verify(token, expected), { database });
}

async function expectForbidden(promise: Promise<unknown>) {
  await expect(promise).rejects.toBeInstanceOf(Forbidden);
}

describe("residents", () => {
  it("are created on their first token, as residents, and reach no staff or admin action", async () => {
    const token = await identity.accessToken(paris.slug, { subject: "first-time-resident", email: "new@paris.test", name: "New" });
    const principal = await principalOf(token, { tenantId: paris.id });
    expect(principal).toMatchObject({ kind: "user", tenantId: paris.id, subject: "first-time-resident", roles: ["resident"] });
    // The core's resident permission, and those the catalogue's plugins grant residents (reporting an issue).
    expect(principal.kind === "user" && principal.permissions).toEqual(permissionsFor(["resident"]));
    expect(principal.kind === "user" && principal.permissions).toEqual(expect.arrayContaining(["profile.edit_own", "reporting.report"]));
    for (const permission of [...STAFF_ACTIONS, ...ADMIN_ACTIONS]) {
      expect(can(principal, permission), permission).toBe(false);
      expect(() => requirePermission(principal, permission)).toThrow(Forbidden);
    }
    // The services refuse too, before doing anything.
    await expectForbidden(listMembers(principal, {}, { database }));
    await expectForbidden(grantRole(principal, { userId: paris.userId, role: "admin" }, { database }));
    await expectForbidden(listApiClients(principal, { database }));
    const calls = identity.calls.length;
    await expectForbidden(createApiClient(principal, { name: "Mine", scopes: ["read"] }, { backend: identity, database }));
    expect(identity.calls.length).toBe(calls);

    const stored = await withTenant(
      paris.id,
      (tx) => tx.user.findFirstOrThrow({ where: { subject: "first-time-resident" }, include: { memberships: true } }),
      database,
    );
    expect(stored).toMatchObject({ email: "new@paris.test", displayName: "New", realm: paris.slug });
    expect(stored.memberships.map((m) => m.role)).toEqual(["resident"]);
    // The same person again: the same user.
    const again = await principalOf(await identity.accessToken(paris.slug, { subject: "first-time-resident" }), { tenantId: paris.id });
    expect(again.kind === "user" && again.userId).toBe(principal.kind === "user" && principal.userId);
  });
});

describe("staff and admins", () => {
  it("gives staff the staff actions and not the admin ones", async () => {
    const staff = await addPerson(database, paris, { roles: ["staff"] });
    const principal = await principalOf(await identity.accessToken(paris.slug, { subject: staff.subject }), { tenantId: paris.id });
    expect(principal).toMatchObject({ kind: "user", userId: staff.userId, roles: ["resident", "staff"] });
    for (const permission of STAFF_ACTIONS) expect(can(principal, permission), permission).toBe(true);
    for (const permission of ADMIN_ACTIONS) expect(can(principal, permission), permission).toBe(false);
    await expect(listMembers(principal, {}, { database })).resolves.toMatchObject({ members: expect.any(Array) });
    await expectForbidden(grantRole(principal, { userId: staff.userId, role: "admin" }, { database }));
  });

  it("gives a staff member of one city no rights at another", async () => {
    const staff = await addPerson(database, paris, { roles: ["staff"] });
    const parisToken = await identity.accessToken(paris.slug, { subject: staff.subject });
    // Their token is Paris' realm's: Budapest refuses it outright.
    await expect(verifier.verify(parisToken, { tenantId: budapest.id })).rejects.toMatchObject({ reason: "wrong_city" });
    // The same person with an account in Budapest's realm is a resident there.
    const atBudapest = await principalOf(await identity.accessToken(budapest.slug, { subject: staff.subject }), { tenantId: budapest.id });
    expect(atBudapest).toMatchObject({ kind: "user", tenantId: budapest.id, roles: ["resident"] });
    expect(can(atBudapest, "members.read")).toBe(false);
    // And their Paris principal, handed to a service for Budapest, is refused.
    const atParis = await principalOf(parisToken, { tenantId: paris.id });
    expect(can(atParis, "members.read")).toBe(true);
    await expectForbidden(listMembers(atParis, {}, { tenantId: budapest.id, database }));
  });

  it("makes an admin of someone whose realm gives city-admin, and staff of city-staff", async () => {
    const admin = await principalOf(await identity.accessToken(paris.slug, { realmRoles: ["city-admin"] }), { tenantId: paris.id });
    expect(admin).toMatchObject({ kind: "user", roles: ["resident", "admin"] });
    for (const permission of [...STAFF_ACTIONS, ...ADMIN_ACTIONS]) expect(can(admin, permission), permission).toBe(true);
    await expect(listApiClients(admin, { database })).resolves.toEqual(expect.any(Array));
    // Nothing of the realm's role is stored: it holds while the realm gives it.
    const stored = await withTenant(
      paris.id,
      (tx) => tx.membership.findMany({ where: { userId: admin.kind === "user" ? admin.userId : "" }, select: { role: true } }),
      database,
    );
    expect(stored).toEqual([{ role: "resident" }]);

    const staff = await principalOf(await identity.accessToken(paris.slug, { realmRoles: ["city-staff"] }), { tenantId: paris.id });
    expect(staff).toMatchObject({ roles: ["resident", "staff"] });
    // A realm's operator role means nothing at a city.
    const notOperator = await principalOf(await identity.accessToken(paris.slug, { realmRoles: ["platform-operator"] }), { tenantId: paris.id });
    expect(notOperator).toMatchObject({ kind: "user", roles: ["resident"] });
  });

  it("grants a plugin's permission to the role the plugin names", async () => {
    const staff = await addPerson(database, paris, { roles: ["staff"] });
    const asStaff = await principalOf(await identity.accessToken(paris.slug, { subject: staff.subject }), { tenantId: paris.id });
    const asAdmin = await principalOf(await identity.accessToken(paris.slug, { subject: `subject-${paris.userId}` }), { tenantId: paris.id });
    const asResident = await principalOf(await identity.accessToken(paris.slug), { tenantId: paris.id });
    expect(can(asStaff, "test_moderation.hide_comment")).toBe(true);
    expect(can(asAdmin, "test_moderation.hide_comment")).toBe(true);
    expect(can(asResident, "test_moderation.hide_comment")).toBe(false);
  });
});

describe("a principal read with the unit of work's opening", () => {
  async function both(token: string, city: TestCity) {
    const verified = await verifier.verify(token, { tenantId: city.id });
    const opening = principalOpening(verified);
    expect(opening).not.toBeNull();
    const opened = await withTenant(city.id, async (_tx, [rows]) => rows, database, [opening!]);
    return { verified, opened, fromOpening: await principalFromToken(verified, { database, opened }), fromToken: await principalFromToken(verified, { database }) };
  }

  it("is the same principal as the one read on its own, roles and permissions included", async () => {
    const admin = await addPerson(database, paris, { roles: ["staff", "admin"] });
    const { opened, fromOpening, fromToken } = await both(await identity.accessToken(paris.slug, { subject: admin.subject }), paris);
    expect(opened).toHaveLength(1);
    expect(fromOpening).toEqual(fromToken);
    expect(fromOpening).toMatchObject({ kind: "user", userId: admin.userId, roles: ["resident", "staff", "admin"] });
  });

  it("finds nobody for a first token, which then signs the person in as before", async () => {
    const { opened, fromOpening } = await both(await identity.accessToken(paris.slug, { subject: "first-via-opening" }), paris);
    expect(opened).toEqual([]);
    expect(fromOpening).toMatchObject({ kind: "user", subject: "first-via-opening", roles: ["resident"] });
  });

  it("reads only the city's own person: the same subject at another city is someone else", async () => {
    const person = await addPerson(database, paris, { subject: "same-subject-both-cities", roles: ["admin"] });
    const { fromOpening } = await both(await identity.accessToken(budapest.slug, { subject: "same-subject-both-cities" }), budapest);
    expect(fromOpening).toMatchObject({ kind: "user", tenantId: budapest.id, roles: ["resident"] });
    expect(fromOpening.kind === "user" && fromOpening.userId).not.toBe(person.userId);
  });

  it("reads an API client's registered scopes too, and nobody once it is revoked", async () => {
    const admin = await principalOf(await identity.accessToken(paris.slug, { subject: `subject-${paris.userId}` }), { tenantId: paris.id });
    const created = await createApiClient(admin, { name: "Opening reader", scopes: ["read"] }, { backend: identity, database });
    const token = await identity.accessToken(paris.slug, { clientId: created.clientId, scope: "read write" });
    const { opened, fromOpening, fromToken } = await both(token, paris);
    expect(opened).toHaveLength(1);
    expect(fromOpening).toEqual(fromToken);
    expect(fromOpening).toMatchObject({ kind: "client", apiClientId: created.id, scopes: ["read"] });
    const verified = await verifier.verify(token, { tenantId: paris.id });
    await withTenant(paris.id, (tx) => tx.apiClient.updateMany({ where: { id: created.id }, data: { revokedAt: new Date() } }), database);
    const [rows] = await withTenant(paris.id, async (_tx, opened) => opened, database, [principalOpening(verified)!]);
    expect(rows).toEqual([]);
    expect(await principalFromToken(verified, { database, opened: rows })).toEqual(ANONYMOUS);
  });

  it("is not offered for the platform's tokens", async () => {
    const operatorToken = await identity.accessToken(PLATFORM_REALM, { subject: "opening-operator", realmRoles: ["platform-operator"] });
    expect(principalOpening(await verifier.verify(operatorToken, { platform: true }))).toBeNull();
  });
});

describe("API clients", () => {
  it("hold the scopes they were registered with and the token carries, and no person's permissions", async () => {
    const admin = await principalOf(await identity.accessToken(paris.slug, { subject: `subject-${paris.userId}` }), { tenantId: paris.id });
    definePermissions("test-requests", [
      { id: "test_requests.read", description: "test-requests:read", grantedTo: ["resident"], clientScope: "read" },
      { id: "test_requests.close", description: "test-requests:close", grantedTo: ["staff"], clientScope: "write" },
    ]);
    const created = await createApiClient(admin, { name: "Reader", scopes: ["read"] }, { backend: identity, database });
    // Even if the provider put write in the token, the city registered read only.
    const token = await identity.accessToken(paris.slug, { clientId: created.clientId, scope: "read write profile" });
    const principal = await principalOf(token, { tenantId: paris.id });
    expect(principal).toEqual({
      kind: "client",
      tenantId: paris.id,
      apiClientId: created.id,
      clientId: created.clientId,
      scopes: ["read"],
      permissions: ["test_requests.read"],
    });
    expect(auditActor(principal)).toEqual({ type: "client", id: created.clientId });
    await expectForbidden(listMembers(principal, {}, { database }));
  });
});

describe("operators", () => {
  it("lists someone the platform realm makes an operator, and withdraws it when the realm does", async () => {
    const subject = "operator-subject-1";
    const token = await identity.accessToken(PLATFORM_REALM, { subject, realmRoles: ["platform-operator"], email: "op@civitas.test" });
    const principal = await principalOf(token, { platform: true });
    expect(principal).toMatchObject({ kind: "operator", subject });
    expect(can(principal, "platform.cities.manage")).toBe(true);
    expect(can(principal, "members.read")).toBe(false);
    const listed = await withPlatformAdmin(
      async (tx) => ({
        operators: await tx.platformOperator.findMany({ where: { subject } }),
        audit: await tx.platformAuditEvent.findMany({ where: { action: "operator.registered", subjectId: principal.kind === "operator" ? principal.operatorId : "" } }),
      }),
      database,
    );
    expect(listed.operators).toHaveLength(1);
    expect(listed.operators[0]).toMatchObject({ email: "op@civitas.test" });
    expect(listed.audit).toHaveLength(1);

    const again = await principalOf(await identity.accessToken(PLATFORM_REALM, { subject, realmRoles: ["platform-operator"] }), { platform: true });
    expect(again).toMatchObject({ kind: "operator", operatorId: principal.kind === "operator" ? principal.operatorId : "" });
    // The role removed in the platform realm: the next token makes nobody an operator.
    const later = await principalOf(await identity.accessToken(PLATFORM_REALM, { subject }), { platform: true });
    expect(later.kind).toBe("anonymous");
  });

  it("treats anyone else of the platform realm as nobody", async () => {
    const principal = await principalOf(await identity.accessToken(PLATFORM_REALM, { subject: "not-an-operator" }), { platform: true });
    expect(principal).toEqual({ kind: "anonymous" });
    expect(() => requirePermission(principal, "platform.cities.manage")).toThrow(Unauthenticated);
    const rows = await withPlatformAdmin((tx) => tx.platformOperator.count({ where: { subject: "not-an-operator" } }), database);
    expect(rows).toBe(0);
  });
});

describe("a client revoked after verification", () => {
  it("is nobody when its principal is built", async () => {
    const admin = await principalOf(await identity.accessToken(paris.slug, { subject: `subject-${paris.userId}` }), { tenantId: paris.id });
    const created = await createApiClient(admin, { name: "Short-lived", scopes: ["write"] }, { backend: identity, database });
    const verified = await verifier.verify(await identity.accessToken(paris.slug, { clientId: created.clientId, scope: "write" }), { tenantId: paris.id });
    await withTenant(paris.id, (tx) => tx.apiClient.updateMany({ where: { id: created.id }, data: { revokedAt: new Date() } }), database);
    await expect(principalFromToken(verified, { database })).resolves.toEqual({ kind: "anonymous" });
  });
});
