// The home pages through their loaders, with the context the server builds: a city's home in
// its default language (host and path mode), the platform's list of cities, and the 404 and
// 503 answers for unknown, conflicting and suspended cities.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loader as rootLoader } from "~/root";
import { withPlatformAdmin } from "~/db/database.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, thrownResponse } from "../../../tests/support/web";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
const resolver = createTenantResolver({ domain: "civitas.test" });

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  await insertCity({
    slug: "ville",
    names: { fr: "Ville-sur-Mer", en: "Seaside", ar: "مدينة البحر" },
    defaultLocale: "fr",
    enabledLocales: ["fr", "en", "ar"],
    branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" },
    domains: ["portail.ville.example"],
  });
  await insertCity({ slug: "medina", names: { ar: "المدينة", en: "Medina" }, defaultLocale: "ar", enabledLocales: ["ar", "en"] });
  await insertCity({ slug: "solo", names: { hu: "Egyedül" }, defaultLocale: "hu", enabledLocales: ["hu"] });
  await insertCity({ slug: "closed", names: { en: "Closedtown" }, defaultLocale: "en", enabledLocales: ["en"], status: "suspended" });
});

afterAll(async () => {
  await processDatabase?.release();
});

describe("a city's home", () => {
  it("answers on the city host in the city's default language, with its name", async () => {
    const page = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/"));
    expect(page).toEqual({
      kind: "city",
      title: "Bienvenue à Ville-sur-Mer",
      city: { slug: "ville", name: "Ville-sur-Mer", nameLocale: "fr" },
      languages: [
        { locale: "fr", name: "Français" },
        { locale: "en", name: "English" },
        { locale: "ar", name: "العربية" },
      ],
      // No welcome text written: the standard one shows. Nothing installed yet: the page says so.
      welcome: null,
      services: [],
    });
  });

  it("shows the city's own welcome text in the visitor's language, or the nearest one it wrote", async () => {
    await withPlatformAdmin((tx) => tx.city.update({ where: { slug: "ville" }, data: { welcome: { fr: "Bienvenue sur le portail de la Ville.", en: "Welcome to Seaside's portal." } } }));
    try {
      const french = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/"));
      expect(french.kind === "city" && french.welcome).toEqual({ text: "Bienvenue sur le portail de la Ville.", locale: "fr" });
      const english = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/", { headers: { "Accept-Language": "en" } }));
      expect(english.kind === "city" && english.welcome).toEqual({ text: "Welcome to Seaside's portal.", locale: "en" });
      // Arabic is offered but has no text: the city's default language's stands in.
      const arabic = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/", { headers: { "Accept-Language": "ar" } }));
      expect(arabic.kind === "city" && arabic.welcome).toEqual({ text: "Bienvenue sur le portail de la Ville.", locale: "fr" });
    } finally {
      await withPlatformAdmin((tx) => tx.city.update({ where: { slug: "ville" }, data: { welcome: {} } }));
    }
  });

  it("lists the services the city has enabled, in the page's language, linking to their pages", async () => {
    const ville = await withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { slug: "ville" }, select: { id: true } }));
    const install = (enabled: boolean) =>
      withPlatformAdmin((tx) =>
        tx.pluginInstallation.upsert({
          where: { tenantId_pluginId: { tenantId: ville.id, pluginId: "notice-board" } },
          create: { tenantId: ville.id, pluginId: "notice-board", version: "1.1.0", enabled, settings: { heading: {}, maxNotices: 5 } },
          update: { enabled },
        }),
      );
    await install(true);
    const page = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/"));
    expect(page.kind === "city" && page.services).toEqual([
      { id: "notice-board", name: "Panneau d'affichage", description: expect.stringContaining("avis"), href: "/services/notice-board" },
    ]);
    // A disabled service is not offered.
    await install(false);
    const later = await loader(await loaderArgs(resolver, "http://ville.localhost:3000/"));
    expect(later.kind === "city" && later.services).toEqual([]);
  });

  it("answers the same at /{slug} on the platform host and on the city's own domain", async () => {
    const byPath = await loader(await loaderArgs(resolver, "http://localhost:3000/ville", { params: { city: "ville" } }));
    const byDomain = await loader(await loaderArgs(resolver, "https://portail.ville.example/"));
    expect(byPath).toMatchObject({ kind: "city", city: { slug: "ville", name: "Ville-sur-Mer" } });
    expect(byDomain).toEqual(byPath);
  });

  it("frames the page with the city's language, direction, colours and home link", async () => {
    const byHost = await rootLoader(await loaderArgs(resolver, "http://ville.civitas.test/"));
    expect(byHost).toMatchObject({
      locale: "fr",
      dir: "ltr",
      name: "Ville-sur-Mer",
      homeHref: "/",
      citySlug: "ville",
      branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227", onPrimaryColor: "#ffffff" },
    });
    expect(byHost).toMatchObject({
      languages: ["fr", "en", "ar"],
      languageAction: "/language",
      statementHref: "/accessibility",
      errorTitles: { missing: "Page introuvable" },
    });

    const byPath = await rootLoader(await loaderArgs(resolver, "http://localhost/ville", { params: { city: "ville" } }));
    expect(byPath).toMatchObject({ homeHref: "/ville", languageAction: "/ville/language", statementHref: "/ville/accessibility" });
  });

  it("is right-to-left for a city whose default language is Arabic", async () => {
    const site = await rootLoader(await loaderArgs(resolver, "http://medina.localhost/"));
    expect(site).toMatchObject({ locale: "ar", dir: "rtl", name: "المدينة" });
    const page = await loader(await loaderArgs(resolver, "http://medina.localhost/"));
    expect(page).toMatchObject({ title: "مرحبًا بكم في المدينة" });
  });
});

describe("the platform host", () => {
  it("lists the active cities with links, in the visitor's language, suspended ones left out", async () => {
    const page = await loader(await loaderArgs(resolver, "http://localhost:3000/", { headers: { "Accept-Language": "en-GB,en;q=0.9" } }));
    expect(page).toEqual({
      kind: "platform",
      title: "Partner cities – Civitas",
      cities: [
        { slug: "medina", name: "Medina", nameLocale: "en", href: "/medina" },
        // No English name: the city's default language is next in the chain.
        { slug: "solo", name: "Egyedül", nameLocale: "hu", href: "/solo" },
        { slug: "ville", name: "Seaside", nameLocale: "en", href: "/ville" },
      ],
    });
  });

  it("speaks the visitor's language when Civitas ships it", async () => {
    const args = await loaderArgs(resolver, "http://localhost/", { headers: { "Accept-Language": "de-AT, fr;q=0.5" } });
    expect(await loader(args)).toMatchObject({ title: "Partnerstädte – Civitas" });
    expect(await rootLoader(args)).toMatchObject({ locale: "de", dir: "ltr", name: "Civitas", homeHref: "/" });
  });
});

describe("not found", () => {
  it("answers 404 for an unknown city, by path and by host", async () => {
    const byPath = await thrownResponse(loader(await loaderArgs(resolver, "http://localhost/atlantis", { params: { city: "atlantis" } })));
    expect(byPath.status).toBe(404);
    const byHost = await thrownResponse(loader(await loaderArgs(resolver, "http://atlantis.localhost/")));
    expect(byHost.status).toBe(404);
    const byDomain = await thrownResponse(loader(await loaderArgs(resolver, "https://www.atlantis.example/")));
    expect(byDomain.status).toBe(404);
  });

  it("answers 404 when the path names another city than the host", async () => {
    const response = await thrownResponse(loader(await loaderArgs(resolver, "http://ville.localhost/medina", { params: { city: "medina" } })));
    expect(response.status).toBe(404);
  });

  it("answers 404 for a first segment that is not a city on the platform host", async () => {
    for (const segment of ["favicon.ico", "graphql", "Ville"]) {
      const response = await thrownResponse(loader(await loaderArgs(resolver, `http://localhost/${segment}`, { params: { city: segment } })));
      expect(response.status, segment).toBe(404);
    }
  });

  it("keeps the frame of the platform for an unknown city", async () => {
    const site = await rootLoader(await loaderArgs(resolver, "http://atlantis.localhost/", { headers: { "Accept-Language": "fr" } }));
    expect(site).toMatchObject({ locale: "fr", name: "Civitas", citySlug: null, homeHref: "/" });
  });
});

describe("a suspended city", () => {
  it("answers 503 'temporarily unavailable', by host and by path, in the city's frame", async () => {
    for (const [url, params] of [
      ["http://closed.localhost/", {}],
      ["http://localhost/closed", { city: "closed" }],
    ] as const) {
      const args = await loaderArgs(resolver, url, { params });
      const response = await thrownResponse(loader(args));
      expect(response.status, url).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("3600");
      expect(await rootLoader(args)).toMatchObject({ name: "Closedtown", citySlug: "closed" });
    }
  });
});
