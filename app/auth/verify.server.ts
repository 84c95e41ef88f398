// Bearer token verification: the only way a token becomes a caller. The order matters: cheap
// checks on the unauthenticated header and claims first (size, algorithm, allow-listed issuer,
// the expected city and its status), so a forged token never reaches a key, a key URL or the
// database; then the signature and the standard claims with jose; then what is Civitas' own
// (token type, the client that asked for it). Call it outside any unit of work: the issuer
// directory and the embedded provider's keys are read as platform admin.
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import { withTenant, type Database } from "../db/database.server";
import type { IdentityBackend } from "../identity/backend.server";
import { API_AUDIENCE, BROWSER_CLIENT_ID, WEB_CLIENT_ID } from "../identity/realm";
import { TokenRejected, type TokenRejectionReason } from "./errors";
import type { IssuerDirectory } from "./issuers.server";

/** Where the token is presented: at one city, or on the platform (operators). */
export type ExpectedIssuer = { tenantId: string } | { platform: true };

export type VerifiedToken = {
  realm: string;
  /** The city whose realm issued it; null for the platform realm. */
  tenantId: string | null;
  subject: string;
  /** The OAuth client the token was issued to (azp). */
  clientId: string;
  /** "client" when azp is one of the city's API clients (client credentials). */
  kind: "user" | "client";
  scopes: string[];
  realmRoles: string[];
  username?: string;
  email?: string;
  name?: string;
  locale?: string;
  issuedAt: Date;
  expiresAt: Date;
  /** The provider's session (sid), for logout. */
  sessionId?: string;
};

export type TokenVerifierOptions = {
  backend: Pick<IdentityBackend, "verificationKeys">;
  issuers: IssuerDirectory;
  /** Defaults to the process database. */
  database?: Database;
  clockToleranceSeconds?: number;
  /** Asymmetric signature algorithms only: HS* and none are refused here already. */
  algorithms?: string[];
  /** Longer tokens are refused unread (characters). */
  maxTokenLength?: number;
  /** How long an API client's state (active, revoked, unknown) is reused: a revocation bites after at most this. */
  clientCacheMs?: number;
  /** Bound on remembered API client states. */
  maxCachedClients?: number;
  /**
   * How long a verified signature is reused for the same token (never past its expiry): a
   * client sends the same token with every request, and checking an RS256/ES256 signature is
   * most of what verifying costs. A key withdrawn from the realm stops a token after at most this.
   */
  signatureCacheMs?: number;
  /** Bound on remembered signatures. */
  maxCachedSignatures?: number;
  now?: () => number;
};

export type TokenVerifier = {
  verify(token: string, expected: ExpectedIssuer): Promise<VerifiedToken>;
  /** Forgets what is known of one API client (after it was revoked in this process). */
  forgetClient(tenantId: string, clientId: string): void;
  /** Forgets everything cached: API clients, verified signatures and the issuer table. */
  invalidate(): void;
};

const DEFAULT_ALGORITHMS = ["RS256", "PS256", "ES256"];
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;
// Three base64url parts; the signature may be empty so that an unsecured JWT ("alg": "none")
// is refused for its algorithm, which is what it is, rather than for its shape.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// The header types of access tokens: Keycloak writes "JWT", RFC 9068 providers "at+jwt".
const ACCESS_TOKEN_HEADER_TYPES = new Set(["jwt", "at+jwt"]);
// Keycloak's own `typ` claim: "Bearer" for access tokens, "ID", "Refresh", "Logout"... otherwise.
const ACCESS_TOKEN_TYPE = "Bearer";
const PLATFORM_CLIENTS = new Set([WEB_CLIENT_ID, BROWSER_CLIENT_ID]);

type ClientState = "active" | "revoked" | "unknown";

/** jose's failures, as reasons. Anything else (the provider unreachable) is not the token's fault. */
function rejectionFor(error: unknown): TokenRejected | null {
  if (error instanceof errors.JWTExpired) return new TokenRejected("expired", error.code);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const detail = `${error.code} ${error.claim} ${error.reason}`;
    // A time claim that is not a number is malformed, not early.
    if (error.reason === "invalid" || error.reason === "missing") {
      return new TokenRejected(error.claim === "aud" ? "wrong_audience" : "malformed", detail);
    }
    const reasons: Record<string, TokenRejectionReason> = {
      nbf: "not_yet_valid",
      iat: "not_yet_valid",
      aud: "wrong_audience",
      iss: "unlisted_issuer",
      typ: "wrong_type",
    };
    return new TokenRejected(reasons[error.claim] ?? "malformed", detail);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenRejected("bad_signature", error.code);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRejected("unknown_kid", error.code);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenRejected("alg_not_allowed", error.code);
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return new TokenRejected("malformed", error.code);
  }
  return null;
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function realmRolesOf(payload: JWTPayload): string[] {
  const access = payload.realm_access;
  if (typeof access !== "object" || access === null) return [];
  const roles = (access as { roles?: unknown }).roles;
  return Array.isArray(roles) ? roles.filter((role): role is string => typeof role === "string") : [];
}

function normaliseType(type: string): string {
  const lower = type.toLowerCase();
  return lower.startsWith("application/") ? lower.slice("application/".length) : lower;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { backend, issuers, database } = options;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const maxTokenLength = options.maxTokenLength ?? 16_384;
  const clientCacheMs = options.clientCacheMs ?? 2_000;
  const maxCachedClients = options.maxCachedClients ?? 1_000;
  const signatureCacheMs = options.signatureCacheMs ?? 60_000;
  const maxCachedSignatures = options.maxCachedSignatures ?? 10_000;
  // Read the clock on each call (not a saved Date.now), so faked clocks in tests apply here too.
  const now = options.now ?? (() => Date.now());

  if (algorithms.length === 0 || algorithms.some((alg) => !ASYMMETRIC.test(alg))) {
    throw new TypeError(`Token algorithms must be asymmetric signature algorithms, got ${algorithms.join(", ")}.`);
  }
  const allowed = new Set(algorithms);

  // By the token itself: only the very bytes whose signature was checked are taken on trust.
  type Verified = { payload: JWTPayload; protectedHeader: ProtectedHeaderParameters; until: number };
  const signatures = new Map<string, Verified>();

  /** The token's verified header and claims while it is remembered (the very same bytes). */
  function remembered(token: string): Verified | null {
    const hit = signatures.get(token);
    return hit && hit.until > now() ? hit : null;
  }

  /** Verified by jose now (and remembered): for a token not remembered, or no longer. */
  async function verifySignature(token: string, realm: string, issuer: string): Promise<Omit<Verified, "until">> {
    signatures.delete(token);
    let verified: Omit<Verified, "until">;
    try {
      verified = await jwtVerify(token, backend.verificationKeys(realm), {
        issuer,
        audience: API_AUDIENCE,
        algorithms,
        clockTolerance,
        requiredClaims: ["exp", "iat", "sub"],
        currentDate: new Date(now()),
      });
    } catch (error) {
      throw rejectionFor(error) ?? error;
    }
    if (signatureCacheMs > 0) {
      if (signatures.size >= maxCachedSignatures) signatures.delete(signatures.keys().next().value!);
      // Until its expiry as jose reads it (exp is required and checked to be a number).
      const until = Math.min(now() + signatureCacheMs, (verified.payload.exp as number) * 1000);
      signatures.set(token, { ...verified, until });
    }
    return verified;
  }

  const clients = new Map<string, { state: Promise<ClientState>; expiresAt: number }>();
  const clientKey = (tenantId: string, clientId: string) => `${tenantId} ${clientId}`;

  function clientState(tenantId: string, clientId: string): Promise<ClientState> {
    const key = clientKey(tenantId, clientId);
    const hit = clients.get(key);
    if (hit && hit.expiresAt > now()) return hit.state;
    clients.delete(key);
    if (clients.size >= maxCachedClients) {
      const oldest = clients.keys().next();
      if (!oldest.done) clients.delete(oldest.value);
    }
    const state = withTenant(
      tenantId,
      async (tx): Promise<ClientState> => {
        const row = await tx.apiClient.findFirst({
          where: { tenantId, clientId },
          select: { revokedAt: true },
        });
        if (!row) return "unknown";
        return row.revokedAt === null ? "active" : "revoked";
      },
      database,
    );
    clients.set(key, { state, expiresAt: now() + clientCacheMs });
    state.catch(() => {
      if (clients.get(key)?.state === state) clients.delete(key);
    });
    return state;
  }

  async function verify(token: string, expected: ExpectedIssuer): Promise<VerifiedToken> {
    // null: the platform is expected.
    const expectedTenant = "platform" in expected ? null : expected.tenantId;
    if ("platform" in expected ? expected.platform !== true : typeof expectedTenant !== "string") {
      throw new TypeError("verify() needs { tenantId } or { platform: true }.");
    }
    if (typeof token !== "string" || token.length > maxTokenLength || !COMPACT_JWS.test(token)) {
      throw new TokenRejected("malformed", "shape");
    }

    // Read, not trusted: only to pick the checks below. Nothing here is believed until jose
    // has verified the signature with a key of an allow-listed realm. A token whose signature
    // is remembered was decoded then: the same bytes, the same header and claims.
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    const known = remembered(token);
    if (known) {
      header = known.protectedHeader;
      claims = known.payload;
    } else {
      try {
        header = decodeProtectedHeader(token);
        claims = decodeJwt(token);
      } catch {
        throw new TokenRejected("malformed", "decode");
      }
    }
    if (typeof header.alg !== "string" || !allowed.has(header.alg)) {
      throw new TokenRejected("alg_not_allowed", "alg");
    }
    if (typeof claims.iss !== "string") throw new TokenRejected("malformed", "iss missing");

    const issuer = await issuers.lookup(claims.iss);
    if (!issuer) throw new TokenRejected("unlisted_issuer");
    const expectedPlace = issuer.kind === "platform" ? expectedTenant === null : issuer.tenantId === expectedTenant;
    if (!expectedPlace) throw new TokenRejected("wrong_city");
    if (issuer.kind === "city" && issuer.status === "suspended") throw new TokenRejected("city_suspended");

    // Still remembered after the issuer's lookup (never past its time), or verified now.
    const { payload, protectedHeader } = known && known.until > now() ? known : await verifySignature(token, issuer.realm, claims.iss);

    // ID tokens, refresh tokens and logout tokens are signed by the same key: refuse them.
    if (typeof protectedHeader.typ === "string" && !ACCESS_TOKEN_HEADER_TYPES.has(normaliseType(protectedHeader.typ))) {
      throw new TokenRejected("wrong_type", "header typ");
    }
    if (payload.typ !== undefined && payload.typ !== ACCESS_TOKEN_TYPE) throw new TokenRejected("wrong_type", "typ claim");

    const nowSeconds = Math.floor(now() / 1000);
    const issuedAt = payload.iat as number; // required and checked to be a number by jose
    if (issuedAt > nowSeconds + clockTolerance) throw new TokenRejected("not_yet_valid", "iat");
    const subject = stringClaim(payload, "sub");
    if (!subject) throw new TokenRejected("malformed", "sub");

    const clientId = stringClaim(payload, "azp");
    if (!clientId) throw new TokenRejected("wrong_azp", "azp missing");
    let kind: VerifiedToken["kind"] = "user";
    if (!PLATFORM_CLIENTS.has(clientId)) {
      // Machine clients belong to cities; the platform realm has none.
      if (issuer.kind !== "city") throw new TokenRejected("wrong_azp");
      const state = await clientState(issuer.tenantId, clientId);
      if (state === "unknown") throw new TokenRejected("wrong_azp");
      if (state === "revoked") throw new TokenRejected("client_revoked");
      kind = "client";
    }

    const scope = stringClaim(payload, "scope");
    const username = stringClaim(payload, "preferred_username");
    const email = stringClaim(payload, "email");
    const name = stringClaim(payload, "name");
    const locale = stringClaim(payload, "locale");
    const sessionId = stringClaim(payload, "sid") ?? stringClaim(payload, "session_state");
    const verified: VerifiedToken = {
      realm: issuer.realm,
      tenantId: issuer.kind === "city" ? issuer.tenantId : null,
      subject,
      clientId,
      kind,
      scopes: scope ? [...new Set(scope.split(" ").filter(Boolean))] : [],
      realmRoles: realmRolesOf(payload),
      ...(username !== undefined && { username }),
      ...(email !== undefined && { email }),
      ...(name !== undefined && { name }),
      ...(locale !== undefined && { locale }),
      issuedAt: new Date(issuedAt * 1000),
      expiresAt: new Date((payload.exp as number) * 1000),
      ...(sessionId !== undefined && { sessionId }),
    };
    return verified;
  }

  return {
    verify,
    forgetClient(tenantId, clientId) {
      clients.delete(clientKey(tenantId, clientId));
    },
    invalidate() {
      clients.clear();
      signatures.clear();
      issuers.invalidate();
    },
  };
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The token of an `Authorization: Bearer …` header; null when there is no such header (or
 * another scheme). A Bearer header that is not one token is refused rather than ignored.
 */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header === null) return null;
  const match = BEARER.exec(header);
  if (match?.[1]) return match[1];
  if (/^bearer(\s|$)/i.test(header.trimStart())) throw new TokenRejected("malformed", "authorization header");
  return null;
}
