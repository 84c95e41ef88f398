// A city admin's API clients: created at the provider and recorded here (or undone), the secret
// shown once and kept nowhere in Civitas, revoked so that its tokens stop at once. Two cities.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson, createFakeIdentity, FakeIdentityError, type FakeIdentity } from "../../tests/support/identity";
import { withTenant } from "../db/database.server";
import { createApiClient, listApiClients, revokeApiClient } from "./api-clients.server";
import { Forbidden, ValidationFailed } from "./errors";
import { createIssuerDirectory } from "./issuers.server";
import { userPrincipal, type UserPrincipal } from "./principal.server";
import { createTokenVerifier, type TokenVerifier } from "./verify.server";

let database: TestDatabase;
let identity: FakeIdentity;
let verifier: TokenVerifier;
let paris: TestCity;
let budapest: TestCity;
let parisAdmin: UserPrincipal;
let budapestAdmin: UserPrincipal;

const adminOf = (city: TestCity) =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createFakeIdentity();
  paris = await createCity(database);
  budapest = await createCity(database);
  await Promise.all([identity.addRealm(paris.slug), identity.addRealm(budapest.slug)]);
  // A long client cache: only being told makes this verifier forget a client.
  verifier = createTokenVerifier({
    backend: identity,
    issuers: createIssuerDirectory({ backend: identity, database }),
    database,
    clientCacheMs: 60_000,
  });
  parisAdmin = adminOf(paris);
  budapestAdmin = adminOf(budapest);
});

afterAll(async () => {
  await database?.drop();
});

const context = (extra: { requestId?: string; tenantId?: string } = {}) => ({ backend: identity, verifier, database, ...extra });

const auditOf = (city: TestCity, id: string) =>
  withTenant(city.id, (tx) => tx.auditEvent.findMany({ where: { subjectType: "api_client", subjectId: id }, orderBy: { occurredAt: "asc" } }), database);

describe("createApiClient", () => {
  it("registers the client with the provider, records it without its secret, and audits it", async () => {
    const created = await createApiClient(parisAdmin, { name: "  Open data portal ", scopes: ["write", "read"] }, context({ requestId: "req-c" }));
    expect(created).toEqual({
      id: expect.any(String),
      clientId: expect.stringMatching(new RegExp(`^${paris.slug}-[0-9a-f]{12}$`)),
      clientSecret: expect.any(String),
      name: "Open data portal",
      scopes: ["read", "write"],
    });
    expect(identity.machineClient(paris.slug, created.clientId)).toMatchObject({
      name: "Open data portal",
      scopes: ["read", "write"],
      secret: created.clientSecret,
    });

    const row = await withTenant(paris.id, (tx) => tx.apiClient.findFirstOrThrow({ where: { id: created.id } }), database);
    expect(row).toMatchObject({ clientId: created.clientId, name: "Open data portal", scopes: ["read", "write"], createdBy: paris.userId, revokedAt: null });
    expect(JSON.stringify(row)).not.toContain(created.clientSecret);
    const columns = await database.owner.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_clients'",
    );
    expect(columns.map((c) => c.column_name)).not.toContain("secret");

    const audit = await auditOf(paris, created.id);
    expect(audit).toEqual([
      expect.objectContaining({
        action: "api_client.created",
        actorType: "user",
        actorId: paris.userId,
        after: { clientId: created.clientId, name: "Open data portal", scopes: ["read", "write"] },
        requestId: "req-c",
      }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(created.clientSecret);
    // The secret is returned once: listing shows no secret.
    expect(JSON.stringify(await listApiClients(parisAdmin, { database }))).not.toContain(created.clientSecret);

    // And it works: the client-credentials grant gives a token Paris accepts as that client.
    const token = await identity.clientCredentialsToken(paris.slug, created.clientId, created.clientSecret);
    await expect(verifier.verify(token, { tenantId: paris.id })).resolves.toMatchObject({
      kind: "client",
      clientId: created.clientId,
      scopes: ["read", "write"],
    });
  });

  it("refuses bad input with a message per field, before anything reaches the provider", async () => {
    const calls = identity.calls.length;
    const cases: [unknown, string[]][] = [
      [{ name: "   ", scopes: ["read"] }, ["name"]],
      [{ name: "x".repeat(101), scopes: ["read"] }, ["name"]],
      [{ name: "Portal", scopes: [] }, ["scopes"]],
      [{ name: "Portal", scopes: ["admin"] }, ["scopes"]],
      [{ name: 7, scopes: "read" }, ["name", "scopes"]],
      [{ name: "Portal", scopes: ["read"], secret: "mine" }, [""]],
    ];
    for (const [input, fields] of cases) {
      const error = await createApiClient(parisAdmin, input as never, context()).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationFailed);
      expect(Object.keys((error as ValidationFailed).fields).sort()).toEqual(fields);
    }
    expect(identity.calls.length).toBe(calls);
  });

  it("leaves nothing behind when the provider refuses", async () => {
    const before = await listApiClients(parisAdmin, { database });
    identity.failNext("createMachineClient", new FakeIdentityError("provider down"));
    await expect(createApiClient(parisAdmin, { name: "Unlucky", scopes: ["read"] }, context())).rejects.toThrow("provider down");
    expect(await listApiClients(parisAdmin, { database })).toEqual(before);
  });

  it("removes the provider's client again when recording it fails", async () => {
    // An admin whose user row is gone (deleted a moment ago): the row's created_by cannot point at it.
    const ghost = userPrincipal({ tenantId: paris.id, userId: "6f1a0c7e-0000-4000-8000-00000000dead", subject: "gone", memberships: ["admin"] });
    const before = await listApiClients(parisAdmin, { database });
    await expect(createApiClient(ghost, { name: "Orphan", scopes: ["read"] }, context())).rejects.toThrow();
    const created = identity.calls.filter((call) => call.method === "createMachineClient").at(-1);
    const deleted = identity.calls.at(-1);
    expect(created).toMatchObject({ realm: paris.slug });
    expect(deleted).toEqual({ method: "deleteMachineClient", realm: paris.slug, clientId: created?.method === "createMachineClient" && created.clientId });
    expect(identity.machineClient(paris.slug, created?.method === "createMachineClient" ? created.clientId : "")).toBeUndefined();
    expect(await listApiClients(parisAdmin, { database })).toEqual(before);
  });

  it("is refused to staff, and at another city", async () => {
    const staffPerson = await addPerson(database, paris, { roles: ["staff"] });
    const staff = userPrincipal({ tenantId: paris.id, userId: staffPerson.userId, subject: staffPerson.subject, memberships: ["staff"] });
    await expect(createApiClient(staff, { name: "Nope", scopes: ["read"] }, context())).rejects.toBeInstanceOf(Forbidden);
    await expect(listApiClients(staff, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(
      createApiClient(parisAdmin, { name: "Nope", scopes: ["read"] }, context({ tenantId: budapest.id })),
    ).rejects.toBeInstanceOf(Forbidden);
  });
});

describe("listApiClients", () => {
  it("lists the city's clients only, newest first, revoked ones included", async () => {
    const city = await createCity(database);
    await identity.addRealm(city.slug);
    const admin = adminOf(city);
    const older = await createApiClient(admin, { name: "Older", scopes: ["read"] }, context());
    const newer = await createApiClient(admin, { name: "Newer", scopes: ["write"] }, context());
    await revokeApiClient(admin, older.id, context());
    const listed = await listApiClients(admin, { database });
    const mine = listed.filter((client) => client.id === older.id || client.id === newer.id);
    expect(mine.map((client) => [client.name, client.revokedAt === null])).toEqual([
      ["Newer", true],
      ["Older", false],
    ]);
    // The factory's own client is there too, and nothing of Paris.
    expect(listed).toHaveLength(3);
    expect(listed.every((client) => client.clientId.startsWith(city.slug) || client.clientId.startsWith("client-"))).toBe(true);
  });
});

describe("revokeApiClient", () => {
  it("revokes at once: audited, forgotten by the provider, and its tokens refused", async () => {
    const created = await createApiClient(parisAdmin, { name: "Leaky", scopes: ["read"] }, context());
    const token = await identity.clientCredentialsToken(paris.slug, created.clientId, created.clientSecret);
    await expect(verifier.verify(token, { tenantId: paris.id })).resolves.toMatchObject({ kind: "client" });

    const revoked = await revokeApiClient(parisAdmin, created.id, context({ requestId: "req-r" }));
    expect(revoked).toEqual({ id: created.id, clientId: created.clientId, name: "Leaky", revokedAt: expect.any(Date), alreadyRevoked: false });
    await expect(verifier.verify(token, { tenantId: paris.id })).rejects.toMatchObject({ reason: "client_revoked" });
    expect(identity.machineClient(paris.slug, created.clientId)).toBeUndefined();
    await expect(identity.clientCredentialsToken(paris.slug, created.clientId, created.clientSecret)).rejects.toThrow("invalid_client");

    const audit = await auditOf(paris, created.id);
    expect(audit.map((event) => event.action)).toEqual(["api_client.created", "api_client.revoked"]);
    expect(audit[1]).toMatchObject({
      actorId: paris.userId,
      before: { clientId: created.clientId, revokedAt: null },
      after: { clientId: created.clientId, revokedAt: revoked?.revokedAt.toISOString() },
      requestId: "req-r",
    });
  });

  it("revokes twice harmlessly, retrying the provider", async () => {
    const created = await createApiClient(parisAdmin, { name: "Twice", scopes: ["read"] }, context());
    identity.failNext("deleteMachineClient", new FakeIdentityError("provider down"));
    await expect(revokeApiClient(parisAdmin, created.id, context())).rejects.toThrow("provider down");
    // Revoked here even so: its tokens are refused.
    const token = await identity.clientCredentialsToken(paris.slug, created.clientId, created.clientSecret);
    await expect(verifier.verify(token, { tenantId: paris.id })).rejects.toMatchObject({ reason: "client_revoked" });
    const again = await revokeApiClient(parisAdmin, created.id, context());
    expect(again).toMatchObject({ alreadyRevoked: true });
    expect(identity.machineClient(paris.slug, created.clientId)).toBeUndefined();
    expect((await auditOf(paris, created.id)).map((event) => event.action)).toEqual(["api_client.created", "api_client.revoked"]);
  });

  it("answers not found (null) for another city's client and for ids that name nothing", async () => {
    const theirs = await createApiClient(budapestAdmin, { name: "Budapest's", scopes: ["read"] }, context());
    const calls = identity.calls.length;
    expect(await revokeApiClient(parisAdmin, theirs.id, context())).toBeNull();
    expect(await revokeApiClient(parisAdmin, "not-a-uuid", context())).toBeNull();
    expect(await revokeApiClient(parisAdmin, "6f1a0c7e-0000-4000-8000-000000000000", context())).toBeNull();
    expect(identity.calls.length).toBe(calls);
    const row = await withTenant(budapest.id, (tx) => tx.apiClient.findFirstOrThrow({ where: { id: theirs.id } }), database);
    expect(row.revokedAt).toBeNull();
    expect(identity.machineClient(budapest.slug, theirs.clientId)).toBeDefined();
    await expect(revokeApiClient(parisAdmin, theirs.id, context({ tenantId: budapest.id }))).rejects.toBeInstanceOf(Forbidden);
  });
});
