// The resident portal as a browser without JavaScript gets it, through the whole application
// (Express, the real Remix build, the embedded provider): the frame of every page (language and
// direction, skip link, landmarks, switcher, footer), switching languages with the plain form,
// the statement page, and "my account" from sign-in to saved profile, errors tied to fields.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTenant } from "../../app/db/database.server";
import { identity } from "../../app/identity/identity.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { decodeEntities, TestBrowser, type Page } from "../support/browser";

let app: AppServer | undefined;
let base: string;
const PASSWORD = "portal-test-password";

beforeAll(async () => {
  app = await startAppServer([
    { slug: "paris", names: { fr: "Paris", en: "Paris", ar: "باريس" }, defaultLocale: "fr", enabledLocales: ["fr", "en", "ar"] },
    { slug: "medina", names: { ar: "المدينة" }, defaultLocale: "ar", enabledLocales: ["ar"] },
  ]);
  base = app.base;
  await identity().backend.ensureUser("paris", { username: "resident", password: PASSWORD, email: "resident@paris.test", firstName: "Rémi", lastName: "Résident" });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const html = (page: Page) => decodeEntities(page.body);
const htmlTag = (page: Page) => /<html[^>]*>/.exec(page.body)?.[0] ?? "";
/** The opening tag of the element with this id. */
const tagOf = (page: Page, id: string) => new RegExp(`<\\w+ id="${id}"[^>]*>`).exec(page.body)?.[0] ?? "";
/** The translations a page hands the browser: its language and namespaces. */
function translations(page: Page): { locale: string; namespaces: string[] } {
  const json = /<script id="civitas-translations" type="application\/json">(.*?)<\/script>/s.exec(page.body)?.[1] ?? "null";
  const payload = JSON.parse(json) as { locale: string; resources: Record<string, Record<string, unknown>> };
  return { locale: payload.locale, namespaces: Object.keys(payload.resources[payload.locale] ?? {}).sort() };
}

describe("the frame of every page", () => {
  it("has the page's language and direction, a skip link to the main landmark, the switcher and the statement link", async () => {
    const page = await new TestBrowser({ "Accept-Language": "en-GB,en;q=0.9" }).go(`${base}/paris`);
    expect(page.status).toBe(200);
    expect(htmlTag(page)).toMatch(/lang="en" dir="ltr"/);
    // The skip link comes first in the body, and leads to <main id="main">.
    expect(page.body).toMatch(/<body><a class="skip-link" href="#main">Skip to main content<\/a>/);
    expect(page.body).toMatch(/<header class="site-header">/);
    expect(page.body).toMatch(/<nav class="site-nav" aria-label="Main menu">/);
    expect(page.body).toMatch(/<main id="main"/);
    expect(page.body).toMatch(/<footer class="site-footer">[\s\S]*href="\/paris\/accessibility">Accessibility and legal information</);
    // The switcher: a labelled select of the city's languages, each named in itself.
    const switcher = /<form method="post" action="\/paris\/language"[\s\S]*?<\/form>/.exec(page.body)?.[0] ?? "";
    expect(switcher).toMatch(/<label for="language-switcher"/);
    expect(switcher).toMatch(/name="csrf" value="[\w-]+"/);
    expect(switcher).toMatch(/name="returnTo" value="\/paris"/);
    expect([...switcher.matchAll(/<option value="(\w+)" lang="(\w+)"[^>]*>([^<]+)</g)].map((match) => [match[1], match[2], decodeEntities(match[3] ?? "")])).toEqual([
      ["fr", "fr", "Français"],
      ["en", "en", "English"],
      ["ar", "ar", "العربية"],
    ]);
    expect(translations(page)).toEqual({ locale: "en", namespaces: ["common"] });
  });

  it("is right to left for Arabic, with no switcher where the city offers one language", async () => {
    const page = await new TestBrowser({ "Accept-Language": "fr" }).go(`${base}/medina`);
    expect(htmlTag(page)).toMatch(/lang="ar" dir="rtl"/);
    expect(page.body).not.toMatch(/language-switcher/);
  });
});

describe("switching languages without JavaScript", () => {
  it("posts the form, comes back to the same page in the new language, and stays in it", async () => {
    const browser = new TestBrowser({ "Accept-Language": "fr" });
    const statement = await browser.go(`${base}/paris/accessibility`);
    expect(htmlTag(statement)).toMatch(/lang="fr" dir="ltr"/);
    expect(translations(statement)).toEqual({ locale: "fr", namespaces: ["common", "legal"] });

    const arabic = await browser.submit(statement, { lng: "ar" }, /language-switcher/);
    expect(arabic.url).toBe(`${base}/paris/accessibility`);
    expect(htmlTag(arabic)).toMatch(/lang="ar" dir="rtl"/);
    expect(html(arabic)).toContain("<h1>إمكانية الوصول والمعلومات القانونية</h1>");
    expect(html(arabic)).toMatch(/WCAG\) 2\.1/);
    expect(html(arabic)).toContain("باريس");

    const home = await browser.go(`${base}/paris`);
    expect(htmlTag(home)).toMatch(/lang="ar" dir="rtl"/);
    // Cities on the same host offering Arabic follow the choice; the others cannot.
    expect(htmlTag(await browser.go(`${base}/`))).toMatch(/lang="ar" dir="rtl"/);
  });
});

describe("my account", () => {
  async function signIn(browser: TestBrowser): Promise<Page> {
    const login = await browser.go(`${base}/paris/account`);
    expect(new URL(login.url).pathname).toMatch(/^\/realms\/paris\//);
    return browser.submit(login, { username: "resident", password: PASSWORD }, /password/i);
  }

  it("signs the resident in first, then edits their profile with errors tied to their fields", async () => {
    const browser = new TestBrowser({ "Accept-Language": "en" });
    const account = await signIn(browser);
    expect(account.url).toBe(`${base}/paris/account`);
    expect(html(account)).toContain("<h1>My account</h1>");
    expect(html(account)).toContain("resident@paris.test");
    expect(translations(account)).toEqual({ locale: "en", namespaces: ["account", "common"] });
    expect(tagOf(account, "display-name")).toMatch(/aria-describedby="display-name-hint" name="displayName".* value="Rémi Résident"/);
    expect(tagOf(account, "display-name")).not.toMatch(/aria-invalid/);

    const refused = await browser.submit(account, { displayName: " " }, /name="displayName"/);
    expect(refused.status).toBe(400);
    expect(html(refused)).toMatch(/<div class="error-summary" role="alert"[^>]*>[\s\S]*<a href="#display-name">Enter your name<\/a>/);
    expect(refused.body).toMatch(/<p class="field-error" id="display-name-error">Enter your name<\/p>/);
    expect(tagOf(refused, "display-name")).toMatch(/aria-describedby="display-name-hint display-name-error" aria-invalid="true"/);

    const saved = await browser.submit(account, { displayName: "Rémi R.", locale: "fr" }, /name="displayName"/);
    expect(saved.url).toBe(`${base}/paris/account?saved=1`);
    expect(htmlTag(saved)).toMatch(/lang="fr"/);
    expect(html(saved)).toContain('<div class="notice notice--success" role="status"><p>Vos modifications ont été enregistrées.</p></div>');
    // The header says the name the resident chose.
    expect(html(saved)).toContain("Connecté en tant que Rémi R.");
    const users = await withTenant(app?.cities.paris ?? "", (tx) => tx.user.findMany({ select: { displayName: true, locale: true } }));
    expect(users).toEqual([{ displayName: "Rémi R.", locale: "fr" }]);
  });
});
