// The portal and the consoles in headless Chromium, as people use them: a resident of Budapest
// switching from Hungarian to German, signing in and editing their profile; an Arabic visitor of
// Paris getting a right-to-left page; a city admin changing branding and languages and seeing the
// portal follow; an operator onboarding a city whose first admin then chooses a password and
// accepts the invitation; the federation consoles: an operator's page of peers and keys, and
// Nantes publishing a component and a dataset that Paris imports and subscribes to, in English
// and in Arabic. axe-core (WCAG 2.1 A and AA) finds no serious or critical violation on any of
// these pages, and screenshots of the key ones go to test-results/screenshots/.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identity } from "../../app/identity/identity.server";
import { fileRequest } from "../support/federation-console";
import { startAppServer, type AppServer } from "../support/app-server";
import { chromiumAvailable, launchChromium } from "../support/chromium";
import { TINY_PNG } from "../support/factories";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SCREENSHOTS = path.resolve("test-results/screenshots");
const PASSWORD = "consoles-browser-password";
let app: AppServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startAppServer([
    {
      slug: "paris",
      names: { fr: "Paris", en: "Paris", ar: "باريس" },
      defaultLocale: "fr",
      enabledLocales: ["fr", "en", "ar"],
      branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" },
    },
    { slug: "budapest", names: { hu: "Budapest", en: "Budapest", de: "Budapest" }, defaultLocale: "hu", enabledLocales: ["hu", "en", "de"] },
    { slug: "nantes", names: { fr: "Nantes", en: "Nantes" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] },
  ]);
  const { backend } = identity();
  await backend.ensureUser("budapest", { username: "resident", password: PASSWORD, email: "resident@budapest.test", firstName: "Réka" });
  await backend.ensureUser("paris", { username: "admin", password: PASSWORD, email: "admin@paris.test", firstName: "Adèle", realmRoles: ["city-admin"] });
  await backend.ensureUser("nantes", { username: "admin", password: PASSWORD, email: "admin@nantes.test", firstName: "Noé", realmRoles: ["city-admin"] });
  await backend.ensureUser("platform", { username: "operator", password: PASSWORD, realmRoles: ["platform-operator"] });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Session = { context: BrowserContext; page: Page; problems: string[] };

async function open(locale: string, width = 1280): Promise<Session> {
  if (!browser) throw new Error("not started");
  // bypassCSP: the provider's sign-in page allows no script, and axe is one.
  const context = await browser.newContext({ viewport: { width, height: 900 }, locale, bypassCSP: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
  });
  // A refused form answers 400 on purpose; anything else at 400 or beyond is a problem.
  page.on("response", (response) => {
    if (response.status() > 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return { context, page, problems };
}

const url = (pathname: string) => `${app?.base}${pathname}`;

async function visit(page: Page, pathname: string): Promise<void> {
  await page.goto(url(pathname));
  await page.waitForLoadState("networkidle");
}

/** Serious and critical violations only (moderate ones are reported by the portal's own suite). */
async function axeProblems(page: Page): Promise<string[]> {
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

async function checkPage(page: Page, name: string): Promise<void> {
  expect(await axeProblems(page), name).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), `${name}: overflow`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** On the provider's sign-in page: fill it in, and come back to `returnTo`. */
async function signIn(page: Page, username: string, password: string, back: string | RegExp | ((address: URL) => boolean), screenshot?: string): Promise<void> {
  await page.waitForURL(/\/realms\//);
  await page.locator('input[name="password"]').waitFor();
  if (screenshot) await checkPage(page, screenshot);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button[type="submit"]').first().click();
  await page.waitForURL(typeof back === "string" ? url(back) : back);
  await page.waitForLoadState("networkidle");
}

const htmlLang = (page: Page) => page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);

describe.skipIf(!chromiumAvailable)("the portal and the consoles in Chromium", () => {
  it("(a) a resident opens Budapest in Hungarian, switches to German, signs in and edits their profile", async () => {
    const { context, page, problems } = await open("hu-HU", 360);
    await visit(page, "/budapest");
    expect(await htmlLang(page)).toEqual(["hu", "ltr"]);
    await checkPage(page, "budapest-home-hu");
    await page.locator("#language-switcher").selectOption("de");
    await page.locator(".language-switcher button").click();
    await page.waitForFunction(() => document.documentElement.lang === "de");
    // The sign-in link, in German now; the provider's page speaks it too.
    await page.locator(".account__link").click();
    await page.waitForURL(/\/realms\/budapest\//);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("de");
    await signIn(page, "resident", PASSWORD, "/budapest", "sign-in-de");
    await page.locator('.site-nav a[href="/budapest/account"]').click();
    await page.waitForURL(url("/budapest/account"));
    await page.locator("#display-name").fill("Réka K.");
    await page.locator("#language").selectOption("de");
    await page.locator("main form button[type=submit]").click();
    await page.locator(".notice--success").waitFor();
    expect(await page.locator("#display-name").inputValue()).toBe("Réka K.");
    expect(await htmlLang(page)).toEqual(["de", "ltr"]);
    await checkPage(page, "budapest-account-de");
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("(b) gives an Arabic visitor of Paris a right-to-left page", async () => {
    const { context, page, problems } = await open("ar");
    await visit(page, "/paris");
    expect(await htmlLang(page)).toEqual(["ar", "rtl"]);
    await checkPage(page, "paris-home-ar");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("(c) a city admin changes branding and languages, and the portal follows", async () => {
    const { context, page, problems } = await open("en-GB");
    await visit(page, "/paris");
    await page.locator(".account__link").click();
    await signIn(page, "admin", PASSWORD, "/paris");
    // The navigation leads admins to their console.
    await page.locator('.site-nav a[href="/paris/admin"]').click();
    await page.waitForURL(url("/paris/admin"));
    await page.locator('main a[href="/paris/admin/settings"]').waitFor();
    await checkPage(page, "admin-console");
    for (const [pathname, name] of [["/paris/admin/members", "admin-members"], ["/paris/admin/audit", "admin-audit"], ["/paris/admin/api-clients", "admin-api-clients"], ["/paris/admin/services", "admin-services"]] as const) {
      await visit(page, pathname);
      await checkPage(page, name);
    }

    await visit(page, "/paris/admin/settings");
    await checkPage(page, "admin-settings");
    // A colour white text cannot be read on: refused, with the ratio, on the field.
    await page.locator("#primary-color").fill("#ffcc00");
    await page.locator('main form button[type="submit"]').first().click();
    await page.locator(".error-summary").waitFor();
    expect(await page.locator("#primary-color-error").textContent()).toContain("1.51:1");
    expect(await page.locator("#primary-color").getAttribute("aria-describedby")).toBe("primary-color-hint primary-color-error");
    await checkPage(page, "admin-settings-errors");

    await page.locator("#primary-color").fill("#0b3d2e");
    await page.locator('input[name="enabledLocales"][value="de"]').check();
    await page.locator('main form button[type="submit"]').first().click();
    await page.waitForURL(url("/paris/admin/settings?saved=settings"));
    await page.locator('input[type="file"]#logo').setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: TINY_PNG });
    await page.locator('button:has-text("Upload the logo")').click();
    await page.waitForURL(url("/paris/admin/settings?saved=logo"));

    await visit(page, "/paris");
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--brand-primary").trim())).toBe("#0b3d2e");
    expect(await page.locator("#language-switcher option").evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value))).toEqual(["fr", "en", "ar", "de"]);
    const logo = page.locator(".site-header__logo");
    expect(await logo.getAttribute("src")).toMatch(/^\/paris\/branding\/logo\?v=/);
    expect(await logo.evaluate((image) => (image as HTMLImageElement).naturalWidth)).toBe(1);
    await checkPage(page, "paris-home-rebranded");
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it("(d) an operator onboards a city, its home page answers, and its first admin accepts the invitation", async () => {
    const { context, page, problems } = await open("en-GB");
    await visit(page, "/platform");
    await signIn(page, "operator", PASSWORD, "/platform", "sign-in-platform");
    await checkPage(page, "platform-cities");
    await page.locator('a[href="/platform/cities/new"]').click();
    await page.waitForURL(url("/platform/cities/new"));
    // The form (the URL changes before the page renders: axe must not check the last page).
    await page.locator("#slug").waitFor();
    await checkPage(page, "platform-onboard");

    // Nothing filled in: every step says what it needs, and the summary takes the focus.
    await page.locator('main form button[type="submit"]').click();
    await page.locator(".error-summary").waitFor();
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("error-summary");
    await checkPage(page, "platform-onboard-errors");

    await page.locator("#slug").fill("lyon");
    await page.locator('input[name="enabledLocales"][value="fr"]').check();
    await page.locator('input[name="enabledLocales"][value="en"]').check();
    await page.locator("#default-locale").selectOption("fr");
    await page.locator("#name-fr").fill("Lyon");
    await page.locator("#name-en").fill("Lyon");
    await page.locator("#time-zone").selectOption("Europe/Paris");
    await page.locator("#admin-email").fill("maire@lyon.test");
    await page.locator('main form button[type="submit"]').click();
    await page.locator("h1", { hasText: "Lyon is open" }).waitFor();
    expect(await page.locator("main ul a").first().getAttribute("href")).toBe(url("/lyon"));
    await checkPage(page, "platform-onboarded");
    const invitationLink = await page.locator("#invitation-link").inputValue();

    await visit(page, "/platform/cities/lyon");
    await checkPage(page, "platform-city");

    // The new city answers, in its default language.
    const response = await page.goto(url("/lyon"));
    expect(response?.status()).toBe(200);
    expect(await page.locator("h1").textContent()).toContain("Lyon");
    expect(problems).toEqual([]);
    await context.close();

    // Its first admin, in another browser: chooses a password, signs in, accepts.
    const invitee = await open("fr-FR", 360);
    await invitee.page.goto(invitationLink);
    await checkPage(invitee.page, "invitation");
    await invitee.page.locator("#password").fill("une phrase de passe");
    await invitee.page.locator("#confirmation").fill("une phrase de passe");
    await invitee.page.locator('form:has(#password) button[type="submit"]').click();
    await signIn(invitee.page, "maire@lyon.test", "une phrase de passe", (address) => address.pathname.startsWith("/lyon/invitations/"));
    await invitee.page.locator('main form button[type="submit"]').click();
    await invitee.page.waitForURL(url("/lyon/admin"));
    // The console, with the settings an admin holds (the URL changes before the page renders).
    await invitee.page.locator('main a[href="/lyon/admin/settings"]').waitFor();
    expect(invitee.problems).toEqual([]);
    await invitee.context.close();
  }, 90_000);

  it("(e) an operator reaches the federation page from the console's navigation; a bad address is refused on its field", async () => {
    const { context, page, problems } = await open("en-GB");
    await visit(page, "/platform");
    await signIn(page, "operator", PASSWORD, "/platform");
    await page.locator('.console-nav a[href="/platform/federation"]').click();
    await page.waitForURL(url("/platform/federation"));
    await page.locator("#instance-heading").waitFor();
    expect(await page.locator('.console-nav a[aria-current="page"]').textContent()).toBe("Federation");
    await checkPage(page, "platform-federation");
    await page.locator("#peer-url").fill("not an address");
    await page.locator('button[value="add"]').click();
    await page.locator(".error-summary").waitFor();
    expect(await page.locator("#peer-url").getAttribute("aria-describedby")).toBe("peer-url-hint peer-url-error");
    await checkPage(page, "platform-federation-errors");
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("(f) Nantes publishes a component and a dataset; Paris imports the one and subscribes to the other, in English and in Arabic", async () => {
    const nantes = await open("en-GB");
    await visit(nantes.page, "/nantes");
    await nantes.page.locator(".account__link").click();
    await signIn(nantes.page, "admin", PASSWORD, "/nantes");
    await visit(nantes.page, "/nantes/admin/services");
    await nantes.page.locator('form:has(input[name="pluginId"][value="reporting"]) button[value="install"]').click();
    await nantes.page.locator(".notice").waitFor();
    await fileRequest({ id: app!.cities.nantes! }, "pothole");

    await visit(nantes.page, "/nantes/admin/federation/components/new");
    await nantes.page.locator('main form button[type="submit"]').click();
    await nantes.page.locator(".error-summary").waitFor();
    expect(await nantes.page.locator("#source").getAttribute("aria-invalid")).toBe("true");
    await checkPage(nantes.page, "federation-publish-errors");
    await nantes.page.locator("#source").selectOption("reporting:categories");
    await nantes.page.locator("#title-fr").fill("Voirie et propreté");
    await nantes.page.locator("#title-en").fill("Roads and cleanliness");
    await nantes.page.locator("#summary-en").fill("The reporting categories of Nantes");
    await nantes.page.locator('main form button[type="submit"]').click();
    await nantes.page.waitForURL(/\/nantes\/admin\/federation\/components\/[0-9a-f-]{36}\?done=published$/);
    await nantes.page.locator("#provenance-heading").waitFor();
    await checkPage(nantes.page, "federation-component-own");

    await visit(nantes.page, "/nantes/admin/federation/datasets/new");
    await nantes.page.locator("#publish-sharing-cities").check();
    await nantes.page.locator('input[name="sharedWith"][value$="/federation/cities/paris"]').check();
    await checkPage(nantes.page, "federation-publish-dataset");
    await nantes.page.locator('main form button[type="submit"]').click();
    await nantes.page.waitForURL(/\/nantes\/admin\/federation\/datasets\/[0-9a-f-]{36}\?done=published$/);
    await nantes.page.locator("#records-heading").waitFor();
    await checkPage(nantes.page, "federation-dataset-own");
    expect(nantes.problems).toEqual([]);
    await nantes.context.close();

    const { context, page, problems } = await open("en-GB");
    await visit(page, "/paris");
    await page.locator(".account__link").click();
    await signIn(page, "admin", PASSWORD, "/paris");
    await visit(page, "/paris/admin");
    await page.locator('main a[href="/paris/admin/federation"]').click();
    await page.waitForURL(url("/paris/admin/federation"));
    // The section's tabs, which the admin console's home has not (its heading would not tell).
    await page.locator('.console-nav a[href="/paris/admin/federation/components"]').waitFor();
    await checkPage(page, "federation-overview");
    await page.locator('.console-nav a[href="/paris/admin/federation/components"]').click();
    await page.waitForURL(url("/paris/admin/federation/components"));
    await page.locator("#catalogue-heading").waitFor();
    await checkPage(page, "federation-components");
    await page.locator(".card__title a", { hasText: "Roads and cleanliness" }).click();
    await page.locator("#import-heading").waitFor();
    await checkPage(page, "federation-component-preview");
    await page.locator("#follow").check();
    await page.locator('button[value="import"]').click();
    await page.locator("#report-heading").waitFor();
    expect(await page.locator("#report-heading").textContent()).toBe("Version 1 has been imported.");
    await checkPage(page, "federation-component-imported");

    await visit(page, "/paris/admin/federation/datasets");
    await page.locator('#visible-heading ~ .table-scroll button[value="subscribe"]').click();
    await page.waitForURL(url("/paris/admin/federation/datasets?done=subscribed"));
    await checkPage(page, "federation-datasets");
    await page.locator("#subscriptions-heading ~ .table-scroll td a").first().click();
    await page.locator("#records-heading").waitFor();
    expect(await page.locator("#records-heading ~ .table-scroll tbody tr").count()).toBe(1);
    await checkPage(page, "federation-dataset-records");
    const datasetPath = new URL(page.url()).pathname;
    expect(problems).toEqual([]);
    await context.close();

    // The same pages in Arabic: right to left, and as accessible.
    const arabic = await open("ar", 360);
    await visit(arabic.page, "/paris");
    await arabic.page.locator(".account__link").click();
    await signIn(arabic.page, "admin", PASSWORD, "/paris");
    await visit(arabic.page, "/paris/admin/federation/components");
    expect(await htmlLang(arabic.page)).toEqual(["ar", "rtl"]);
    await checkPage(arabic.page, "federation-components-ar");
    await visit(arabic.page, datasetPath);
    expect(await htmlLang(arabic.page)).toEqual(["ar", "rtl"]);
    await checkPage(arabic.page, "federation-dataset-records-ar");
    expect(arabic.problems).toEqual([]);
    await arabic.context.close();
  }, 120_000);
});
