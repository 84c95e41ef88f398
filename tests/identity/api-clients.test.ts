// A city admin creates an API client in the admin page, an integration gets tokens with it
// (client credentials) and calls the API, the admin revokes it and its tokens stop working at
// once. Residents and staff cannot reach the page; nothing crosses to another city.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTenant } from "../../app/db/database.server";
import { identity } from "../../app/identity/identity.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { decodeEntities, TestBrowser, type Page } from "../support/browser";

let app: AppServer | undefined;
let base: string;
let parisId: string;
const PASSWORD = "api-clients-test-password";

beforeAll(async () => {
  app = await startAppServer([
    { slug: "paris", names: { en: "Paris" }, defaultLocale: "en", enabledLocales: ["en", "fr"] },
    { slug: "budapest", names: { en: "Budapest" }, defaultLocale: "en", enabledLocales: ["en", "hu"] },
  ]);
  base = app.base;
  parisId = app.cities.paris ?? "";
  const { backend } = identity();
  await backend.ensureUser("paris", { username: "admin", password: PASSWORD, realmRoles: ["city-admin"] });
  await backend.ensureUser("paris", { username: "staff", password: PASSWORD, realmRoles: ["city-staff"] });
  await backend.ensureUser("paris", { username: "resident", password: PASSWORD });
  await backend.ensureUser("budapest", { username: "admin", password: PASSWORD, realmRoles: ["city-admin"] });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

async function signedInAs(username: string, city = "paris"): Promise<TestBrowser> {
  const browser = new TestBrowser({ "Accept-Language": "en" });
  const login = await browser.go(`${base}/${city}/auth/login`);
  const page = await browser.submit(login, { username, password: PASSWORD }, /password/i);
  expect(page.status, page.body.slice(0, 300)).toBe(200);
  return browser;
}

const testId = (page: Page, id: string) => decodeEntities(new RegExp(`data-testid="${id}">([^<]+)<`).exec(page.body)?.[1] ?? "");

async function clientToken(clientId: string, secret: string, realm = "paris"): Promise<Response> {
  return fetch(`${base}/realms/${realm}/protocol/openid-connect/token`, {
    method: "POST",
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
}

const me = (token: string, city = "paris") => fetch(`${base}/${city}/api/me`, { headers: { Authorization: `Bearer ${token}` } });

describe("API clients", () => {
  it("are created by a city admin, get tokens for that city only, and stop working once revoked", async () => {
    const admin = await signedInAs("admin");
    const page = await admin.go(`${base}/paris/admin/api-clients`);
    expect(page.status).toBe(200);
    const created = await admin.submit(page, { name: "Open data portal" }, /name="intent" value="create"/);
    expect(created.status, created.body.slice(0, 300)).toBe(200);
    const clientId = testId(created, "created-client-id");
    const secret = testId(created, "created-client-secret");
    expect(clientId).toMatch(/^paris-/);
    expect(secret.length).toBeGreaterThanOrEqual(32);

    const tokenResponse = await clientToken(clientId, secret);
    expect(tokenResponse.status).toBe(200);
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const answer = await me(token);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ kind: "client", clientId, scopes: ["read"] });
    expect((await me(token, "budapest")).status).toBe(401);

    // The secret is nowhere in Civitas' own tables; the creation is in the audit log.
    const stored = await withTenant(parisId, async (tx) => ({
      client: await tx.apiClient.findFirstOrThrow({ where: { clientId } }),
      audit: await tx.auditEvent.findMany({ where: { action: "api_client.created" } }),
    }));
    expect(JSON.stringify(stored.client)).not.toContain(secret);
    expect(stored.audit).toHaveLength(1);

    // Revoked: the token already issued is refused at once, and no new one is issued.
    const list = await admin.go(`${base}/paris/admin/api-clients`);
    const revoked = await admin.submit(list, {}, /name="intent" value="revoke"/);
    expect(revoked.status).toBe(200);
    expect((await me(token)).status).toBe(401);
    expect((await clientToken(clientId, secret)).status).toBe(401);
    expect(await withTenant(parisId, (tx) => tx.auditEvent.count({ where: { action: "api_client.revoked" } }))).toBe(1);
  });

  it("refuses bad input with a message, and creates nothing", async () => {
    const admin = await signedInAs("admin");
    const before = await withTenant(parisId, (tx) => tx.apiClient.count());
    const page = await admin.go(`${base}/paris/admin/api-clients`);
    const refused = await admin.submit(page, { name: "   " }, /name="intent" value="create"/);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/aria-invalid="true"/);
    expect(await withTenant(parisId, (tx) => tx.apiClient.count())).toBe(before);
  });

  it("are out of reach of residents, staff, other cities' admins and forged forms", async () => {
    for (const username of ["resident", "staff"]) {
      const browser = await signedInAs(username);
      const page = await browser.go(`${base}/paris/admin/api-clients`);
      expect(page.status, username).toBe(403);
      const post = await browser.request(`${base}/paris/admin/api-clients`, {
        method: "POST",
        body: new URLSearchParams({ intent: "create", name: "sneaky", scopes: "write" }),
      });
      expect(post.status, username).toBe(403);
    }
    // Budapest's admin is nobody at Paris: signed in at Budapest, Paris's page asks to sign in.
    const budapestAdmin = await signedInAs("admin", "budapest");
    const elsewhere = await budapestAdmin.request(`${base}/paris/admin/api-clients`);
    expect(elsewhere.status).toBe(302);
    expect(elsewhere.headers.get("Location")).toMatch(/^\/paris\/auth\/login/);
    // An admin's own browser, but a form without its token.
    const admin = await signedInAs("admin");
    const forged = await admin.request(`${base}/paris/admin/api-clients`, {
      method: "POST",
      body: new URLSearchParams({ intent: "create", name: "forged", scopes: "read" }),
    });
    expect(forged.status).toBe(403);
    expect(await withTenant(parisId, (tx) => tx.apiClient.count({ where: { name: { in: ["sneaky", "forged"] } } }))).toBe(0);
  });
});
