// Bearer tokens at two cities with separate realms and keys: what is accepted, and each way a
// token is refused. Runs on PGlite and on PostgreSQL (see vitest.config.ts).
import { createHash } from "node:crypto";
import { base64url, exportSPKI, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { createFakeIdentity, type FakeIdentity } from "../../tests/support/identity";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { API_AUDIENCE, BROWSER_CLIENT_ID, PLATFORM_REALM, WEB_CLIENT_ID } from "../identity/realm";
import { TokenRejected, type TokenRejectionReason } from "./errors";
import { createIssuerDirectory } from "./issuers.server";
import { bearerToken, createTokenVerifier, type ExpectedIssuer, type TokenVerifier } from "./verify.server";

let database: TestDatabase;
let identity: FakeIdentity;
let paris: TestCity;
let budapest: TestCity;
let closed: TestCity;
let verifier: TokenVerifier;
let parisClientId: string;
let budapestClientId: string;

const now = () => Math.floor(Date.now() / 1000);

async function clientIdOf(city: TestCity): Promise<string> {
  const row = await withTenant(city.id, (tx) => tx.apiClient.findFirstOrThrow({ select: { clientId: true } }), database);
  return row.clientId;
}

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createFakeIdentity();
  paris = await createCity(database);
  budapest = await createCity(database);
  closed = await createCity(database, { status: "suspended" });
  // Paris signs with RSA (Keycloak's default), the others with ECDSA.
  await Promise.all([
    identity.addRealm(paris.slug, { algorithm: "RS256" }),
    identity.addRealm(budapest.slug),
    identity.addRealm(closed.slug),
    identity.addRealm(PLATFORM_REALM),
  ]);
  verifier = createTokenVerifier({ backend: identity, issuers: createIssuerDirectory({ backend: identity, database }), database });
  [parisClientId, budapestClientId] = await Promise.all([clientIdOf(paris), clientIdOf(budapest)]);
});

afterAll(async () => {
  await database?.drop();
});

async function rejection(token: string, expected: ExpectedIssuer): Promise<TokenRejected> {
  const error = await verifier.verify(token, expected).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TokenRejected);
  return error as TokenRejected;
}

async function expectRejected(token: string, expected: ExpectedIssuer, reason: TokenRejectionReason) {
  const error = await rejection(token, expected);
  expect(error.reason).toBe(reason);
  // One public message for every reason, nothing of the token in it.
  expect(error.message).toBe("The access token is not valid.");
  expect(error.status).toBe(401);
  return error;
}

function unsecured(header: object, payload: object, signature = ""): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${signature}`;
}

describe("accepted tokens", () => {
  it("accepts a resident's access token at their city and says who it is", async () => {
    const iat = now();
    const token = await identity.accessToken(paris.slug, {
      subject: "3f1c6a0e-8d65-4a55-9d1e-4c43c1f0a001",
      realmRoles: ["city-staff", "default-roles-paris"],
      username: "rachel",
      email: "rachel@paris.test",
      name: "Rachel Résidente",
      locale: "fr",
      sessionId: "session-1",
      issuedAt: iat,
      lifetimeSeconds: 300,
    });
    const verified = await verifier.verify(token, { tenantId: paris.id });
    expect(verified).toEqual({
      realm: paris.slug,
      tenantId: paris.id,
      subject: "3f1c6a0e-8d65-4a55-9d1e-4c43c1f0a001",
      clientId: WEB_CLIENT_ID,
      kind: "user",
      scopes: ["openid", "profile", "email"],
      realmRoles: ["city-staff", "default-roles-paris"],
      username: "rachel",
      email: "rachel@paris.test",
      name: "Rachel Résidente",
      locale: "fr",
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date((iat + 300) * 1000),
      sessionId: "session-1",
    });
  });

  it("accepts tokens of the browser client (keycloak-js), with an audience list", async () => {
    const token = await identity.accessToken(paris.slug, {
      clientId: BROWSER_CLIENT_ID,
      claims: { aud: ["account", API_AUDIENCE] },
    });
    const verified = await verifier.verify(token, { tenantId: paris.id });
    expect(verified).toMatchObject({ kind: "user", clientId: BROWSER_CLIENT_ID });
  });

  it("accepts a machine client's token as kind client with its scopes", async () => {
    const token = await identity.accessToken(paris.slug, { clientId: parisClientId, scope: "read" });
    const verified = await verifier.verify(token, { tenantId: paris.id });
    expect(verified).toMatchObject({ kind: "client", clientId: parisClientId, scopes: ["read"], tenantId: paris.id });
  });

  it("accepts an operator's token where the platform is expected", async () => {
    const token = await identity.accessToken(PLATFORM_REALM, { realmRoles: ["platform-operator"] });
    const verified = await verifier.verify(token, { platform: true });
    expect(verified).toMatchObject({ realm: PLATFORM_REALM, tenantId: null, kind: "user", realmRoles: ["platform-operator"] });
  });

  it("accepts a token signed by the previous key after a rotation (both are published)", async () => {
    const before = await identity.accessToken(budapest.slug);
    await identity.rotateKey(budapest.slug);
    const after = await identity.accessToken(budapest.slug);
    await expect(verifier.verify(before, { tenantId: budapest.id })).resolves.toMatchObject({ kind: "user" });
    await expect(verifier.verify(after, { tenantId: budapest.id })).resolves.toMatchObject({ kind: "user" });
  });

  it("allows clock skew within the tolerance", async () => {
    const token = await identity.accessToken(paris.slug, { claims: { nbf: now() + 10 }, issuedAt: now() + 10 });
    await expect(verifier.verify(token, { tenantId: paris.id })).resolves.toMatchObject({ kind: "user" });
  });
});

describe("refused tokens", () => {
  it("refuses a token of another city's realm", async () => {
    const token = await identity.accessToken(budapest.slug);
    await expectRejected(token, { tenantId: paris.id }, "wrong_city");
  });

  it("refuses a city token where the platform is expected, and a platform token at a city", async () => {
    await expectRejected(await identity.accessToken(paris.slug), { platform: true }, "wrong_city");
    await expectRejected(
      await identity.accessToken(PLATFORM_REALM, { realmRoles: ["platform-operator"] }),
      { tenantId: paris.id },
      "wrong_city",
    );
  });

  it("refuses a token that claims one realm but is signed with another realm's key", async () => {
    // Paris' key, Budapest's issuer: Budapest's keys do not verify it.
    const token = await identity.accessToken(paris.slug, { claims: { iss: identity.issuer(budapest.slug) } });
    const error = await rejection(token, { tenantId: budapest.id });
    expect(["unknown_kid", "bad_signature"]).toContain(error.reason);
  });

  it("refuses an expired token", async () => {
    const token = await identity.accessToken(paris.slug, { issuedAt: now() - 1_000, lifetimeSeconds: 300 });
    await expectRejected(token, { tenantId: paris.id }, "expired");
  });

  it("refuses a token not valid yet (nbf beyond the clock tolerance)", async () => {
    const token = await identity.accessToken(paris.slug, { claims: { nbf: now() + 120 } });
    await expectRejected(token, { tenantId: paris.id }, "not_yet_valid");
  });

  it("refuses a token issued in the future", async () => {
    const token = await identity.accessToken(paris.slug, { issuedAt: now() + 600 });
    await expectRejected(token, { tenantId: paris.id }, "not_yet_valid");
  });

  it("refuses a token for another audience", async () => {
    const token = await identity.accessToken(paris.slug, { claims: { aud: "account" } });
    await expectRejected(token, { tenantId: paris.id }, "wrong_audience");
    const noAudience = await identity.accessToken(paris.slug, { omit: ["aud"] });
    await expectRejected(noAudience, { tenantId: paris.id }, "wrong_audience");
  });

  it("refuses a token issued to a client that is not Civitas' nor one of the city's API clients", async () => {
    await expectRejected(await identity.accessToken(paris.slug, { clientId: "admin-cli" }), { tenantId: paris.id }, "wrong_azp");
    await expectRejected(await identity.accessToken(paris.slug, { omit: ["azp"] }), { tenantId: paris.id }, "wrong_azp");
    // Budapest's API client, named in a token of Paris' realm.
    await expectRejected(
      await identity.accessToken(paris.slug, { clientId: budapestClientId }),
      { tenantId: paris.id },
      "wrong_azp",
    );
    // Machine clients belong to cities: none on the platform realm.
    await expectRejected(
      await identity.accessToken(PLATFORM_REALM, { clientId: parisClientId }),
      { platform: true },
      "wrong_azp",
    );
  });

  it("refuses an unsecured token (alg none) without touching a key", async () => {
    const lookups = identity.keyLookups(paris.slug);
    const token = unsecured(
      { alg: "none", typ: "JWT" },
      { iss: identity.issuer(paris.slug), aud: API_AUDIENCE, sub: "x", azp: WEB_CLIENT_ID, typ: "Bearer", iat: now(), exp: now() + 300 },
    );
    await expectRejected(token, { tenantId: paris.id }, "alg_not_allowed");
    expect(identity.keyLookups(paris.slug)).toBe(lookups);
  });

  it("refuses HS256 signed with the realm's public key as the HMAC secret, without touching a key", async () => {
    const lookups = identity.keyLookups(paris.slug);
    const claims = { iss: identity.issuer(paris.slug), aud: API_AUDIENCE, sub: "x", azp: WEB_CLIENT_ID, typ: "Bearer", realm_access: { roles: ["city-admin"] } };
    const [jwk] = identity.publicJwks(paris.slug);
    const secrets = [
      new TextEncoder().encode(await exportSPKI(identity.currentPublicKey(paris.slug))),
      new TextEncoder().encode(JSON.stringify(jwk)),
      createHash("sha256").update(JSON.stringify(jwk)).digest(),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", kid: jwk?.kid, typ: "JWT" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(secret);
      await expectRejected(token, { tenantId: paris.id }, "alg_not_allowed");
    }
    expect(identity.keyLookups(paris.slug)).toBe(lookups);
  });

  it("cannot be configured to accept symmetric algorithms", () => {
    const issuers = createIssuerDirectory({ backend: identity, database });
    expect(() => createTokenVerifier({ backend: identity, issuers, algorithms: ["RS256", "HS256"] })).toThrow(TypeError);
    expect(() => createTokenVerifier({ backend: identity, issuers, algorithms: ["none"] })).toThrow(TypeError);
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const token = await identity.accessToken(paris.slug, { realmRoles: [] });
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    claims.realm_access = { roles: ["city-admin"] };
    const tampered = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    await expectRejected(tampered, { tenantId: paris.id }, "bad_signature");
  });

  it("refuses a token signed with a key the realm does not publish (unknown kid)", async () => {
    await expectRejected(
      await identity.accessToken(paris.slug, { header: { kid: "not-a-key-of-paris" } }),
      { tenantId: paris.id },
      "unknown_kid",
    );
  });

  it("refuses a token of an issuer no city has, without touching a key", async () => {
    const before = identity.keyLookups(paris.slug);
    for (const iss of ["https://evil.example/realms/" + paris.slug, identity.issuer("no-such-city"), `${identity.issuer(paris.slug)}/`]) {
      await expectRejected(await identity.accessToken(paris.slug, { claims: { iss } }), { tenantId: paris.id }, "unlisted_issuer");
    }
    expect(identity.keyLookups(paris.slug)).toBe(before);
  });

  it("refuses ID tokens, refresh tokens and logout tokens presented as access tokens", async () => {
    // Keycloak signs ID tokens with the realm key; with the audience mapper on ID tokens they
    // even carry civitas-api. Only the type tells them apart.
    const idToken = await identity.accessToken(paris.slug, { claims: { typ: "ID", aud: [WEB_CLIENT_ID, API_AUDIENCE] } });
    await expectRejected(idToken, { tenantId: paris.id }, "wrong_type");
    const refresh = await identity.accessToken(paris.slug, { claims: { typ: "Refresh" } });
    await expectRejected(refresh, { tenantId: paris.id }, "wrong_type");
    const logout = await identity.accessToken(paris.slug, { omit: ["typ"], header: { typ: "logout+jwt" } });
    await expectRejected(logout, { tenantId: paris.id }, "wrong_type");
  });

  it("refuses a revoked machine client's token at once when told, and within the cache time when not", async () => {
    let clock = Date.now();
    const issuers = createIssuerDirectory({ backend: identity, database });
    const cached = createTokenVerifier({ backend: identity, issuers, database, clientCacheMs: 2_000, now: () => clock });
    const token = await identity.accessToken(budapest.slug, { clientId: budapestClientId, scope: "read" });
    await expect(verifier.verify(token, { tenantId: budapest.id })).resolves.toMatchObject({ kind: "client" });
    await expect(cached.verify(token, { tenantId: budapest.id })).resolves.toMatchObject({ kind: "client" });

    await withTenant(
      budapest.id,
      (tx) => tx.apiClient.updateMany({ where: { tenantId: budapest.id, clientId: budapestClientId }, data: { revokedAt: new Date() } }),
      database,
    );
    verifier.forgetClient(budapest.id, budapestClientId);
    await expectRejected(token, { tenantId: budapest.id }, "client_revoked");

    // A verifier nobody told still trusts what it read, but not for longer than its cache time.
    await expect(cached.verify(token, { tenantId: budapest.id })).resolves.toMatchObject({ kind: "client" });
    clock += 2_001;
    await expect(cached.verify(token, { tenantId: budapest.id })).rejects.toMatchObject({ reason: "client_revoked" });
  });

  it("refuses tokens of a suspended city", async () => {
    const token = await identity.accessToken(closed.slug);
    await expectRejected(token, { tenantId: closed.id }, "city_suspended");
  });

  it("refuses what is not a compact JWS, or too long, as malformed", async () => {
    const valid = await identity.accessToken(paris.slug);
    for (const token of ["", "abc", "a.b", "a.b.c.d.e", `${valid}x`.replace(".", ".."), "é.é.é", `${"a".repeat(20_000)}.b.c`]) {
      await expectRejected(token, { tenantId: paris.id }, "malformed");
    }
    await expectRejected(unsecured({ alg: "RS256" }, { aud: API_AUDIENCE }, "c2ln"), { tenantId: paris.id }, "malformed");
    await expectRejected(await identity.accessToken(paris.slug, { omit: ["sub"] }), { tenantId: paris.id }, "malformed");
    await expectRejected(await identity.accessToken(paris.slug, { omit: ["exp"] }), { tenantId: paris.id }, "malformed");
    await expectRejected(await identity.accessToken(paris.slug, { claims: { nbf: "tomorrow" as never } }), { tenantId: paris.id }, "malformed");
    await expectRejected(await identity.accessToken(paris.slug, { claims: { iat: "today" as never } }), { tenantId: paris.id }, "malformed");
  });
});

describe("remembered signatures", () => {
  it("checks a token's signature once, and everything else on every use", async () => {
    let clock = Date.now();
    const issuers = createIssuerDirectory({ backend: identity, database });
    const cached = createTokenVerifier({ backend: identity, issuers, database, now: () => clock });
    const token = await identity.accessToken(paris.slug, { lifetimeSeconds: 300 });
    const lookups = identity.keyLookups(paris.slug);
    await expect(cached.verify(token, { tenantId: paris.id })).resolves.toMatchObject({ realm: paris.slug });
    await expect(cached.verify(token, { tenantId: paris.id })).resolves.toMatchObject({ realm: paris.slug });
    expect(identity.keyLookups(paris.slug) - lookups).toBe(1);
    // The place is checked each time: the same token is still refused at another city.
    await expect(cached.verify(token, { tenantId: budapest.id })).rejects.toMatchObject({ reason: "wrong_city" });
    // And never past its expiry, however recently its signature was checked.
    clock += 300_000 + 31_000;
    await expect(cached.verify(token, { tenantId: paris.id })).rejects.toMatchObject({ reason: "expired" });
  });

  it("takes only the very token on trust: a changed byte is checked, and refused", async () => {
    const token = await identity.accessToken(paris.slug);
    await verifier.verify(token, { tenantId: paris.id });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === "A" ? "B" : "A"}${signature.at(-1)}`;
    await expectRejected(`${header}.${payload}.${flipped}`, { tenantId: paris.id }, "bad_signature");
  });

  it("forgets a signature after its time: a key withdrawn from the realm then refuses the token", async () => {
    let clock = Date.now();
    const rotating = await createCity(database);
    await identity.addRealm(rotating.slug);
    const issuers = createIssuerDirectory({ backend: identity, database });
    const cached = createTokenVerifier({ backend: identity, issuers, database, signatureCacheMs: 60_000, now: () => clock });
    const token = await identity.accessToken(rotating.slug, { lifetimeSeconds: 3_600 });
    await expect(cached.verify(token, { tenantId: rotating.id })).resolves.toMatchObject({ realm: rotating.slug });
    await identity.rotateKey(rotating.slug, { keepOld: false });
    await expect(cached.verify(token, { tenantId: rotating.id })).resolves.toMatchObject({ realm: rotating.slug });
    clock += 60_001;
    await expect(cached.verify(token, { tenantId: rotating.id })).rejects.toMatchObject({ reason: "unknown_kid" });
    // Told at once (invalidate), a verifier forgets what it remembered.
    const told = createTokenVerifier({ backend: identity, issuers, database });
    const fresh = await identity.accessToken(rotating.slug);
    await told.verify(fresh, { tenantId: rotating.id });
    await identity.rotateKey(rotating.slug, { keepOld: false });
    told.invalidate();
    await expect(told.verify(fresh, { tenantId: rotating.id })).rejects.toMatchObject({ reason: "unknown_kid" });
  });
});

describe("bearerToken", () => {
  const request = (authorization?: string) =>
    new Request("http://paris.localhost/api/me", authorization === undefined ? {} : { headers: { Authorization: authorization } });

  it("reads the token of an Authorization: Bearer header, whatever the scheme's case", () => {
    expect(bearerToken(request("Bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(bearerToken(request("bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(bearerToken(request("BEARER  abc.def-_~+/="))).toBe("abc.def-_~+/=");
  });

  it("answers null without a header or for another scheme", () => {
    expect(bearerToken(request())).toBeNull();
    expect(bearerToken(request("Basic dXNlcjpwYXNz"))).toBeNull();
  });

  it("refuses a Bearer header that is not one token", () => {
    for (const header of ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer a, Bearer b", "Bearer <script>"]) {
      expect(() => bearerToken(request(header)), header).toThrow(TokenRejected);
    }
  });
});

describe("issuer directory", () => {
  it("lists every city's issuer and the platform's, and nothing else", async () => {
    const issuers = createIssuerDirectory({ backend: identity, database });
    await expect(issuers.lookup(identity.issuer(paris.slug))).resolves.toEqual({
      realm: paris.slug,
      kind: "city",
      tenantId: paris.id,
      status: "active",
    });
    await expect(issuers.lookup(identity.issuer(closed.slug))).resolves.toMatchObject({ tenantId: closed.id, status: "suspended" });
    await expect(issuers.lookup(identity.issuer(PLATFORM_REALM))).resolves.toEqual({ realm: PLATFORM_REALM, kind: "platform" });
    for (const iss of ["https://evil.example/realms/paris", identity.issuer("nowhere"), "", "__proto__"]) {
      await expect(issuers.lookup(iss)).resolves.toBeNull();
    }
  });

  it("re-reads the cities at most once a second for unknown issuers, and finds a new city after that", async () => {
    let clock = 1_000_000;
    // Each read of the city table asks the backend for the platform's issuer once.
    let reads = 0;
    const backend = {
      issuer(realm: string) {
        if (realm === PLATFORM_REALM) reads += 1;
        return identity.issuer(realm);
      },
    };
    const issuers = createIssuerDirectory({ backend, database, ttlMs: 60_000, now: () => clock });
    await issuers.lookup(identity.issuer(paris.slug));
    expect(reads).toBe(1);
    const lyon = await createCity(database);
    // A flood of made-up issuers within a second of the last read: no read at all.
    await Promise.all(Array.from({ length: 50 }, (_, i) => issuers.lookup(identity.issuer(`random-${i}`))));
    await expect(issuers.lookup(identity.issuer(lyon.slug))).resolves.toBeNull();
    expect(reads).toBe(1);
    // A second later: the flood shares one read.
    clock += 1_000;
    await Promise.all(Array.from({ length: 50 }, (_, i) => issuers.lookup(identity.issuer(`random-${i}`))));
    expect(reads).toBe(2);
    // ...which found the new city.
    await expect(issuers.lookup(identity.issuer(lyon.slug))).resolves.toMatchObject({ kind: "city", tenantId: lyon.id });
    expect(reads).toBe(2);
  });

  it("shows a suspension after the time to live, or at once when invalidated", async () => {
    let clock = 1_000_000;
    const issuers = createIssuerDirectory({ backend: identity, database, ttlMs: 5_000, now: () => clock });
    const city = await createCity(database);
    const iss = identity.issuer(city.slug);
    await expect(issuers.lookup(iss)).resolves.toMatchObject({ status: "active" });
    await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { status: "suspended" } }), database);
    clock += 4_000;
    await expect(issuers.lookup(iss)).resolves.toMatchObject({ status: "active" });
    clock += 1_000;
    await expect(issuers.lookup(iss)).resolves.toMatchObject({ status: "suspended" });
    await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { status: "active" } }), database);
    issuers.invalidate();
    await expect(issuers.lookup(iss)).resolves.toMatchObject({ status: "active" });
  });

  it("never lets a city whose realm is named platform pass for the platform", async () => {
    const issuers = createIssuerDirectory({ backend: identity, database });
    const city = await createCity(database);
    await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { identityRealm: PLATFORM_REALM } }), database);
    try {
      await expect(issuers.lookup(identity.issuer(PLATFORM_REALM))).resolves.toEqual({ realm: PLATFORM_REALM, kind: "platform" });
    } finally {
      await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { identityRealm: city.slug } }), database);
    }
  });
});
