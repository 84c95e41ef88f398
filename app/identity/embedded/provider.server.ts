// One realm of the embedded provider: an oidc-provider instance configured to look, from the
// outside, like a Keycloak realm (URL layout, clients, JWT access tokens with Keycloak's claims,
// RS256), with its state in the database. Pages it renders itself (sign-out, errors) come from
// pages.server.ts; sign-in and consent are served by interactions.server.ts.
import { randomBytes } from "node:crypto";
import { Provider, errors, type AdapterPayload, type Configuration, type KoaContextWithOIDC, type ResponseType } from "oidc-provider";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import { API_AUDIENCE, API_SCOPES, BROWSER_CLIENT_ID, WEB_CLIENT_ID, browserRedirectUris, postLogoutRedirectUris, webOrigins, webRedirectUris, type RealmSpec } from "../realm";
import { accountClaims, findAccount } from "./accounts.server";
import { PayloadAdapter } from "./adapter.server";
import { SIGNING_ALGORITHM, type RealmKey } from "./keys.server";
import { errorPage, logoutPage, signedOutPage, type Page, type PageFrame } from "./pages.server";
import type { LocaleRequest } from "./translations.server";

/**
 * The resource indicator (RFC 8707) every access token is issued for. Clients never need to
 * send it (it is the default); tokens carry API_AUDIENCE as their audience, as Keycloak's
 * audience mapper does.
 */
export const API_RESOURCE = "urn:civitas:api";

/** Keycloak's default access token lifespan. */
export const ACCESS_TOKEN_TTL = 300;

/** Scopes people's clients may ask for; read/write are for machine clients (as in Keycloak). */
const USER_SCOPES = ["openid", "profile", "email"];

const PROFILE_CLAIMS = ["preferred_username", "name", "given_name", "family_name", "locale"];
const EMAIL_CLAIMS = ["email", "email_verified"];

export const PROTOCOL_PATH = "/protocol/openid-connect";

/** Where the provider sends the browser for sign-in and consent: served by interactions.server.ts. */
export function interactionPath(realm: string, uid: string): string {
  return `/realms/${encodeURIComponent(realm)}/login-actions/${encodeURIComponent(uid)}`;
}

// Consents people gave to clients that ask for them (civitas-js), remembered per person and
// client like Keycloak's user consents, so the question is asked once, not at every sign-in.
// Stored next to oidc-provider's models under a model name of our own.
const CONSENT_MODEL = "Consent";
const CONSENT_TTL_MS = 365 * 24 * 3600 * 1000;

export async function rememberConsent(
  realm: string,
  consent: { accountId: string; clientId: string; scopes: string[] },
  database?: Database,
): Promise<void> {
  const key = { realm, model: CONSENT_MODEL, id: `${consent.clientId}:${consent.accountId}` };
  const previous = await rememberedConsent(realm, consent.accountId, consent.clientId, database);
  const scopes = [...new Set([...previous, ...consent.scopes])];
  const columns = { payload: { scopes }, expiresAt: new Date(Date.now() + CONSENT_TTL_MS) };
  await withPlatformAdmin(
    (tx) => tx.identityPayload.upsert({ where: { realm_model_id: key }, create: { ...key, ...columns }, update: columns }),
    database,
  );
}

async function rememberedConsent(realm: string, accountId: string, clientId: string, database?: Database): Promise<string[]> {
  const row = await withPlatformAdmin(
    (tx) =>
      tx.identityPayload.findFirst({
        where: { realm, model: CONSENT_MODEL, id: `${clientId}:${accountId}`, expiresAt: { gt: new Date() } },
        select: { payload: true },
      }),
    database,
  );
  const scopes = (row?.payload as { scopes?: unknown } | undefined)?.scopes;
  return Array.isArray(scopes) ? scopes.filter((scope): scope is string => typeof scope === "string") : [];
}

export type RealmProviderOptions = {
  realm: string;
  issuer: string;
  database?: Database;
  /** The realm's spec now (cached by the caller); null once the realm is gone. */
  spec(): Promise<RealmSpec | null>;
  /** Signing keys, the one in service first. */
  keys: RealmKey[];
  cookieKeys: string[];
  trustProxy: boolean;
  /** The frame of a page (language, branding) for a request to this realm. */
  frame(request: LocaleRequest): Promise<PageFrame | null>;
};

function send(ctx: KoaContextWithOIDC, rendered: Page, { keepStatus = false } = {}): void {
  if (!keepStatus) ctx.status = rendered.status;
  ctx.set(rendered.headers);
  ctx.body = rendered.html;
}

function localeRequest(ctx: KoaContextWithOIDC): LocaleRequest {
  // ctx.oidc.params exists only once a route assembled them (not for every error).
  let uiLocales: unknown;
  try {
    uiLocales = ctx.oidc.params?.ui_locales;
  } catch {
    uiLocales = undefined;
  }
  const chosen = ctx.query.kc_locale;
  return {
    chosen: typeof chosen === "string" ? chosen : null,
    uiLocales: typeof uiLocales === "string" ? uiLocales : null,
    acceptLanguage: ctx.get("accept-language") || null,
  };
}

export function createRealmProvider(options: RealmProviderOptions): Provider {
  const { realm, database } = options;

  async function findClient(clientId: string): Promise<AdapterPayload | undefined> {
    const spec = await options.spec();
    if (!spec) return undefined;
    const common = { response_types: ["code"] as ResponseType[], grant_types: ["authorization_code", "refresh_token"], scope: USER_SCOPES.join(" ") };
    if (clientId === WEB_CLIENT_ID) {
      return {
        ...common,
        client_id: WEB_CLIENT_ID,
        client_secret: spec.webClientSecret,
        client_name: "Civitas",
        token_endpoint_auth_method: "client_secret_basic",
        redirect_uris: [...new Set(webRedirectUris(spec.sites))],
        post_logout_redirect_uris: [...new Set(postLogoutRedirectUris(spec.sites))],
      };
    }
    if (clientId === BROWSER_CLIENT_ID) {
      // Only cities have a developer page: in the platform realm the public client would be a
      // way in that nothing uses, so there it is as unknown as any other name.
      if (spec.tenantId === null) return undefined;
      return {
        ...common,
        client_id: BROWSER_CLIENT_ID,
        client_name: "Civitas developer page",
        token_endpoint_auth_method: "none",
        redirect_uris: [...new Set(browserRedirectUris(spec.sites))],
        post_logout_redirect_uris: [...new Set([...browserRedirectUris(spec.sites), ...postLogoutRedirectUris(spec.sites)])],
      };
    }
    const row = await withPlatformAdmin(
      (tx) => tx.identityClient.findUnique({ where: { realm_clientId: { realm, clientId } }, select: { secret: true, scopes: true } }),
      database,
    );
    const scopes = (row?.scopes ?? []).filter((scope) => (API_SCOPES as readonly string[]).includes(scope));
    // A client with no known scope could do nothing: better unknown than unrestricted.
    if (!row || scopes.length === 0) return undefined;
    return {
      client_id: clientId,
      client_secret: row.secret,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: scopes.join(" "),
    };
  }

  async function render(ctx: KoaContextWithOIDC, build: (frame: PageFrame) => Page, sendOptions?: { keepStatus?: boolean }) {
    const frame = await options.frame(localeRequest(ctx));
    if (!frame) {
      ctx.status = 404;
      ctx.body = { error: "Realm does not exist" };
      return;
    }
    send(ctx, build(frame), sendOptions);
  }

  const configuration: Configuration = {
    adapter: (model: string) => new PayloadAdapter({ realm, model, database, findClient }),
    jwks: { keys: options.keys.map((key) => ({ ...key.privateJwk, kid: key.kid, alg: SIGNING_ALGORITHM, use: "sig" })) },
    cookies: {
      // The session cookie of each realm lives under its path, as Keycloak's do: realms share
      // one host and must not overwrite each other's.
      long: { httpOnly: true, sameSite: "lax", signed: true, path: `/realms/${realm}/` },
      short: { httpOnly: true, sameSite: "lax", signed: true },
      keys: options.cookieKeys,
    },
    routes: {
      authorization: `${PROTOCOL_PATH}/auth`,
      token: `${PROTOCOL_PATH}/token`,
      jwks: `${PROTOCOL_PATH}/certs`,
      userinfo: `${PROTOCOL_PATH}/userinfo`,
      end_session: `${PROTOCOL_PATH}/logout`,
      revocation: `${PROTOCOL_PATH}/revoke`,
      pushed_authorization_request: `${PROTOCOL_PATH}/ext/par/request`,
    },
    responseTypes: ["code"],
    pkce: { required: () => true },
    clientAuthMethods: ["client_secret_basic", "client_secret_post", "none"],
    scopes: [...USER_SCOPES, ...API_SCOPES],
    // Keycloak's default client scopes (profile, email) apply whatever was asked: its tokens
    // carry these claims even when keycloak-js asks for `openid` only.
    claims: {
      acr: null,
      auth_time: null,
      iss: null,
      sid: null,
      openid: ["sub", ...PROFILE_CLAIMS, ...EMAIL_CLAIMS],
      profile: PROFILE_CLAIMS,
      email: EMAIL_CLAIMS,
    },
    conformIdTokenClaims: false,
    extraParams: ["kc_locale"],
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      ClientCredentials: ACCESS_TOKEN_TTL,
      IdToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      // Keycloak's defaults: 30 minutes to sign in, sessions of at most 10 hours, refresh
      // tokens valid while the session is used at least every 30 minutes.
      Interaction: 30 * 60,
      Session: 10 * 3600,
      Grant: 10 * 3600,
      RefreshToken: 30 * 60,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: () => true,
    async findAccount(_ctx, sub) {
      const account = await findAccount(realm, sub, database);
      if (!account || !account.enabled) return undefined;
      return { accountId: account.id, claims: () => ({ ...accountClaims(account), sub: account.id }) };
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind === "ClientCredentials") {
        return {
          typ: "Bearer",
          azp: token.clientId,
          preferred_username: `service-account-${token.clientId}`,
          realm_access: { roles: [] },
        };
      }
      // Keycloak's `sid` names the person's session with the realm, the same for every client:
      // here that is the provider session's uid (oidc-provider's own `sid` is per client and
      // only kept for back-channel logout clients).
      const accessToken = token as typeof token & { accountId?: string; sessionUid?: string };
      const account = accessToken.accountId ? await findAccount(realm, accessToken.accountId, database) : null;
      const { sub: _sub, ...claims } = account ? accountClaims(account) : {};
      // Keycloak names the web origins of the realm's browser-facing clients in their tokens.
      const spec = token.clientId === BROWSER_CLIENT_ID || token.clientId === WEB_CLIENT_ID ? await options.spec() : null;
      return {
        typ: "Bearer",
        azp: token.clientId,
        ...(accessToken.sessionUid ? { sid: accessToken.sessionUid } : {}),
        ...claims,
        realm_access: { roles: account?.realmRoles ?? [] },
        ...(spec ? { "allowed-origins": webOrigins(spec.sites) } : {}),
      };
    },
    async loadExistingGrant(ctx) {
      const { client, session } = ctx.oidc;
      const accountId = session?.accountId;
      if (!client || !session || !accountId) return undefined;
      const { Grant } = ctx.oidc.provider;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const existing = grantId ? await Grant.find(grantId) : undefined;
      // civitas-web is Civitas itself: it never asks for consent. Others get what the person
      // consented to before (remembered across sessions); the consent page asks for the rest.
      const firstParty = client.clientId === WEB_CLIENT_ID;
      const consented = firstParty ? null : new Set(await rememberedConsent(realm, accountId, client.clientId, database));
      const allowed = (scope: string) => consented === null || consented.has(scope);
      const oidcScopes = [...ctx.oidc.requestParamOIDCScopes].filter(allowed);
      const resourceScopes = Object.entries(ctx.oidc.resourceServers ?? {}).map(
        ([indicator, server]) => [indicator, [...ctx.oidc.requestParamScopes].filter((scope) => server.scopes.has(scope) && allowed(scope))] as const,
      );
      const grant = existing ?? new Grant({ accountId, clientId: client.clientId });
      const grantedOidc = new Set(grant.getOIDCScope().split(" "));
      const missingOidc = oidcScopes.filter((scope) => !grantedOidc.has(scope));
      const missingResource = resourceScopes.map(([indicator, scopes]) => {
        const granted = new Set(grant.getResourceScope(indicator).split(" "));
        return [indicator, scopes.filter((scope) => !granted.has(scope))] as const;
      });
      const changed = missingOidc.length > 0 || missingResource.some(([, scopes]) => scopes.length > 0);
      if (!changed) return existing;
      if (missingOidc.length > 0) grant.addOIDCScope(missingOidc.join(" "));
      for (const [indicator, scopes] of missingResource) {
        if (scopes.length > 0) grant.addResourceScope(indicator, scopes.join(" "));
      }
      await grant.save();
      return grant;
    },
    clientBasedCORS(_ctx, origin, client) {
      // Browser code is the public client's; its origins are those of its redirect addresses
      // (the realm's web origins). Confidential clients talk from servers: no CORS.
      if (client.clientAuthMethod !== "none") return false;
      return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
    },
    interactions: {
      url: (_ctx, interaction) => interactionPath(realm, interaction.uid),
    },
    async renderError(ctx, out) {
      const code = typeof out.error === "string" ? out.error : undefined;
      await render(ctx, (frame) => errorPage(frame, { status: ctx.status, code }), { keepStatus: true });
    },
    features: {
      devInteractions: { enabled: false },
      // DPoP-bound tokens would need a verifier that checks proofs; Civitas' does not.
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      // Introspection of JWT access tokens is refused by oidc-provider (it keeps no copy of
      // them), so a Keycloak client relying on it would be misled: left off.
      introspection: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx) {
          const session = ctx.oidc.session;
          const state = (session?.state ?? {}) as { secret?: unknown };
          const hint = ctx.oidc.entities.IdTokenHint as { payload?: { sub?: unknown } } | undefined;
          const confirmed = hint?.payload?.sub !== undefined && hint.payload.sub === session?.accountId;
          await render(ctx, (frame) =>
            logoutPage(frame, {
              action: ctx.oidc.urlFor("end_session_confirm"),
              xsrf: typeof state.secret === "string" ? state.secret : "",
              confirmed,
            }),
          );
        },
        async postLogoutSuccessSource(ctx) {
          await render(ctx, (frame) => signedOutPage(frame));
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client) {
          // A client-credentials request without `scope` gets the client's scopes, as Keycloak
          // grants a client's default client scopes. This is the one hook that runs before
          // oidc-provider reads the requested scopes.
          const params = ctx.oidc.params as { grant_type?: unknown; scope?: unknown } | undefined;
          if (ctx.oidc.route === "token" && params?.grant_type === "client_credentials" && !params.scope && client?.scope) {
            params.scope = client.scope;
          }
          return API_RESOURCE;
        },
        useGrantedResource: () => true,
        async getResourceServerInfo(_ctx, indicator, client) {
          if (indicator !== API_RESOURCE) throw new errors.InvalidTarget();
          const machine = client.grantTypeAllowed("client_credentials");
          return {
            scope: (machine ? [...API_SCOPES] : USER_SCOPES).join(" "),
            audience: API_AUDIENCE,
            accessTokenTTL: ACCESS_TOKEN_TTL,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: SIGNING_ALGORITHM } },
          };
        },
      },
    },
  };

  const provider = new Provider(options.issuer, configuration);
  provider.proxy = options.trustProxy;
  giveRefreshTokensKeycloaksShape(provider, options.issuer);
  provider.on("server_error", (_ctx: unknown, error: unknown) => {
    console.error(`civitas: embedded identity provider error in realm ${realm}:`, error);
  });
  return provider;
}

type RefreshTokenFields = {
  clientId?: string;
  accountId?: string;
  sessionUid?: string;
  scope?: string;
  iat?: number;
  exp?: number;
  expiration?: number;
};

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * keycloak-js decodes every refresh token it receives (Keycloak's are JWTs) and gives up on an
 * opaque one. So refresh tokens here are reference tokens with Keycloak's claims readable in
 * their second segment: `rt{random}.{base64url claims}` (typ "Refresh", exp, azp...). The whole
 * string is the reference, only ever looked up, never verified (Keycloak's own refresh tokens
 * are signed with a key no client holds, so clients never verify them either). The first
 * segment is no JOSE header, so nothing takes the token for a JWT: oidc-provider still revokes
 * it, and Civitas' verifier refuses it as an access token.
 */
function giveRefreshTokensKeycloaksShape(provider: Provider, issuer: string): void {
  const prototype = provider.RefreshToken.prototype as unknown as { generateTokenId(this: RefreshTokenFields): string };
  prototype.generateTokenId = function generateTokenId(this: RefreshTokenFields): string {
    const iat = this.iat ?? Math.floor(Date.now() / 1000);
    const reference = randomBytes(32).toString("base64url");
    const claims = {
      exp: this.exp ?? iat + (this.expiration ?? 0),
      iat,
      jti: reference.slice(0, 22),
      iss: issuer,
      aud: issuer,
      sub: this.accountId,
      typ: "Refresh",
      azp: this.clientId,
      sid: this.sessionUid,
      scope: this.scope,
    };
    return `rt${reference}.${segment(claims)}`;
  };
}
