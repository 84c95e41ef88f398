// A stand-in for Keycloak 26 over HTTP, for tests of code that drives a real Keycloak: the admin
// REST endpoints Civitas uses, the client-credentials token endpoint and each realm's JWKS, with
// realms, clients, client scopes, roles and users in memory. It follows Keycloak's documented
// behaviour (201 with Location on create, 409 on duplicates, 404 on unknown ids, 401 without a
// valid admin token, partial updates but realm attributes replaced as a whole, built-in roles,
// scopes, clients and attributes in a new realm), so the real @keycloak/keycloak-admin-client
// can be pointed at it. What it leaves out: permissions finer than "the admin client may do
// everything", events, sessions, flows and every other grant than client credentials.
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type RoleRepresentation from "@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js";
import type UserRepresentation from "@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";

export type KeycloakMockOptions = {
  /** Realm of the admin client. Default "master". */
  adminRealm?: string;
  adminClientId?: string;
  adminClientSecret?: string;
  /** Lifetime of every access token the mock issues, in seconds (Keycloak's master default: 60). */
  accessTokenLifespan?: number;
};

export type RecordedRequest = {
  method: string;
  /** Decoded path, e.g. /admin/realms/paris/clients. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  status: number;
};

export type MockClient = ClientRepresentation & { defaultClientScopes: string[]; optionalClientScopes: string[] };
export type MockClientScope = ClientScopeRepresentation & { protocolMappers: ProtocolMapperRepresentation[] };
export type MockUser = UserRepresentation & {
  password?: { value: string; temporary: boolean };
  /** Names of the realm roles mapped to the user directly. */
  realmRoles: string[];
};

export type KeycloakMock = {
  /** Base URL, as KEYCLOAK_URL would be. */
  url: string;
  /** Every request, in order, with the status answered. */
  requests: RecordedRequest[];
  realmSettings(realm: string): RealmRepresentation | undefined;
  realmRoleNames(realm: string): string[];
  clientScopes(realm: string): MockClientScope[];
  clients(realm: string): MockClient[];
  client(realm: string, clientId: string): MockClient | undefined;
  users(realm: string): MockUser[];
  user(realm: string, username: string): MockUser | undefined;
  /** Forget every admin token issued so far, as a restart or a revocation would. */
  revokeAdminTokens(): void;
  /** Signs a token with the realm's current key (as Keycloak signs its access tokens). */
  signAccessToken(realm: string, claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
};

type RealmKey = { kid: string; privateKey: CryptoKey; publicJwk: JWK };
type Scope = { rep: ClientScopeRepresentation; mappers: ProtocolMapperRepresentation[] };
type Client = { rep: ClientRepresentation; defaultScopes: Set<string>; optionalScopes: Set<string> };
type User = { rep: UserRepresentation; password?: { value: string; temporary: boolean }; roleIds: Set<string> };
type Realm = {
  rep: RealmRepresentation;
  roles: Map<string, RoleRepresentation>;
  scopes: Map<string, Scope>;
  /** The realm's "default default" and "default optional" client scopes, by id. */
  defaultScopeIds: Set<string>;
  optionalScopeIds: Set<string>;
  clients: Map<string, Client>;
  users: Map<string, User>;
  key?: Promise<RealmKey>;
};

type Reply = { status: number; body?: unknown; location?: string };
type Params = Record<string, string>;
type Request = { params: Params; query: URLSearchParams; body: unknown; headers: IncomingMessage["headers"] };

/** Keycloak answers admin failures with JSON bodies; the statuses are the documented ones. */
class KeycloakFailure extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(JSON.stringify(body));
  }
}

const notFound = (error: string) =>
  new KeycloakFailure(404, { error, error_description: "For more on this error consult the server log." });
const conflict = (errorMessage: string) => new KeycloakFailure(409, { errorMessage });
const badRequest = (errorMessage: string) => new KeycloakFailure(400, { errorMessage });
const unauthorized = () => new KeycloakFailure(401, { error: "HTTP 401 Unauthorized" });

const OIDC = "openid-connect";

/** Client scopes of a new Keycloak 26 realm: [name, protocol, in the token's scope claim, realm default or optional]. */
const BUILT_IN_SCOPES: [string, string, boolean, "default" | "optional"][] = [
  ["acr", OIDC, false, "default"],
  ["basic", OIDC, false, "default"],
  ["email", OIDC, true, "default"],
  ["profile", OIDC, true, "default"],
  ["roles", OIDC, false, "default"],
  ["web-origins", OIDC, false, "default"],
  ["address", OIDC, true, "optional"],
  ["phone", OIDC, true, "optional"],
  ["offline_access", OIDC, true, "optional"],
  ["microprofile-jwt", OIDC, true, "optional"],
  ["organization", OIDC, true, "optional"],
  ["role_list", "saml", true, "default"],
];

/** Keycloak 25+ adds `sub` and `auth_time` to access tokens only through the `basic` scope's mappers. */
const BUILT_IN_MAPPERS: Record<string, ProtocolMapperRepresentation[]> = {
  basic: [
    {
      name: "sub",
      protocol: OIDC,
      protocolMapper: "oidc-sub-mapper",
      config: { "access.token.claim": "true", "introspection.token.claim": "true" },
    },
    {
      name: "auth_time",
      protocol: OIDC,
      protocolMapper: "oidc-usersessionmodel-note-mapper",
      config: {
        "user.session.note": "AUTH_TIME",
        "claim.name": "auth_time",
        "access.token.claim": "true",
        "id.token.claim": "true",
      },
    },
  ],
};

/** Attributes Keycloak writes into every new realm itself (CIBA and PAR defaults). */
const BUILT_IN_REALM_ATTRIBUTES: Record<string, string> = {
  cibaBackchannelTokenDeliveryMode: "poll",
  cibaExpiresIn: "120",
  cibaInterval: "5",
  cibaAuthRequestedUserHint: "login_hint",
  parRequestUriLifespan: "60",
};

const BUILT_IN_CLIENTS: ClientRepresentation[] = [
  { clientId: "account", publicClient: true },
  { clientId: "account-console", publicClient: true },
  { clientId: "admin-cli", publicClient: true, standardFlowEnabled: false, directAccessGrantsEnabled: true },
  { clientId: "broker", bearerOnly: true, standardFlowEnabled: false },
  { clientId: "realm-management", bearerOnly: true, standardFlowEnabled: false },
  { clientId: "security-admin-console", publicClient: true },
];

export async function startKeycloakMock(options: KeycloakMockOptions = {}): Promise<KeycloakMock> {
  const adminRealm = options.adminRealm ?? "master";
  const adminClientId = options.adminClientId ?? "civitas-admin";
  const adminClientSecret = options.adminClientSecret ?? "admin-secret";
  const lifespan = options.accessTokenLifespan ?? 60;

  const realms = new Map<string, Realm>();
  /** Admin tokens still accepted, with their expiry (ms). */
  const adminTokens = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  let url = "";

  // ----- model -----

  function realmNamed(name: string): Realm {
    const realm = realms.get(name);
    if (!realm) throw notFound("Realm not found.");
    return realm;
  }

  function createRealm(rep: RealmRepresentation): Realm {
    const name = rep.realm;
    if (!name) throw badRequest("Realm name cannot be empty");
    if (realms.has(name)) throw conflict(`Conflict detected. See logs for details`);
    const { attributes, ...fields } = withoutNulls(rep);
    const realm: Realm = {
      rep: {
        enabled: false,
        accessTokenLifespan: 300,
        bruteForceProtected: false,
        internationalizationEnabled: false,
        duplicateEmailsAllowed: false,
        editUsernameAllowed: false,
        ...fields,
        sslRequired: sslLevel(fields.sslRequired ?? "external"),
        attributes: { ...BUILT_IN_REALM_ATTRIBUTES, ...realmAttributes(attributes) },
        id: rep.id ?? randomUUID(),
        realm: name,
      },
      roles: new Map(),
      scopes: new Map(),
      defaultScopeIds: new Set(),
      optionalScopeIds: new Set(),
      clients: new Map(),
      users: new Map(),
    };
    for (const role of ["offline_access", "uma_authorization", `default-roles-${name}`]) {
      realm.roles.set(role, {
        id: randomUUID(),
        name: role,
        composite: role.startsWith("default-roles-"),
        clientRole: false,
        containerId: realm.rep.id,
      });
    }
    for (const [scopeName, protocol, inScope, kind] of BUILT_IN_SCOPES) {
      const id = randomUUID();
      realm.scopes.set(id, {
        rep: {
          id,
          name: scopeName,
          protocol,
          attributes: { "include.in.token.scope": String(inScope), "display.on.consent.screen": "true" },
        },
        mappers: (BUILT_IN_MAPPERS[scopeName] ?? []).map((mapper) => ({ ...structuredClone(mapper), id: randomUUID() })),
      });
      (kind === "default" ? realm.defaultScopeIds : realm.optionalScopeIds).add(id);
    }
    realms.set(name, realm);
    for (const client of BUILT_IN_CLIENTS) createClient(realm, { ...client });
    return realm;
  }

  function updateRealm(realm: Realm, rep: RealmRepresentation) {
    // Keycloak updates the fields present; renaming is left out here. Attributes are the
    // exception: given ones replace the realm's whole attribute map (those left out are removed).
    const { id: _id, realm: _name, attributes, ...fields } = withoutNulls(rep);
    if (fields.sslRequired !== undefined) fields.sslRequired = sslLevel(fields.sslRequired);
    Object.assign(realm.rep, fields);
    if (attributes !== undefined) realm.rep.attributes = realmAttributes(attributes);
  }

  function scopeByName(realm: Realm, name: string): Scope | undefined {
    return [...realm.scopes.values()].find((scope) => scope.rep.name === name);
  }

  function createClient(realm: Realm, rep: ClientRepresentation): Client {
    if (!rep.clientId) throw badRequest("Client id is required");
    if (findClient(realm, rep.clientId)) throw conflict(`Client ${rep.clientId} already exists`);
    checkRedirectUris(rep.redirectUris);
    const {
      defaultClientScopes,
      optionalClientScopes,
      attributes,
      secret,
      protocolMappers: _mappers,
      access: _access,
      ...fields
    } = rep;
    const id = rep.id ?? randomUUID();
    const client: Client = {
      rep: {
        enabled: true,
        protocol: OIDC,
        publicClient: false,
        bearerOnly: false,
        standardFlowEnabled: true,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: false,
        consentRequired: false,
        fullScopeAllowed: true,
        clientAuthenticatorType: "client-secret",
        redirectUris: [],
        webOrigins: [],
        attributes: {},
        ...withoutNulls(fields),
        id,
      },
      defaultScopes: new Set(),
      optionalScopes: new Set(),
    };
    mergeAttributes(client.rep, attributes);
    setSecret(client, secret);
    // A new client gets the realm's default and optional scopes of its protocol...
    for (const scopeId of realm.defaultScopeIds)
      if (realm.scopes.get(scopeId)?.rep.protocol === client.rep.protocol) client.defaultScopes.add(scopeId);
    for (const scopeId of realm.optionalScopeIds)
      if (realm.scopes.get(scopeId)?.rep.protocol === client.rep.protocol) client.optionalScopes.add(scopeId);
    // ...unless the representation lists its scopes: then exactly those it names (unknown names are ignored).
    if (defaultClientScopes || optionalClientScopes) {
      client.defaultScopes.clear();
      client.optionalScopes.clear();
      for (const name of optionalClientScopes ?? []) {
        const scope = scopeByName(realm, name);
        if (scope) client.optionalScopes.add(scope.rep.id!);
      }
      for (const name of defaultClientScopes ?? []) {
        const scope = scopeByName(realm, name);
        if (scope) {
          client.optionalScopes.delete(scope.rep.id!);
          client.defaultScopes.add(scope.rep.id!);
        }
      }
    }
    realm.clients.set(id, client);
    syncServiceAccount(realm, client);
    return client;
  }

  function updateClient(realm: Realm, client: Client, rep: ClientRepresentation) {
    if (rep.clientId && rep.clientId !== client.rep.clientId && findClient(realm, rep.clientId)) {
      throw conflict("Client already exists");
    }
    checkRedirectUris(rep.redirectUris);
    // Keycloak's client PUT: fields present replace, attributes merge one by one, client
    // scopes are managed through their own endpoints.
    const {
      id: _id,
      defaultClientScopes: _defaults,
      optionalClientScopes: _optional,
      attributes,
      secret,
      protocolMappers: _mappers,
      access: _access,
      ...fields
    } = rep;
    Object.assign(client.rep, withoutNulls(fields));
    mergeAttributes(client.rep, attributes);
    setSecret(client, secret);
    syncServiceAccount(realm, client);
  }

  function setSecret(client: Client, secret: string | undefined) {
    if (client.rep.publicClient || client.rep.bearerOnly) {
      delete client.rep.secret;
      return;
    }
    if (secret) client.rep.secret = secret;
    else client.rep.secret ??= randomBytes(24).toString("base64url");
  }

  function syncServiceAccount(realm: Realm, client: Client) {
    const username = `service-account-${client.rep.clientId!.toLowerCase()}`;
    const account = [...realm.users.values()].find((user) => user.rep.serviceAccountClientId === client.rep.id);
    if (client.rep.serviceAccountsEnabled && !account) {
      const id = randomUUID();
      realm.users.set(id, {
        rep: { id, username, enabled: true, serviceAccountClientId: client.rep.id, attributes: {} },
        roleIds: new Set([realm.roles.get(`default-roles-${realm.rep.realm}`)!.id!]),
      });
    }
    if (!client.rep.serviceAccountsEnabled && account) realm.users.delete(account.rep.id!);
  }

  function findClient(realm: Realm, clientId: string): Client | undefined {
    return [...realm.clients.values()].find((client) => client.rep.clientId === clientId);
  }

  function clientById(realm: Realm, id: string): Client {
    const client = realm.clients.get(id);
    if (!client) throw notFound("Could not find client");
    return client;
  }

  function presentClient(realm: Realm, client: Client): MockClient {
    const names = (ids: Set<string>) =>
      [...ids].map((id) => realm.scopes.get(id)?.rep.name).filter((name): name is string => !!name);
    return structuredClone({
      ...client.rep,
      defaultClientScopes: names(client.defaultScopes),
      optionalClientScopes: names(client.optionalScopes),
    });
  }

  function scopeById(realm: Realm, id: string): Scope {
    const scope = realm.scopes.get(id);
    if (!scope) throw notFound("Could not find client scope");
    return scope;
  }

  function presentScope(scope: Scope): MockClientScope {
    return structuredClone({ ...scope.rep, protocolMappers: scope.mappers });
  }

  function addMapper(scope: Scope, rep: ProtocolMapperRepresentation): string {
    if (scope.mappers.some((mapper) => mapper.name === rep.name)) throw conflict("Protocol mapper exists with same name");
    const id = randomUUID();
    scope.mappers.push({ ...structuredClone(rep), id, protocol: rep.protocol ?? scope.rep.protocol });
    return id;
  }

  function userById(realm: Realm, id: string): User {
    const user = realm.users.get(id);
    if (!user) throw notFound("User not found");
    return user;
  }

  function emailTaken(realm: Realm, email: string | undefined, except?: string): boolean {
    if (!email || realm.rep.duplicateEmailsAllowed) return false;
    return [...realm.users.values()].some(
      (user) => user.rep.id !== except && user.rep.email?.toLowerCase() === email.toLowerCase()
    );
  }

  function presentUser(realm: Realm, user: User): MockUser {
    return structuredClone({
      ...user.rep,
      ...(user.password ? { password: user.password } : {}),
      realmRoles: [...realm.roles.values()].filter((role) => user.roleIds.has(role.id!)).map((role) => role.name!),
    });
  }

  function realmKey(realm: Realm): Promise<RealmKey> {
    realm.key ??= keyForRealmName(realm.rep.realm!);
    return realm.key;
  }

  async function sign(realm: Realm, claims: JWTPayload): Promise<string> {
    const key = await realmKey(realm);
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid }).sign(key.privateKey);
  }

  // ----- endpoints -----

  const routes: [string, string, (request: Request) => Reply | Promise<Reply>][] = [
    // Public OpenID Connect endpoints.
    ["POST", "/realms/:realm/protocol/openid-connect/token", tokenEndpoint],
    [
      "GET",
      "/realms/:realm/protocol/openid-connect/certs",
      async ({ params }) => {
        const realm = realms.get(params.realm!);
        if (!realm) throw new KeycloakFailure(404, { error: "Realm does not exist" });
        return { status: 200, body: { keys: [(await realmKey(realm)).publicJwk] } };
      },
    ],

    // Realms.
    ["GET", "/admin/realms", () => ({ status: 200, body: [...realms.values()].map((realm) => structuredClone(realm.rep)) })],
    [
      "POST",
      "/admin/realms",
      ({ body }) => {
        const realm = createRealm(body as RealmRepresentation);
        return { status: 201, location: `/admin/realms/${realm.rep.realm}` };
      },
    ],
    ["GET", "/admin/realms/:realm", ({ params }) => ({ status: 200, body: structuredClone(realmNamed(params.realm!).rep) })],
    [
      "PUT",
      "/admin/realms/:realm",
      ({ params, body }) => {
        updateRealm(realmNamed(params.realm!), body as RealmRepresentation);
        return { status: 204 };
      },
    ],
    [
      "DELETE",
      "/admin/realms/:realm",
      ({ params }) => {
        realmNamed(params.realm!);
        realms.delete(params.realm!);
        return { status: 204 };
      },
    ],

    // Realm roles.
    [
      "GET",
      "/admin/realms/:realm/roles",
      ({ params }) => ({ status: 200, body: structuredClone([...realmNamed(params.realm!).roles.values()]) }),
    ],
    [
      "POST",
      "/admin/realms/:realm/roles",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const rep = body as RoleRepresentation;
        if (!rep.name) throw badRequest("Role name is missing");
        if (realm.roles.has(rep.name)) throw conflict(`Role with name ${rep.name} already exists`);
        realm.roles.set(rep.name, {
          composite: false,
          ...withoutNulls(rep),
          id: randomUUID(),
          clientRole: false,
          containerId: realm.rep.id,
        });
        return { status: 201, location: `/admin/realms/${params.realm}/roles/${encodeURIComponent(rep.name)}` };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/roles/:name",
      ({ params }) => {
        const role = realmNamed(params.realm!).roles.get(params.name!);
        if (!role) throw notFound("Could not find role");
        return { status: 200, body: structuredClone(role) };
      },
    ],

    // Client scopes and their protocol mappers.
    [
      "GET",
      "/admin/realms/:realm/client-scopes",
      ({ params }) => ({ status: 200, body: [...realmNamed(params.realm!).scopes.values()].map(presentScope) }),
    ],
    [
      "POST",
      "/admin/realms/:realm/client-scopes",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const { protocolMappers, ...rep } = body as ClientScopeRepresentation;
        if (!rep.name) throw badRequest("Client scope name is missing");
        if (scopeByName(realm, rep.name)) throw conflict(`Client Scope ${rep.name} already exists`);
        const id = randomUUID();
        const scope: Scope = { rep: { protocol: OIDC, attributes: {}, ...withoutNulls(rep), id }, mappers: [] };
        realm.scopes.set(id, scope);
        for (const mapper of protocolMappers ?? []) addMapper(scope, mapper);
        return { status: 201, location: `/admin/realms/${params.realm}/client-scopes/${id}` };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/client-scopes/:id",
      ({ params }) => ({ status: 200, body: presentScope(scopeById(realmNamed(params.realm!), params.id!)) }),
    ],
    [
      "PUT",
      "/admin/realms/:realm/client-scopes/:id",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const scope = scopeById(realm, params.id!);
        const { id: _id, protocolMappers: _mappers, attributes, ...fields } = body as ClientScopeRepresentation;
        if (fields.name && fields.name !== scope.rep.name && scopeByName(realm, fields.name)) {
          throw conflict(`Client Scope ${fields.name} already exists`);
        }
        Object.assign(scope.rep, withoutNulls(fields));
        mergeAttributes(scope.rep, attributes);
        return { status: 204 };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/client-scopes/:id/protocol-mappers/models",
      ({ params }) => ({ status: 200, body: structuredClone(scopeById(realmNamed(params.realm!), params.id!).mappers) }),
    ],
    [
      "POST",
      "/admin/realms/:realm/client-scopes/:id/protocol-mappers/models",
      ({ params, body }) => {
        const mapperId = addMapper(scopeById(realmNamed(params.realm!), params.id!), body as ProtocolMapperRepresentation);
        return {
          status: 201,
          location: `/admin/realms/${params.realm}/client-scopes/${params.id}/protocol-mappers/models/${mapperId}`,
        };
      },
    ],
    [
      "PUT",
      "/admin/realms/:realm/client-scopes/:id/protocol-mappers/models/:mapperId",
      ({ params, body }) => {
        const scope = scopeById(realmNamed(params.realm!), params.id!);
        const index = scope.mappers.findIndex((mapper) => mapper.id === params.mapperId);
        if (index < 0) throw notFound("Model not found");
        scope.mappers[index] = {
          ...scope.mappers[index],
          ...withoutNulls(structuredClone(body as ProtocolMapperRepresentation)),
          id: params.mapperId,
        };
        return { status: 204 };
      },
    ],
    [
      "DELETE",
      "/admin/realms/:realm/client-scopes/:id/protocol-mappers/models/:mapperId",
      ({ params }) => {
        const scope = scopeById(realmNamed(params.realm!), params.id!);
        const before = scope.mappers.length;
        scope.mappers = scope.mappers.filter((mapper) => mapper.id !== params.mapperId);
        if (scope.mappers.length === before) throw notFound("Model not found");
        return { status: 204 };
      },
    ],

    // Clients.
    [
      "GET",
      "/admin/realms/:realm/clients",
      ({ params, query }) => {
        const realm = realmNamed(params.realm!);
        const clientId = query.get("clientId");
        const search = query.get("search") === "true";
        const matches = [...realm.clients.values()].filter((client) => {
          if (!clientId) return true;
          // An exact match unless `search` asks for a case-insensitive substring.
          return search ? client.rep.clientId!.toLowerCase().includes(clientId.toLowerCase()) : client.rep.clientId === clientId;
        });
        return { status: 200, body: page(matches, query).map((client) => presentClient(realm, client)) };
      },
    ],
    [
      "POST",
      "/admin/realms/:realm/clients",
      ({ params, body }) => {
        const client = createClient(realmNamed(params.realm!), structuredClone(body as ClientRepresentation));
        return { status: 201, location: `/admin/realms/${params.realm}/clients/${client.rep.id}` };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/clients/:id",
      ({ params }) => {
        const realm = realmNamed(params.realm!);
        return { status: 200, body: presentClient(realm, clientById(realm, params.id!)) };
      },
    ],
    [
      "PUT",
      "/admin/realms/:realm/clients/:id",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        updateClient(realm, clientById(realm, params.id!), structuredClone(body as ClientRepresentation));
        return { status: 204 };
      },
    ],
    [
      "DELETE",
      "/admin/realms/:realm/clients/:id",
      ({ params }) => {
        const realm = realmNamed(params.realm!);
        const client = clientById(realm, params.id!);
        client.rep.serviceAccountsEnabled = false;
        syncServiceAccount(realm, client);
        realm.clients.delete(params.id!);
        return { status: 204 };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/clients/:id/client-secret",
      ({ params }) => {
        const client = clientById(realmNamed(params.realm!), params.id!);
        return { status: 200, body: { type: "secret", value: client.rep.secret ?? null } };
      },
    ],
    ...clientScopeLinks("default-client-scopes", "defaultScopes"),
    ...clientScopeLinks("optional-client-scopes", "optionalScopes"),

    // Users.
    [
      "GET",
      "/admin/realms/:realm/users",
      ({ params, query }) => {
        const realm = realmNamed(params.realm!);
        const exact = query.get("exact") === "true";
        const matches = (value: string | undefined, wanted: string | null) => {
          if (wanted === null) return true;
          const have = (value ?? "").toLowerCase();
          return exact ? have === wanted.toLowerCase() : have.includes(wanted.toLowerCase());
        };
        const search = query.get("search")?.toLowerCase();
        // Service accounts never show up in a user search.
        const found = [...realm.users.values()].filter(
          ({ rep }) =>
            !rep.serviceAccountClientId &&
            matches(rep.username, query.get("username")) &&
            matches(rep.email, query.get("email")) &&
            matches(rep.firstName, query.get("firstName")) &&
            matches(rep.lastName, query.get("lastName")) &&
            (!search ||
              [rep.username, rep.email, rep.firstName, rep.lastName].some((value) => value?.toLowerCase().includes(search)))
        );
        return { status: 200, body: page(found, query).map((user) => structuredClone(user.rep)) };
      },
    ],
    [
      "POST",
      "/admin/realms/:realm/users",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const rep = structuredClone(body as UserRepresentation);
        if (!rep.username) throw badRequest("User name is missing");
        const username = rep.username.toLowerCase();
        if ([...realm.users.values()].some((user) => user.rep.username === username))
          throw conflict("User exists with same username");
        if (emailTaken(realm, rep.email)) throw conflict("User exists with same email");
        const { credentials: _credentials, realmRoles: _roles, id: _id, ...fields } = rep;
        const id = randomUUID();
        realm.users.set(id, {
          rep: {
            enabled: false,
            emailVerified: false,
            requiredActions: [],
            attributes: {},
            ...withoutNulls(fields),
            username,
            id,
            createdTimestamp: Date.now(),
          },
          roleIds: new Set([realm.roles.get(`default-roles-${realm.rep.realm}`)!.id!]),
        });
        return { status: 201, location: `/admin/realms/${params.realm}/users/${id}` };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/users/:id",
      ({ params }) => ({ status: 200, body: structuredClone(userById(realmNamed(params.realm!), params.id!).rep) }),
    ],
    [
      "PUT",
      "/admin/realms/:realm/users/:id",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const user = userById(realm, params.id!);
        const rep = structuredClone(body as UserRepresentation);
        if (rep.username && rep.username.toLowerCase() !== user.rep.username && !realm.rep.editUsernameAllowed) {
          throw badRequest("error-user-attribute-read-only");
        }
        if (emailTaken(realm, rep.email, user.rep.id)) throw conflict("User exists with same email");
        if (rep.enabled != null) user.rep.enabled = rep.enabled;
        if (rep.emailVerified != null) user.rep.emailVerified = rep.emailVerified;
        if (rep.requiredActions != null) user.rep.requiredActions = rep.requiredActions;
        // The user profile (Keycloak 24+): with `attributes` present, the profile is replaced
        // as a whole, so email and names left out are removed; without, only given ones change.
        if (rep.attributes != null) {
          user.rep.email = rep.email;
          user.rep.firstName = rep.firstName;
          user.rep.lastName = rep.lastName;
          user.rep.attributes = rep.attributes;
        } else {
          if (rep.email != null) user.rep.email = rep.email;
          if (rep.firstName != null) user.rep.firstName = rep.firstName;
          if (rep.lastName != null) user.rep.lastName = rep.lastName;
        }
        return { status: 204 };
      },
    ],
    [
      "DELETE",
      "/admin/realms/:realm/users/:id",
      ({ params }) => {
        const realm = realmNamed(params.realm!);
        userById(realm, params.id!);
        realm.users.delete(params.id!);
        return { status: 204 };
      },
    ],
    [
      "PUT",
      "/admin/realms/:realm/users/:id/reset-password",
      ({ params, body }) => {
        const user = userById(realmNamed(params.realm!), params.id!);
        const credential = body as { type?: string; value?: string; temporary?: boolean };
        if (credential.type !== "password") throw badRequest("Unsupported credential type");
        if (!credential.value) throw badRequest("Empty password");
        const temporary = credential.temporary === true;
        user.password = { value: credential.value, temporary };
        if (temporary && !user.rep.requiredActions?.includes("UPDATE_PASSWORD")) {
          user.rep.requiredActions = [...(user.rep.requiredActions ?? []), "UPDATE_PASSWORD"];
        }
        return { status: 204 };
      },
    ],
    [
      "GET",
      "/admin/realms/:realm/users/:id/role-mappings/realm",
      ({ params }) => {
        const realm = realmNamed(params.realm!);
        const user = userById(realm, params.id!);
        return { status: 200, body: structuredClone([...realm.roles.values()].filter((role) => user.roleIds.has(role.id!))) };
      },
    ],
    [
      "POST",
      "/admin/realms/:realm/users/:id/role-mappings/realm",
      ({ params, body }) => {
        const realm = realmNamed(params.realm!);
        const user = userById(realm, params.id!);
        const wanted = body as RoleRepresentation[];
        // Keycloak looks each role up by name and insists the id matches.
        const roles = wanted.map((rep) => {
          const role = rep.name ? realm.roles.get(rep.name) : undefined;
          if (!role || role.id !== rep.id) throw notFound("Role not found");
          return role;
        });
        for (const role of roles) user.roleIds.add(role.id!);
        return { status: 204 };
      },
    ],
  ];

  function clientScopeLinks(segment: string, kind: "defaultScopes" | "optionalScopes"): typeof routes {
    const other = kind === "defaultScopes" ? "optionalScopes" : "defaultScopes";
    return [
      [
        "GET",
        `/admin/realms/:realm/clients/:id/${segment}`,
        ({ params }) => {
          const realm = realmNamed(params.realm!);
          const client = clientById(realm, params.id!);
          return { status: 200, body: [...client[kind]].map((id) => ({ id, name: realm.scopes.get(id)?.rep.name })) };
        },
      ],
      [
        "PUT",
        `/admin/realms/:realm/clients/:id/${segment}/:scopeId`,
        ({ params }) => {
          const realm = realmNamed(params.realm!);
          const client = clientById(realm, params.id!);
          if (!realm.scopes.has(params.scopeId!)) throw notFound("Client scope not found");
          // A scope already linked either way stays as it is.
          if (!client[other].has(params.scopeId!)) client[kind].add(params.scopeId!);
          return { status: 204 };
        },
      ],
      [
        "DELETE",
        `/admin/realms/:realm/clients/:id/${segment}/:scopeId`,
        ({ params }) => {
          const realm = realmNamed(params.realm!);
          const client = clientById(realm, params.id!);
          if (!realm.scopes.has(params.scopeId!)) throw notFound("Client scope not found");
          client.defaultScopes.delete(params.scopeId!);
          client.optionalScopes.delete(params.scopeId!);
          return { status: 204 };
        },
      ],
    ];
  }

  /** Client credentials only: the grant machine clients and the admin client use. */
  async function tokenEndpoint({ params, body, headers }: Request): Promise<Reply> {
    const realm = realms.get(params.realm!);
    if (!realm) throw new KeycloakFailure(404, { error: "Realm does not exist" });
    const form = body instanceof URLSearchParams ? body : new URLSearchParams();
    const credentials = clientCredentials(headers.authorization, form);
    const invalid = (error: string) =>
      new KeycloakFailure(401, { error, error_description: "Invalid client or Invalid client credentials" });
    if (!credentials) throw invalid("invalid_client");
    const client = findClient(realm, credentials.clientId);
    if (!client || !client.rep.enabled) throw invalid("invalid_client");
    if (client.rep.publicClient || client.rep.bearerOnly || client.rep.secret !== credentials.clientSecret)
      throw invalid("unauthorized_client");
    if (form.get("grant_type") !== "client_credentials") {
      throw new KeycloakFailure(400, { error: "unsupported_grant_type", error_description: "Unsupported grant_type" });
    }
    if (!client.rep.serviceAccountsEnabled) {
      throw new KeycloakFailure(401, {
        error: "unauthorized_client",
        error_description: "Client not enabled to retrieve service account",
      });
    }

    // The token's scope claim and audience come from the client's default scopes (and the
    // optional ones asked for), as Keycloak's protocol mappers would put them.
    const requested = new Set((form.get("scope") ?? "").split(" ").filter(Boolean));
    const scopes = [
      ...client.defaultScopes,
      ...[...client.optionalScopes].filter((id) => requested.has(realm.scopes.get(id)?.rep.name ?? "")),
    ]
      .map((id) => realm.scopes.get(id))
      .filter((scope): scope is Scope => !!scope);
    const scopeClaim = scopes
      .filter((scope) => scope.rep.attributes?.["include.in.token.scope"] !== "false")
      .map((scope) => scope.rep.name);
    const mappers = scopes.flatMap((scope) => scope.mappers).filter((mapper) => mapper.config?.["access.token.claim"] === "true");
    const audience = mappers
      .filter((mapper) => mapper.protocolMapper === "oidc-audience-mapper")
      .map((mapper) => String(mapper.config?.["included.custom.audience"]));
    const serviceAccount = [...realm.users.values()].find((user) => user.rep.serviceAccountClientId === client.rep.id);
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      exp: now + lifespan,
      iat: now,
      jti: randomUUID(),
      iss: `${url}/realms/${realm.rep.realm}`,
      typ: "Bearer",
      azp: client.rep.clientId,
      scope: ["openid", ...scopeClaim].join(" "),
    };
    if (serviceAccount && mappers.some((mapper) => mapper.protocolMapper === "oidc-sub-mapper"))
      claims.sub = serviceAccount.rep.id;
    if (audience.length > 0) claims.aud = audience.length === 1 ? audience[0] : audience;
    const token = await sign(realm, claims);
    if (realm.rep.realm === adminRealm && client.rep.clientId === adminClientId) adminTokens.set(token, (now + lifespan) * 1000);
    return {
      status: 200,
      body: {
        access_token: token,
        expires_in: lifespan,
        refresh_expires_in: 0,
        token_type: "Bearer",
        "not-before-policy": 0,
        scope: claims.scope,
      },
    };
  }

  function requireAdmin(authorization: string | undefined) {
    const token = authorization?.match(/^Bearer (.+)$/)?.[1];
    const expiresAt = token ? adminTokens.get(token) : undefined;
    if (expiresAt === undefined || expiresAt <= Date.now()) throw unauthorized();
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const target = new URL(req.url ?? "/", "http://keycloak.test");
    const path = target.pathname;
    const body = await readBody(req);
    let reply: Reply;
    try {
      if (path.startsWith("/admin/")) requireAdmin(req.headers.authorization);
      const match = matchRoute(req.method ?? "GET", path);
      if (match === "method") throw new KeycloakFailure(405, { error: "HTTP 405 Method Not Allowed" });
      if (!match) throw notFound("Unable to find matching target resource method");
      reply = await match.handle({ params: match.params, query: target.searchParams, body, headers: req.headers });
    } catch (error) {
      if (!(error instanceof KeycloakFailure)) throw error;
      reply = { status: error.status, body: error.body };
    }
    requests.push({
      method: req.method ?? "GET",
      path: decodeURIComponent(path),
      query: target.searchParams,
      body: body instanceof URLSearchParams ? Object.fromEntries(body) : body,
      status: reply.status,
    });
    const headers: Record<string, string> = {};
    if (reply.location) headers.location = `${url}${reply.location}`;
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res.writeHead(reply.status, { ...headers, "content-type": "application/json" }).end(JSON.stringify(reply.body));
  }

  function matchRoute(method: string, path: string) {
    const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
    let pathMatched = false;
    for (const [routeMethod, pattern, handler] of routes) {
      const parts = pattern.split("/").filter(Boolean);
      if (parts.length !== segments.length) continue;
      const params: Params = {};
      const fits = parts.every((part, index) => {
        if (part.startsWith(":")) {
          params[part.slice(1)] = segments[index]!;
          return true;
        }
        return part === segments[index];
      });
      if (!fits) continue;
      pathMatched = true;
      if (routeMethod === method) return { params, handle: handler };
    }
    return pathMatched ? ("method" as const) : undefined;
  }

  createRealm({ realm: adminRealm, enabled: true });
  createClient(realmNamed(adminRealm), {
    clientId: adminClientId,
    secret: adminClientSecret,
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
  });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(error) }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const realmOrUndefined = (name: string) => realms.get(name);

  return {
    url,
    requests,
    realmSettings: (name) => structuredClone(realmOrUndefined(name)?.rep),
    realmRoleNames: (name) => [...(realmOrUndefined(name)?.roles.keys() ?? [])],
    clientScopes: (name) => [...(realmOrUndefined(name)?.scopes.values() ?? [])].map(presentScope),
    clients(name) {
      const realm = realmOrUndefined(name);
      return realm ? [...realm.clients.values()].map((client) => presentClient(realm, client)) : [];
    },
    client(name, clientId) {
      const realm = realmOrUndefined(name);
      const client = realm && findClient(realm, clientId);
      return realm && client ? presentClient(realm, client) : undefined;
    },
    users(name) {
      const realm = realmOrUndefined(name);
      return realm ? [...realm.users.values()].map((user) => presentUser(realm, user)) : [];
    },
    user(name, username) {
      const realm = realmOrUndefined(name);
      const user = realm && [...realm.users.values()].find((candidate) => candidate.rep.username === username.toLowerCase());
      return realm && user ? presentUser(realm, user) : undefined;
    },
    revokeAdminTokens: () => adminTokens.clear(),
    signAccessToken: (name, claims) => sign(realmNamed(name), claims),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Each realm signs with its own RSA key, as in Keycloak. Generating one takes a while, so mocks
 * in the same test process reuse the key of a realm with the same name.
 */
const keysByRealmName = new Map<string, Promise<RealmKey>>();

function keyForRealmName(name: string): Promise<RealmKey> {
  let key = keysByRealmName.get(name);
  if (!key) {
    key = (async () => {
      const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
      const kid = randomUUID();
      return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
    })();
    keysByRealmName.set(name, key);
  }
  return key;
}

/** Client authentication: HTTP Basic (client_secret_basic) or form fields (client_secret_post). */
function clientCredentials(authorization: string | undefined, form: URLSearchParams) {
  const basic = authorization?.match(/^Basic (.+)$/)?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const formDecode = (value: string) => decodeURIComponent(value.replaceAll("+", " "));
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  }
  const clientId = form.get("client_id");
  const clientSecret = form.get("client_secret");
  return clientId && clientSecret ? { clientId, clientSecret } : undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return undefined;
  const type = req.headers["content-type"] ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) return new URLSearchParams(text);
  if (type.startsWith("application/json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Redirect addresses are checked on create and update; a fragment is one thing Keycloak refuses. */
function checkRedirectUris(uris: string[] | undefined) {
  if (uris?.some((uri) => uri.includes("#"))) {
    throw new KeycloakFailure(400, {
      error: "invalid_input",
      error_description: "Redirect URIs must not contain an URI fragment",
    });
  }
}

/** Realm attributes are a map of strings in Keycloak: other values arrive as their text. */
function realmAttributes(attributes: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attributes ?? {})
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])
  );
}

/** Keycloak reads sslRequired case-insensitively, answers in lower case, and refuses other levels. */
function sslLevel(value: string): string {
  const level = value.toLowerCase();
  if (!["none", "external", "all"].includes(level)) throw badRequest(`Invalid sslRequired: ${value}`);
  return level;
}

/** Attributes merge key by key; an empty value removes the key. */
function mergeAttributes(target: { attributes?: Record<string, unknown> }, attributes: Record<string, unknown> | undefined) {
  if (!attributes) return;
  const merged = { ...target.attributes };
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === "") delete merged[key];
    else merged[key] = value;
  }
  target.attributes = merged;
}

function withoutNulls<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== null && entry !== undefined)) as T;
}

function page<T>(items: T[], query: URLSearchParams): T[] {
  const first = Number(query.get("first") ?? 0);
  const max = Number(query.get("max") ?? 100);
  return items.slice(first, first + max);
}
