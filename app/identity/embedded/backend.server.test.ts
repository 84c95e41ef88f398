// The embedded provider over real HTTP, driven like a browser and like Civitas' server would:
// discovery, sign-in with code + PKCE, Keycloak-shaped tokens, refresh, userinfo, sign-out,
// consent, client credentials, keys that survive a restart, and the sign-in pages people see
// (the city's languages and colours, wrong passwords audited and throttled). One file, so that
// one migrated database serves them all.
import { randomBytes } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/database";
import { withPlatformAdmin, withTenant } from "../../db/database.server";
import { API_AUDIENCE, BROWSER_CLIENT_ID, PLATFORM_REALM, WEB_CLIENT_ID } from "../realm";
import { realmSpec } from "../sites.server";
import { PayloadAdapter } from "./adapter.server";
import { assertEmbeddedProviderAllowed, createEmbeddedBackend } from "./backend.server";
import {
  Browser,
  basicAuth,
  createCityRealm,
  formAction,
  hiddenInputs,
  pkcePair,
  serveProvider,
  type Harness,
  type TestRealm,
} from "./test-helpers.server";

let database: TestDatabase;
let harness: Harness;
let city: TestRealm;
let userId: string;
const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  database = await createTestDatabase();
  harness = await serveProvider(database);
  city = await createCityRealm(database, harness.backend, harness.base, { names: { en: "Springfield" } });
  ({ id: userId } = await harness.backend.ensureUser(city.realm, {
    username: "Ada.Lovelace",
    email: "ada@example.org",
    firstName: "Ada",
    lastName: "Lovelace",
    locale: "en",
    password: PASSWORD,
    realmRoles: ["city-staff"],
  }));
});

afterAll(async () => {
  await harness?.close();
  await database?.drop();
});

const issuerOf = (realm: string) => `${harness.base}/realms/${realm}`;
const endpoint = (realm: string, name: string) => `${issuerOf(realm)}/protocol/openid-connect/${name}`;
const webCallback = () => `${harness.base}/${city.realm}/auth/callback`;
const developerPage = () => `${harness.base}/${city.realm}/developer`;
const jwks = (realm: string) => createRemoteJWKSet(new URL(endpoint(realm, "certs")));

type TokenResponse = { access_token: string; refresh_token?: string; id_token?: string; token_type: string; expires_in: number; scope?: string };

async function postToken(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(endpoint(city.realm, "token"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

function authorizeUrl(params: Record<string, string>): string {
  return `${endpoint(city.realm, "auth")}?${new URLSearchParams(params).toString()}`;
}

/** The platform realm, provisioned once for the tests that need it. */
async function ensurePlatformRealm(): Promise<void> {
  await withPlatformAdmin(
    (tx) =>
      tx.identityRealm.upsert({ where: { realm: PLATFORM_REALM }, create: { realm: PLATFORM_REALM, webClientSecret: "platform-secret" }, update: {} }),
    database,
  );
  await harness.backend.ensureRealm(await specOf(PLATFORM_REALM));
}

/** Runs the browser through sign-in (and consent when asked) up to the client's redirect address. */
async function signIn(
  browser: Browser,
  params: Record<string, string>,
  options: { username?: string; consent?: "allow" | "deny" } = {},
): Promise<{ leftTo: URL; sawLogin: boolean; sawConsent: boolean }> {
  let step = await browser.visit(authorizeUrl(params), harness.base);
  let sawLogin = false;
  let sawConsent = false;
  for (let pages = 0; !step.leftTo && pages < 4; pages += 1) {
    expect(step.response.status).toBe(200);
    const html = await step.response.text();
    const action = new URL(formAction(html), step.url).href;
    if (html.includes('id="kc-form-login"')) {
      sawLogin = true;
      step = await browser.visit(action, harness.base, {
        form: { ...hiddenInputs(html), username: options.username ?? "ADA.lovelace", password: PASSWORD },
      });
    } else if (html.includes('name="decision"')) {
      sawConsent = true;
      step = await browser.visit(action, harness.base, { form: { ...hiddenInputs(html), decision: options.consent ?? "allow" } });
    } else {
      throw new Error(`unexpected page:\n${html.slice(0, 1500)}`);
    }
  }
  if (!step.leftTo) throw new Error("the flow did not come back to the client");
  return { leftTo: step.leftTo, sawLogin, sawConsent };
}

function webParams(pkce: { challenge: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    client_id: WEB_CLIENT_ID,
    response_type: "code",
    scope: "openid",
    redirect_uri: webCallback(),
    state: randomBytes(8).toString("hex"),
    nonce: randomBytes(8).toString("hex"),
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
    ...extra,
  };
}

describe("discovery", () => {
  it("publishes Keycloak's endpoints, S256 only, under the realm's issuer", async () => {
    const response = await fetch(`${issuerOf(city.realm)}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document).toMatchObject({
      issuer: issuerOf(city.realm),
      authorization_endpoint: endpoint(city.realm, "auth"),
      token_endpoint: endpoint(city.realm, "token"),
      jwks_uri: endpoint(city.realm, "certs"),
      userinfo_endpoint: endpoint(city.realm, "userinfo"),
      end_session_endpoint: endpoint(city.realm, "logout"),
      revocation_endpoint: endpoint(city.realm, "revoke"),
      code_challenge_methods_supported: ["S256"],
      response_types_supported: ["code"],
    });
    expect(document.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]));
    expect(document.scopes_supported).toEqual(expect.arrayContaining(["openid", "profile", "email", "read", "write"]));
    expect(document.response_modes_supported).toEqual(expect.arrayContaining(["query", "fragment"]));
  });

  it("answers like Keycloak for a realm it does not hold, and leaves other paths alone", async () => {
    const unknown = await fetch(`${harness.base}/realms/no-such-city/.well-known/openid-configuration`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Realm does not exist" });
    const elsewhere = await fetch(`${harness.base}/healthz`);
    expect(await elsewhere.text()).toBe("not the provider's");
  });
});

describe("civitas-web: authorization code with PKCE", () => {
  it("signs a person in and issues Keycloak-shaped tokens, refreshes them, answers userinfo, signs out", async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const params = webParams(pkce);
    const { leftTo, sawLogin, sawConsent } = await signIn(browser, params);
    expect(sawLogin).toBe(true);
    expect(sawConsent).toBe(false); // Civitas' own client asks for no consent
    expect(`${leftTo.origin}${leftTo.pathname}`).toBe(webCallback());
    expect(leftTo.searchParams.get("state")).toBe(params.state);
    expect(leftTo.searchParams.get("iss")).toBe(issuerOf(city.realm));
    const code = leftTo.searchParams.get("code") ?? "";

    // Without the verifier the code is useless.
    const noVerifier = await postToken(
      { grant_type: "authorization_code", code, redirect_uri: webCallback() },
      { authorization: basicAuth(WEB_CLIENT_ID, city.webClientSecret) },
    );
    expect(noVerifier.status).toBe(400);
    expect(((await noVerifier.json()) as { error: string }).error).toBe("invalid_grant");

    // Again with a fresh code, the way Civitas' server does it.
    const secondParams = webParams(pkce, { state: "second" });
    const second = await signIn(browser, secondParams);
    expect(second.sawLogin).toBe(false); // the provider's session signs the person in at once
    const tokenResponse = await postToken(
      { grant_type: "authorization_code", code: second.leftTo.searchParams.get("code") ?? "", redirect_uri: webCallback(), code_verifier: pkce.verifier },
      { authorization: basicAuth(WEB_CLIENT_ID, city.webClientSecret) },
    );
    expect(tokenResponse.status).toBe(200);
    const tokens = (await tokenResponse.json()) as TokenResponse;
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const { payload: access, protectedHeader } = await jwtVerify(tokens.access_token, jwks(city.realm), {
      issuer: issuerOf(city.realm),
      audience: API_AUDIENCE,
    });
    expect(protectedHeader.alg).toBe("RS256");
    expect(access).toMatchObject({
      sub: userId,
      azp: WEB_CLIENT_ID,
      typ: "Bearer",
      preferred_username: "ada.lovelace",
      email: "ada@example.org",
      email_verified: true,
      name: "Ada Lovelace",
      given_name: "Ada",
      family_name: "Lovelace",
      realm_access: { roles: ["city-staff"] },
      locale: "en",
    });
    expect(access["allowed-origins"]).toEqual(expect.arrayContaining([harness.base]));
    expect(access.scope).toBe("openid");
    expect(access.sid).toEqual(expect.any(String));
    expect(access.jti).toEqual(expect.any(String));
    expect((access.exp ?? 0) - (access.iat ?? 0)).toBe(300);

    const { payload: idToken } = await jwtVerify(tokens.id_token ?? "", jwks(city.realm), {
      issuer: issuerOf(city.realm),
      audience: WEB_CLIENT_ID,
    });
    expect(idToken).toMatchObject({ sub: userId, nonce: secondParams.nonce, preferred_username: "ada.lovelace", email: "ada@example.org", name: "Ada Lovelace" });

    // Refresh: a new access token and a new refresh token; the old one cannot be used again.
    const refresh = async (refreshToken: string) =>
      postToken({ grant_type: "refresh_token", refresh_token: refreshToken }, { authorization: basicAuth(WEB_CLIENT_ID, city.webClientSecret) });
    const refreshed = await refresh(tokens.refresh_token ?? "");
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as TokenResponse;
    expect(next.refresh_token).toEqual(expect.any(String));
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const { payload: refreshedAccess } = await jwtVerify(next.access_token, jwks(city.realm), { issuer: issuerOf(city.realm), audience: API_AUDIENCE });
    expect(refreshedAccess).toMatchObject({ sub: userId, azp: WEB_CLIENT_ID, preferred_username: "ada.lovelace", sid: access.sid });
    expect(refreshedAccess.jti).not.toBe(access.jti);

    // userinfo accepts the access token (GET with the header, POST with the form field).
    const userinfo = await fetch(endpoint(city.realm, "userinfo"), { headers: { authorization: `Bearer ${next.access_token}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: userId, preferred_username: "ada.lovelace", email: "ada@example.org", name: "Ada Lovelace" });
    const posted = await fetch(endpoint(city.realm, "userinfo"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ access_token: next.access_token }).toString(),
    });
    expect(posted.status).toBe(200);
    // ...but not the ID token, nor something else.
    for (const token of [tokens.id_token ?? "", "not-a-token", `${next.access_token.slice(0, -4)}AAAA`]) {
      const refused = await fetch(endpoint(city.realm, "userinfo"), { headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
    const missing = await fetch(endpoint(city.realm, "userinfo"));
    expect(missing.status).toBe(401);

    // Sign-out: an unregistered address is refused...
    const evil = await browser.request(
      `${endpoint(city.realm, "logout")}?${new URLSearchParams({ id_token_hint: tokens.id_token ?? "", post_logout_redirect_uri: "https://evil.example/" })}`,
    );
    expect(evil.status).toBe(400);
    expect(await evil.text()).toContain("invalid_request");
    // ...a registered one is where the person lands, with the state.
    const postLogout = `${harness.base}/${city.realm}/`;
    const logout = await browser.request(
      `${endpoint(city.realm, "logout")}?${new URLSearchParams({ id_token_hint: tokens.id_token ?? "", post_logout_redirect_uri: postLogout, state: "bye" })}`,
    );
    expect(logout.status).toBe(200);
    const confirm = await logout.text();
    expect(logout.headers.get("content-security-policy")).toMatch(/script-src 'sha256-/); // submits itself
    const out = await browser.request(new URL(formAction(confirm), harness.base).href, { form: hiddenInputs(confirm) });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe(`${postLogout}?state=bye`);

    // Signed out: the refresh token died with the session, and sign-in asks for the password again.
    expect((await refresh(next.refresh_token ?? "")).status).toBe(400);
    const again = await browser.visit(authorizeUrl(webParams(pkcePair())), harness.base);
    expect(again.response.status).toBe(200);
    expect(await again.response.text()).toContain('id="kc-form-login"');
  });

  it("rotates refresh tokens: reusing a spent one is refused and ends the grant", async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const { leftTo } = await signIn(browser, webParams(pkce));
    const exchange = await postToken(
      { grant_type: "authorization_code", code: leftTo.searchParams.get("code") ?? "", redirect_uri: webCallback(), code_verifier: pkce.verifier },
      { authorization: basicAuth(WEB_CLIENT_ID, city.webClientSecret) },
    );
    const first = (await exchange.json()) as TokenResponse;
    // Readable the way keycloak-js reads Keycloak's (the second segment), yet no JWT.
    const [, claims] = (first.refresh_token ?? "").split(".");
    expect(JSON.parse(Buffer.from(claims ?? "", "base64url").toString())).toMatchObject({
      typ: "Refresh",
      azp: WEB_CLIENT_ID,
      exp: expect.any(Number),
      iss: expect.stringContaining(`/realms/${city.realm}`),
    });
    const auth = { authorization: basicAuth(WEB_CLIENT_ID, city.webClientSecret) };
    const second = (await (await postToken({ grant_type: "refresh_token", refresh_token: first.refresh_token ?? "" }, auth)).json()) as TokenResponse;
    expect(second.refresh_token).toEqual(expect.any(String));
    const reuse = await postToken({ grant_type: "refresh_token", refresh_token: first.refresh_token ?? "" }, auth);
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe("invalid_grant");
    const afterReuse = await postToken({ grant_type: "refresh_token", refresh_token: second.refresh_token ?? "" }, auth);
    expect(afterReuse.status).toBe(400);
    // A revoked refresh token is dead at once.
    const third = await signIn(browser, webParams(pkce));
    const thirdTokens = (await (
      await postToken(
        { grant_type: "authorization_code", code: third.leftTo.searchParams.get("code") ?? "", redirect_uri: webCallback(), code_verifier: pkce.verifier },
        auth,
      )
    ).json()) as TokenResponse;
    const revoked = await fetch(endpoint(city.realm, "revoke"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
      body: new URLSearchParams({ token: thirdTokens.refresh_token ?? "", token_type_hint: "refresh_token" }).toString(),
    });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    expect((await postToken({ grant_type: "refresh_token", refresh_token: thirdTokens.refresh_token ?? "" }, auth)).status).toBe(400);
    // A wrong client secret gets nothing either.
    const wrongSecret = await postToken({ grant_type: "refresh_token", refresh_token: "x" }, { authorization: basicAuth(WEB_CLIENT_ID, "wrong") });
    expect(wrongSecret.status).toBe(401);
  });

  it("refuses an unregistered redirect address, a missing PKCE challenge and the plain method", async () => {
    const browser = new Browser();
    const pkce = pkcePair();
    const wrongRedirect = await browser.request(authorizeUrl(webParams(pkce, { redirect_uri: "https://evil.example/auth/callback" })));
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.headers.get("location")).toBeNull();
    const page = await wrongRedirect.text();
    expect(page).toContain("invalid_redirect_uri");
    expect(page).toContain('<html lang="en" dir="ltr">');

    const { code_challenge: _c, code_challenge_method: _m, ...withoutPkce } = webParams(pkce);
    const missing = await browser.request(authorizeUrl(withoutPkce));
    expect(missing.status).toBe(303);
    const missingTo = new URL(missing.headers.get("location") ?? "");
    expect(`${missingTo.origin}${missingTo.pathname}`).toBe(webCallback());
    expect(missingTo.searchParams.get("error")).toBe("invalid_request");
    expect(missingTo.searchParams.get("code")).toBeNull();

    const plain = await browser.request(authorizeUrl(webParams(pkce, { code_challenge: pkce.verifier, code_challenge_method: "plain" })));
    expect(plain.status).toBe(303);
    const plainTo = new URL(plain.headers.get("location") ?? "");
    expect(plainTo.searchParams.get("error")).toBe("invalid_request");
    expect(plainTo.searchParams.get("code")).toBeNull();
  });
});

describe("realm updates", () => {
  it("take a city's new address into the clients' redirect addresses once ensureRealm runs", async () => {
    const hostname = `new-${city.realm}.example`;
    const callback = `http://${hostname}:${new URL(harness.base).port}/auth/callback`;
    const attempt = () => new Browser().request(authorizeUrl(webParams(pkcePair(), { redirect_uri: callback })));
    expect((await attempt()).status).toBe(400);
    await withPlatformAdmin((tx) => tx.cityDomain.create({ data: { tenantId: city.tenantId, hostname } }), database);
    await harness.backend.ensureRealm(await specOf(city.realm));
    const accepted = await attempt();
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("location")).toMatch(/\/login-actions\//);
  });

  it("refuses a realm that provisioning has not recorded", async () => {
    const spec = { ...(await specOf(city.realm)), realm: "not-provisioned" };
    await expect(harness.backend.ensureRealm(spec)).rejects.toThrow(/identity_realms/);
  });
});

describe("civitas-js: the browser's public client", () => {
  it("asks for consent once per person, answers in the fragment, allows CORS from the city's origins only", async () => {
    const { id: graceId } = await harness.backend.ensureUser(city.realm, { username: "grace", email: "grace@example.org", password: PASSWORD });
    const params = (pkce: { challenge: string }) => ({
      client_id: BROWSER_CLIENT_ID,
      response_type: "code",
      response_mode: "fragment",
      scope: "openid",
      redirect_uri: developerPage(),
      state: randomBytes(8).toString("hex"),
      code_challenge: pkce.challenge,
      code_challenge_method: "S256",
    });
    const browser = new Browser();
    const pkce = pkcePair();
    const first = await signIn(browser, params(pkce), { username: "grace" });
    expect(first.sawLogin).toBe(true);
    expect(first.sawConsent).toBe(true);
    expect(first.leftTo.search).toBe("");
    const fragment = new URLSearchParams(first.leftTo.hash.slice(1));
    const code = fragment.get("code") ?? "";
    expect(code).not.toBe("");

    const origin = harness.base;
    const token = await postToken(
      { grant_type: "authorization_code", client_id: BROWSER_CLIENT_ID, code, redirect_uri: developerPage(), code_verifier: pkce.verifier },
      { origin },
    );
    expect(token.status).toBe(200);
    expect(token.headers.get("access-control-allow-origin")).toBe(origin);
    const tokens = (await token.json()) as TokenResponse;
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const { payload } = await jwtVerify(tokens.access_token, jwks(city.realm), { issuer: issuerOf(city.realm), audience: API_AUDIENCE });
    expect(payload).toMatchObject({ sub: graceId, azp: BROWSER_CLIENT_ID, preferred_username: "grace", realm_access: { roles: [] } });
    expect(payload["allowed-origins"]).toEqual(expect.arrayContaining([origin]));

    const userinfo = await fetch(endpoint(city.realm, "userinfo"), { headers: { authorization: `Bearer ${tokens.access_token}`, origin } });
    expect(userinfo.status).toBe(200);
    expect(userinfo.headers.get("access-control-allow-origin")).toBe(origin);

    const foreign = await postToken(
      { grant_type: "refresh_token", client_id: BROWSER_CLIENT_ID, refresh_token: tokens.refresh_token ?? "" },
      { origin: "https://evil.example" },
    );
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(foreign.status).toBe(400);

    // Same browser: neither password nor consent again. A new browser: the password, not consent.
    const again = await signIn(browser, params(pkcePair()), { username: "grace" });
    expect(again).toMatchObject({ sawLogin: false, sawConsent: false });
    const elsewhere = await signIn(new Browser(), params(pkcePair()), { username: "grace" });
    expect(elsewhere).toMatchObject({ sawLogin: true, sawConsent: false });
  });

  it("sends the person back with access_denied when consent is refused", async () => {
    await harness.backend.ensureUser(city.realm, { username: "linus", password: PASSWORD });
    const pkce = pkcePair();
    const { leftTo, sawConsent } = await signIn(
      new Browser(),
      {
        client_id: BROWSER_CLIENT_ID,
        response_type: "code",
        scope: "openid",
        redirect_uri: developerPage(),
        state: "refused",
        code_challenge: pkce.challenge,
        code_challenge_method: "S256",
      },
      { username: "linus", consent: "deny" },
    );
    expect(sawConsent).toBe(true);
    expect(leftTo.searchParams.get("error")).toBe("access_denied");
    expect(leftTo.searchParams.get("state")).toBe("refused");
    expect(leftTo.searchParams.get("code")).toBeNull();
  });
  it("is not offered in the platform realm, which has no developer page: it answers there like an unknown client", async () => {
    await ensurePlatformRealm();
    const authorize = (realm: string, clientId: string) =>
      fetch(
        `${endpoint(realm, "auth")}?${new URLSearchParams({
          client_id: clientId,
          response_type: "code",
          scope: "openid",
          redirect_uri: `${harness.base}${realm === PLATFORM_REALM ? "" : `/${realm}`}/developer`,
          code_challenge: pkcePair().challenge,
          code_challenge_method: "S256",
        })}`,
        { redirect: "manual" },
      );
    // Pages differ by their style nonce only.
    const page = async (response: Response) => (await response.text()).replace(/nonce="[^"]+"/g, "");
    const browserClient = await authorize(PLATFORM_REALM, BROWSER_CLIENT_ID);
    const unknown = await authorize(PLATFORM_REALM, "no-such-client");
    expect(browserClient.status).toBe(400);
    expect(browserClient.headers.get("location")).toBeNull();
    const browserPage = await page(browserClient);
    expect(browserPage).toContain("invalid_client");
    expect(browserPage).toBe(await page(unknown));

    const token = (clientId: string) =>
      fetch(endpoint(PLATFORM_REALM, "token"), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, code: "x", redirect_uri: `${harness.base}/developer`, code_verifier: "x".repeat(43) }).toString(),
      });
    const [browserToken, unknownToken] = await Promise.all([token(BROWSER_CLIENT_ID), token("no-such-client")]);
    expect(browserToken.status).toBe(401);
    expect(unknownToken.status).toBe(401);
    expect(await browserToken.json()).toEqual(await unknownToken.json());

    // A city's realm still has it.
    const cityAuthorize = await authorize(city.realm, BROWSER_CLIENT_ID);
    expect(cityAuthorize.status).toBe(303);
    expect(cityAuthorize.headers.get("location")).toMatch(/\/login-actions\//);
  });
});

describe("machine clients: client credentials", () => {
  it("issues Keycloak-shaped service-account tokens with the client's scopes, until the client is deleted", async () => {
    const clientId = `${city.realm}-${randomBytes(4).toString("hex")}`;
    const { clientSecret } = await harness.backend.createMachineClient(city.realm, { clientId, name: "Integration", scopes: ["read"] });
    expect(Buffer.from(clientSecret, "base64url")).toHaveLength(32);

    const basic = await postToken({ grant_type: "client_credentials" }, { authorization: basicAuth(clientId, clientSecret) });
    expect(basic.status).toBe(200);
    const tokens = (await basic.json()) as TokenResponse;
    expect(tokens.scope).toBe("read");
    expect(tokens.refresh_token).toBeUndefined();
    const { payload } = await jwtVerify(tokens.access_token, jwks(city.realm), { issuer: issuerOf(city.realm), audience: API_AUDIENCE });
    expect(payload).toMatchObject({
      azp: clientId,
      typ: "Bearer",
      scope: "read",
      preferred_username: `service-account-${clientId}`,
      realm_access: { roles: [] },
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);

    const post = await postToken({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret, scope: "read" });
    expect(post.status).toBe(200);
    const write = await postToken({ grant_type: "client_credentials", scope: "write" }, { authorization: basicAuth(clientId, clientSecret) });
    expect(write.status).toBe(400);
    expect(((await write.json()) as { error: string }).error).toBe("invalid_scope");
    const wrong = await postToken({ grant_type: "client_credentials" }, { authorization: basicAuth(clientId, "not-the-secret") });
    expect(wrong.status).toBe(401);
    // Machine clients cannot sign people in.
    const authorize = await fetch(authorizeUrl({ client_id: clientId, response_type: "code", redirect_uri: webCallback(), code_challenge: pkcePair().challenge, code_challenge_method: "S256" }), { redirect: "manual" });
    expect(authorize.status).toBe(400);

    await harness.backend.deleteMachineClient(city.realm, clientId);
    const deleted = await postToken({ grant_type: "client_credentials" }, { authorization: basicAuth(clientId, clientSecret) });
    expect(deleted.status).toBe(401);
    expect(((await deleted.json()) as { error: string }).error).toBe("invalid_client");
    await harness.backend.deleteMachineClient(city.realm, clientId); // missing is not an error
  });

  it("refuses bad machine client definitions", async () => {
    await expect(harness.backend.createMachineClient(city.realm, { clientId: WEB_CLIENT_ID, name: "x", scopes: ["read"] })).rejects.toThrow(/client id/);
    await expect(harness.backend.createMachineClient(city.realm, { clientId: "ok-id", name: "x", scopes: [] })).rejects.toThrow(/scopes/);
    await expect(harness.backend.createMachineClient("no-such-realm", { clientId: "ok-id", name: "x", scopes: ["read"] })).rejects.toThrow(/does not exist/);
    await harness.backend.createMachineClient(city.realm, { clientId: "twice", name: "x", scopes: ["write"] });
    await expect(harness.backend.createMachineClient(city.realm, { clientId: "twice", name: "x", scopes: ["write"] })).rejects.toThrow(/already has/);
  });
});

describe("signing keys", () => {
  async function machineToken(realm: string): Promise<string> {
    const clientId = `keys-${randomBytes(4).toString("hex")}`;
    const { clientSecret } = await harness.backend.createMachineClient(realm, { clientId, name: "Keys", scopes: ["read", "write"] });
    const response = await fetch(endpoint(realm, "token"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuth(clientId, clientSecret) },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as TokenResponse;
    expect(tokens.scope).toBe("read write");
    return tokens.access_token;
  }

  it("survive a restart, and each realm has its own", async () => {
    const other = await createCityRealm(database, harness.backend, harness.base);
    const tokenA = await machineToken(city.realm);
    const tokenB = await machineToken(other.realm);
    expect(decodeProtectedHeader(tokenA).kid).not.toBe(decodeProtectedHeader(tokenB).kid);

    // A new backend over the same database (a restarted process) verifies what the old one signed.
    const restarted = createEmbeddedBackend({ database, publicUrl: harness.base });
    const verifyWith = (realm: string, token: string): Promise<JWTPayload> =>
      jwtVerify(token, restarted.verificationKeys(realm), { issuer: issuerOf(realm), audience: API_AUDIENCE, algorithms: ["RS256"] }).then(
        (result) => result.payload,
      );
    await expect(verifyWith(city.realm, tokenA)).resolves.toMatchObject({ typ: "Bearer" });
    await expect(verifyWith(other.realm, tokenB)).resolves.toMatchObject({ typ: "Bearer" });
    // A token of one realm does not verify with another realm's keys.
    await expect(
      jwtVerify(tokenA, restarted.verificationKeys(other.realm), { audience: API_AUDIENCE, algorithms: ["RS256"] }),
    ).rejects.toThrow();

    // ensureRealm again keeps the key in service.
    const { created } = await harness.backend.ensureRealm(await specOf(city.realm));
    expect(created).toBe(false);
    const browser = new Browser();
    await signIn(browser, webParams(pkcePair()));
    const served = harness.restart();
    // The person stays signed in across the restart (sessions and cookie keys are stored).
    const afterRestart = await signIn(browser, webParams(pkcePair()));
    expect(afterRestart.sawLogin).toBe(false);
    const tokenAfter = await machineToken(city.realm);
    expect(decodeProtectedHeader(tokenAfter).kid).toBe(decodeProtectedHeader(tokenA).kid);
    await expect(jwtVerify(tokenAfter, served.verificationKeys(city.realm), { issuer: issuerOf(city.realm), audience: API_AUDIENCE })).resolves.toBeDefined();
  });
});

describe("oidc-provider's storage", () => {
  it("keeps models apart by realm and kind, hides expired rows and sweeps them on a later write", async () => {
    // A copy of the database handle: the sweep (at most once a minute per database) is due for it.
    const handle = { ...database };
    const sessions = new PayloadAdapter({ realm: city.realm, model: "Session", database: handle, findClient: async () => undefined });
    const codes = new PayloadAdapter({ realm: city.realm, model: "AuthorizationCode", database: handle, findClient: async () => undefined });
    const admin = <T,>(work: Parameters<typeof withPlatformAdmin<T>>[0]) => withPlatformAdmin(work, database);
    await admin((tx) =>
      tx.identityPayload.create({
        data: { realm: city.realm, model: "Session", id: "stale", payload: { uid: "stale-uid" }, uid: "stale-uid", expiresAt: new Date(Date.now() - 1000) },
      }),
    );
    expect(await sessions.find("stale")).toBeUndefined();
    expect(await sessions.findByUid("stale-uid")).toBeUndefined();

    await sessions.upsert("fresh", { uid: "fresh-uid", accountId: userId }, 60);
    expect(await admin((tx) => tx.identityPayload.count({ where: { id: "stale" } }))).toBe(0);
    expect(await sessions.findByUid("fresh-uid")).toMatchObject({ accountId: userId });
    expect(await codes.find("fresh")).toBeUndefined();

    await codes.upsert("code-1", { grantId: "grant-1", accountId: userId }, 60);
    await codes.consume("code-1");
    const consumed = await codes.find("code-1");
    expect(consumed?.consumed).toEqual(expect.any(Number));
    // Written again (oidc-provider never does, but a consumed code must stay consumed).
    await codes.upsert("code-1", { grantId: "grant-1", accountId: userId }, 60);
    expect((await codes.find("code-1"))?.consumed).toEqual(consumed?.consumed);

    await codes.revokeByGrantId("grant-1");
    expect(await codes.find("code-1")).toBeUndefined();
    await sessions.destroy("fresh");
    expect(await sessions.find("fresh")).toBeUndefined();
  });
});

describe("users", () => {
  it("are found case-insensitively and only gain roles", async () => {
    const first = await harness.backend.ensureUser(city.realm, { username: "Marie", realmRoles: ["city-staff"] });
    const second = await harness.backend.ensureUser(city.realm, { username: "MARIE", realmRoles: ["city-admin"], firstName: "Marie" });
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    const row = await database.adminPrisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL ROLE app_admin");
      return tx.identityUser.findUnique({ where: { realm_id: { realm: city.realm, id: first.id } } });
    });
    expect(row).toMatchObject({ username: "marie", firstName: "Marie", passwordHash: null });
    expect([...(row?.realmRoles ?? [])].sort()).toEqual(["city-admin", "city-staff"]);
    await expect(harness.backend.ensureUser(city.realm, { username: "  " })).rejects.toThrow(/username/);
    await expect(harness.backend.ensureUser("no-such-realm", { username: "x" })).rejects.toThrow(/does not exist/);
  });
});

describe("sign-in pages", () => {
  let frenchCity: TestRealm;
  let camilleId: string;

  beforeAll(async () => {
    frenchCity = await createCityRealm(database, harness.backend, harness.base, {
      names: { fr: "Villeneuve", en: "Newtown", ar: "المدينة الجديدة" },
      defaultLocale: "fr",
      enabledLocales: ["fr", "en", "ar"],
      branding: { primaryColor: "#0B5FFF", accentColor: "#c2410c", logoUrl: "https://cdn.example/villeneuve.svg" },
    });
    ({ id: camilleId } = await harness.backend.ensureUser(frenchCity.realm, { username: "camille", password: PASSWORD }));
  });

  function realmAuthorizeUrl(realm: string, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({
      client_id: WEB_CLIENT_ID,
      response_type: "code",
      scope: "openid",
      redirect_uri: realm === PLATFORM_REALM ? `${harness.base}/auth/callback` : `${harness.base}/${realm}/auth/callback`,
      state: "s",
      code_challenge: pkcePair().challenge,
      code_challenge_method: "S256",
      ...extra,
    });
    return `${harness.base}/realms/${realm}/protocol/openid-connect/auth?${params}`;
  }

  /** Opens the sign-in page of a realm: the page, its address, and the browser holding its cookies. */
  async function openLoginPage(realm: string, options: { acceptLanguage?: string; params?: Record<string, string> } = {}) {
    const browser = new Browser({ acceptLanguage: options.acceptLanguage });
    const { response, url } = await browser.visit(realmAuthorizeUrl(realm, options.params), harness.base);
    expect(response.status).toBe(200);
    return { browser, url, response, html: await response.text() };
  }

  async function submitLogin(page: { browser: Browser; url: string; html: string }, username: string, password: string) {
    const response = await page.browser.request(new URL(formAction(page.html), page.url).href, {
      form: { ...hiddenInputs(page.html), username, password },
    });
    return { response, html: await response.text() };
  }

  describe("the sign-in page", () => {
    it("speaks the city's default language and wears its colours, name and logo", async () => {
      const { html, response } = await openLoginPage(frenchCity.realm);
      expect(html).toContain('<html lang="fr" dir="ltr">');
      expect(html).toContain("<h1>Se connecter à Villeneuve</h1>");
      expect(html).toContain('<label for="username">Nom d’utilisateur ou adresse e-mail</label>');
      expect(html).toContain("--primary:#0b5fff");
      expect(html).toContain("--accent:#c2410c");
      expect(html).toContain('<img src="https://cdn.example/villeneuve.svg" alt="">');
      expect(html).toMatch(/autocomplete="username"/);
      expect(html).toMatch(/autocomplete="current-password"/);
      // Other languages of the city are offered, not those it does not enable.
      expect(html).toContain('hreflang="en"');
      expect(html).not.toContain('hreflang="de"');
      expect(response.headers.get("cache-control")).toBe("no-store");
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'none'");
      // The inline style is allowed by its nonce, nothing else.
      const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(html).toContain(`<style nonce="${nonce}">`);
    });

    it("follows ui_locales and Keycloak's kc_locale, then the browser's languages, within the city's", async () => {
      const english = await openLoginPage(frenchCity.realm, { params: { ui_locales: "en" } });
      expect(english.html).toContain('<html lang="en" dir="ltr">');
      expect(english.html).toContain("<h1>Sign in to Newtown</h1>");

      const kc = await openLoginPage(frenchCity.realm, { params: { kc_locale: "en" }, acceptLanguage: "ar" });
      expect(kc.html).toContain('<html lang="en"');

      const arabic = await openLoginPage(frenchCity.realm, { acceptLanguage: "ar-MA, en;q=0.5" });
      expect(arabic.html).toContain('<html lang="ar" dir="rtl">');
      expect(arabic.html).toContain("المدينة الجديدة");

      // German is not one of the city's languages: the browser's next choice, else the default.
      const german = await openLoginPage(frenchCity.realm, { params: { ui_locales: "de" }, acceptLanguage: "de, en;q=0.8" });
      expect(german.html).toContain('<html lang="en"');
      const onlyGerman = await openLoginPage(frenchCity.realm, { params: { ui_locales: "de" }, acceptLanguage: "de" });
      expect(onlyGerman.html).toContain('<html lang="fr"');

      // The language links keep the person on the same step.
      const link = /<a href="([^"]+)" lang="en"/.exec(onlyGerman.html)?.[1] ?? "";
      const switched = await onlyGerman.browser.request(new URL(link.replace(/&amp;/g, "&"), onlyGerman.url).href);
      expect(switched.status).toBe(200);
      expect(await switched.text()).toContain("<h1>Sign in to Newtown</h1>");
    });

    it("says which city it is for in the city's own name, escaped", async () => {
      await withPlatformAdmin(
        (tx) => tx.city.update({ where: { id: frenchCity.tenantId }, data: { names: { fr: "Ville <b>&</b>", en: "Newtown" } } }),
        database,
      );
      await harness.backend.ensureRealm((await realmSpec(frenchCity.realm, { database, publicUrl: harness.base }))!);
      try {
        const { html } = await openLoginPage(frenchCity.realm);
        expect(html).toContain("Se connecter à Ville &lt;b&gt;&amp;&lt;/b&gt;");
        expect(html).not.toContain("<b>");
      } finally {
        await withPlatformAdmin(
          (tx) => tx.city.update({ where: { id: frenchCity.tenantId }, data: { names: { fr: "Villeneuve", en: "Newtown", ar: "المدينة الجديدة" } } }),
          database,
        );
        await harness.backend.ensureRealm((await realmSpec(frenchCity.realm, { database, publicUrl: harness.base }))!);
      }
    });

    it("shows Civitas on the platform realm", async () => {
      await ensurePlatformRealm();
      const { id: operatorId } = await harness.backend.ensureUser(PLATFORM_REALM, { username: "operator", password: PASSWORD, realmRoles: ["platform-operator"] });
      const page = await openLoginPage(PLATFORM_REALM, { acceptLanguage: "de" });
      expect(page.html).toContain('<html lang="de" dir="ltr">');
      expect(page.html).toContain("<h1>Bei Civitas anmelden</h1>");

      const failed = await submitLogin(page, "operator", "wrong");
      expect(failed.response.status).toBe(401);
      const events = await withPlatformAdmin(
        (tx) => tx.platformAuditEvent.findMany({ where: { action: "auth.sign_in_failed" }, select: { subjectType: true, subjectId: true, after: true, actorType: true } }),
        database,
      );
      expect(events).toEqual([
        { actorType: "system", subjectType: "identity_user", subjectId: operatorId, after: { reason: "invalid_password", username: "operator" } },
      ]);
    });
  });

  describe("wrong passwords", () => {
    /** The city's audit events of refused sign-ins, oldest first. */
    const signInFailures = (town: TestRealm) =>
      withTenant(
        town.tenantId,
        (tx) =>
          tx.auditEvent.findMany({
            where: { tenantId: town.tenantId, action: "auth.sign_in_failed" },
            select: { actorType: true, subjectType: true, subjectId: true, after: true },
            orderBy: { occurredAt: "asc" },
          }),
        database,
      );
    const failures = async (accountId: string | null, town = frenchCity) =>
      (await signInFailures(town)).filter((event) => event.subjectId === accountId).map(({ subjectId: _id, ...event }) => event);
    const reasons = async (accountId: string | null, town = frenchCity) =>
      (await failures(accountId, town)).map((event) => (event.after as { reason: string }).reason);
    const retryAfter = (response: Response) => Number(response.headers.get("retry-after"));

    it("are refused with an error tied to the fields, and audited in the city's log by account, never by what was typed", async () => {
      const page = await openLoginPage(frenchCity.realm);
      const wrong = await submitLogin(page, "Camille", "not it");
      expect(wrong.response.status).toBe(401);
      expect(wrong.html).toContain('<p id="login-error" class="error" role="alert">Le nom d’utilisateur ou le mot de passe est incorrect.</p>');
      expect(wrong.html).toMatch(/id="username"[^>]*value="Camille"[^>]*aria-describedby="login-error" aria-invalid="true"/);
      expect(wrong.html).toMatch(/id="password"[^>]*aria-describedby="login-error"/);
      expect(await failures(camilleId)).toEqual([
        { actorType: "system", subjectType: "identity_user", after: { reason: "invalid_password", username: "camille" } },
      ]);

      // A password typed into the username field names no account: the log keeps nothing of it.
      const typedSecret = "Tr0ub4dor&3-in-the-wrong-field";
      const unknown = await submitLogin(page, typedSecret, "whatever");
      expect(unknown.response.status).toBe(401);
      expect(unknown.html).toContain("Le nom d’utilisateur ou le mot de passe est incorrect.");
      expect(await failures(null)).toEqual([{ actorType: "system", subjectType: "identity_user", after: { reason: "unknown_account" } }]);
      expect(JSON.stringify(await signInFailures(frenchCity)).toLowerCase()).not.toContain("tr0ub4dor");

      const empty = await submitLogin(page, "camille", "");
      expect(empty.response.status).toBe(400);
      expect(empty.html).toContain("Saisissez votre nom d’utilisateur et votre mot de passe.");

      // The right password still works on the same page afterwards.
      const right = await submitLogin(page, "camille", PASSWORD);
      expect(right.response.status).toBe(303);
    });

    it("pause an account after five failures, even with the right password then, and record the pause once", async () => {
      const { id } = await harness.backend.ensureUser(frenchCity.realm, { username: "dominique", password: PASSWORD });
      const page = await openLoginPage(frenchCity.realm, { params: { ui_locales: "en" } });
      for (let attempt = 0; attempt < 5; attempt += 1) {
        expect((await submitLogin(page, "dominique", `guess ${attempt}`)).response.status).toBe(401);
      }
      const blocked = await submitLogin(page, "DOMINIQUE", PASSWORD);
      expect(blocked.response.status).toBe(429);
      expect(retryAfter(blocked.response)).toBeGreaterThan(0);
      expect(blocked.html).toContain("Too many failed attempts. Please wait a few minutes before trying again.");
      expect((await submitLogin(page, "dominique", PASSWORD)).response.status).toBe(429);
      expect(await reasons(id)).toEqual([...Array(5).fill("invalid_password"), "too_many_attempts"]);
      expect((await failures(id)).at(-1)?.after).toEqual({ reason: "too_many_attempts", username: "dominique", limitedBy: "account" });
      // Another username of the city is not affected.
      expect((await submitLogin(page, "camille", PASSWORD)).response.status).toBe(303);
    });

    it("check at most five of twenty wrong passwords sent at once; the others are told to wait", async () => {
      const town = await createCityRealm(database, harness.backend, harness.base);
      const { id } = await harness.backend.ensureUser(town.realm, { username: "staff", password: PASSWORD });
      const page = await openLoginPage(town.realm, { params: { ui_locales: "en" } });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => submitLogin(page, "staff", `guess ${index}`)));
      const statuses = answers.map((answer) => answer.response.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(5);
      expect(statuses.filter((status) => status === 429)).toHaveLength(15);
      for (const answer of answers.filter((candidate) => candidate.response.status === 429)) {
        expect(retryAfter(answer.response)).toBeGreaterThan(0);
        expect(answer.html).toContain("Too many failed attempts.");
      }
      // Five passwords were checked; the refusals are in the log once, not fifteen times.
      expect((await reasons(id, town)).sort()).toEqual([...Array(5).fill("invalid_password"), "too_many_attempts"]);
      expect((await submitLogin(page, "staff", PASSWORD)).response.status).toBe(429);
    });

    it("pause an account under its username and its email address alike", async () => {
      const town = await createCityRealm(database, harness.backend, harness.base);
      const staffEmail = `staff@${town.realm}.localhost`;
      const { id: staffId } = await harness.backend.ensureUser(town.realm, { username: "staff", email: staffEmail, password: PASSWORD });
      await harness.backend.ensureUser(town.realm, { username: "clerk", email: `clerk@${town.realm}.localhost`, password: PASSWORD });
      expect((await submitLogin(await openLoginPage(town.realm), `Clerk@${town.realm}.localhost`, PASSWORD)).response.status).toBe(303);

      const page = await openLoginPage(town.realm, { params: { ui_locales: "en" } });
      for (let attempt = 0; attempt < 5; attempt += 1) {
        expect((await submitLogin(page, "staff", `guess ${attempt}`)).response.status).toBe(401);
      }
      const byEmail = await submitLogin(page, staffEmail.toUpperCase(), PASSWORD);
      expect(byEmail.response.status).toBe(429);
      expect(retryAfter(byEmail.response)).toBeGreaterThan(0);
      // The log names the account, not the address that was typed.
      expect((await failures(staffId, town)).at(-1)?.after).toEqual({ reason: "too_many_attempts", username: "staff", limitedBy: "account" });

      // And the other way round: failures under the email address pause the username.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        expect((await submitLogin(page, `clerk@${town.realm}.localhost`, `guess ${attempt}`)).response.status).toBe(401);
      }
      expect((await submitLogin(page, "clerk", PASSWORD)).response.status).toBe(429);
    });

    it("pause an address after twenty failures across usernames, in that realm only", async () => {
      const town = await createCityRealm(database, harness.backend, harness.base);
      const { id: clerkId } = await harness.backend.ensureUser(town.realm, { username: "clerk", password: PASSWORD });
      const page = await openLoginPage(town.realm, { params: { ui_locales: "en" } });
      // One common password tried over many usernames, none tried more than once.
      for (let index = 0; index < 20; index += 1) {
        expect((await submitLogin(page, `resident-${index}`, "Summer2024!")).response.status).toBe(401);
      }
      const sprayed = await submitLogin(page, "clerk", PASSWORD);
      expect(sprayed.response.status).toBe(429);
      expect(retryAfter(sprayed.response)).toBeGreaterThan(0);
      expect(await reasons(null, town)).toEqual(Array(20).fill("unknown_account"));
      expect(await failures(clerkId, town)).toEqual([
        { actorType: "system", subjectType: "identity_user", after: { reason: "too_many_attempts", username: "clerk", limitedBy: "client" } },
      ]);
      // The address is paused in this realm, not in another city's.
      expect((await submitLogin(await openLoginPage(frenchCity.realm), "camille", PASSWORD)).response.status).toBe(303);
    });

    it("do not reveal a disabled account; its right password says it is disabled", async () => {
      const { id } = await harness.backend.ensureUser(frenchCity.realm, { username: "sacha", password: PASSWORD });
      await withPlatformAdmin((tx) => tx.identityUser.update({ where: { realm_id: { realm: frenchCity.realm, id } }, data: { enabled: false } }), database);
      const page = await openLoginPage(frenchCity.realm, { params: { ui_locales: "en" } });
      const wrong = await submitLogin(page, "sacha", "nope");
      expect(wrong.html).toContain("The username or password is incorrect.");
      const right = await submitLogin(page, "sacha", PASSWORD);
      expect(right.response.status).toBe(401);
      expect(right.html).toContain("This account is disabled.");
      expect(await reasons(id)).toEqual(["invalid_password", "user_disabled"]);
    });

    it("cannot be posted without the interaction's cookie", async () => {
      const page = await openLoginPage(frenchCity.realm, { params: { ui_locales: "en" } });
      const stranger = new Browser();
      const response = await stranger.request(new URL(formAction(page.html), page.url).href, {
        form: { username: "camille", password: PASSWORD },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("Cette page a expiré ou a déjà été utilisée.");
      // A body no form of ours sends is a bad request, not a server error.
      const oversized = await page.browser.request(new URL(formAction(page.html), page.url).href, {
        form: { username: "camille", password: "x".repeat(20_000) },
      });
      expect(oversized.status).toBe(400);
      expect(await oversized.text()).toContain("invalid_request");
    });
  });
});

describe("assertEmbeddedProviderAllowed", () => {
  it("refuses production without an explicit opt-in, and says what to do", () => {
    expect(() => assertEmbeddedProviderAllowed({ NODE_ENV: "production", CIVITAS_EMBEDDED_IDP: undefined })).toThrow(
      /KEYCLOAK_URL.*CIVITAS_EMBEDDED_IDP=allow/s,
    );
    expect(() => assertEmbeddedProviderAllowed({ NODE_ENV: "production", CIVITAS_EMBEDDED_IDP: "allow" })).not.toThrow();
    expect(() => assertEmbeddedProviderAllowed({ NODE_ENV: "development", CIVITAS_EMBEDDED_IDP: undefined })).not.toThrow();
    expect(() => assertEmbeddedProviderAllowed({ NODE_ENV: "test", CIVITAS_EMBEDDED_IDP: undefined })).not.toThrow();
  });
});

async function specOf(realm: string) {
  const spec = await realmSpec(realm, { database, publicUrl: harness.base });
  if (!spec) throw new Error(`no spec for ${realm}`);
  return spec;
}
