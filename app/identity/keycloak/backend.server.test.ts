import KcAdminClient from "@keycloak/keycloak-admin-client";
import { decodeProtectedHeader, errors, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startKeycloakMock, type KeycloakMock } from "../../../tests/support/keycloak-mock";
import type { RealmSpec } from "../realm";
import { createKeycloakBackend, KeycloakAdminError } from "./backend.server";

const ADMIN = { clientId: "civitas-admin", secret: "admin-secret-4f7d" };

function parisSpec(overrides: Partial<RealmSpec> = {}): RealmSpec {
  return {
    realm: "paris",
    tenantId: "3f0a6c1e-1111-4a4a-9b9b-000000000001",
    displayName: { fr: "Paris", en: "Paris (city)" },
    defaultLocale: "fr",
    enabledLocales: ["fr", "en"],
    webClientSecret: "web-secret-1",
    sites: [
      { origin: "http://paris.civitas.test", basePath: "" },
      { origin: "http://civitas.test", basePath: "/paris" },
    ],
    ...overrides,
  };
}

const lyonSpec = (): RealmSpec => ({
  realm: "lyon",
  tenantId: "3f0a6c1e-1111-4a4a-9b9b-000000000002",
  displayName: { fr: "Lyon" },
  defaultLocale: "fr",
  enabledLocales: ["fr"],
  webClientSecret: "web-secret-lyon",
  sites: [{ origin: "http://lyon.civitas.test", basePath: "" }],
});

const platformSpec = (): RealmSpec => ({
  realm: "platform",
  tenantId: null,
  displayName: { en: "Civitas" },
  defaultLocale: "en",
  enabledLocales: ["en", "fr"],
  webClientSecret: "platform-web-secret",
  sites: [{ origin: "http://civitas.test", basePath: "" }],
});

let keycloak: KeycloakMock;

beforeEach(async () => {
  keycloak = await startKeycloakMock({ adminClientId: ADMIN.clientId, adminClientSecret: ADMIN.secret, accessTokenLifespan: 60 });
});

afterEach(async () => {
  vi.useRealTimers();
  await keycloak.close();
});

function backend(options: { adminClientSecret?: string; url?: string } = {}) {
  return createKeycloakBackend({
    url: options.url ?? keycloak.url,
    adminClientId: ADMIN.clientId,
    adminClientSecret: options.adminClientSecret ?? ADMIN.secret,
  });
}

/** An operator working in Keycloak directly, behind Civitas' back. */
async function operator(): Promise<KcAdminClient> {
  const client = new KcAdminClient({ baseUrl: keycloak.url, realmName: "master" });
  await client.auth({ grantType: "client_credentials", clientId: ADMIN.clientId, clientSecret: ADMIN.secret });
  return client;
}

async function clientCredentialsToken(realm: string, clientId: string, clientSecret: string): Promise<Response> {
  return fetch(`${keycloak.url}/realms/${realm}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
  });
}

const tokenRequests = () =>
  keycloak.requests.filter((request) => request.path === "/realms/master/protocol/openid-connect/token");
const adminWrites = (since: number) =>
  keycloak.requests.slice(since).filter((request) => request.path.startsWith("/admin/") && request.method !== "GET");

describe("ensureRealm", () => {
  it("creates a city's realm with its roles, scopes, audience and both clients", async () => {
    expect(await backend().ensureRealm(parisSpec())).toEqual({ created: true });

    expect(keycloak.realmSettings("paris")).toMatchObject({
      id: "paris",
      realm: "paris",
      enabled: true,
      displayName: "Paris",
      internationalizationEnabled: true,
      supportedLocales: ["fr", "en"],
      defaultLocale: "fr",
      sslRequired: "external",
      bruteForceProtected: true,
      accessTokenLifespan: 300,
      // Marked as Civitas', for Paris: what later runs check before touching the realm.
      attributes: expect.objectContaining({
        "civitas.managed": "true",
        "civitas.city": "3f0a6c1e-1111-4a4a-9b9b-000000000001",
      }),
    });
    const roles = keycloak.realmRoleNames("paris");
    expect(roles).toEqual(expect.arrayContaining(["city-staff", "city-admin"]));
    expect(roles).not.toContain("platform-operator");

    const scopes = keycloak.clientScopes("paris");
    for (const name of ["read", "write"]) {
      expect(scopes.filter((scope) => scope.name === name)).toEqual([
        expect.objectContaining({
          protocol: "openid-connect",
          attributes: expect.objectContaining({ "include.in.token.scope": "true" }),
        }),
      ]);
    }
    const api = scopes.filter((scope) => scope.name === "civitas-api");
    expect(api).toHaveLength(1);
    expect(api[0]!.protocolMappers).toEqual([
      expect.objectContaining({
        protocol: "openid-connect",
        protocolMapper: "oidc-audience-mapper",
        config: expect.objectContaining({ "included.custom.audience": "civitas-api", "access.token.claim": "true" }),
      }),
    ]);

    const web = keycloak.client("paris", "civitas-web");
    expect(web).toMatchObject({
      enabled: true,
      protocol: "openid-connect",
      publicClient: false,
      secret: "web-secret-1",
      standardFlowEnabled: true,
      directAccessGrantsEnabled: false,
      implicitFlowEnabled: false,
      serviceAccountsEnabled: false,
      redirectUris: ["http://paris.civitas.test/auth/callback", "http://civitas.test/paris/auth/callback"],
      webOrigins: ["http://paris.civitas.test", "http://civitas.test"],
      attributes: {
        "pkce.code.challenge.method": "S256",
        "post.logout.redirect.uris": "http://paris.civitas.test/##http://civitas.test/paris/",
      },
    });
    // civitas-api comes on top of Keycloak's defaults (roles for realm_access, basic for sub...).
    expect(web!.defaultClientScopes).toEqual(
      expect.arrayContaining(["civitas-api", "basic", "roles", "profile", "email", "web-origins"])
    );

    const browser = keycloak.client("paris", "civitas-js");
    expect(browser).toMatchObject({
      publicClient: true,
      standardFlowEnabled: true,
      directAccessGrantsEnabled: false,
      implicitFlowEnabled: false,
      redirectUris: ["http://paris.civitas.test/developer", "http://civitas.test/paris/developer"],
      webOrigins: ["http://paris.civitas.test", "http://civitas.test"],
      attributes: {
        "pkce.code.challenge.method": "S256",
        "post.logout.redirect.uris":
          "http://paris.civitas.test/developer##http://civitas.test/paris/developer##http://paris.civitas.test/##http://civitas.test/paris/",
      },
    });
    expect(browser!.secret).toBeUndefined();
    expect(browser!.defaultClientScopes).toEqual(expect.arrayContaining(["civitas-api", "basic", "roles"]));
  });

  it("creates the platform realm with the operator role only, marked for the platform, and no civitas-js", async () => {
    expect(await backend().ensureRealm(platformSpec())).toEqual({ created: true });

    const roles = keycloak.realmRoleNames("platform");
    expect(roles).toContain("platform-operator");
    expect(roles).not.toContain("city-staff");
    expect(roles).not.toContain("city-admin");
    expect(keycloak.realmSettings("platform")).toMatchObject({
      displayName: "Civitas",
      supportedLocales: ["en", "fr"],
      defaultLocale: "en",
      attributes: expect.objectContaining({ "civitas.managed": "true", "civitas.city": "platform" }),
    });
    expect(keycloak.client("platform", "civitas-web")).toMatchObject({
      secret: "platform-web-secret",
      redirectUris: ["http://civitas.test/auth/callback"],
      attributes: { "post.logout.redirect.uris": "http://civitas.test/" },
    });
    // The platform has no developer page: no public client to sign in through.
    expect(keycloak.client("platform", "civitas-js")).toBeUndefined();
    expect(keycloak.clientScopes("platform").map((scope) => scope.name)).toEqual(
      expect.arrayContaining(["read", "write", "civitas-api"])
    );
  });

  it("removes the civitas-js an earlier version made in the platform realm, and keeps the name reserved", async () => {
    const identity = backend();
    await identity.ensureRealm(platformSpec());
    const kc = await operator();
    await kc.clients.create({
      realm: "platform",
      clientId: "civitas-js",
      publicClient: true,
      redirectUris: ["http://civitas.test/developer"],
    });
    expect(keycloak.client("platform", "civitas-js")).toBeDefined();

    expect(await identity.ensureRealm(platformSpec())).toEqual({ created: false });

    expect(keycloak.client("platform", "civitas-js")).toBeUndefined();
    expect(keycloak.client("platform", "civitas-web")).toMatchObject({ secret: "platform-web-secret" });
    await expect(
      identity.createMachineClient("platform", { clientId: "civitas-js", name: "Impostor", scopes: ["read"] })
    ).rejects.toThrow(/belongs to the realm's own clients/);
    // A city keeps its civitas-js.
    await identity.ensureRealm(parisSpec());
    await identity.ensureRealm(parisSpec());
    expect(keycloak.client("paris", "civitas-js")).toBeDefined();
  });

  it("brings an existing realm in line with a changed spec, duplicating nothing", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    const webId = keycloak.client("paris", "civitas-web")!.id;
    const mark = keycloak.requests.length;

    const changed = parisSpec({
      displayName: { fr: "Ville de Paris", en: "City of Paris" },
      enabledLocales: ["fr", "en", "de"],
      webClientSecret: "web-secret-2",
      sites: [
        { origin: "http://paris.civitas.test", basePath: "" },
        { origin: "https://paris.example", basePath: "" },
      ],
    });
    expect(await identity.ensureRealm(changed)).toEqual({ created: false });

    expect(keycloak.realmSettings("paris")).toMatchObject({
      displayName: "Ville de Paris",
      supportedLocales: ["fr", "en", "de"],
    });
    const web = keycloak.client("paris", "civitas-web")!;
    expect(web.id).toBe(webId);
    expect(web.secret).toBe("web-secret-2");
    expect(web.redirectUris).toEqual(["http://paris.civitas.test/auth/callback", "https://paris.example/auth/callback"]);
    expect(web.webOrigins).toEqual(["http://paris.civitas.test", "https://paris.example"]);
    expect(web.attributes).toMatchObject({ "post.logout.redirect.uris": "http://paris.civitas.test/##https://paris.example/" });
    expect(web.name).toContain("Ville de Paris");
    expect(keycloak.client("paris", "civitas-js")!.redirectUris).toEqual([
      "http://paris.civitas.test/developer",
      "https://paris.example/developer",
    ]);

    // Nothing was created the second time: no new clients, scopes, mappers or roles.
    expect(adminWrites(mark).filter((request) => request.method === "POST")).toEqual([]);
    expect(keycloak.clients("paris").filter((client) => client.clientId?.startsWith("civitas-"))).toHaveLength(2);
    const scopeNames = keycloak.clientScopes("paris").map((scope) => scope.name);
    expect(scopeNames.filter((name) => name === "civitas-api" || name === "read" || name === "write").sort()).toEqual([
      "civitas-api",
      "read",
      "write",
    ]);
    expect(keycloak.clientScopes("paris").find((scope) => scope.name === "civitas-api")!.protocolMappers).toHaveLength(1);
    expect(keycloak.client("paris", "civitas-web")!.defaultClientScopes.filter((name) => name === "civitas-api")).toHaveLength(1);

    // And a third run with the same spec changes nothing visible.
    const before = keycloak.clients("paris");
    expect(await identity.ensureRealm(changed)).toEqual({ created: false });
    expect(keycloak.clients("paris")).toEqual(before);
  });

  it("repairs what an operator broke: the audience scope on a client, the mapper's audience", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    const kc = await operator();
    const web = keycloak.client("paris", "civitas-web")!;
    const api = keycloak.clientScopes("paris").find((scope) => scope.name === "civitas-api")!;
    const mapper = api.protocolMappers[0]!;
    await kc.clients.delDefaultClientScope({ realm: "paris", id: web.id!, clientScopeId: api.id! });
    await kc.clientScopes.updateProtocolMapper(
      { realm: "paris", id: api.id!, mapperId: mapper.id! },
      { ...mapper, config: { ...mapper.config, "included.custom.audience": "something-else" } }
    );
    expect(keycloak.client("paris", "civitas-web")!.defaultClientScopes).not.toContain("civitas-api");

    await identity.ensureRealm(parisSpec());

    expect(keycloak.client("paris", "civitas-web")!.defaultClientScopes).toContain("civitas-api");
    const mappers = keycloak.clientScopes("paris").find((scope) => scope.name === "civitas-api")!.protocolMappers;
    expect(mappers).toHaveLength(1);
    expect(mappers[0]!.config).toMatchObject({ "included.custom.audience": "civitas-api" });
  });

  it("keeps concurrent work on two realms apart", async () => {
    const identity = backend();
    const results = await Promise.all([identity.ensureRealm(parisSpec()), identity.ensureRealm(lyonSpec())]);
    expect(results).toEqual([{ created: true }, { created: true }]);

    expect(keycloak.client("paris", "civitas-web")).toMatchObject({
      secret: "web-secret-1",
      redirectUris: ["http://paris.civitas.test/auth/callback", "http://civitas.test/paris/auth/callback"],
    });
    expect(keycloak.client("lyon", "civitas-web")).toMatchObject({
      secret: "web-secret-lyon",
      redirectUris: ["http://lyon.civitas.test/auth/callback"],
    });
    expect(keycloak.realmSettings("lyon")).toMatchObject({ displayName: "Lyon" });
    // The admin realm the library is configured with was never the one written to.
    expect(keycloak.realmSettings("master")?.displayName).toBeUndefined();
  });
});

describe("ensureRealm on a realm that already exists", () => {
  const PARIS_ID = "3f0a6c1e-1111-4a4a-9b9b-000000000001";
  const REMOVED_CITY_ID = "3f0a6c1e-1111-4a4a-9b9b-0000000000ff";

  async function refusal(spec: RealmSpec): Promise<KeycloakAdminError> {
    const since = keycloak.requests.length;
    const error = await backend()
      .ensureRealm(spec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    // Refused after one look: nothing in the realm was written.
    expect(adminWrites(since)).toEqual([]);
    return error as KeycloakAdminError;
  }

  it("refuses a realm an operator made by hand, whose city admins would become Paris' admins", async () => {
    const kc = await operator();
    await kc.realms.create({ realm: "paris", enabled: true });
    await kc.roles.create({ realm: "paris", name: "city-admin" });
    const { id } = await kc.users.create({ realm: "paris", username: "mallory", enabled: true });
    const role = await kc.roles.findOneByName({ realm: "paris", name: "city-admin" });
    await kc.users.addRealmRoleMappings({ realm: "paris", id, roles: [{ id: role!.id!, name: "city-admin" }] });

    const error = await refusal(parisSpec());
    expect(error).toMatchObject({ realm: "paris", status: undefined });
    expect(error.message).toContain(`Keycloak could not use the existing realm for city ${PARIS_ID} (realm "paris")`);
    expect(error.message).toContain('Civitas did not create it (no civitas.managed = "true" attribute)');
    expect(error.message).toContain("another realm name (identity.realm in its city file)");
    expect(error.message).toContain(`civitas.managed = "true" and civitas.city = "${PARIS_ID}"`);
    expect(keycloak.client("paris", "civitas-web")).toBeUndefined();
    expect(keycloak.realmSettings("paris")?.displayName).toBeUndefined();
  });

  it("refuses the realm a removed city left behind, and one marked for the platform", async () => {
    await backend().ensureRealm(parisSpec({ tenantId: REMOVED_CITY_ID, webClientSecret: "old-city-secret" }));

    const error = await refusal(parisSpec());
    expect(error.message).toContain(`the realm belongs to city ${REMOVED_CITY_ID} (civitas.city)`);
    expect(error.message).toContain(`would pass to city ${PARIS_ID}`);
    expect(keycloak.client("paris", "civitas-web")!.secret).toBe("old-city-secret");

    await backend().ensureRealm({ ...lyonSpec(), realm: "lyon-platform", tenantId: null });
    const platformError = await refusal({ ...lyonSpec(), realm: "lyon-platform" });
    expect(platformError.message).toContain("the realm belongs to the platform (civitas.city)");
  });

  it("refuses a platform realm Civitas did not create, without suggesting a city file", async () => {
    const kc = await operator();
    await kc.realms.create({ realm: "platform", enabled: true, attributes: { "civitas.managed": "true" } });

    const error = await refusal(platformSpec());
    expect(error.message).toContain("use the existing realm for the platform");
    expect(error.message).toContain("marked as Civitas' but for no one (no civitas.city attribute)");
    expect(error.message).toContain("Rename or remove that realm in Keycloak");
    expect(error.message).toContain('civitas.city = "platform"');
    expect(error.message).not.toContain("city file");
  });

  it("takes a realm the operator marked for the city deliberately, keeping the operator's attributes", async () => {
    const kc = await operator();
    await kc.realms.create({ realm: "paris", enabled: true, attributes: { frontendUrl: "https://sso.paris.example" } });
    // What the error tells the operator to do: add the mark to the attributes, PUT them back whole.
    const current = await kc.realms.findOne({ realm: "paris" });
    await kc.realms.update(
      { realm: "paris" },
      { attributes: { ...current!.attributes, "civitas.managed": "true", "civitas.city": PARIS_ID } }
    );

    expect(await backend().ensureRealm(parisSpec())).toEqual({ created: false });
    expect(keycloak.client("paris", "civitas-web")).toMatchObject({ secret: "web-secret-1" });
    expect(keycloak.realmSettings("paris")).toMatchObject({
      displayName: "Paris",
      attributes: expect.objectContaining({
        frontendUrl: "https://sso.paris.example",
        "civitas.managed": "true",
        "civitas.city": PARIS_ID,
      }),
    });
  });

  it("lets two Civitas processes create the same realm at once: one creates, the other updates", async () => {
    const processes = [backend(), backend()];
    // Signed in first, so both look the realm up in the same moment and both find none.
    await Promise.all(processes.map((process) => process.deleteMachineClient("master", "civ_nothing")));
    const results = await Promise.all(processes.map((process) => process.ensureRealm(parisSpec())));
    expect(results.map((result) => result.created).sort()).toEqual([false, true]);
    const creations = keycloak.requests.filter((request) => request.method === "POST" && /^\/admin\/realms\/?$/.test(request.path));
    expect(creations.map((request) => request.status).sort()).toEqual([201, 409]);
    expect(keycloak.clients("paris").filter((client) => client.clientId === "civitas-web")).toHaveLength(1);
  });

  it("keeps an operator's stricter hardening: HTTPS everywhere, shorter tokens, brute-force protection", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    const kc = await operator();
    const current = await kc.realms.findOne({ realm: "paris" });
    await kc.realms.update(
      { realm: "paris" },
      {
        sslRequired: "all",
        accessTokenLifespan: 120,
        attributes: { ...current!.attributes, frontendUrl: "https://sso.paris.example" },
      }
    );

    await identity.ensureRealm(parisSpec({ displayName: { fr: "Ville de Paris" } }));

    expect(keycloak.realmSettings("paris")).toMatchObject({
      displayName: "Ville de Paris",
      sslRequired: "all",
      accessTokenLifespan: 120,
      bruteForceProtected: true,
      attributes: expect.objectContaining({
        frontendUrl: "https://sso.paris.example",
        "civitas.managed": "true",
        "civitas.city": PARIS_ID,
      }),
    });
  });

  it("raises weaker settings to Civitas' floor, and never switches brute-force protection off", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    const kc = await operator();
    await kc.realms.update({ realm: "paris" }, { sslRequired: "none", accessTokenLifespan: 3600, bruteForceProtected: false });

    await identity.ensureRealm(parisSpec());

    expect(keycloak.realmSettings("paris")).toMatchObject({
      sslRequired: "external",
      accessTokenLifespan: 300,
      bruteForceProtected: true,
    });
    const updates = keycloak.requests.filter((request) => request.method === "PUT" && request.path === "/admin/realms/paris");
    // Civitas never sends the realm's attributes back: a PUT would replace them all.
    for (const update of updates) expect(update.body).not.toHaveProperty("attributes");
    expect(updates.at(-1)!.body).not.toHaveProperty("bruteForceProtected", false);
  });
});

describe("ensureUser", () => {
  beforeEach(async () => {
    await backend().ensureRealm(parisSpec());
  });

  it("creates a user, then updates it without losing what it had, and only ever adds roles", async () => {
    const identity = backend();
    const first = await identity.ensureUser("paris", {
      username: "Anna",
      email: "anna@paris.test",
      firstName: "Anna",
      lastName: "Martin",
      locale: "fr",
      password: "correct horse",
      realmRoles: ["city-staff"],
    });
    expect(first.created).toBe(true);
    const stored = keycloak.user("paris", "anna")!;
    expect(first.id).toBe(stored.id);
    expect(stored).toMatchObject({
      username: "anna",
      email: "anna@paris.test",
      firstName: "Anna",
      lastName: "Martin",
      enabled: true,
      attributes: { locale: ["fr"] },
      password: { value: "correct horse", temporary: false },
    });
    expect(stored.realmRoles).toContain("city-staff");

    const second = await identity.ensureUser("paris", {
      username: "anna",
      email: "anna.martin@paris.test",
      locale: "en",
      realmRoles: ["city-admin"],
    });
    expect(second).toEqual({ id: first.id, created: false });
    const updated = keycloak.user("paris", "anna")!;
    expect(updated).toMatchObject({
      email: "anna.martin@paris.test",
      firstName: "Anna",
      lastName: "Martin",
      attributes: { locale: ["en"] },
      password: { value: "correct horse", temporary: false },
    });
    expect(updated.realmRoles).toEqual(expect.arrayContaining(["city-staff", "city-admin"]));
    expect(keycloak.users("paris").filter((user) => !user.serviceAccountClientId)).toHaveLength(1);
  });

  it("matches the user name exactly: ann is not anna", async () => {
    const identity = backend();
    const anna = await identity.ensureUser("paris", { username: "anna" });
    const ann = await identity.ensureUser("paris", { username: "ann" });
    expect(ann.created).toBe(true);
    expect(ann.id).not.toBe(anna.id);
    expect(keycloak.user("paris", "ann")?.id).toBe(ann.id);
  });

  it("refuses a role the realm does not have, naming it", async () => {
    const error = await backend()
      .ensureUser("paris", { username: "bob", realmRoles: ["city-mayor"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect((error as Error).message).toMatch(/give role "city-mayor" to user "bob" \(realm "paris"\): 404 no such realm role/);
    expect(keycloak.user("paris", "bob")).toBeUndefined();
  });

  it("passes Keycloak's conflicts on with its words", async () => {
    const identity = backend();
    await identity.ensureUser("paris", { username: "anna", email: "anna@paris.test" });
    const error = await identity.ensureUser("paris", { username: "bob", email: "anna@paris.test" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect(error).toMatchObject({ status: 409, realm: "paris" });
    expect((error as Error).message).toBe(
      'Keycloak could not create user "bob" (realm "paris"): 409 User exists with same email'
    );
  });
});

describe("machine clients", () => {
  beforeEach(async () => {
    await backend().ensureRealm(parisSpec());
  });

  it("creates a client-credentials client whose tokens carry the audience and granted scopes only", async () => {
    const identity = backend();
    const { clientSecret } = await identity.createMachineClient("paris", {
      clientId: "civ_open_data",
      name: "Open data bot",
      scopes: ["read"],
    });

    const client = keycloak.client("paris", "civ_open_data")!;
    expect(clientSecret).toBe(client.secret);
    expect(clientSecret.length).toBeGreaterThanOrEqual(16);
    expect(client).toMatchObject({
      name: "Open data bot",
      publicClient: false,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      optionalClientScopes: [],
    });
    expect([...client.defaultClientScopes].sort()).toEqual(["basic", "civitas-api", "read"]);

    const response = await clientCredentialsToken("paris", "civ_open_data", clientSecret);
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    const { payload } = await jwtVerify(token, identity.verificationKeys("paris"), {
      issuer: identity.issuer("paris"),
      audience: "civitas-api",
      requiredClaims: ["exp", "iat", "sub"],
    });
    expect(payload.azp).toBe("civ_open_data");
    expect(String(payload.scope).split(" ")).toContain("read");
    expect(String(payload.scope).split(" ")).not.toContain("write");
    expect(String(payload.scope).split(" ")).not.toContain("profile");
  });

  it("refuses a client id that is taken, clearly, and leaves the existing client alone", async () => {
    const identity = backend();
    const { clientSecret } = await identity.createMachineClient("paris", {
      clientId: "civ_dup",
      name: "First",
      scopes: ["read"],
    });
    const error = await identity
      .createMachineClient("paris", { clientId: "civ_dup", name: "Second", scopes: ["read", "write"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect(error).toMatchObject({ status: 409 });
    expect((error as Error).message).toMatch(
      /create machine client "civ_dup" \(realm "paris"\): 409 a client with id "civ_dup" already exists/
    );
    expect(keycloak.client("paris", "civ_dup")).toMatchObject({ name: "First", secret: clientSecret });
  });

  it("deletes a machine client so it gets no token; a missing one is fine", async () => {
    const identity = backend();
    const { clientSecret } = await identity.createMachineClient("paris", {
      clientId: "civ_gone",
      name: "Gone",
      scopes: ["write"],
    });
    expect((await clientCredentialsToken("paris", "civ_gone", clientSecret)).status).toBe(200);

    await identity.deleteMachineClient("paris", "civ_gone");
    expect(keycloak.client("paris", "civ_gone")).toBeUndefined();
    expect(keycloak.users("paris").some((user) => user.username === "service-account-civ_gone")).toBe(false);
    expect((await clientCredentialsToken("paris", "civ_gone", clientSecret)).status).toBe(401);

    await expect(identity.deleteMachineClient("paris", "civ_gone")).resolves.toBeUndefined();
    await expect(identity.deleteMachineClient("paris", "civ_never_was")).resolves.toBeUndefined();
  });

  it("never deletes the realm's own or built-in clients", async () => {
    const identity = backend();
    await expect(identity.deleteMachineClient("paris", "civitas-web")).rejects.toThrow(KeycloakAdminError);
    await expect(identity.deleteMachineClient("paris", "civitas-js")).rejects.toThrow(KeycloakAdminError);
    await expect(identity.deleteMachineClient("paris", "admin-cli")).rejects.toThrow(/not a machine client/);
    expect(keycloak.client("paris", "civitas-web")).toBeDefined();
    expect(keycloak.client("paris", "civitas-js")).toBeDefined();
    expect(keycloak.client("paris", "admin-cli")).toBeDefined();
    await expect(
      identity.createMachineClient("paris", { clientId: "civitas-web", name: "Impostor", scopes: ["read"] })
    ).rejects.toThrow(KeycloakAdminError);
  });

  it("refuses a realm that was never set up, creating nothing", async () => {
    const kc = await operator();
    await kc.realms.create({ realm: "bare", enabled: true });
    const error = await backend()
      .createMachineClient("bare", { clientId: "civ_x", name: "X", scopes: ["read"] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect((error as Error).message).toMatch(/\(realm "bare"\): the realm has no client scope civitas-api, read/);
    expect(keycloak.client("bare", "civ_x")).toBeUndefined();
  });
});

describe("the admin connection", () => {
  it("renews its token before it expires, without a request being refused", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    expect(tokenRequests()).toHaveLength(1);

    // 30 s into a 60 s token: still good.
    vi.setSystemTime(Date.now() + 30_000);
    await identity.ensureUser("paris", { username: "anna" });
    expect(tokenRequests()).toHaveLength(1);

    // 55 s: too close to the end to start a request with it.
    vi.setSystemTime(Date.now() + 25_000);
    await identity.ensureUser("paris", { username: "bob" });
    expect(tokenRequests()).toHaveLength(2);
    expect(keycloak.requests.filter((request) => request.status === 401)).toEqual([]);
  });

  it("replaces a token Keycloak stopped accepting, and retries the request once", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    keycloak.revokeAdminTokens();

    expect(await identity.ensureUser("paris", { username: "anna" })).toMatchObject({ created: true });
    expect(keycloak.requests.filter((request) => request.status === 401)).toHaveLength(1);
    expect(tokenRequests()).toHaveLength(2);
  });

  it("says which admin client failed to sign in where, and never shows the secret", async () => {
    const wrong = "wrong-secret-9c1b";
    const error = await backend({ adminClientSecret: wrong })
      .ensureRealm(parisSpec())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect(error).toMatchObject({ status: 401, realm: "master" });
    const message = (error as Error).message;
    expect(message).toMatch(/sign in as admin client "civitas-admin" \(realm "master"\): 401 unauthorized_client/);
    expect(message).toContain("Invalid client or Invalid client credentials");
    expect(message).not.toContain(wrong);
    expect(keycloak.requests.filter((request) => request.path.startsWith("/admin/"))).toEqual([]);
    expect(keycloak.realmSettings("paris")).toBeUndefined();
  });

  it("says so when Keycloak cannot be reached", async () => {
    const closed = await startKeycloakMock();
    const url = closed.url;
    await closed.close();
    const error = await backend({ url })
      .ensureUser("paris", { username: "anna" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeycloakAdminError);
    expect((error as Error).message).toMatch(/\(realm "master"\): fetch failed \(ECONNREFUSED\)/);
  });
});

describe("issuer and verification keys", () => {
  it("names the realm's issuer under the Keycloak URL", () => {
    expect(backend().issuer("paris")).toBe(`${keycloak.url}/realms/paris`);
    expect(backend({ url: `${keycloak.url}/` }).issuer("paris")).toBe(`${keycloak.url}/realms/paris`);
  });

  it("verifies tokens signed by the realm's key, and no others", async () => {
    const identity = backend();
    await identity.ensureRealm(parisSpec());
    await identity.ensureRealm(lyonSpec());
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: identity.issuer("paris"), aud: "civitas-api", sub: "user-1", iat: now, exp: now + 300 };

    const genuine = await keycloak.signAccessToken("paris", claims);
    const keys = identity.verificationKeys("paris");
    const { payload } = await jwtVerify(genuine, keys, { issuer: identity.issuer("paris"), audience: "civitas-api" });
    expect(payload.sub).toBe("user-1");

    // Same kid, another key: the signature gives it away.
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: decodeProtectedHeader(genuine).kid! })
      .sign(privateKey);
    await expect(jwtVerify(forged, keys)).rejects.toThrow(errors.JWSSignatureVerificationFailed);

    // Lyon's key is not Paris' key.
    const fromLyon = await keycloak.signAccessToken("lyon", claims);
    await expect(jwtVerify(fromLyon, keys)).rejects.toThrow(errors.JWKSNoMatchingKey);

    // One key set per realm, fetched once.
    expect(identity.verificationKeys("paris")).toBe(keys);
    expect(identity.verificationKeys("lyon")).not.toBe(keys);
    await jwtVerify(genuine, identity.verificationKeys("paris"));
    const certs = keycloak.requests.filter((request) => request.path === "/realms/paris/protocol/openid-connect/certs");
    expect(certs).toHaveLength(1);
  });
});
