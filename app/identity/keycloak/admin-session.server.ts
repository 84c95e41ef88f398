// One authenticated connection to Keycloak's admin API, shared by every realm. The admin client
// signs in with client credentials in its own realm and renews its token shortly before it runs
// out; a token Keycloak rejects anyway (revoked, clock skew) is replaced once and the request
// retried. Every failure becomes a KeycloakAdminError naming what was attempted, and where.
import KcAdminClient, { NetworkError } from "@keycloak/keycloak-admin-client";
import { decodeJwt } from "jose";

/** Renew the admin token this long before it expires (or halfway through a shorter life). */
const RENEW_BEFORE_EXPIRY_MS = 10_000;

export type KeycloakAdminErrorOptions = {
  /** What was attempted, e.g. `create client "civitas-web"`. */
  operation: string;
  realm: string;
  status?: number;
  /** Keycloak's own words (error, errorMessage, error_description), or the network failure. */
  detail?: string;
  cause?: unknown;
};

/** A Keycloak admin request that failed. The message never carries secrets or tokens. */
export class KeycloakAdminError extends Error {
  override name = "KeycloakAdminError";
  readonly operation: string;
  readonly realm: string;
  /** Keycloak's HTTP status; undefined when Keycloak could not be reached, or Civitas refused on its own. */
  readonly status: number | undefined;

  constructor({ operation, realm, status, detail, cause }: KeycloakAdminErrorOptions) {
    const answer = [status, detail].filter((part) => part !== undefined && part !== "").join(" ");
    super(`Keycloak could not ${operation} (realm "${realm}")${answer ? `: ${answer}` : ""}`, { cause });
    this.operation = operation;
    this.realm = realm;
    this.status = status;
  }
}

export function isKeycloakStatus(error: unknown, status: number): boolean {
  return error instanceof KeycloakAdminError && error.status === status;
}

export type AdminSessionOptions = {
  url: string;
  /** The realm the admin client lives in (usually "master"). */
  adminRealm: string;
  clientId: string;
  clientSecret: string;
};

export type AdminSession = {
  /**
   * Runs one admin request. Pass `realm` to every library call yourself: the library's
   * `realmName` stays on the admin realm, so concurrent calls for different realms never race.
   */
  call<T>(operation: string, realm: string, request: (admin: KcAdminClient) => Promise<T>): Promise<T>;
};

export function createAdminSession({ url, adminRealm, clientId, clientSecret }: AdminSessionOptions): AdminSession {
  const admin = new KcAdminClient({ baseUrl: url, realmName: adminRealm });
  let current: { token: string; renewAt: number } | undefined;
  let signingIn: Promise<string> | undefined;

  async function signIn(): Promise<string> {
    try {
      await admin.auth({ grantType: "client_credentials", clientId, clientSecret });
    } catch (error) {
      throw adminError(error, { operation: `sign in as admin client "${clientId}"`, realm: adminRealm });
    }
    const token = admin.accessToken;
    if (!token) {
      throw new KeycloakAdminError({
        operation: `sign in as admin client "${clientId}"`,
        realm: adminRealm,
        detail: "the token response held no access token",
      });
    }
    current = { token, renewAt: renewalTime(token) };
    return token;
  }

  function freshToken(): Promise<string> {
    if (current && Date.now() < current.renewAt) return Promise.resolve(current.token);
    // Concurrent requests share one sign-in.
    signingIn ??= signIn().finally(() => {
      signingIn = undefined;
    });
    return signingIn;
  }

  // The library asks for a token before every request; it never refreshes on its own, since
  // Keycloak issues no refresh token for client credentials.
  admin.registerTokenProvider({ getAccessToken: freshToken });

  async function call<T>(operation: string, realm: string, request: (client: KcAdminClient) => Promise<T>): Promise<T> {
    const used = await freshToken();
    try {
      return await request(admin);
    } catch (error) {
      if (!(error instanceof NetworkError && error.response.status === 401)) throw adminError(error, { operation, realm });
    }
    if (current?.token === used) current = undefined;
    try {
      return await request(admin);
    } catch (error) {
      throw adminError(error, { operation, realm });
    }
  }

  return { call };
}

function renewalTime(token: string): number {
  let claims: { exp?: number; iat?: number };
  try {
    claims = decodeJwt(token);
  } catch {
    // An opaque token: use it until Keycloak says no (a 401 replaces it).
    return Number.POSITIVE_INFINITY;
  }
  if (typeof claims.exp !== "number") return Number.POSITIVE_INFINITY;
  const expiresAt = claims.exp * 1000;
  const lifetime = typeof claims.iat === "number" ? expiresAt - claims.iat * 1000 : RENEW_BEFORE_EXPIRY_MS * 2;
  return expiresAt - Math.min(RENEW_BEFORE_EXPIRY_MS, lifetime / 2);
}

function adminError(error: unknown, { operation, realm }: { operation: string; realm: string }): KeycloakAdminError {
  if (error instanceof KeycloakAdminError) return error;
  if (error instanceof NetworkError) {
    return new KeycloakAdminError({
      operation,
      realm,
      status: error.response.status,
      detail: keycloakDetail(error.responseData),
      cause: error,
    });
  }
  return new KeycloakAdminError({ operation, realm, detail: networkDetail(error), cause: error });
}

/** Keycloak answers `{error, error_description}` (OAuth), `{errorMessage}` or `{error}` (admin). */
function keycloakDetail(data: unknown): string | undefined {
  if (typeof data === "string") return data.trim().slice(0, 300) || undefined;
  if (!data || typeof data !== "object") return undefined;
  const record = data as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" && value.trim() ? value.trim() : undefined);
  const code = text(record.error);
  const description = [text(record.errorMessage), text(record.error_description)]
    .filter((value): value is string => value !== undefined && !value.startsWith("For more on this error consult"))
    .join("; ");
  const listed = Array.isArray(record.errors)
    ? record.errors.map((item: unknown) => text((item as Record<string, unknown> | null)?.errorMessage)).filter(Boolean)
    : [];
  const words = [description, ...listed].filter(Boolean).join("; ");
  if (code && words) return `${code}: ${words}`;
  return code ?? (words || undefined);
}

function networkDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof cause?.code === "string" ? `${error.message} (${cause.code})` : error.message;
}
