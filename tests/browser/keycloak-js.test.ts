// keycloak-js, unchanged, in headless Chromium against the embedded provider: a city's
// developer page gets an API token for a resident (code + PKCE S256 with the public client
// civitas-js, consent asked once) and calls the API with it.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identity } from "../../app/identity/identity.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { chromiumAvailable, launchChromium } from "../support/chromium";

const available = chromiumAvailable;

const PASSWORD = "browser-test-password";
let app: AppServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!available) return;
  // English by default, so the test can name buttons by their English text.
  app = await startAppServer([{ slug: "paris", names: { fr: "Paris", en: "Paris" }, defaultLocale: "en", enabledLocales: ["en", "fr"] }]);
  await identity().backend.ensureUser("paris", { username: "resident", password: PASSWORD, realmRoles: [] });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.skipIf(!available)("keycloak-js in Chromium", () => {
  it("gets a token for the API on a city's developer page and calls the API with it", async () => {
    if (!app || !browser) throw new Error("not started");
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    const console: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => console.push(`${message.type()}: ${message.text()}`));

    await page.goto(`${app.base}/paris/developer`);
    await page.getByRole("button", { name: "Get a token" }).click();
    // The provider's sign-in page, in the city's realm.
    await page.waitForURL(/\/realms\/paris\//);
    await page.locator('input[name="username"]').fill("resident");
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').first().click();
    // civitas-js is a third-party-style client: the resident consents once.
    await page.waitForURL(/\/realms\/paris\/|\/paris\/developer/);
    if (page.url().includes("/realms/paris/")) await page.locator('button[type="submit"]').first().click();

    await page.waitForURL(`${app.base}/paris/developer**`);
    const username = page.getByTestId("token-username");
    await username.waitFor({ timeout: 10_000 }).catch(async (error: unknown) => {
      const main = await page.locator("main").innerText().catch(() => "");
      throw new Error(`${String(error)}\nat ${page.url()}\n${main}\nconsole:\n${console.join("\n")}\nerrors: ${problems.join("\n")}`);
    });
    expect(await username.textContent()).toBe("resident");
    await page.getByRole("button", { name: "Call the API" }).click();
    const answer = page.getByTestId("api-answer");
    await answer.waitFor();
    const text = (await answer.textContent()) ?? "";
    expect(text).toMatch(/^200 /);
    expect(JSON.parse(text.slice(4))).toMatchObject({ kind: "user", username: "resident", realm: "paris", clientId: "civitas-js" });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
