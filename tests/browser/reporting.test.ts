// Reporting an issue in headless Chromium, end to end on the real server: a resident reports a
// pothole (category, description, place, photo), gets a tracking number and its page; a second
// report nearby is offered the first to follow instead, and follows it; a staff member signs in,
// acknowledges it and posts a public update, which the public page then shows. axe-core finds
// no serious or critical WCAG 2.1 A/AA violation on the form, the tracking page and the staff
// list. Screenshots go to test-results/screenshots/reporting-*.png.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The catalogue first: it loads every plugin (importing a plugin's own modules first would
// enter the catalogue's import cycle from the wrong end).
import { pluginById } from "../../app/plugins/catalogue.server";
import { withPlatformAdmin, withTenant } from "../../app/db/database.server";
import { identity } from "../../app/identity/identity.server";
import { REALM_ROLES } from "../../app/identity/realm";
import { REPORTING_DEFAULTS } from "../../plugins/reporting/settings.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { chromiumAvailable, launchChromium } from "../support/chromium";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SCREENSHOTS = "test-results/screenshots";
const PASSWORD = "reporting-browser-password";
// The Hôtel de Ville of Paris, and a point about 20 m north of it.
const HERE = { latitude: "48.856613", longitude: "2.352222" };
const NEAR = { latitude: "48.856793", longitude: "2.352222" };

let app: AppServer | undefined;
let browser: Browser | undefined;
let photo: Buffer;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  app = await startAppServer([
    { slug: "paris", names: { fr: "Paris", en: "Paris" }, defaultLocale: "fr", enabledLocales: ["fr", "en"], branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" } },
  ]);
  const tenantId = app.cities.paris!;
  const reporting = pluginById("reporting");
  if (!reporting?.install) throw new Error("The reporting plugin is not in plugins/catalogue.ts.");
  // The city runs the service, with the categories it starts with.
  await withPlatformAdmin((tx) =>
    tx.pluginInstallation.create({ data: { tenantId, pluginId: "reporting", version: reporting.version, settings: REPORTING_DEFAULTS } }),
  );
  await withTenant(tenantId, (tx) => reporting.install!({ tx, tenantId, settings: REPORTING_DEFAULTS }));
  await identity().backend.ensureUser("paris", {
    username: "agent",
    password: PASSWORD,
    email: "agent@paris.test",
    firstName: "Alex",
    lastName: "Agent",
    realmRoles: [REALM_ROLES.staff],
  });
  photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#6b4f3a" } }).png().toBuffer();
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Session = { context: BrowserContext; page: Page; problems: string[] };

async function open(): Promise<Session> {
  if (!browser) throw new Error("not started");
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "en-GB" });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && response.status() !== 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return { context, page, problems };
}

async function visit(page: Page, path: string): Promise<void> {
  await page.goto(`${app?.base}${path}`);
  await page.waitForLoadState("networkidle");
}

/** Serious and critical violations of WCAG 2.1 A and AA that axe finds on the page. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    type Result = { violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] };
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<Result> } }).axe;
    const result = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return result.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  });
}

const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}/reporting-${name}.png`, fullPage: true });
}

/** The pothole form, from the service's home: choose the category, continue. */
async function potholeForm(page: Page): Promise<void> {
  await visit(page, "/paris/services/reporting");
  await page.locator('input[name="category"][value="pothole"]').check();
  await page.locator('main form button[type="submit"]').first().click();
  await page.waitForURL(/\?category=pothole$/);
  await page.locator("#description").waitFor();
}

let firstTrackingId = "";

describe.skipIf(!chromiumAvailable)("reporting an issue in Chromium", () => {
  it("reports a pothole with a photo, gets a tracking number; a second report nearby follows the first instead", async () => {
    const { context, page, problems } = await open();
    await potholeForm(page);
    expect(await axeViolations(page), "report form").toEqual([]);
    await shoot(page, "form");

    await page.locator("#description").fill("A deep pothole in the cycle lane, in front of the town hall.");
    await page.locator("#address").fill("Place de l'Hôtel-de-Ville");
    await page.locator("#latitude").fill(HERE.latitude);
    await page.locator("#longitude").fill(HERE.longitude);
    await page.locator("#photos").setInputFiles({ name: "pothole.png", mimeType: "image/png", buffer: photo });
    await page.locator("#email").fill("first@example.org");
    await page.locator('main form[enctype="multipart/form-data"] button[type="submit"]').click();
    await page.waitForURL(/\/paris\/services\/reporting\/requests\/[0-9A-Z]{4}-[0-9A-Z]{4}\?reported=1$/);
    firstTrackingId = (await page.locator('[data-testid="tracking-id"]').textContent()) ?? "";
    expect(firstTrackingId).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    // Its photo is shown, served by the city.
    const image = page.locator(".photos img");
    await expect.poll(() => image.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth)).toBe(64);
    expect(await axeViolations(page), "tracking page").toEqual([]);
    await shoot(page, "tracking");
    // Nothing wider than a small phone, on the tracking page and the form.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await overflow(page), "tracking page at 360 px").toBeLessThanOrEqual(0);

    // A second report of the same kind 20 m away: the first is offered instead.
    await potholeForm(page);
    expect(await overflow(page), "report form at 360 px").toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.locator("#description").fill("Big hole on the cycle path");
    await page.locator("#latitude").fill(NEAR.latitude);
    await page.locator("#longitude").fill(NEAR.longitude);
    await page.locator('main form[enctype="multipart/form-data"] button[type="submit"]').click();
    await page.locator("#duplicates-heading").waitFor();
    const offer = page.locator(`form[action$="/requests/${firstTrackingId}"]`);
    await offer.locator('input[name="email"]').fill("second@example.org");
    expect(await axeViolations(page), "duplicate offer").toEqual([]);
    await shoot(page, "duplicates");
    await offer.locator('button[type="submit"]').click();
    await page.waitForURL(new RegExp(`/requests/${firstTrackingId}\\?following=1$`));
    await page.locator(".notice--success").waitFor();
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("lets staff sign in, acknowledge the report and post a public update that its page then shows", async () => {
    expect(firstTrackingId).not.toBe("");
    const { context, page, problems } = await open();
    await visit(page, "/paris/services/reporting/staff");
    // Not signed in: the sign-in page first, then back to the list.
    await page.locator('input[name="username"]').fill("agent");
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').first().click();
    await page.waitForURL(`${app?.base}/paris/services/reporting/staff`);
    await page.waitForLoadState("networkidle");
    const row = page.locator("tbody tr", { hasText: firstTrackingId });
    await row.waitFor();
    expect(await axeViolations(page), "staff list").toEqual([]);
    await shoot(page, "staff");

    await row.locator("a").first().click();
    await page.waitForURL(new RegExp(`/staff/requests/${firstTrackingId}$`));
    await page.locator("#status-status").selectOption("acknowledged");
    await page.locator("#status-submit").click();
    await page.waitForURL(/\?done=status$/);
    await page.locator("#update-body").fill("Our road crew will fill it on Monday.");
    await page.locator("#update-submit").click();
    await page.waitForURL(/\?done=update$/);
    await page.locator(".timeline", { hasText: "Our road crew will fill it on Monday." }).waitFor();
    await shoot(page, "staff-request");
    expect(problems).toEqual([]);
    await context.close();

    // Anyone with the tracking number sees the new status and the update.
    const visitor = await open();
    await visit(visitor.page, `/paris/services/reporting/requests/${firstTrackingId}`);
    expect(await visitor.page.locator(".tag").first().textContent()).toBe("Acknowledged");
    await visitor.page.locator(".timeline", { hasText: "Our road crew will fill it on Monday." }).waitFor();
    expect(visitor.problems).toEqual([]);
    await visitor.context.close();
  }, 60_000);
});
