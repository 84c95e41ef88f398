// The language switcher: the choice is remembered by the browser (the lng cookie) and, for a
// signed-in resident, on their profile; it decides the language of the next pages, before
// Accept-Language and the city's default, and always within the city's languages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTenant } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { languageCookie } from "~/i18n/i18n.server";
import { loader as rootLoader } from "~/root";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
const resolver = createTenantResolver();

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville", ar: "المدينة" }, defaultLocale: "fr", enabledLocales: ["fr", "en", "ar"] });
  await insertCity({ slug: "closed", names: { en: "Closedtown" }, defaultLocale: "en", enabledLocales: ["en", "fr"], status: "suspended" });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

async function switchTo(url: string, fields: Record<string, string>, options: { cookie?: string; params?: Record<string, string> } = {}) {
  return action(
    await loaderArgs(resolver, url, {
      method: "POST",
      params: options.params,
      headers: formHeaders(url, options.cookie),
      body: await formBody(fields),
    }),
  );
}

/** The lng cookie an answer sets, as the browser sends it back ("lng=..."). */
const sentBack = (response: Response) => response.headers.get("Set-Cookie")?.split(";")[0] ?? "";

describe("switching languages", () => {
  it("remembers the choice for a year and returns to the page, in that language and direction", async () => {
    const response = await switchTo("http://ville.localhost/language", { lng: "ar", returnTo: "/accessibility?x=1" });
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/accessibility?x=1");
    const setCookie = response.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/Max-Age=31536000/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(await languageCookie.parse(sentBack(response))).toBe("ar");

    const site = await rootLoader(await loaderArgs(resolver, "http://ville.localhost/", { headers: { Cookie: sentBack(response), "Accept-Language": "en" } }));
    expect(site).toMatchObject({ locale: "ar", dir: "rtl", name: "المدينة" });
  });

  it("works at /{slug} on the platform host and for the platform's own pages", async () => {
    const byPath = await switchTo("http://localhost/ville/language", { lng: "en", returnTo: "/ville/account" }, { params: { city: "ville" } });
    expect(byPath.headers.get("Location")).toBe("/ville/account");
    // The platform offers every shipped language.
    const platform = await switchTo("http://localhost/language", { lng: "zh", returnTo: "/" });
    expect(platform.status).toBe(303);
    const site = await rootLoader(await loaderArgs(resolver, "http://localhost/", { headers: { Cookie: sentBack(platform) } }));
    expect(site).toMatchObject({ locale: "zh", dir: "ltr", name: "Civitas" });
  });

  it("never returns to another site", async () => {
    for (const returnTo of ["https://evil.example/", "//evil.example", "/\\evil.example", ""]) {
      const response = await switchTo("http://localhost/ville/language", { lng: "fr", returnTo }, { params: { city: "ville" } });
      expect(response.headers.get("Location"), returnTo).toBe("/ville");
    }
  });

  it("refuses a language the city does not offer, and a form without its CSRF token", async () => {
    for (const lng of ["de", "xx", ""]) {
      const response = await thrownResponse(switchTo("http://ville.localhost/language", { lng, returnTo: "/" }));
      expect(response.status, lng).toBe(400);
    }
    const url = "http://ville.localhost/language";
    const forged = await thrownResponse(
      action(await loaderArgs(resolver, url, { method: "POST", headers: formHeaders(url), body: new URLSearchParams({ lng: "ar" }) })),
    );
    expect(forged.status).toBe(403);
  });

  it("answers 404 for an unknown city and 503 for a suspended one", async () => {
    expect((await thrownResponse(switchTo("http://atlantis.localhost/language", { lng: "en" }))).status).toBe(404);
    expect((await thrownResponse(switchTo("http://closed.localhost/language", { lng: "fr" }))).status).toBe(503);
  });

  it("saves the choice on a signed-in resident's profile, which then wins on any browser", async () => {
    const city = { id: villeId, realm: "ville", basePath: "", url: "http://ville.localhost/" };
    const { userId, cookie } = await signedInResident(fake, city, { name: "Amira" });
    const response = await switchTo("http://ville.localhost/language", { lng: "ar", returnTo: "/" }, { cookie });
    expect(response.status).toBe(303);
    const user = await withTenant(villeId, (tx) => tx.user.findFirstOrThrow({ where: { id: userId }, select: { locale: true } }));
    expect(user.locale).toBe("ar");
    const audit = await withTenant(villeId, (tx) => tx.auditEvent.findFirst({ where: { subjectId: userId, action: "user.profile_updated" }, select: { after: true } }));
    expect(audit?.after).toEqual({ locale: "ar" });

    // Another browser: another cookie, another Accept-Language; the profile decides.
    const elsewhere = await rootLoader(
      await loaderArgs(resolver, "http://ville.localhost/", {
        headers: { Cookie: [cookie, await languageCookie.serialize("en")].join("; "), "Accept-Language": "fr" },
      }),
    );
    expect(elsewhere).toMatchObject({ locale: "ar", dir: "rtl" });
  });
});

describe("the language of a page", () => {
  const rootAt = async (headers: Record<string, string>) => (await rootLoader(await loaderArgs(resolver, "http://ville.localhost/", { headers }))).locale;

  it("is the browser's remembered choice, else Accept-Language, else the city's default", async () => {
    expect(await rootAt({ Cookie: await languageCookie.serialize("en"), "Accept-Language": "ar" })).toBe("en");
    expect(await rootAt({ "Accept-Language": "de, ar;q=0.8" })).toBe("ar");
    expect(await rootAt({ "Accept-Language": "de" })).toBe("fr");
    expect(await rootAt({})).toBe("fr");
  });

  it("stays within the city's languages whatever the cookie says", async () => {
    expect(await rootAt({ Cookie: await languageCookie.serialize("de"), "Accept-Language": "en" })).toBe("en");
    expect(await rootAt({ Cookie: "lng=garbage%%", "Accept-Language": "ar" })).toBe("ar");
  });
});
