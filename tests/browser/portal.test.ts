// The resident portal in headless Chromium: no accessibility violation axe-core can find (WCAG
// 2.1 A and AA) on the city's pages in a left-to-right and a right-to-left language, nothing
// wider than a 360-pixel screen, the skip link first and working by keyboard, the header
// mirrored in Arabic, and the language switcher working in the page without a reload.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identity } from "../../app/identity/identity.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { chromiumAvailable, launchChromium } from "../support/chromium";

const available = chromiumAvailable;

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PASSWORD = "portal-browser-password";
let app: AppServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!available) return;
  app = await startAppServer([
    {
      slug: "paris",
      names: { fr: "Paris", en: "Paris", ar: "باريس" },
      defaultLocale: "fr",
      enabledLocales: ["fr", "en", "ar"],
      branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" },
    },
  ]);
  await identity().backend.ensureUser("paris", { username: "resident", password: PASSWORD, email: "resident@paris.test", firstName: "Rémi", lastName: "Résident" });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Session = { context: BrowserContext; page: Page; problems: string[] };

async function open(options: { width?: number; locale?: string } = {}): Promise<Session> {
  if (!browser) throw new Error("not started");
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 800 }, locale: options.locale ?? "fr-FR" });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // Hydration mismatches and React warnings are console errors. Failed loads are reported with
  // their address (a refused form's 400 is expected).
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

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  });
}

const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

async function signIn(page: Page): Promise<void> {
  await visit(page, "/paris/account");
  await page.locator('input[name="username"]').fill("resident");
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').first().click();
  await page.waitForURL(`${app?.base}/paris/account`);
  await page.waitForLoadState("networkidle");
}

describe.skipIf(!available)("the portal in Chromium", () => {
  it("has no WCAG 2.1 AA violation axe can find, and fits a 360-pixel screen, in French and in Arabic", async () => {
    // French on a desktop, Arabic on a small phone: both directions, both layouts.
    for (const [locale, width] of [["fr-FR", 1280], ["ar", 360]] as const) {
      const { context, page, problems } = await open({ locale, width });
      for (const path of ["/paris", "/paris/accessibility", "/"]) {
        await visit(page, path);
        expect(await axeViolations(page), `${locale} ${width}px ${path}`).toEqual([]);
        expect(await overflow(page), `${locale} ${width}px ${path}`).toBeLessThanOrEqual(0);
      }
      await signIn(page);
      expect(await axeViolations(page), `${locale} ${width}px account`).toEqual([]);
      expect(await overflow(page), `${locale} ${width}px account`).toBeLessThanOrEqual(0);
      // A refused form: the summary takes the focus, and the page stays valid.
      await page.locator("#display-name").fill("");
      await page.locator("main form button[type=submit]").click();
      await page.locator(".error-summary").waitFor();
      expect(await page.evaluate(() => document.activeElement?.className)).toBe("error-summary");
      expect(await axeViolations(page), `${locale} ${width}px account errors`).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    }
  }, 120_000);

  it("puts the skip link first: Tab shows it, Enter moves to the main content", async () => {
    const { context, page, problems } = await open();
    await visit(page, "/paris");
    await page.keyboard.press("Tab");
    const skip = page.locator(".skip-link");
    expect(await skip.evaluate((element) => element === document.activeElement)).toBe(true);
    const box = await skip.boundingBox();
    expect(box && box.y >= 0 && box.height > 0).toBe(true);
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("mirrors the header in Arabic: the name at the start (right), the tools at the end (left)", async () => {
    for (const [locale, rtl] of [["ar", true], ["fr-FR", false]] as const) {
      const { context, page } = await open({ locale });
      await visit(page, "/paris");
      const brand = await page.locator(".site-header__brand").boundingBox();
      const tools = await page.locator(".site-header__tools").boundingBox();
      if (!brand || !tools) throw new Error("header not rendered");
      expect(brand.x > tools.x, locale).toBe(rtl);
      await context.close();
    }
  });

  it("switches languages in the page, without reloading it, and keeps the choice", async () => {
    const { context, page, problems } = await open();
    await visit(page, "/paris/accessibility");
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    await page.locator("#language-switcher").selectOption("ar");
    await page.locator(".language-switcher button").click();
    await page.waitForFunction(() => document.documentElement.dir === "rtl" && document.querySelector("h1")?.textContent === "إمكانية الوصول والمعلومات القانونية");
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe("ar");
    // The next page, loaded from the server, is in Arabic too.
    await visit(page, "/paris");
    expect(await page.evaluate(() => [document.documentElement.lang, document.querySelector("h1")?.textContent])).toEqual(["ar", "مرحبًا بكم في باريس"]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
