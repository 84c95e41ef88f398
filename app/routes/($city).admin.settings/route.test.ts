// The settings page: only the city's admins open it (others are sent to sign in, or refused, and
// another city's admin is nobody here); bad input is refused field by field and changes nothing;
// good input is saved and shows on the site; the logo is checked from its bytes and size, and
// served with its real type and nosniff.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin, withTenant } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver, forgetTenantLookups } from "~/tenancy/resolve.server";
import { TINY_PNG } from "../../../tests/support/factories";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import {
  formBody,
  formHeaders,
  insertCity,
  loaderArgs,
  multipartBody,
  multipartHeaders,
  signedInResident,
  thrownResponse,
  useFakeIdentity,
} from "../../../tests/support/web";
import { loader as logoLoader } from "../($city).branding.logo/route";
import { action, loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let autreId: string;
const resolver = createTenantResolver();
const URL_VILLE = "http://localhost/ville/admin/settings";
const atVille = { params: { city: "ville" } };

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({
    slug: "ville",
    names: { fr: "Ville", en: "Town" },
    defaultLocale: "fr",
    enabledLocales: ["fr", "en"],
    branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" },
  });
  autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const person = (realmRoles: string[] = [], city = { id: "", realm: "ville", basePath: "/ville", url: URL_VILLE }) =>
  signedInResident(fake, { ...city, id: city.id || villeId }, { realmRoles, locale: "en" });
const admin = () => person(["city-admin"]);

async function get(cookie: string, url = URL_VILLE) {
  return loader(await loaderArgs(resolver, url, { ...atVille, headers: { Cookie: cookie } }));
}

async function post(cookie: string, fields: Record<string, string | string[]>) {
  const body = await formBody({});
  for (const [name, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(name, item);
  return action(await loaderArgs(resolver, URL_VILLE, { method: "POST", ...atVille, headers: formHeaders(URL_VILLE, cookie), body }));
}

async function upload(cookie: string, file: File, options: { csrf?: boolean } = {}) {
  return action(
    await loaderArgs(resolver, URL_VILLE, { method: "POST", ...atVille, headers: multipartHeaders(URL_VILLE, cookie), body: await multipartBody({ logo: file }, options) }),
  );
}

const cityRow = () =>
  withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { id: villeId }, select: { names: true, enabledLocales: true, defaultLocale: true, timeZone: true, branding: true } }));

const valid = {
  intent: "settings",
  "name.fr": "Ville",
  "name.en": "Town",
  enabledLocales: ["fr", "en"],
  defaultLocale: "fr",
  timeZone: "Europe/Paris",
  primaryColor: "#1d3a6e",
  accentColor: "#c9a227",
};

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("who may open the settings", () => {
  it("sends a visitor who is not signed in to sign in, and back", async () => {
    const response = await thrownResponse(get(""));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/ville/auth/login?returnTo=%2Fville%2Fadmin%2Fsettings");
    expect((await thrownResponse(post("", valid))).status).toBe(302);
  });

  it("refuses a resident and a staff member (403), and saves nothing they post", async () => {
    for (const roles of [[], ["city-staff"]]) {
      const { cookie } = await person(roles);
      expect((await thrownResponse(get(cookie))).status).toBe(403);
      expect((await thrownResponse(post(cookie, { ...valid, "name.fr": "Pirate" }))).status).toBe(403);
    }
    expect((await cityRow()).names).toEqual({ fr: "Ville", en: "Town" });
  });

  it("knows another city's admin as nobody here", async () => {
    const { cookie } = await signedInResident(fake, { id: autreId, realm: "autre", basePath: "/autre", url: "http://localhost/autre/admin/settings" }, { realmRoles: ["city-admin"] });
    expect((await thrownResponse(get(cookie))).status).toBe(302);
    expect((await thrownResponse(post(cookie, { ...valid, "name.fr": "Pirate" }))).status).toBe(302);
    expect((await thrownResponse(upload(cookie, new File([TINY_PNG], "logo.png", { type: "image/png" })))).status).toBe(302);
    expect((await cityRow()).names).toEqual({ fr: "Ville", en: "Town" });
  });

  it("is no page of the platform", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://localhost/admin/settings")))).status).toBe(404);
  });

  it("shows an admin the city's settings and the time zones to choose from", async () => {
    const { cookie } = await admin();
    const response = await get(cookie);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const page = await bodyOf(response);
    expect(page.settings).toEqual({
      names: { fr: "Ville", en: "Town" },
      welcome: {},
      enabledLocales: ["fr", "en"],
      defaultLocale: "fr",
      timeZone: "Europe/Paris",
      primaryColor: "#1d3a6e",
      accentColor: "#c9a227",
      logoUrl: null,
    });
    expect(page.timeZones).toEqual(expect.arrayContaining(["Europe/Budapest", "America/New_York", "UTC"]));
    expect(page.title).toBe("Settings and branding – Town");
  });
});

describe("saving the settings", () => {
  it("refuses a form without its CSRF token", async () => {
    const { cookie } = await admin();
    const body = new URLSearchParams({ ...valid, enabledLocales: "fr" });
    const forged = action(await loaderArgs(resolver, URL_VILLE, { method: "POST", ...atVille, headers: formHeaders(URL_VILLE, cookie), body }));
    expect((await thrownResponse(forged)).status).toBe(403);
  });

  it("refuses bad input field by field, keeps what was typed, and changes nothing", async () => {
    const { cookie } = await admin();
    const before = await cityRow();
    const cases: [Record<string, string | string[]>, Record<string, string>][] = [
      [{ ...valid, "name.fr": "" }, { "name-fr": "admin:settings.errors.nameMissing" }],
      [{ ...valid, "name.en": "x".repeat(101) }, { "name-en": "admin:settings.errors.nameTooLong" }],
      [{ ...valid, enabledLocales: [] }, { locales: "admin:settings.errors.localesEmpty" }],
      [{ ...valid, defaultLocale: "de" }, { "default-locale": "admin:settings.errors.defaultNotEnabled" }],
      [{ ...valid, timeZone: "Mars/Olympus" }, { "time-zone": "admin:settings.errors.timeZone" }],
      [{ ...valid, primaryColor: "blue", accentColor: "#12345" }, { "primary-color": "admin:settings.errors.colour", "accent-color": "admin:settings.errors.colour" }],
    ];
    for (const [fields, errors] of cases) {
      const response = await post(cookie, fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      const body = await bodyOf(response);
      expect(Object.fromEntries(Object.entries(body.errors as Record<string, { key: string }>).map(([field, error]) => [field, error.key]))).toEqual(errors);
      expect(body.values.timeZone).toBe(fields.timeZone);
    }
    expect(await cityRow()).toEqual(before);
  });

  it("shows the contrast check as the main colour's error, with the ratio", async () => {
    const { cookie } = await admin();
    const response = await post(cookie, { ...valid, primaryColor: "#ffcc00" });
    expect(response.status).toBe(400);
    const body = await bodyOf(response);
    expect(body.errors["primary-color"]).toEqual({ key: "admin:settings.errors.contrast", params: { ratio: "1.51:1", min: "4.5:1" } });
    expect(((await cityRow()).branding as { primaryColor: string }).primaryColor).toBe("#1d3a6e");
  });

  it("saves names, languages, default, time zone and colours, audited, and the site follows", async () => {
    const { cookie } = await admin();
    const response = await post(cookie, {
      ...valid,
      "name.en": "Town",
      "name.de": "Stadt",
      enabledLocales: ["fr", "en", "de"],
      defaultLocale: "en",
      timeZone: "Europe/Budapest",
      primaryColor: "#0B3D2E",
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/ville/admin/settings?saved=settings");
    expect(await cityRow()).toEqual({
      names: { fr: "Ville", en: "Town", de: "Stadt" },
      enabledLocales: ["fr", "en", "de"],
      defaultLocale: "en",
      timeZone: "Europe/Budapest",
      branding: { primaryColor: "#0b3d2e", accentColor: "#c9a227" },
    });
    const audit = await withTenant(villeId, (tx) => tx.auditEvent.findMany({ where: { action: "city.settings_updated" }, select: { after: true } }));
    expect(audit.at(-1)?.after).toMatchObject({ defaultLocale: "en", timeZone: "Europe/Budapest" });
    // The tenant resolver forgot the old settings: the next page has the new ones.
    const page = await bodyOf(await get(cookie, `${URL_VILLE}?saved=settings`));
    expect(page).toMatchObject({ notice: "settings", settings: { enabledLocales: ["fr", "en", "de"], primaryColor: "#0b3d2e" } });
    // Saving the same again changes nothing and says so.
    const again = await post(cookie, { ...valid, "name.de": "Stadt", enabledLocales: ["fr", "en", "de"], defaultLocale: "en", timeZone: "Europe/Budapest", primaryColor: "#0b3d2e" });
    expect(again.headers.get("Location")).toBe("/ville/admin/settings?saved=unchanged");
  });
});

describe("the welcome text", () => {
  it("saves one per language the city offers, and refuses one too long without saving anything", async () => {
    const { cookie } = await admin();
    const current = await bodyOf(await get(cookie));
    const form = {
      ...valid,
      ...Object.fromEntries(Object.entries(current.settings.names as Record<string, string>).map(([locale, name]) => [`name.${locale}`, name])),
      enabledLocales: current.settings.enabledLocales as string[],
      defaultLocale: current.settings.defaultLocale as string,
      timeZone: current.settings.timeZone as string,
      primaryColor: current.settings.primaryColor as string,
    };
    const tooLong = await post(cookie, { ...form, [`welcome.${form.defaultLocale}`]: "x".repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ errors: { [`welcome-${form.defaultLocale}`]: { key: "admin:settings.errors.welcomeTooLong" } } });
    expect(await withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { id: villeId }, select: { welcome: true } }))).toEqual({ welcome: {} });

    const saved = await post(cookie, { ...form, [`welcome.${form.defaultLocale}`]: "Bienvenue !\nLe portail de la ville." });
    expect(saved.status).toBe(303);
    expect((await bodyOf(await get(cookie))).settings.welcome).toEqual({ [form.defaultLocale]: "Bienvenue !\nLe portail de la ville." });
  });
});

describe("the logo", () => {
  const png = () => new File([TINY_PNG], "logo.png", { type: "image/png" });

  it("refuses an upload without its CSRF token", async () => {
    const { cookie } = await admin();
    expect((await thrownResponse(upload(cookie, png(), { csrf: false }))).status).toBe(403);
  });

  it("refuses files too large, of another type, or of a type they only claim, and keeps nothing", async () => {
    const { cookie } = await admin();
    const svg = new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], "logo.svg", { type: "image/svg+xml" });
    const spoofed = new File(["<html><script>alert(1)</script></html>"], "logo.png", { type: "image/png" });
    const large = new File([TINY_PNG, new Uint8Array(512 * 1024)], "big.png", { type: "image/png" });
    const empty = new File([], "none.png", { type: "image/png" });
    const cases: [File, string][] = [
      [large, "admin:settings.logo.errors.tooLarge"],
      [svg, "admin:settings.logo.errors.unsupportedType"],
      [spoofed, "admin:settings.logo.errors.unsupportedType"],
      [empty, "admin:settings.logo.errors.empty"],
    ];
    for (const [file, key] of cases) {
      const response = await upload(cookie, file);
      expect(response.status, file.name).toBe(400);
      expect((await bodyOf(response)).errors.logo.key, file.name).toBe(key);
    }
    expect(await withTenant(villeId, (tx) => tx.cityLogo.count())).toBe(0);
    expect(((await cityRow()).branding as { logoUrl?: string }).logoUrl).toBeUndefined();
  });

  it("stores a PNG, points the branding at it, and the site serves it with its type, nosniff and caching", async () => {
    const { cookie } = await admin();
    const response = await upload(cookie, png());
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/ville/admin/settings?saved=logo");
    const logoUrl = ((await cityRow()).branding as { logoUrl: string }).logoUrl;
    expect(logoUrl).toMatch(/^\/ville\/branding\/logo\?v=[0-9a-f]{16}$/);

    forgetTenantLookups();
    const served = await logoLoader(await loaderArgs(resolver, `http://localhost${logoUrl}`, atVille));
    expect(served.status).toBe(200);
    expect(served.headers.get("Content-Type")).toBe("image/png");
    expect(served.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(served.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(Buffer.from(await served.arrayBuffer())).toEqual(TINY_PNG);
    const bare = await logoLoader(await loaderArgs(resolver, "http://ville.localhost/branding/logo"));
    expect(bare.headers.get("Cache-Control")).toBe("public, max-age=300");
    // Another city has no logo: its address for one is a 404, never Ville's image.
    expect((await thrownResponse(logoLoader(await loaderArgs(resolver, "http://localhost/autre/branding/logo", { params: { city: "autre" } })))).status).toBe(404);

    // Removed: the branding has no logo and the image is gone.
    const removed = await post(cookie, { intent: "removeLogo" });
    expect(removed.headers.get("Location")).toBe("/ville/admin/settings?saved=logoRemoved");
    expect(((await cityRow()).branding as { logoUrl?: string }).logoUrl).toBeUndefined();
    expect((await thrownResponse(logoLoader(await loaderArgs(resolver, `http://localhost${logoUrl}`, atVille)))).status).toBe(404);
  });
});
