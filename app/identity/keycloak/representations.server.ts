// What a Civitas realm looks like in Keycloak's admin representations: realm settings and mark,
// roles, the read/write/civitas-api client scopes and the realm's clients, all derived from a RealmSpec.
// Only the fields Civitas owns are listed, so updates leave an operator's other settings alone
// (Keycloak's PUT on realms and clients changes only the fields it is given, except a realm's
// attributes, which it replaces as a whole: see realmUpdate).
import type ClientRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js";
import type ClientScopeRepresentation from "@keycloak/keycloak-admin-client/lib/defs/clientScopeRepresentation.js";
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import {
  API_AUDIENCE,
  API_SCOPES,
  BROWSER_CLIENT_ID,
  REALM_ROLES,
  WEB_CLIENT_ID,
  browserRedirectUris,
  postLogoutRedirectUris,
  webOrigins,
  webRedirectUris,
  type ApiScope,
  type RealmSpec,
} from "../realm";

const OIDC = "openid-connect";

/** Keycloak keeps several post-logout addresses in one attribute, separated by "##". */
const POST_LOGOUT_SEPARATOR = "##";

/**
 * Realm attributes Civitas writes when it creates a realm: the realm is Civitas' and belongs to
 * one city (its tenant id) or to the platform. A realm without them, or marked for someone else,
 * is never taken over: its users and their roles would pass to the city.
 */
export const REALM_MARK = { managed: "civitas.managed", owner: "civitas.city" } as const;

/** The owner in the platform realm's mark; a city's realm carries the city's tenant id. */
export const PLATFORM_OWNER = "platform";

export function realmOwner(spec: RealmSpec): string {
  return spec.tenantId ?? PLATFORM_OWNER;
}

/**
 * Hardening a new realm gets. On an existing realm these are a floor, not a value: a stricter
 * setting of the operator's stays (see realmUpdate).
 */
const HARDENING = { sslRequired: "external", accessTokenLifespan: 300, bruteForceProtected: true } as const;

/** Keycloak's sslRequired levels, weakest first. */
const SSL_LEVELS: readonly string[] = ["none", "external", "all"];

/** A new realm: the settings Civitas owns, the hardening, and the mark. */
export function newRealm(spec: RealmSpec): RealmRepresentation {
  return {
    id: spec.realm,
    realm: spec.realm,
    ...ownedSettings(spec),
    ...HARDENING,
    attributes: { [REALM_MARK.managed]: "true", [REALM_MARK.owner]: realmOwner(spec) },
  };
}

/**
 * What to PUT on an existing realm: the settings Civitas owns, plus any hardening the realm
 * falls short of. No `attributes`: Keycloak's realm PUT replaces the whole attribute map with
 * the one given, which would wipe the operator's (frontend URL and the like).
 */
export function realmUpdate(spec: RealmSpec, current: RealmRepresentation): RealmRepresentation {
  const update: RealmRepresentation = ownedSettings(spec);
  if (sslLevel(current.sslRequired) < sslLevel(HARDENING.sslRequired)) update.sslRequired = HARDENING.sslRequired;
  const lifespan = current.accessTokenLifespan;
  // Zero or less is no lifespan Keycloak can honour: treat it as unset.
  if (typeof lifespan !== "number" || lifespan <= 0 || lifespan > HARDENING.accessTokenLifespan) {
    update.accessTokenLifespan = HARDENING.accessTokenLifespan;
  }
  if (current.bruteForceProtected !== true) update.bruteForceProtected = HARDENING.bruteForceProtected;
  return update;
}

/** An unknown or missing level counts as weaker than "none", so it gets the floor. */
function sslLevel(value: string | undefined): number {
  return value === undefined ? -1 : SSL_LEVELS.indexOf(value.toLowerCase());
}

/** Realm settings Civitas owns; everything else (themes, brokers, policies) is the operator's. */
function ownedSettings(spec: RealmSpec): RealmRepresentation {
  return {
    enabled: true,
    displayName: realmDisplayName(spec),
    internationalizationEnabled: true,
    supportedLocales: [...new Set(spec.enabledLocales)],
    defaultLocale: spec.defaultLocale,
  };
}

function realmDisplayName(spec: RealmSpec): string {
  return spec.displayName[spec.defaultLocale] ?? Object.values(spec.displayName)[0] ?? spec.realm;
}

/** The platform realm (no city) holds operators; a city's realm holds its staff and admins. */
export function realmRoles(spec: RealmSpec): { name: string; description: string }[] {
  if (spec.tenantId === null) {
    return [{ name: REALM_ROLES.operator, description: "Operates the Civitas instance" }];
  }
  return [
    { name: REALM_ROLES.staff, description: "Works for the city in Civitas" },
    { name: REALM_ROLES.admin, description: "Administers the city in Civitas" },
  ];
}

/** `read` and `write` appear in the token's `scope` claim of clients granted them. */
export function apiScope(name: ApiScope): ClientScopeRepresentation {
  return {
    name,
    description: name === "read" ? "Query Civitas' API" : "Make changes through Civitas' API",
    protocol: OIDC,
    attributes: { "include.in.token.scope": "true", "display.on.consent.screen": "true" },
  };
}

/** Carries the audience only: no need to name it in the `scope` claim. */
export function audienceScope(): ClientScopeRepresentation {
  return {
    name: API_AUDIENCE,
    description: `Puts ${API_AUDIENCE} in the audience of access tokens`,
    protocol: OIDC,
    attributes: { "include.in.token.scope": "false", "display.on.consent.screen": "false" },
  };
}

export const AUDIENCE_MAPPER_NAME = `${API_AUDIENCE} audience`;

export function audienceMapper(): ProtocolMapperRepresentation {
  return {
    name: AUDIENCE_MAPPER_NAME,
    protocol: OIDC,
    protocolMapper: "oidc-audience-mapper",
    config: {
      "included.custom.audience": API_AUDIENCE,
      "access.token.claim": "true",
      "id.token.claim": "false",
      "introspection.token.claim": "true",
    },
  };
}

/**
 * The realm's own clients: civitas-web always, civitas-js in cities' realms only (the platform
 * has no developer page, so a public client there would be one more way in for nothing).
 */
export function realmClients(spec: RealmSpec): ClientRepresentation[] {
  return spec.tenantId === null ? [webClient(spec)] : [webClient(spec), browserClient(spec)];
}

/** Civitas' server signs people in with it: authorization code with PKCE, a secret. */
export function webClient(spec: RealmSpec): ClientRepresentation {
  return {
    clientId: WEB_CLIENT_ID,
    name: `Civitas – ${realmDisplayName(spec)}`,
    enabled: true,
    protocol: OIDC,
    publicClient: false,
    clientAuthenticatorType: "client-secret",
    secret: spec.webClientSecret,
    standardFlowEnabled: true,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: false,
    redirectUris: unique(webRedirectUris(spec.sites)),
    webOrigins: unique(webOrigins(spec.sites)),
    attributes: {
      "pkce.code.challenge.method": "S256",
      "post.logout.redirect.uris": unique(postLogoutRedirectUris(spec.sites)).join(POST_LOGOUT_SEPARATOR),
    },
  };
}

/** Browser code (keycloak-js on the developer page): a public client, code with PKCE. */
export function browserClient(spec: RealmSpec): ClientRepresentation {
  return {
    clientId: BROWSER_CLIENT_ID,
    name: `Civitas developer page – ${realmDisplayName(spec)}`,
    enabled: true,
    protocol: OIDC,
    publicClient: true,
    standardFlowEnabled: true,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: false,
    redirectUris: unique(browserRedirectUris(spec.sites)),
    webOrigins: unique(webOrigins(spec.sites)),
    attributes: {
      "pkce.code.challenge.method": "S256",
      "post.logout.redirect.uris": unique([...browserRedirectUris(spec.sites), ...postLogoutRedirectUris(spec.sites)]).join(
        POST_LOGOUT_SEPARATOR
      ),
    },
  };
}

/**
 * Keycloak 25+ puts `sub` (and `auth_time`) in access tokens through its built-in `basic` scope
 * only; Civitas' token verifier requires `sub`, so machine clients keep that scope too.
 */
export const SUBJECT_SCOPE = "basic";

/**
 * The default scopes of a machine client: the civitas-api audience, `basic` when the realm has
 * it (Keycloak 25+), and the granted API scopes. Nothing else: no profile, roles or optional scopes.
 */
export function machineClientScopes(granted: ApiScope[], realmScopeNames: ReadonlySet<string>): string[] {
  return [
    API_AUDIENCE,
    ...(realmScopeNames.has(SUBJECT_SCOPE) ? [SUBJECT_SCOPE] : []),
    ...API_SCOPES.filter((scope) => granted.includes(scope)),
  ];
}

/**
 * A developer's client-credentials client. Listing the client scopes at creation replaces the
 * realm's defaults, so its tokens carry exactly `defaultScopes` (see machineClientScopes).
 */
export function machineClient(client: { clientId: string; name: string }, defaultScopes: string[]): ClientRepresentation {
  return {
    clientId: client.clientId,
    name: client.name,
    enabled: true,
    protocol: OIDC,
    publicClient: false,
    clientAuthenticatorType: "client-secret",
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: false,
    defaultClientScopes: defaultScopes,
    optionalClientScopes: [],
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
