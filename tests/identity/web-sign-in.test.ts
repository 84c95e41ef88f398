// Signing in at a city as a browser does, over HTTP, through the whole application: the Remix
// routes (/auth/login, /auth/callback, /auth/logout), the embedded provider at /realms/{realm},
// openid-client's checks, the token verifier and the session store — ending in a verified
// session, then refreshed, ended by idleness, and ended by signing out at the provider too.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sessionCookie, unseal } from "../../app/auth/web-session.server";
import { withPlatformAdmin, withTenant } from "../../app/db/database.server";
import { identity } from "../../app/identity/identity.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { TestBrowser, type Page } from "../support/browser";

let app: AppServer | undefined;
let base: string;
let parisId: string;
const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  app = await startAppServer([
    { slug: "paris", names: { fr: "Paris", en: "Paris" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] },
    { slug: "budapest", names: { hu: "Budapest" }, defaultLocale: "hu", enabledLocales: ["hu", "en"] },
  ]);
  base = app.base;
  parisId = app.cities.paris ?? "";
  const { backend } = identity();
  await backend.ensureUser("paris", { username: "resident", password: PASSWORD, email: "resident@paris.test", firstName: "Rémi", lastName: "Résident" });
  await backend.ensureUser("budapest", { username: "resident", password: PASSWORD });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

async function signIn(browser: TestBrowser, path: string, username = "resident", password = PASSWORD): Promise<Page> {
  const login = await browser.go(`${base}${path}`);
  expect(login.status, login.body.slice(0, 500)).toBe(200);
  expect(new URL(login.url).pathname).toMatch(/^\/realms\/paris\//);
  let page = await browser.submit(login, { username, password }, /password/i);
  // First-party client: no consent page; a provider that asked anyway would show a form here.
  if (new URL(page.url).pathname.startsWith("/realms/")) page = await browser.submit(page, {});
  return page;
}

/** A POST that announces a body it never sends: the answer must come from the headers alone. */
function rawPost(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/paris/auth/logout`, { method: "POST", headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    request.on("error", reject);
    request.flushHeaders();
  });
}

/** The tokens sealed in a session row, opened with the browser's cookie as the server does. */
async function sessionTokens(browser: TestBrowser, data: unknown) {
  const scope = { kind: "city", tenantId: parisId, citySlug: "paris", realm: "paris", basePath: "/paris" } as const;
  const request = new Request(`${base}/paris/`, { headers: { Cookie: browser.cookieHeader(new URL(`${base}/paris/`)) } });
  const token = (await sessionCookie(request, scope).parse(request.headers.get("Cookie"))) as string;
  const tokens = unseal(data, token, "paris");
  if (!tokens) throw new Error("the session row does not open with the browser's cookie");
  return tokens;
}

/** Signed-in pages show the sign-out form (every page has forms with a CSRF token: the language switcher). */
const signedIn = (page: Page) => /<form method="post" action="[^"]*\/auth\/logout"/.test(page.body);

describe("web sign-in at a city (authorization code + PKCE, embedded provider)", () => {
  it("signs a resident in, creates their user and membership on first sign-in, and returns them where they were", async () => {
    const browser = new TestBrowser({ "Accept-Language": "fr" });
    const page = await signIn(browser, "/paris/auth/login?returnTo=%2Fparis%2Fdeveloper");
    expect(page.status, page.body.slice(0, 500)).toBe(200);
    expect(page.url).toBe(`${base}/paris/developer`);
    expect(signedIn(page)).toBe(true);
    // The authorization request carried PKCE S256 and the state/nonce openid-client checked.
    const authorize = new URL(browser.visited.find((url) => url.includes("/protocol/openid-connect/auth?")) ?? "");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("client_id")).toBe("civitas-web");
    expect(authorize.searchParams.get("redirect_uri")).toBe(`${base}/paris/auth/callback`);

    const stored = await withTenant(parisId, async (tx) => ({
      users: await tx.user.findMany({ include: { memberships: true } }),
      sessions: await tx.session.count(),
      audit: await tx.auditEvent.findMany({ where: { action: { in: ["user.created", "auth.signed_in"] } }, select: { action: true } }),
    }));
    expect(stored.users).toHaveLength(1);
    expect(stored.users[0]?.email).toBe("resident@paris.test");
    expect(stored.users[0]?.memberships.map((m) => m.role)).toEqual(["resident"]);
    expect(stored.sessions).toBe(1);
    expect(stored.audit.map((event) => event.action).sort()).toEqual(["auth.signed_in", "user.created"]);

    // The session cookie belongs to /paris: Budapest's pages (same host) never see it.
    expect(browser.cookie("civitas_session", `${base}/paris/`)).toBeDefined();
    expect(browser.cookie("civitas_session", `${base}/budapest/`)).toBeUndefined();
    expect(signedIn(await browser.go(`${base}/budapest`))).toBe(false);

    // A second sign-in finds the same user.
    await signIn(new TestBrowser(), "/paris/auth/login");
    expect(await withTenant(parisId, (tx) => tx.user.count())).toBe(1);
  });

  it("refreshes the access token when it is about to expire, once for pages arriving together, and ends an idle session", async () => {
    const browser = new TestBrowser();
    await signIn(browser, "/paris/auth/login");
    const session = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ orderBy: { createdAt: "desc" } }));
    const before = await sessionTokens(browser, session.data);
    // Six minutes later the access token (five minutes) has expired; the server lives in this
    // process, so moving the clock moves it for the provider, the verifier and the session.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      const pages = await Promise.all(Array.from({ length: 4 }, () => browser.go(`${base}/paris`)));
      expect(pages.map(signedIn)).toEqual([true, true, true, true]);
      const after = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ where: { id: session.id } }));
      const refreshed = await sessionTokens(browser, after.data);
      expect(refreshed.accessToken).not.toBe(before.accessToken);
      expect(refreshed.accessExpiresAt).toBeGreaterThan(Date.now() + 60_000);
      expect(signedIn(await browser.go(`${base}/paris`))).toBe(true);
    } finally {
      vi.useRealTimers();
    }

    await withTenant(parisId, (tx) =>
      tx.$executeRaw`UPDATE sessions SET updated_at = now() - interval '31 minutes' WHERE id = ${session.id}`,
    );
    expect(signedIn(await browser.go(`${base}/paris`))).toBe(false);
    expect(await withTenant(parisId, (tx) => tx.session.count({ where: { id: session.id } }))).toBe(0);
  });

  it("keeps no usable token in the session table", async () => {
    const browser = new TestBrowser();
    await signIn(browser, "/paris/auth/login");
    const session = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ orderBy: { createdAt: "desc" } }));
    const { accessToken, refreshToken } = await sessionTokens(browser, session.data);
    const row = JSON.stringify(session);
    expect(row).not.toContain(accessToken);
    expect(row).not.toContain(refreshToken ?? "no refresh token");
    expect(row).not.toContain(browser.cookie("civitas_session", `${base}/paris/`) ?? "no cookie");
  });

  it("signs out with a CSRF-checked form, here and at the provider", async () => {
    const browser = new TestBrowser();
    await signIn(browser, "/paris/auth/login");
    const home = await browser.go(`${base}/paris`);
    expect(signedIn(home)).toBe(true);

    // Without the token, or from another origin, nothing happens.
    const forged = await browser.request(`${base}/paris/auth/logout`, { method: "POST", body: new URLSearchParams({ csrf: "forged" }) });
    expect(forged.status).toBe(403);
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)?.[1] ?? "";
    const crossSite = await browser.request(`${base}/paris/auth/logout`, {
      method: "POST",
      body: new URLSearchParams({ csrf }),
      headers: { Origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
    expect(signedIn(await browser.go(`${base}/paris`))).toBe(true);

    let page = await browser.submit(home, {}, /auth\/logout/);
    // The provider may ask for confirmation (a form of its own) before sending the browser home.
    for (let step = 0; step < 2 && new URL(page.url).pathname.startsWith("/realms/"); step += 1) page = await browser.submit(page, {});
    expect(page.url).toBe(`${base}/paris/`);
    expect(signedIn(page)).toBe(false);
    const actions = await withTenant(parisId, (tx) => tx.auditEvent.findMany({ where: { action: "auth.signed_out" } }));
    expect(actions.length).toBeGreaterThan(0);
  });

  it("refuses a callback that no sign-in started, and one whose state does not match, and says so", async () => {
    const count = () => withTenant(parisId, (tx) => tx.auditEvent.count({ where: { action: "auth.sign_in_failed" } }));
    const before = await count();
    const stranger = new TestBrowser({ "Accept-Language": "en" });
    const page = await stranger.go(`${base}/paris/auth/callback?code=stolen&state=guessed`);
    expect(page.status).toBe(400);
    expect(page.body).toContain("/paris/auth/login");
    // Nothing was attempted: logged, but not in the city's audit trail (anyone could fill it).
    expect(await count()).toBe(before);

    // A sign-in in progress, answered with someone else's code and state: refused and audited.
    const browser = new TestBrowser({ "Accept-Language": "en" });
    await browser.request(`${base}/paris/auth/login`);
    const forged = await browser.go(`${base}/paris/auth/callback?code=stolen&state=guessed`);
    expect(forged.status).toBe(401);
    expect(await count()).toBe(before + 1);
    // The spent sign-in state is gone.
    expect(browser.cookie("civitas_auth", `${base}/paris/auth/callback`)).toBeUndefined();
  });

  it("refuses bodies that are no bounded form before any action reads them, and is never framed", async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${base}/paris/auth/logout`, { method: "POST", headers, body });
    expect((await post({ "Content-Type": "application/json" }, "{}")).status).toBe(415);
    expect((await post({ "Content-Type": "text/plain" }, "x")).status).toBe(415);
    const huge = await rawPost({ "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(10 * 1024 * 1024) });
    expect(huge).toBe(413);
    expect((await post({ "Content-Type": "multipart/form-data; boundary=x" }, "not multipart at all")).status).toBe(400);
    const page = await fetch(`${base}/paris`);
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  });

  it("never sends the browser to another site after sign-in", async () => {
    for (const returnTo of ["//evil.example/", "https://evil.example/", "/budapest", "/\\evil.example"]) {
      const page = await signIn(new TestBrowser(), `/paris/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
      expect(page.url, returnTo).toBe(`${base}/paris`);
    }
  });

  it("accepts the session's access token as a Bearer token at its city only", async () => {
    const browser = new TestBrowser();
    await signIn(browser, "/paris/auth/login");
    const session = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ orderBy: { createdAt: "desc" } }));
    const { accessToken } = await sessionTokens(browser, session.data);
    const me = await fetch(`${base}/paris/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: "user", username: "resident", realm: "paris", roles: ["resident"] });
    const elsewhere = await fetch(`${base}/budapest/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get("WWW-Authenticate")).toMatch(/invalid_token/);
    expect((await fetch(`${base}/paris/api/me`)).status).toBe(401);
  });
});

describe("operators", () => {
  it("sign in on the platform host through the platform realm", async () => {
    await identity().backend.ensureUser("platform", { username: "operator", password: PASSWORD, realmRoles: ["platform-operator"] });
    const browser = new TestBrowser({ "Accept-Language": "en" });
    const login = await browser.go(`${base}/auth/login`);
    expect(new URL(login.url).pathname).toMatch(/^\/realms\/platform\//);
    const page = await browser.submit(login, { username: "operator", password: PASSWORD }, /password/i);
    expect(page.url).toBe(`${base}/`);
    expect(signedIn(page)).toBe(true);
    const operators = await withPlatformAdmin((tx) => tx.platformOperator.count());
    expect(operators).toBe(1);
  });
});
