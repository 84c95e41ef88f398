// The legal and accessibility statement: a city's (in the resident's language, named after the
// city) and the platform's; like every city page, 404 for an unknown city and 503 when suspended.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translator } from "~/i18n/i18n.server";
import { SUPPORTED_LOCALES } from "~/i18n/locales";
import { createTenantResolver } from "~/tenancy/resolve.server";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, thrownResponse } from "../../../tests/support/web";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
const resolver = createTenantResolver();

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  await insertCity({ slug: "ville", names: { fr: "Ville-sur-Mer", ar: "مدينة البحر" }, defaultLocale: "fr", enabledLocales: ["fr", "ar"] });
  await insertCity({ slug: "closed", names: { en: "Closedtown" }, defaultLocale: "en", enabledLocales: ["en"], status: "suspended" });
});

afterAll(async () => {
  await processDatabase?.release();
});

describe("the legal and accessibility statement", () => {
  it("is the city's, in the visitor's language among the city's", async () => {
    const french = await loader(await loaderArgs(resolver, "http://ville.localhost/accessibility"));
    expect(french).toEqual({ title: "Accessibilité et mentions légales – Ville-sur-Mer", siteName: "Ville-sur-Mer" });
    const arabic = await loader(await loaderArgs(resolver, "http://localhost/ville/accessibility", { params: { city: "ville" }, headers: { "Accept-Language": "ar" } }));
    expect(arabic).toEqual({ title: "إمكانية الوصول والمعلومات القانونية – مدينة البحر", siteName: "مدينة البحر" });
  });

  it("is the platform's on the platform host", async () => {
    const page = await loader(await loaderArgs(resolver, "http://localhost/accessibility", { headers: { "Accept-Language": "de" } }));
    expect(page).toEqual({ title: "Barrierefreiheit und Impressum – Civitas", siteName: "Civitas" });
  });

  it("answers 404 for an unknown city and 503 for a suspended one", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://atlantis.localhost/accessibility")))).status).toBe(404);
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://closed.localhost/accessibility")))).status).toBe(503);
  });

  it("states the WCAG 2.1 AA status and names the site, in every language", () => {
    for (const locale of SUPPORTED_LOCALES) {
      const t = translator(locale, "legal");
      expect(t("accessibility.status"), locale).toMatch(/WCAG\)? 2\.1.*AA|AA.*WCAG\)? 2\.1/);
      expect(t("accessibility.commitment", { site: "Ville-sur-Mer" }), locale).toContain("Ville-sur-Mer");
    }
  });
});
