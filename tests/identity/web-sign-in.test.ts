// Signing in at a city as a browser does, over HTTP, through the whole application: the Remix
// routes (/auth/login, /auth/callback, /auth/logout), the embedded provider at /realms/{realm},
// openid-client's checks, the token verifier and the session store — ending in a verified
// session, then refreshed, ended by idleness, and ended by signing out at the provider too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const signedIn = (page: Page) => /\/auth\/logout/.test(page.body) && /name="csrf"/.test(page.body);

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

  it("refreshes the access token when it is about to expire, and ends an idle session", async () => {
    const browser = new TestBrowser();
    await signIn(browser, "/paris/auth/login");
    const session = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ orderBy: { createdAt: "desc" } }));
    const before = session.data as { accessToken: string; accessExpiresAt: number };
    await withTenant(parisId, (tx) =>
      tx.session.updateMany({ where: { id: session.id }, data: { data: { ...(session.data as object), accessExpiresAt: Date.now() } } }),
    );
    expect(signedIn(await browser.go(`${base}/paris`))).toBe(true);
    const after = await withTenant(parisId, (tx) => tx.session.findFirstOrThrow({ where: { id: session.id } }));
    const refreshed = after.data as { accessToken: string; accessExpiresAt: number };
    expect(refreshed.accessToken).not.toBe(before.accessToken);
    expect(refreshed.accessExpiresAt).toBeGreaterThan(Date.now() + 60_000);

    await withTenant(parisId, (tx) =>
      tx.$executeRaw`UPDATE sessions SET updated_at = now() - interval '31 minutes' WHERE id = ${session.id}`,
    );
    expect(signedIn(await browser.go(`${base}/paris`))).toBe(false);
    expect(await withTenant(parisId, (tx) => tx.session.count({ where: { id: session.id } }))).toBe(0);
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

  it("refuses a callback that no sign-in started, and says so", async () => {
    const browser = new TestBrowser({ "Accept-Language": "en" });
    const page = await browser.go(`${base}/paris/auth/callback?code=stolen&state=guessed`);
    expect(page.status).toBe(400);
    expect(page.body).toContain("/paris/auth/login");
    const failures = await withTenant(parisId, (tx) => tx.auditEvent.count({ where: { action: "auth.sign_in_failed" } }));
    expect(failures).toBeGreaterThan(0);
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
    const { accessToken } = session.data as { accessToken: string };
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
