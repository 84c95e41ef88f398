// "My account": only for a resident signed in at this city (others are sent to sign in, with a
// way back); the profile form saves name and language, refuses bad input field by field with
// translated messages, and a session of one city is nobody at another.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin, withTenant } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { languageCookie } from "~/i18n/i18n.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action, loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let autreId: string;
const resolver = createTenantResolver();
const VILLE = "http://localhost/ville/account";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville", en: "Town" }, defaultLocale: "fr", enabledLocales: ["fr", "en", "ar"] });
  autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const atVille = { params: { city: "ville" } };
const resident = (token: Parameters<FakeIdentity["accessToken"]>[1] = {}) =>
  signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: VILLE }, token);

async function post(cookie: string, fields: Record<string, string>, url = VILLE, params = atVille.params) {
  return action(await loaderArgs(resolver, url, { method: "POST", params, headers: formHeaders(url, cookie), body: await formBody(fields) }));
}

const profileOf = (userId: string) =>
  withTenant(villeId, (tx) => tx.user.findFirstOrThrow({ where: { id: userId }, select: { displayName: true, locale: true } }));

describe("my account", () => {
  it("sends a visitor who is not signed in to sign in, and back here afterwards", async () => {
    const response = await thrownResponse(loader(await loaderArgs(resolver, VILLE, atVille)));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/ville/auth/login?returnTo=%2Fville%2Faccount");
    const onHost = await thrownResponse(loader(await loaderArgs(resolver, "http://ville.localhost/account")));
    expect(onHost.headers.get("Location")).toBe("/auth/login?returnTo=%2Faccount");
    // A form posted without a session is not saved either.
    expect((await thrownResponse(post("", { displayName: "X", locale: "" }))).status).toBe(302);
  });

  it("is not a page of the platform", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://localhost/account")))).status).toBe(404);
  });

  it("shows a signed-in resident their profile, in their language", async () => {
    const { cookie } = await resident({ name: "Camille", email: "camille@ville.test", locale: "en" });
    const response = await loader(await loaderArgs(resolver, VILLE, { ...atVille, headers: { Cookie: cookie } }));
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({
      title: "My account – Town",
      cityName: "Town",
      profile: { displayName: "Camille", email: "camille@ville.test", locale: "en" },
      languages: ["fr", "en", "ar"],
      maxDisplayName: 100,
      saved: false,
      // The city runs no service yet: nothing of theirs to show.
      sections: [],
    });
  });

  it("shows the resident's own reports when the city runs reporting: filed, and followed", async () => {
    const { userId, cookie } = await resident({ name: "Camille" });
    await withPlatformAdmin(async (tx) => {
      await tx.pluginInstallation.create({ data: { tenantId: villeId, pluginId: "reporting", version: "1.0.0", settings: {} } });
      const categoryId = randomUUID();
      await tx.reportingCategory.create({ data: { tenantId: villeId, id: categoryId, code: "pothole", names: { fr: "Nid-de-poule", en: "Pothole" } } });
      const mine = { tenantId: villeId, categoryId, description: "x", address: "1 rue Haute", source: "portal", locale: "en" };
      await tx.reportingRequest.create({ data: { ...mine, id: randomUUID(), trackingId: "AAAA-1111", reporterUserId: userId, createdAt: new Date("2026-11-02T10:00:00Z") } });
      const followed = randomUUID();
      await tx.reportingRequest.create({ data: { ...mine, id: followed, trackingId: "BBBB-2222", createdAt: new Date("2026-11-03T10:00:00Z") } });
      await tx.reportingFollower.create({ data: { tenantId: villeId, id: randomUUID(), requestId: followed, userId } });
      // Someone else's report is not theirs.
      await tx.reportingRequest.create({ data: { ...mine, id: randomUUID(), trackingId: "CCCC-3333" } });
    });
    const page = (await (await loader(await loaderArgs(resolver, VILLE, { ...atVille, headers: { Cookie: cookie, "Accept-Language": "en" } }))).json()) as unknown as {
      sections: { title: string; items: { label: string; detail: string; href: string }[] }[];
    };
    expect(page.sections).toHaveLength(1);
    expect(page.sections[0]!.items.map((item) => item.href)).toEqual(["/ville/services/reporting/requests/BBBB-2222", "/ville/services/reporting/requests/AAAA-1111"]);
    expect(page.sections[0]!.items[1]!.label).toContain("AAAA-1111");
  });

  it("saves name and language, and the browser remembers the language", async () => {
    const { userId, cookie } = await resident({ name: "Camille" });
    const response = await post(cookie, { displayName: "  Camille B.  ", locale: "ar" });
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/ville/account?saved=1");
    expect(await languageCookie.parse(response.headers.get("Set-Cookie"))).toBe("ar");
    expect(await profileOf(userId)).toEqual({ displayName: "Camille B.", locale: "ar" });

    const page = await loader(await loaderArgs(resolver, `${VILLE}?saved=1`, { ...atVille, headers: { Cookie: cookie } }));
    expect(await page.json()).toMatchObject({ title: "حسابي – Ville", saved: true, profile: { displayName: "Camille B.", locale: "ar" } });
  });

  it("goes back to the browser's language with 'automatic', forgetting the remembered one", async () => {
    const { userId, cookie } = await resident({ locale: "fr" });
    const response = await post(cookie, { displayName: "Dominique", locale: "" });
    expect(response.status).toBe(303);
    expect(response.headers.get("Set-Cookie")).toMatch(/^lng=; .*Max-Age=0/);
    expect(await profileOf(userId)).toEqual({ displayName: "Dominique", locale: null });
  });

  it("refuses bad input field by field, with the messages' keys and what was typed", async () => {
    const { userId, cookie } = await resident({ name: "Eva" });
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ displayName: "   ", locale: "fr" }, { displayName: "account:errors.displayNameMissing" }],
      [{ displayName: "x".repeat(101), locale: "fr" }, { displayName: "account:errors.displayNameTooLong" }],
      [{ displayName: "Eva", locale: "de" }, { locale: "account:errors.languageUnavailable" }],
      [{ locale: "zz" }, { displayName: "account:errors.displayNameMissing", locale: "account:errors.languageUnavailable" }],
    ];
    for (const [fields, errors] of cases) {
      const response = await post(cookie, fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      const body = await response.json();
      expect(body.errors).toEqual(errors);
      expect(body.values.locale).toBe(fields.locale);
    }
    expect(await profileOf(userId)).toMatchObject({ displayName: "Eva" });
  });

  it("refuses a form without its CSRF token", async () => {
    const { cookie } = await resident();
    const forged = action(
      await loaderArgs(resolver, VILLE, { method: "POST", ...atVille, headers: formHeaders(VILLE, cookie), body: new URLSearchParams({ displayName: "X" }) }),
    );
    expect((await thrownResponse(forged)).status).toBe(403);
  });

  it("knows nobody signed in at another city: a session of Ville is no one at Autre", async () => {
    const { cookie } = await resident({ name: "Fatima" });
    const url = "http://localhost/autre/account";
    // Even sent to Autre's path (a browser would not), the session of Ville signs nobody in there.
    const response = await thrownResponse(loader(await loaderArgs(resolver, url, { params: { city: "autre" }, headers: { Cookie: cookie } })));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/autre/auth/login?returnTo=%2Fautre%2Faccount");
    const posted = await thrownResponse(post(cookie, { displayName: "Intruder", locale: "" }, url, { city: "autre" }));
    expect(posted.status).toBe(302);
    const users = await withTenant(autreId, (tx) => tx.user.count({ where: { displayName: "Intruder" } }));
    expect(users).toBe(0);
  });
});
