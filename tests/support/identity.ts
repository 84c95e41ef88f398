// A fake IdentityBackend for tests: realms in memory, each with its own signing key made by jose,
// machine clients recorded with their secrets, and helpers that issue the tokens a real
// provider would (Keycloak's claim layout: realm_access.roles, azp, typ "Bearer", scope).
// Tokens are really signed and really verified; only the provider's HTTP side is missing.
import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import {
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { withPlatformAdmin, type Database } from "../../app/db/database.server";
import type { IdentityBackend, IdentityUserSpec } from "../../app/identity/backend.server";
import { API_AUDIENCE, WEB_CLIENT_ID, type ApiScope, type RealmSpec } from "../../app/identity/realm";

export type SigningAlgorithm = "RS256" | "PS256" | "ES256";

type SigningKey = { kid: string; alg: SigningAlgorithm; privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK };

export type FakeUser = IdentityUserSpec & { id: string; realmRoles: string[] };
export type FakeMachineClient = {
  clientId: string;
  name: string;
  scopes: ApiScope[];
  secret: string;
  /** The subject of its tokens (Keycloak: the service account user). */
  serviceAccountId: string;
};

type FakeRealm = {
  name: string;
  spec: RealmSpec | null;
  /** Newest last; the newest signs. */
  keys: SigningKey[];
  users: Map<string, FakeUser>;
  clients: Map<string, FakeMachineClient>;
  keyLookups: number;
  /** The public keys of `keys`, imported. */
  jwks?: { keys: SigningKey[]; get: JWTVerifyGetKey };
};

type FallibleMethod = "ensureRealm" | "ensureUser" | "createMachineClient" | "deleteMachineClient";

export type FakeCall =
  | { method: "ensureRealm"; realm: string }
  | { method: "ensureUser"; realm: string; username: string }
  | { method: "createMachineClient"; realm: string; clientId: string; scopes: ApiScope[] }
  | { method: "deleteMachineClient"; realm: string; clientId: string };

export type AccessTokenOptions = {
  /** Default: a new UUID. */
  subject?: string;
  /** azp. Default: the web client. */
  clientId?: string;
  realmRoles?: string[];
  /** Default: "openid profile email". */
  scope?: string;
  username?: string;
  email?: string;
  name?: string;
  locale?: string;
  sessionId?: string;
  /** Seconds since the epoch. Default: now. */
  issuedAt?: number;
  /** Default: 300. */
  lifetimeSeconds?: number;
  /** Claims added or replacing the defaults (iss, aud, typ...). */
  claims?: JWTPayload;
  /** Claims removed from the result. */
  omit?: string[];
  /** Protected header parameters added or replacing the defaults (alg and kid stay the realm key's unless given). */
  header?: Partial<JWTHeaderParameters>;
};

export type FakeIdentity = IdentityBackend & {
  readonly baseUrl: string;
  /** Every state-changing call, in order. */
  readonly calls: readonly FakeCall[];
  /** Creates a realm (and its signing key) without a full spec. Idempotent. */
  addRealm(realm: string, options?: { algorithm?: SigningAlgorithm }): Promise<void>;
  /** A new signing key for the realm; the old ones keep verifying unless `keepOld` is false. */
  rotateKey(realm: string, options?: { keepOld?: boolean; algorithm?: SigningAlgorithm }): Promise<void>;
  /** The realm's public keys (the JWKS its provider would publish). */
  publicJwks(realm: string): JWK[];
  /** The public key that verifies the realm's current signatures. */
  currentPublicKey(realm: string): CryptoKey;
  /** How often a token of this realm asked for a verification key. */
  keyLookups(realm: string): number;
  machineClient(realm: string, clientId: string): FakeMachineClient | undefined;
  user(realm: string, username: string): FakeUser | undefined;
  /** The next call to `method` fails with `error` (once). */
  failNext(method: FallibleMethod, error: Error): void;
  /** Signs any claims with the realm's current key: for tokens the helpers below would not make. */
  signToken(realm: string, payload: JWTPayload, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** A user's access token as the realm's provider issues it (aud civitas-api, typ Bearer). */
  accessToken(realm: string, options?: AccessTokenOptions): Promise<string>;
  /** The client-credentials grant: a machine client's token, refused for a wrong or deleted client. */
  clientCredentialsToken(realm: string, clientId: string, clientSecret: string, options?: AccessTokenOptions): Promise<string>;
};

export class FakeIdentityError extends Error {
  override name = "FakeIdentityError";
}

async function newKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = randomBytes(8).toString("hex");
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/**
 * `algorithm` is the realms' default: ES256, because an RSA key takes a few hundred milliseconds
 * to make; pass RS256 (Keycloak's default) to `addRealm` where the key type matters.
 */
export function createFakeIdentity(options: { baseUrl?: string; algorithm?: SigningAlgorithm } = {}): FakeIdentity {
  const baseUrl = (options.baseUrl ?? "https://id.civitas.test").replace(/\/$/, "");
  const defaultAlgorithm = options.algorithm ?? "ES256";
  const realms = new Map<string, FakeRealm>();
  const creating = new Map<string, Promise<FakeRealm>>();
  const calls: FakeCall[] = [];
  const failures = new Map<FallibleMethod, Error>();

  function failIfAsked(method: FallibleMethod): void {
    const error = failures.get(method);
    if (error) {
      failures.delete(method);
      throw error;
    }
  }

  function realmOf(name: string): FakeRealm {
    const realm = realms.get(name);
    if (!realm) throw new FakeIdentityError(`Realm ${JSON.stringify(name)} does not exist.`);
    return realm;
  }

  async function addRealm(name: string, { algorithm = defaultAlgorithm }: { algorithm?: SigningAlgorithm } = {}) {
    const existing = realms.get(name);
    if (existing) return existing;
    let pending = creating.get(name);
    if (!pending) {
      pending = newKey(algorithm).then((key) => {
        const realm: FakeRealm = { name, spec: null, keys: [key], users: new Map(), clients: new Map(), keyLookups: 0 };
        realms.set(name, realm);
        creating.delete(name);
        return realm;
      });
      creating.set(name, pending);
    }
    return pending;
  }

  function issuer(realm: string): string {
    return `${baseUrl}/realms/${realm}`;
  }

  async function signToken(realmName: string, payload: JWTPayload, header: Partial<JWTHeaderParameters> = {}) {
    const realm = realmOf(realmName);
    const key = realm.keys.at(-1)!;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })
      .sign(key.privateKey);
  }

  async function accessToken(realmName: string, token: AccessTokenOptions = {}) {
    const iat = token.issuedAt ?? Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: issuer(realmName),
      aud: API_AUDIENCE,
      sub: token.subject ?? randomUUID(),
      typ: "Bearer",
      azp: token.clientId ?? WEB_CLIENT_ID,
      iat,
      exp: iat + (token.lifetimeSeconds ?? 300),
      jti: randomUUID(),
      scope: token.scope ?? "openid profile email",
      realm_access: { roles: token.realmRoles ?? [] },
      ...(token.username !== undefined && { preferred_username: token.username }),
      ...(token.email !== undefined && { email: token.email }),
      ...(token.name !== undefined && { name: token.name }),
      ...(token.locale !== undefined && { locale: token.locale }),
      ...(token.sessionId !== undefined && { sid: token.sessionId }),
      ...token.claims,
    };
    for (const claim of token.omit ?? []) delete claims[claim];
    return signToken(realmName, claims, token.header);
  }

  const backend: FakeIdentity = {
    kind: "embedded",
    baseUrl,
    calls,
    issuer,

    verificationKeys(realmName: string): JWTVerifyGetKey {
      return async (protectedHeader, token) => {
        const realm = realms.get(realmName);
        if (!realm) throw new errors.JWKSNoMatchingKey();
        realm.keyLookups += 1;
        // Imported once per key set, as a provider's published set is fetched once (rotation
        // replaces the array): otherwise every verification pays for a key import.
        if (realm.jwks?.keys !== realm.keys) {
          realm.jwks = { keys: realm.keys, get: createLocalJWKSet({ keys: realm.keys.map((key) => key.publicJwk) }) };
        }
        return realm.jwks.get(protectedHeader, token);
      };
    },

    async ensureRealm(spec) {
      calls.push({ method: "ensureRealm", realm: spec.realm });
      failIfAsked("ensureRealm");
      const created = !realms.has(spec.realm);
      const realm = await addRealm(spec.realm);
      realm.spec = spec;
      return { created };
    },

    async ensureUser(realmName, user) {
      const username = user.username.toLowerCase();
      calls.push({ method: "ensureUser", realm: realmName, username });
      failIfAsked("ensureUser");
      const realm = realmOf(realmName);
      const existing = realm.users.get(username);
      if (existing) {
        // Roles are added, never removed (the interface's promise).
        const realmRoles = [...new Set([...existing.realmRoles, ...(user.realmRoles ?? [])])];
        realm.users.set(username, { ...existing, ...user, username, realmRoles });
        return { id: existing.id, created: false };
      }
      const id = randomUUID();
      realm.users.set(username, { ...user, username, id, realmRoles: [...(user.realmRoles ?? [])] });
      return { id, created: true };
    },

    async setFirstPassword(realmName, user) {
      const realm = realmOf(realmName);
      const username = user.username.toLowerCase();
      const existing = realm.users.get(username);
      if (existing?.password) return "has_password";
      await backend.ensureUser(realmName, { username, email: user.email, password: user.password, ...(user.locale && { locale: user.locale }) });
      return "set";
    },

    async createMachineClient(realmName, client) {
      calls.push({ method: "createMachineClient", realm: realmName, clientId: client.clientId, scopes: [...client.scopes] });
      failIfAsked("createMachineClient");
      const realm = realmOf(realmName);
      if (realm.clients.has(client.clientId)) {
        throw new FakeIdentityError(`Client ${client.clientId} already exists in ${realmName}.`);
      }
      const secret = randomBytes(24).toString("base64url");
      realm.clients.set(client.clientId, { ...client, scopes: [...client.scopes], secret, serviceAccountId: randomUUID() });
      return { clientSecret: secret };
    },

    async deleteMachineClient(realmName, clientId) {
      calls.push({ method: "deleteMachineClient", realm: realmName, clientId });
      failIfAsked("deleteMachineClient");
      realms.get(realmName)?.clients.delete(clientId);
    },

    addRealm: async (realm, options) => {
      await addRealm(realm, options);
    },

    async rotateKey(realmName, { keepOld = true, algorithm } = {}) {
      const realm = realmOf(realmName);
      const key = await newKey(algorithm ?? realm.keys.at(-1)!.alg);
      realm.keys = keepOld ? [...realm.keys, key] : [key];
    },

    publicJwks: (realm) => realmOf(realm).keys.map((key) => ({ ...key.publicJwk })),
    currentPublicKey: (realm) => realmOf(realm).keys.at(-1)!.publicKey,
    keyLookups: (realm) => realms.get(realm)?.keyLookups ?? 0,
    machineClient: (realm, clientId) => realms.get(realm)?.clients.get(clientId),
    user: (realm, username) => realms.get(realm)?.users.get(username.toLowerCase()),

    failNext(method, error) {
      failures.set(method, error);
    },

    signToken,
    accessToken,

    async clientCredentialsToken(realmName, clientId, clientSecret, token = {}) {
      const client = realmOf(realmName).clients.get(clientId);
      const given = Buffer.from(clientSecret);
      const expected = Buffer.from(client?.secret ?? "");
      if (!client || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new FakeIdentityError("invalid_client");
      }
      // Keycloak: the service account is the subject, the client the azp, its scopes the scope.
      return accessToken(realmName, {
        subject: client.serviceAccountId,
        username: `service-account-${clientId}`,
        scope: client.scopes.join(" "),
        ...token,
        clientId,
      });
    },
  };
  return backend;
}

// --- People of a test city ---------------------------------------------------------------------

export type TestPerson = { userId: string; subject: string };

/**
 * A person of a city, as a first sign-in would leave them plus the given roles (memberships), for
 * tests that need a staff member or a second admin. Written as a platform operation, like the
 * city itself.
 */
export async function addPerson(
  database: Database,
  city: { id: string; slug: string },
  { roles = [], subject = `subject-${randomUUID()}`, email }: { roles?: ("staff" | "admin")[]; subject?: string; email?: string } = {},
): Promise<TestPerson> {
  const userId = randomUUID();
  await withPlatformAdmin(async (tx) => {
    await tx.user.create({ data: { tenantId: city.id, id: userId, realm: city.slug, subject, email: email ?? null } });
    await tx.membership.createMany({
      data: (["resident", ...roles] as const).map((role) => ({ tenantId: city.id, userId, role })),
    });
  }, database);
  return { userId, subject };
}
