// Signing in and out of a city (or of the platform, for operators) with the authorization-code
// flow and PKCE: /auth/login sends the browser to the realm's provider, /auth/callback takes it
// back, checks everything openid-client checks (state, PKCE, nonce, ID token) and verifies the
// access token like any API token, creates the resident on first sign-in and starts a session;
// /auth/logout ends it here and at the provider (RP-initiated logout).
import type { AppLoadContext } from "@remix-run/node";
import { createCookie, redirect } from "@remix-run/node";
import * as oidc from "openid-client";
import { recordAudit, recordCityAudit, recordPlatformAudit } from "../audit/audit.server";
import { publicUrl } from "../config.server";
import { withTenant } from "../db/database.server";
import { AUTH_PATHS, PLATFORM_REALM, WEB_CLIENT_ID } from "../identity/realm";
import { notFound, requireCity } from "../tenancy/guard.server";
import { TokenRejected } from "./errors";
import { principalFromToken } from "./principal.server";
import { relyingParty } from "./relying-party.server";
import { cookieSecrets } from "./secrets.server";
import { signInUser } from "./users.server";
import { currentSession, endSession, expectedFor, secureCookies, sessionTokensFrom, startSession, type SessionDeps, type WebScope } from "./web-session.server";

const AUTH_STATE_COOKIE = "civitas_auth";
/** How long a sign-in may take at the provider. */
const AUTH_STATE_SECONDS = 15 * 60;

type AuthState = { state: string; nonce: string; verifier: string; returnTo: string; redirectUri: string };

export type SignInDeps = SessionDeps & { requestId?: string };

/** The scope of this request: its city, or the platform host. Unknown cities are 404s. */
export function webScope(context: AppLoadContext, params: { city?: string }): WebScope {
  const { tenant } = context;
  if (tenant.kind === "city") {
    const { city, basePath } = requireCity(context, params);
    return { kind: "city", tenantId: city.id, citySlug: city.slug, realm: city.identityRealm, basePath };
  }
  if (tenant.kind === "platform" && params.city === undefined) return { kind: "platform", realm: PLATFORM_REALM, basePath: "" };
  throw notFound();
}

async function authStateCookie(request: Request, scope: WebScope) {
  return createCookie(AUTH_STATE_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    secure: secureCookies(request),
    path: `${scope.basePath}/auth`,
    maxAge: AUTH_STATE_SECONDS,
    secrets: await cookieSecrets(),
  });
}

/** A local path inside this site, or the site's home: never another origin (open redirect). */
export function safeReturnTo(value: string | null | undefined, basePath: string): string {
  const home = basePath || "/";
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return home;
  if ([...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) return home;
  if (basePath && value !== basePath && !value.startsWith(`${basePath}/`)) return home;
  return value;
}

/**
 * The callback address for this request's origin, if the realm's clients accept it (the
 * origin's scheme and port must be the public URL's: hosts are the city's by resolution).
 */
function callbackFor(request: Request, scope: WebScope): string | null {
  const url = new URL(request.url);
  const base = new URL(publicUrl());
  if (url.protocol !== base.protocol || url.port !== base.port) return null;
  return `${url.origin}${scope.basePath}${AUTH_PATHS.callback}`;
}

/** GET /auth/login: off to the provider, with state, nonce and a PKCE challenge. */
export async function startSignIn(request: Request, scope: WebScope, locale: string, deps: SignInDeps): Promise<Response> {
  const url = new URL(request.url);
  const returnTo = safeReturnTo(url.searchParams.get("returnTo"), scope.basePath);
  const redirectUri = callbackFor(request, scope);
  if (!redirectUri) {
    // An address the provider would refuse to send people back to (another scheme or port than
    // the public URL's): continue at the canonical one, the city's path on the public URL.
    const sitePath = scope.kind === "city" ? `/${scope.citySlug}` : "";
    const target = new URL(`${publicUrl()}${sitePath}/auth/login`);
    target.searchParams.set("returnTo", scope.basePath ? returnTo : sitePath || "/");
    if (target.origin === url.origin) {
      // Same origin yet refused: CIVITAS_PUBLIC_URL does not match how people reach the server
      // (often a TLS proxy without CIVITAS_TRUST_PROXY). Say so instead of redirecting forever.
      throw new Response("Sign-in is misconfigured: CIVITAS_PUBLIC_URL does not match this address.\n", {
        status: 500,
        headers: { "Content-Type": "text/plain" },
      });
    }
    return redirect(target.toString());
  }
  const rp = await relyingParty(scope.realm, deps);
  const state: AuthState = {
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    verifier: oidc.randomPKCECodeVerifier(),
    returnTo,
    redirectUri,
  };
  const authorizationUrl = oidc.buildAuthorizationUrl(rp.configuration, {
    redirect_uri: redirectUri,
    scope: "openid profile email",
    response_type: "code",
    state: state.state,
    nonce: state.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(state.verifier),
    code_challenge_method: "S256",
    ui_locales: locale,
  });
  const cookie = await authStateCookie(request, scope);
  return redirect(authorizationUrl.toString(), {
    headers: { "Set-Cookie": await cookie.serialize(state), "Cache-Control": "no-store" },
  });
}

export type SignInFailure = {
  error: "expired" | "denied" | "failed";
  retryHref: string;
  /** Set-Cookie that drops the spent sign-in state. */
  clearCookie: string;
};

async function auditFailure(scope: WebScope, reason: string, deps: SignInDeps) {
  const entry = {
    actor: { type: "system" as const },
    action: "auth.sign_in_failed",
    subject: { type: "session" },
    after: { reason },
    requestId: deps.requestId,
  };
  if (scope.kind === "city") await recordCityAudit(scope.tenantId, entry, deps.database);
  else await recordPlatformAudit(entry, deps.database);
}

/**
 * GET /auth/callback: finishes the sign-in. Returns a redirect into the site with the session
 * cookie, or a failure for the page to explain (with a link to try again).
 */
export async function finishSignIn(request: Request, scope: WebScope, deps: SignInDeps): Promise<Response | SignInFailure> {
  const cookie = await authStateCookie(request, scope);
  const clear = await cookie.serialize("", { maxAge: 0 });
  const retryHref = `${scope.basePath}/auth/login`;
  const fail = async (error: SignInFailure["error"], reason: string): Promise<SignInFailure> => {
    await auditFailure(scope, reason, deps);
    return { error, retryHref, clearCookie: clear };
  };
  const state = (await cookie.parse(request.headers.get("Cookie"))) as AuthState | null;
  if (!state || typeof state.state !== "string") {
    // Nothing was attempted (an old bookmark, a bot): the log, not the city's audit trail, which
    // anyone could otherwise fill with such requests.
    console.warn(`[${deps.requestId ?? "-"}] sign-in callback without a sign-in in progress (realm ${scope.realm})`);
    return { error: "expired", retryHref, clearCookie: clear };
  }

  const url = new URL(request.url);
  const providerError = url.searchParams.get("error");
  if (providerError) return fail(providerError === "access_denied" ? "denied" : "failed", `provider answered ${providerError.slice(0, 64)}`);

  let tokens: oidc.TokenEndpointResponse;
  try {
    const rp = await relyingParty(scope.realm, deps);
    // The redirect URI of the request, as registered: openid-client compares against it.
    const current = new URL(state.redirectUri);
    current.search = url.search;
    tokens = await oidc.authorizationCodeGrant(rp.configuration, current, {
      pkceCodeVerifier: state.verifier,
      expectedState: state.state,
      expectedNonce: state.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : "unknown";
    return fail("failed", `code exchange refused: ${reason}`);
  }

  let verified;
  try {
    verified = await deps.identity.verifier.verify(tokens.access_token, expectedFor(scope));
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    return fail("failed", `access token rejected: ${error.reason}`);
  }

  const sessionTokens = sessionTokensFrom(tokens);
  let setSession: string;
  if (scope.kind === "city") {
    setSession = await withTenant(
      scope.tenantId,
      async (tx) => {
        const { userId } = await signInUser(tx, scope.tenantId, verified);
        await recordAudit(tx, scope.tenantId, {
          actor: { type: "user", id: userId },
          action: "auth.signed_in",
          subject: { type: "user", id: userId },
          after: { username: verified.username ?? null, client: verified.clientId },
          requestId: deps.requestId,
        });
        return startSession(request, scope, userId, sessionTokens, deps);
      },
      deps.database,
    );
  } else {
    const principal = await principalFromToken(verified, { database: deps.database });
    if (principal.kind !== "operator") return fail("denied", "not a platform operator");
    setSession = await startSession(request, scope, principal.operatorId, sessionTokens, deps);
    await recordPlatformAudit(
      {
        actor: { type: "operator", id: principal.operatorId },
        action: "auth.signed_in",
        subject: { type: "operator", id: principal.operatorId },
        after: { username: verified.username ?? null },
        requestId: deps.requestId,
      },
      deps.database,
    );
  }
  const headers = new Headers({ "Cache-Control": "no-store" });
  headers.append("Set-Cookie", clear);
  headers.append("Set-Cookie", setSession);
  return redirect(state.returnTo, { headers });
}

/**
 * POST /auth/logout (CSRF-checked by the route): ends the session here, then at the provider,
 * which sends the browser back to the site's home.
 */
export async function signOut(request: Request, scope: WebScope, deps: SignInDeps): Promise<Response> {
  const session = await currentSession(request, scope, deps).catch(() => null);
  const clear = await endSession(request, scope, deps);
  const home = `${new URL(request.url).origin}${scope.basePath}/`;
  const rp = await relyingParty(scope.realm, deps);
  if (!session) {
    // Nothing left here, but the provider may still hold a sign-in: end that one too.
    const endSessionUrl = oidc.buildEndSessionUrl(rp.configuration, { post_logout_redirect_uri: home, client_id: WEB_CLIENT_ID });
    return redirect(endSessionUrl.toString(), { headers: { "Set-Cookie": clear } });
  }
  const actor = session.principal;
  const entry = {
    action: "auth.signed_out",
    requestId: deps.requestId,
  };
  if (scope.kind === "city" && actor.kind === "user") {
    await recordCityAudit(scope.tenantId, { ...entry, actor: { type: "user", id: actor.userId }, subject: { type: "user", id: actor.userId } }, deps.database);
  } else if (actor.kind === "operator") {
    await recordPlatformAudit({ ...entry, actor: { type: "operator", id: actor.operatorId }, subject: { type: "operator", id: actor.operatorId } }, deps.database);
  }
  const endSessionUrl = oidc.buildEndSessionUrl(rp.configuration, {
    post_logout_redirect_uri: home,
    ...(session.tokens.idToken ? { id_token_hint: session.tokens.idToken } : {}),
  });
  return redirect(endSessionUrl.toString(), { headers: { "Set-Cookie": clear } });
}

