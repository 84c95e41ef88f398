// What a Civitas realm looks like in Keycloak's admin representations: realm settings, roles,
// the read/write/civitas-api client scopes and the two clients, all derived from a RealmSpec.
// Only the fields Civitas owns are listed, so updates leave an operator's other settings alone
// (Keycloak's PUT on realms and clients changes only the fields it is given).
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

/** Realm settings Civitas owns; everything else (themes, brokers, policies) is the operator's. */
export function realmSettings(spec: RealmSpec): RealmRepresentation {
  return {
    enabled: true,
    displayName: realmDisplayName(spec),
    internationalizationEnabled: true,
    supportedLocales: [...new Set(spec.enabledLocales)],
    defaultLocale: spec.defaultLocale,
    sslRequired: "external",
    bruteForceProtected: true,
    accessTokenLifespan: 300,
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
