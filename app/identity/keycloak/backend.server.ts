// The identity backend for production: realms, users and machine clients live in a real
// Keycloak (KEYCLOAK_URL), managed through its admin API with @keycloak/keycloak-admin-client.
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type UserRepresentation from "@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import type { IdentityBackend, IdentityUserSpec } from "../backend.server";
import { API_AUDIENCE, API_SCOPES, BROWSER_CLIENT_ID, WEB_CLIENT_ID, type ApiScope, type RealmSpec } from "../realm";
import { createAdminSession, isKeycloakStatus, KeycloakAdminError, type AdminSession } from "./admin-session.server";
import {
  AUDIENCE_MAPPER_NAME,
  apiScope,
  audienceMapper,
  audienceScope,
  machineClient,
  machineClientScopes,
  newRealm,
  PLATFORM_OWNER,
  REALM_MARK,
  realmClients,
  realmOwner,
  realmRoles,
  realmUpdate,
} from "./representations.server";

export { KeycloakAdminError } from "./admin-session.server";

export type KeycloakBackendOptions = {
  /** Keycloak's base URL, e.g. https://sso.example (a path prefix such as /auth is kept). */
  url: string;
  adminClientId: string;
  adminClientSecret: string;
  /** The realm the admin client lives in. Default: "master". */
  adminRealm?: string;
};

/** The realm's own clients: machine-client calls may never touch them. */
const RESERVED_CLIENT_IDS: readonly string[] = [WEB_CLIENT_ID, BROWSER_CLIENT_ID];

export function createKeycloakBackend(options: KeycloakBackendOptions): IdentityBackend & { kind: "keycloak" } {
  const url = options.url.replace(/\/+$/, "");
  const admin = createAdminSession({
    url,
    adminRealm: options.adminRealm ?? "master",
    clientId: options.adminClientId,
    clientSecret: options.adminClientSecret,
  });
  const keySets = new Map<string, JWTVerifyGetKey>();

  return {
    kind: "keycloak",

    issuer: (realm) => `${url}/realms/${realm}`,

    verificationKeys(realm) {
      let keys = keySets.get(realm);
      if (!keys) {
        keys = createRemoteJWKSet(new URL(`${url}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/certs`));
        keySets.set(realm, keys);
      }
      return keys;
    },

    async ensureRealm(spec) {
      const created = await ensureRealmSettings(admin, spec);
      await ensureRealmRoles(admin, spec);
      const audienceScopeId = await ensureClientScopes(admin, spec.realm);
      const clients = realmClients(spec);
      for (const client of clients) await ensureRealmClient(admin, spec.realm, client, audienceScopeId);
      // An earlier version made civitas-js in the platform realm too: take away what no longer belongs.
      for (const clientId of RESERVED_CLIENT_IDS.filter((id) => !clients.some((client) => client.clientId === id))) {
        await removeRealmClient(admin, spec.realm, clientId);
      }
      return { created };
    },

    ensureUser: (realm, user) => ensureUser(admin, realm, user),

    createMachineClient: (realm, client) => createMachineClient(admin, realm, client),

    async deleteMachineClient(realm, clientId) {
      const operation = `delete machine client "${clientId}"`;
      if (RESERVED_CLIENT_IDS.includes(clientId)) {
        throw new KeycloakAdminError({ operation, realm, detail: "the realm's own clients are not machine clients" });
      }
      for (const client of await findClients(admin, realm, clientId)) {
        // Built-in clients (admin-cli, realm-management, …) have no service account.
        if (!isMachineClient(client)) {
          throw new KeycloakAdminError({ operation, realm, detail: "that client is not a machine client" });
        }
        await admin
          .call(operation, realm, (kc) => kc.clients.del({ realm, id: client.id! }))
          .catch((error: unknown) => {
            if (!isKeycloakStatus(error, 404)) throw error;
          });
      }
    },
  };
}

/**
 * Creates the realm (marked as Civitas' and this city's) or brings its settings in line; true
 * when it was created. A realm that exists without this city's mark is refused before anything
 * in it is touched.
 */
async function ensureRealmSettings(admin: AdminSession, spec: RealmSpec): Promise<boolean> {
  const realm = spec.realm;
  let existing = await admin.call("look up the realm", realm, (kc) => kc.realms.findOne({ realm }));
  if (!existing) {
    try {
      await admin.call("create the realm", realm, (kc) => kc.realms.create(newRealm(spec)));
      return true;
    } catch (error) {
      // Someone created it meanwhile: another Civitas process (marked), or not (refused below).
      if (!isKeycloakStatus(error, 409)) throw error;
      existing = await admin.call("look up the realm", realm, (kc) => kc.realms.findOne({ realm }));
      if (!existing) throw error;
    }
  }
  checkRealmOwner(spec, existing);
  const update = realmUpdate(spec, existing);
  await admin.call("update the realm's settings", realm, (kc) => kc.realms.update({ realm }, update));
  return false;
}

/** Refuses a realm Civitas did not create for this city (see REALM_MARK). */
function checkRealmOwner(spec: RealmSpec, existing: RealmRepresentation): void {
  const owner = realmOwner(spec);
  const attributes = (existing.attributes ?? {}) as Record<string, unknown>;
  const managed = attributes[REALM_MARK.managed] === "true";
  const markedFor = attributes[REALM_MARK.owner];
  if (managed && markedFor === owner) return;

  const who = spec.tenantId === null ? "the platform" : `city ${spec.tenantId}`;
  const whose = (value: unknown) => (value === PLATFORM_OWNER ? "the platform" : `city ${String(value)}`);
  let problem: string;
  if (existing.attributes === undefined) {
    problem =
      "Keycloak showed the realm without its attributes, so whether Civitas created it cannot be told " +
      "(the admin client needs view-realm and manage-realm on it)";
  } else if (!managed) {
    problem =
      `the realm exists but Civitas did not create it (no ${REALM_MARK.managed} = "true" attribute), ` +
      `so its users and their roles would pass to ${who}`;
  } else if (typeof markedFor !== "string" || markedFor === "") {
    problem = `the realm is marked as Civitas' but for no one (no ${REALM_MARK.owner} attribute)`;
  } else {
    problem =
      `the realm belongs to ${whose(markedFor)} (${REALM_MARK.owner}), ` +
      `so its users and their roles would pass to ${who}`;
  }
  // The platform realm's name is fixed; a city's comes from its city file.
  const elsewhere =
    spec.tenantId === null
      ? "Rename or remove that realm in Keycloak"
      : `Give ${who} another realm name (identity.realm in its city file)`;
  throw new KeycloakAdminError({
    operation: `use the existing realm for ${who}`,
    realm: spec.realm,
    detail:
      `${problem}. ${elsewhere}, or, if this realm is meant for it, mark it deliberately: set the realm ` +
      `attributes ${REALM_MARK.managed} = "true" and ${REALM_MARK.owner} = "${owner}" (admin API: GET the ` +
      'realm, add both to its "attributes", PUT it back whole, since a realm PUT replaces every attribute).',
  });
}

async function ensureRealmRoles(admin: AdminSession, spec: RealmSpec): Promise<void> {
  const realm = spec.realm;
  for (const role of realmRoles(spec)) {
    const existing = await admin.call(`read role "${role.name}"`, realm, (kc) =>
      kc.roles.findOneByName({ realm, name: role.name })
    );
    if (existing) continue;
    await admin
      .call(`create role "${role.name}"`, realm, (kc) => kc.roles.create({ realm, ...role }))
      .catch((error: unknown) => {
        if (!isKeycloakStatus(error, 409)) throw error;
      });
  }
}

/** Ensures the read, write and civitas-api scopes (with its audience mapper); returns civitas-api's id. */
async function ensureClientScopes(admin: AdminSession, realm: string): Promise<string> {
  const existing = await admin.call("list client scopes", realm, (kc) => kc.clientScopes.find({ realm }));
  for (const scope of API_SCOPES) await ensureClientScope(admin, realm, apiScope(scope), existing);
  const audienceScopeId = await ensureClientScope(admin, realm, audienceScope(), existing);

  const mappers = await admin.call(`list mappers of client scope "${API_AUDIENCE}"`, realm, (kc) =>
    kc.clientScopes.listProtocolMappers({ realm, id: audienceScopeId })
  );
  const desired = audienceMapper();
  const mapper = mappers.find((candidate) => candidate.name === AUDIENCE_MAPPER_NAME);
  if (!mapper) {
    await admin.call(`add the ${API_AUDIENCE} audience mapper`, realm, (kc) =>
      kc.clientScopes.addProtocolMapper({ realm, id: audienceScopeId }, desired)
    );
  } else if (mapper.protocolMapper !== desired.protocolMapper || !includesEntries(mapper.config, desired.config)) {
    await admin.call(`update the ${API_AUDIENCE} audience mapper`, realm, (kc) =>
      kc.clientScopes.updateProtocolMapper({ realm, id: audienceScopeId, mapperId: mapper.id! }, { ...mapper, ...desired })
    );
  }
  return audienceScopeId;
}

async function ensureClientScope(
  admin: AdminSession,
  realm: string,
  desired: ClientScopeRepresentation,
  existing: ClientScopeRepresentation[]
): Promise<string> {
  const name = desired.name!;
  const found = existing.find((scope) => scope.name === name);
  if (!found) {
    try {
      const { id } = await admin.call(`create client scope "${name}"`, realm, (kc) =>
        kc.clientScopes.create({ realm, ...desired })
      );
      return id;
    } catch (error) {
      if (!isKeycloakStatus(error, 409)) throw error;
      const raced = await admin.call(`read client scope "${name}"`, realm, (kc) =>
        kc.clientScopes.findOneByName({ realm, name })
      );
      if (!raced?.id) throw error;
      return raced.id;
    }
  }
  if (found.protocol !== desired.protocol || !includesEntries(found.attributes, desired.attributes)) {
    await admin.call(`update client scope "${name}"`, realm, (kc) =>
      kc.clientScopes.update(
        { realm, id: found.id! },
        { ...found, ...desired, attributes: { ...found.attributes, ...desired.attributes } }
      )
    );
  }
  return found.id!;
}

/** Creates civitas-web or civitas-js, or brings it in line with the spec; civitas-api is a default scope. */
async function ensureRealmClient(admin: AdminSession, realm: string, desired: ClientRepresentation, audienceScopeId: string) {
  const clientId = desired.clientId!;
  const [current] = await findClients(admin, realm, clientId);
  let id: string;
  if (current) {
    id = current.id!;
    // Keycloak's client PUT changes the fields given: redirect addresses and web origins are
    // replaced as a whole, attributes one by one.
    await admin.call(`update client "${clientId}"`, realm, (kc) => kc.clients.update({ realm, id }, desired));
  } else {
    ({ id } = await admin.call(`create client "${clientId}"`, realm, (kc) => kc.clients.create({ realm, ...desired })));
  }
  const defaults = await admin.call(`list default scopes of client "${clientId}"`, realm, (kc) =>
    kc.clients.listDefaultClientScopes({ realm, id })
  );
  if (!defaults.some((scope) => scope.id === audienceScopeId)) {
    await admin.call(`add scope "${API_AUDIENCE}" to client "${clientId}"`, realm, (kc) =>
      kc.clients.addDefaultClientScope({ realm, id, clientScopeId: audienceScopeId })
    );
  }
}

async function ensureUser(admin: AdminSession, realm: string, user: IdentityUserSpec): Promise<{ id: string; created: boolean }> {
  const who = `user "${user.username}"`;
  // Roles first: an unknown role leaves no half-made user behind.
  const roles: { id: string; name: string }[] = [];
  for (const name of new Set(user.realmRoles ?? [])) {
    const role = await admin.call(`read role "${name}"`, realm, (kc) => kc.roles.findOneByName({ realm, name }));
    if (!role?.id) {
      throw new KeycloakAdminError({
        operation: `give role "${name}" to ${who}`,
        realm,
        status: 404,
        detail: "no such realm role",
      });
    }
    roles.push({ id: role.id, name });
  }

  let id: string;
  let created = false;
  const existing = await findUser(admin, realm, user.username);
  if (existing) {
    id = existing.id!;
    // Keycloak's user PUT treats absent profile attributes as removed: send the whole user.
    const current = await admin.call(`read ${who}`, realm, (kc) => kc.users.findOne({ realm, id }));
    if (!current) throw new KeycloakAdminError({ operation: `update ${who}`, realm, status: 404, detail: "the user vanished" });
    await admin.call(`update ${who}`, realm, (kc) => kc.users.update({ realm, id }, userRepresentation(user, current)));
  } else {
    ({ id } = await admin.call(`create ${who}`, realm, (kc) =>
      kc.users.create({ realm, ...userRepresentation(user, { username: user.username, enabled: true }) })
    ));
    created = true;
  }

  if (user.password !== undefined) {
    const value = user.password;
    await admin.call(`set the password of ${who}`, realm, (kc) =>
      kc.users.resetPassword({ realm, id, credential: { type: "password", value, temporary: false } })
    );
  }

  if (roles.length > 0) {
    const held = await admin.call(`list the roles of ${who}`, realm, (kc) => kc.users.listRealmRoleMappings({ realm, id }));
    const missing = roles.filter((role) => !held.some((mapping) => mapping.name === role.name));
    if (missing.length > 0) {
      await admin.call(`give roles to ${who}`, realm, (kc) => kc.users.addRealmRoleMappings({ realm, id, roles: missing }));
    }
  }
  return { id, created };
}

function userRepresentation(user: IdentityUserSpec, base: UserRepresentation): UserRepresentation {
  const attributes: Record<string, unknown> = { ...base.attributes };
  if (user.locale !== undefined) attributes.locale = [user.locale];
  return {
    ...base,
    email: user.email ?? base.email,
    firstName: user.firstName ?? base.firstName,
    lastName: user.lastName ?? base.lastName,
    attributes,
  };
}

/** Keycloak stores user names in lower case and, without `exact`, matches them as substrings. */
async function findUser(admin: AdminSession, realm: string, username: string): Promise<UserRepresentation | undefined> {
  const found = await admin.call(`find user "${username}"`, realm, (kc) => kc.users.find({ realm, username, exact: true }));
  return found.find((candidate) => candidate.username?.toLowerCase() === username.toLowerCase());
}

async function createMachineClient(
  admin: AdminSession,
  realm: string,
  client: { clientId: string; name: string; scopes: ApiScope[] }
): Promise<{ clientSecret: string }> {
  const operation = `create machine client "${client.clientId}"`;
  if (RESERVED_CLIENT_IDS.includes(client.clientId)) {
    throw new KeycloakAdminError({ operation, realm, detail: "that client id belongs to the realm's own clients" });
  }
  const unknown = client.scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) throw new KeycloakAdminError({ operation, realm, detail: `unknown scopes: ${unknown.join(", ")}` });

  // Keycloak silently skips scope names it does not know: check the realm has ours first.
  const realmScopes = await admin.call("list client scopes", realm, (kc) => kc.clientScopes.find({ realm }));
  const names = new Set(realmScopes.map((scope) => scope.name).filter((name): name is string => !!name));
  const lacking = [API_AUDIENCE, ...client.scopes].filter((name) => !names.has(name));
  if (lacking.length > 0) {
    throw new KeycloakAdminError({
      operation,
      realm,
      detail: `the realm has no client scope ${lacking.join(", ")} (ensureRealm first)`,
    });
  }
  const wanted = machineClientScopes(client.scopes, names);

  let id: string;
  try {
    ({ id } = await admin.call(operation, realm, (kc) => kc.clients.create({ realm, ...machineClient(client, wanted) })));
  } catch (error) {
    if (!isKeycloakStatus(error, 409)) throw error;
    throw new KeycloakAdminError({
      operation,
      realm,
      status: 409,
      detail: `a client with id "${client.clientId}" already exists`,
      cause: error,
    });
  }
  try {
    await alignMachineClientScopes(admin, realm, { id, clientId: client.clientId }, wanted, realmScopes);
    const secret = await admin.call(`read the secret of client "${client.clientId}"`, realm, (kc) =>
      kc.clients.getClientSecret({ realm, id })
    );
    if (!secret.value) {
      throw new KeycloakAdminError({ operation, realm, detail: "Keycloak generated no secret for the client" });
    }
    return { clientSecret: secret.value };
  } catch (error) {
    // Leave no half-made client behind: its secret could not be shown to anyone anyway.
    await admin
      .call(`remove the unfinished client "${client.clientId}"`, realm, (kc) => kc.clients.del({ realm, id }))
      .catch(() => {});
    throw error;
  }
}

/** Checks the scopes Keycloak attached at creation and repairs any difference. */
async function alignMachineClientScopes(
  admin: AdminSession,
  realm: string,
  client: { id: string; clientId: string },
  wanted: string[],
  realmScopes: ClientScopeRepresentation[]
): Promise<void> {
  const { id } = client;
  const label = `client "${client.clientId}"`;
  const defaults = await admin.call(`list default scopes of ${label}`, realm, (kc) =>
    kc.clients.listDefaultClientScopes({ realm, id })
  );
  const optional = await admin.call(`list optional scopes of ${label}`, realm, (kc) =>
    kc.clients.listOptionalClientScopes({ realm, id })
  );
  for (const scope of optional) {
    await admin.call(`remove optional scope "${scope.name}" from ${label}`, realm, (kc) =>
      kc.clients.delOptionalClientScope({ realm, id, clientScopeId: scope.id! })
    );
  }
  for (const scope of defaults.filter((candidate) => !wanted.includes(candidate.name!))) {
    await admin.call(`remove default scope "${scope.name}" from ${label}`, realm, (kc) =>
      kc.clients.delDefaultClientScope({ realm, id, clientScopeId: scope.id! })
    );
  }
  for (const name of wanted.filter((candidate) => !defaults.some((scope) => scope.name === candidate))) {
    const scopeId = realmScopes.find((scope) => scope.name === name)?.id;
    if (!scopeId)
      throw new KeycloakAdminError({ operation: `add scope "${name}" to ${label}`, realm, detail: "no such client scope" });
    await admin.call(`add default scope "${name}" to ${label}`, realm, (kc) =>
      kc.clients.addDefaultClientScope({ realm, id, clientScopeId: scopeId })
    );
  }
}

/** Removes one of the realm's own clients that the spec no longer has; a missing one is fine. */
async function removeRealmClient(admin: AdminSession, realm: string, clientId: string): Promise<void> {
  for (const client of await findClients(admin, realm, clientId)) {
    await admin
      .call(`remove client "${clientId}"`, realm, (kc) => kc.clients.del({ realm, id: client.id! }))
      .catch((error: unknown) => {
        if (!isKeycloakStatus(error, 404)) throw error;
      });
  }
}

/** Exact matches only: `clientId` is an exact query unless `search` is set, but check anyway. */
async function findClients(admin: AdminSession, realm: string, clientId: string): Promise<ClientRepresentation[]> {
  const found = await admin.call(`find client "${clientId}"`, realm, (kc) => kc.clients.find({ realm, clientId }));
  return found.filter((client) => client.clientId === clientId && client.id);
}

function isMachineClient(client: ClientRepresentation): boolean {
  return client.serviceAccountsEnabled === true && client.publicClient !== true && client.bearerOnly !== true;
}

/** Whether `actual` holds every entry of `wanted` (Keycloak adds entries of its own). */
function includesEntries(actual: Record<string, unknown> | undefined, wanted: Record<string, unknown> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => actual?.[key] === value);
}
