// Signed-in browsers. The cookie holds a random token; the database holds its SHA-256 and the
// tokens the provider issued, encrypted under a key derived from the cookie's token, so a stolen
// copy of the table signs nobody in, and a session can be ended server-side. A city's sessions live in that city's rows (RLS); operators' sessions
// in a platform table. Sessions end after IDLE_SECONDS without use or ABSOLUTE_SECONDS in all,
// and the access token inside is refreshed shortly before it expires.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { createCookie, type Cookie } from "@remix-run/node";
import * as oidc from "openid-client";
import { withPlatformAdmin, withTenant, type Database } from "../db/database.server";
import type { Identity } from "../identity/identity.server";
import { PLATFORM_REALM } from "../identity/realm";
import { TokenRejected } from "./errors";
import type { MemberRole, Prisma } from "../db/generated/client.ts";
import { principalFromToken, userPrincipal, type Principal } from "./principal.server";
import { relyingParty } from "./relying-party.server";
import type { VerifiedToken } from "./verify.server";

export const SESSION_COOKIE = "civitas_session";
/** Operators' cookie has its own name: on the platform host its path (/) covers every city's. */
export const OPERATOR_SESSION_COOKIE = "civitas_operator_session";

const SESSION_COOKIE_PRESENT = new RegExp(`(^|;\\s*)(${SESSION_COOKIE}|${OPERATOR_SESSION_COOKIE})=`);

/** Whether a Cookie header carries a session at all (most requests do not). */
export function carriesSessionCookie(cookieHeader: string | null | undefined): boolean {
  return SESSION_COOKIE_PRESENT.test(cookieHeader ?? "");
}
/** A session unused this long is over (Keycloak's default SSO idle timeout). */
export const IDLE_SECONDS = 30 * 60;
/** ...and any session is over after this long (Keycloak's default SSO max lifespan). */
export const ABSOLUTE_SECONDS = 10 * 60 * 60;
/** Refresh the access token when it has less than this left. */
const REFRESH_MARGIN_MS = 30_000;
/** Record use at most this often (a write per page view would be wasteful). */
const TOUCH_EVERY_MS = 60_000;

/** Where a session belongs: one city (its realm), or the platform (operators). */
export type WebScope =
  | { kind: "city"; tenantId: string; citySlug: string; realm: string; basePath: string }
  | { kind: "platform"; realm: typeof PLATFORM_REALM; basePath: "" };

export type SessionTokens = {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  /** epoch milliseconds */
  accessExpiresAt: number;
};

export type WebSession = {
  principal: Principal;
  verified: VerifiedToken;
  tokens: SessionTokens;
  /** SHA-256 of the cookie token: the row's id. */
  id: string;
  /** A city user's own name and language (their profile), read with the session; null if none. */
  displayName: string | null;
  locale: string | null;
};

type StoredSession = {
  ownerId: string;
  /** Sealed tokens (see seal): readable only with the cookie's token. */
  data: unknown;
  expiresAt: Date;
  updatedAt: Date;
  /** A city's session: its user's subject, profile and memberships, read with the session in one query. */
  user?: { subject: string; displayName: string | null; locale: string | null; memberships: MemberRole[] };
};

type Sealed = Prisma.InputJsonObject;

type SessionRow = { user_id: string; data: unknown; expires_at: Date; updated_at: Date; subject: string; display_name: string | null; locale: string | null; roles: string[] };

type SessionStore = {
  insert(id: string, ownerId: string, data: Sealed, expiresAt: Date): Promise<void>;
  find(id: string): Promise<StoredSession | null>;
  update(id: string, data: Sealed): Promise<void>;
  touch(id: string): Promise<void>;
  remove(id: string): Promise<void>;
};

function storeFor(scope: WebScope, database?: Database): SessionStore {
  if (scope.kind === "city") {
    const { tenantId } = scope;
    const run = <T>(work: Parameters<typeof withTenant<T>>[1]) => withTenant(tenantId, work, database);
    return {
      insert: (id, userId, data, expiresAt) =>
        run(async (tx) => {
          await tx.session.create({ data: { tenantId, id, userId, data, expiresAt } });
        }),
      // Every signed-in page asks: the session, its user and their memberships in one statement
      // (Prisma's include would take three).
      find: (id) =>
        run(async (tx) => {
          const rows = await tx.$queryRaw<SessionRow[]>`
            SELECT s.user_id, s.data, s.expires_at, s.updated_at, u.subject, u.display_name, u.locale,
                   coalesce(array_agg(m.role::text) FILTER (WHERE m.role IS NOT NULL), '{}') AS roles
              FROM sessions s
              JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
              LEFT JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
             WHERE s.tenant_id = ${tenantId}::uuid AND s.id = ${id}
             GROUP BY s.user_id, s.data, s.expires_at, s.updated_at, u.subject, u.display_name, u.locale`;
          const row = rows[0];
          if (!row) return null;
          return {
            ownerId: row.user_id,
            data: row.data,
            expiresAt: row.expires_at,
            updatedAt: row.updated_at,
            user: { subject: row.subject, displayName: row.display_name, locale: row.locale, memberships: row.roles as MemberRole[] },
          };
        }),
      update: (id, data) =>
        run(async (tx) => {
          await tx.session.updateMany({ where: { tenantId, id }, data: { data } });
        }),
      touch: (id) =>
        run(async (tx) => {
          await tx.session.updateMany({ where: { tenantId, id }, data: { updatedAt: new Date() } });
        }),
      remove: (id) =>
        run(async (tx) => {
          await tx.session.deleteMany({ where: { tenantId, id } });
        }),
    };
  }
  const run = <T>(work: Parameters<typeof withPlatformAdmin<T>>[0]) => withPlatformAdmin(work, database);
  return {
    insert: (id, operatorId, data, expiresAt) =>
      run(async (tx) => {
        await tx.operatorSession.create({ data: { id, operatorId, data, expiresAt } });
      }),
    find: (id) =>
      run(async (tx) => {
        const row = await tx.operatorSession.findUnique({ where: { id } });
        return row && { ownerId: row.operatorId, data: row.data, expiresAt: row.expiresAt, updatedAt: row.updatedAt };
      }),
    update: (id, data) =>
      run(async (tx) => {
        await tx.operatorSession.updateMany({ where: { id }, data: { data } });
      }),
    touch: (id) =>
      run(async (tx) => {
        await tx.operatorSession.updateMany({ where: { id }, data: { updatedAt: new Date() } });
      }),
    remove: (id) =>
      run(async (tx) => {
        await tx.operatorSession.deleteMany({ where: { id } });
      }),
  };
}

// --- Cookie ---------------------------------------------------------------------------------

/** Secure on https, and in production away from the developer's own machine. */
export function secureCookies(request: Request): boolean {
  const url = new URL(request.url);
  if (url.protocol === "https:") return true;
  const local = url.hostname === "localhost" || url.hostname.endsWith(".localhost") || url.hostname === "127.0.0.1";
  return process.env.NODE_ENV === "production" && !local;
}

/** The session cookie of a scope: on the platform host, each city's path has its own. */
export function sessionCookie(request: Request, scope: WebScope): Cookie {
  return createCookie(scope.kind === "platform" ? OPERATOR_SESSION_COOKIE : SESSION_COOKIE, {
    httpOnly: true,
    // Lax: the provider sends the browser back to the callback with a top-level GET.
    sameSite: "lax",
    secure: secureCookies(request),
    path: scope.basePath || "/",
  });
}

const hash = (token: string) => createHash("sha256").update(token).digest("base64url");

// --- Sealing ----------------------------------------------------------------------------------
// The tokens in a session row are encrypted (AES-256-GCM) under a key derived from the cookie's
// token, which is never stored: a copy of the table holds no usable token. Only the access
// token's expiry stays readable, for housekeeping.

function sealingKey(token: string, realm: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(token), "civitas-session", `tokens:${realm}`, 32));
}

function seal(tokens: SessionTokens, token: string, realm: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealingKey(token, realm), iv);
  const box = Buffer.concat([cipher.update(JSON.stringify(tokens), "utf8"), cipher.final()]);
  return { v: 1, accessExpiresAt: tokens.accessExpiresAt, iv: iv.toString("base64url"), tag: cipher.getAuthTag().toString("base64url"), box: box.toString("base64url") };
}

/** The tokens of a session row, given the cookie's token (tests and diagnostics). */
export function unseal(data: unknown, token: string, realm: string): SessionTokens | null {
  const sealed = data as { v?: unknown; iv?: unknown; tag?: unknown; box?: unknown } | null;
  if (!sealed || sealed.v !== 1 || typeof sealed.iv !== "string" || typeof sealed.tag !== "string" || typeof sealed.box !== "string") {
    return null;
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealingKey(token, realm), Buffer.from(sealed.iv, "base64url"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64url"));
    const json = Buffer.concat([decipher.update(Buffer.from(sealed.box, "base64url")), decipher.final()]).toString("utf8");
    return JSON.parse(json) as SessionTokens;
  } catch {
    return null;
  }
}

/** What a token must be for, to be accepted in this scope (see TokenVerifier.verify). */
export function expectedFor(scope: WebScope) {
  return scope.kind === "city" ? { tenantId: scope.tenantId } : ({ platform: true } as const);
}

// --- Sessions -------------------------------------------------------------------------------

export type SessionDeps = { identity: Identity; database?: Database };

/** Starts a session for a signed-in owner (a user at a city, an operator) and returns Set-Cookie. */
export async function startSession(
  request: Request,
  scope: WebScope,
  ownerId: string,
  tokens: SessionTokens,
  { database }: { database?: Database } = {},
): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await storeFor(scope, database).insert(hash(token), ownerId, seal(tokens, token, scope.realm), new Date(Date.now() + ABSOLUTE_SECONDS * 1000));
  return sessionCookie(request, scope).serialize(token, { maxAge: ABSOLUTE_SECONDS });
}

async function readToken(request: Request, scope: WebScope): Promise<string | null> {
  const value: unknown = await sessionCookie(request, scope).parse(request.headers.get("Cookie"));
  return typeof value === "string" && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
}

/** A token endpoint's answer as a session keeps it; a refresh may omit what stays the same. */
export function sessionTokensFrom(response: oidc.TokenEndpointResponse, previous?: SessionTokens): SessionTokens {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? previous?.refreshToken ?? null,
    idToken: response.id_token ?? previous?.idToken ?? null,
    accessExpiresAt: Date.now() + (response.expires_in ?? 60) * 1000,
  };
}

type Refreshed = SessionTokens | "ended" | "unavailable";

async function refreshed(scope: WebScope, tokens: SessionTokens, deps: SessionDeps): Promise<Refreshed> {
  if (!tokens.refreshToken) return "ended";
  try {
    const rp = await relyingParty(scope.realm, deps);
    return sessionTokensFrom(await oidc.refreshTokenGrant(rp.configuration, tokens.refreshToken), tokens);
  } catch (error) {
    // The provider said no (session ended there, user disabled, token reused): signed out.
    // Anything else (unreachable, overloaded) is not the person's doing: try again next time.
    if (error instanceof oidc.ResponseBodyError && (error.error === "invalid_grant" || error.error === "invalid_client")) return "ended";
    console.error(`civitas: refreshing a session's tokens at realm ${scope.realm} failed:`, error instanceof Error ? error.message : error);
    return "unavailable";
  }
}

// Pages of one browser arrive together (several tabs, client-side navigation): one refresh per
// session at a time, since the provider treats a rotated refresh token used twice as stolen.
const inFlight = new Map<string, Promise<Refreshed>>();

function refreshOnce(id: string, token: string, scope: WebScope, tokens: SessionTokens, deps: SessionDeps): Promise<Refreshed> {
  const pending = inFlight.get(id);
  if (pending) return pending;
  const work = (async () => {
    const next = await refreshed(scope, tokens, deps);
    if (typeof next !== "string") await storeFor(scope, deps.database).update(id, seal(next, token, scope.realm));
    return next;
  })().finally(() => inFlight.delete(id));
  inFlight.set(id, work);
  return work;
}

/**
 * The session this request carries, or null (none, expired, ended at the provider, or its
 * token no longer verifies). The access token is refreshed when about to expire and checked on
 * every request with the same verifier as API bearer tokens.
 */
export async function currentSession(request: Request, scope: WebScope, deps: SessionDeps): Promise<WebSession | null> {
  const token = await readToken(request, scope);
  if (!token) return null;
  const id = hash(token);
  const store = storeFor(scope, deps.database);
  const stored = await store.find(id);
  if (!stored) return null;
  const now = Date.now();
  if (stored.expiresAt.getTime() <= now || stored.updatedAt.getTime() + IDLE_SECONDS * 1000 <= now) {
    await store.remove(id);
    return null;
  }
  let tokens = unseal(stored.data, token, scope.realm);
  if (!tokens) {
    await store.remove(id);
    return null;
  }
  if (tokens.accessExpiresAt - now < REFRESH_MARGIN_MS) {
    const next = await refreshOnce(id, token, scope, tokens, deps);
    if (next === "ended") {
      await store.remove(id);
      return null;
    }
    if (next === "unavailable") {
      // Keep the session; use the access token while it lasts.
      if (tokens.accessExpiresAt <= now) return null;
    } else {
      tokens = next;
    }
  } else if (now - stored.updatedAt.getTime() > TOUCH_EVERY_MS) {
    await store.touch(id);
  }
  let verified: VerifiedToken;
  try {
    verified = await deps.identity.verifier.verify(tokens.accessToken, expectedFor(scope));
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    await store.remove(id);
    return null;
  }
  // A city's session brought its user's memberships along: no second unit of work per page.
  let principal: Principal;
  if (scope.kind === "city" && stored.user) {
    if (stored.user.subject !== verified.subject) {
      await store.remove(id);
      return null;
    }
    principal = userPrincipal({
      tenantId: scope.tenantId,
      userId: stored.ownerId,
      subject: verified.subject,
      memberships: stored.user.memberships,
      realmRoles: verified.realmRoles,
    });
  } else {
    principal = await principalFromToken(verified, { database: deps.database });
  }
  return { principal, verified, tokens, id, displayName: stored.user?.displayName ?? null, locale: stored.user?.locale ?? null };
}

/** Ends the session server-side; returns the Set-Cookie that clears the cookie. */
export async function endSession(request: Request, scope: WebScope, { database }: { database?: Database } = {}): Promise<string> {
  const token = await readToken(request, scope);
  if (token) await storeFor(scope, database).remove(hash(token));
  return sessionCookie(request, scope).serialize("", { maxAge: 0 });
}
