// /admin/services: only a city's admins see and change its services; each lifecycle step is a
// form post with a clear answer, and a refused one (requirements, bad settings) changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
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
const VILLE = "http://localhost/ville/admin/services";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville", en: "Town" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] });
  autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const person = (realmRoles: string[] = [], city = { id: villeId, realm: "ville" }) =>
  signedInResident(fake, { ...city, basePath: `/${city.realm}`, url: VILLE }, { realmRoles });

async function post(cookie: string, fields: Record<string, string>) {
  return action(await loaderArgs(resolver, VILLE, { method: "POST", params: { city: "ville" }, headers: formHeaders(VILLE, cookie), body: await formBody(fields) }));
}

type Page = { title: string; services: { id: string; state: string; settings: { name: string; kind: string; value: unknown }[] }[] };
const page = async (cookie: string) => (await (await loader(await loaderArgs(resolver, VILLE, { params: { city: "ville" }, headers: { Cookie: cookie } }))).json()) as Page;
const board = (data: Page) => data.services.find((service) => service.id === "notice-board")!;

const installation = () =>
  withPlatformAdmin((tx) => tx.pluginInstallation.findUnique({ where: { tenantId_pluginId: { tenantId: villeId, pluginId: "notice-board" } } }));

describe("the services console", () => {
  it("sends a visitor to sign in and refuses a resident or staff member", async () => {
    const anonymous = await thrownResponse(loader(await loaderArgs(resolver, VILLE, { params: { city: "ville" } })));
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("Location")).toContain("/ville/auth/login");
    for (const roles of [[], ["city-staff"]]) {
      const { cookie } = await person(roles);
      expect((await thrownResponse(loader(await loaderArgs(resolver, VILLE, { params: { city: "ville" }, headers: { Cookie: cookie } })))).status).toBe(403);
      expect((await thrownResponse(post(cookie, { intent: "install", pluginId: "notice-board" }))).status).toBe(403);
    }
    expect(await installation()).toBeNull();
  });

  it("lists the catalogue, installs a service and shows its settings", async () => {
    const { cookie } = await person(["city-admin"]);
    const listed = await page(cookie);
    // The page's title names it and the city (its <title>: assistive technology reads it first).
    expect(listed.title).toBe("Services de la ville – Ville");
    expect(board(listed).state).toBe("available");
    expect(await (await post(cookie, { intent: "install", pluginId: "notice-board" })).json()).toEqual({ kind: "done", pluginId: "notice-board", step: "installed" });
    const installed = board(await page(cookie));
    expect(installed.state).toBe("enabled");
    expect(installed.settings).toEqual([
      { name: "heading", kind: "translated", value: {} },
      { name: "maxNotices", kind: "number", value: 10 },
    ]);
    const again = await post(cookie, { intent: "install", pluginId: "notice-board" });
    expect(again.status).toBe(409);
  });

  it("configures from the form, refusing bad values field by field without saving them", async () => {
    const { cookie } = await person(["city-admin"]);
    const saved = await post(cookie, { intent: "configure", pluginId: "notice-board", "setting.heading.fr": "Avis", "setting.maxNotices": "4" });
    expect(await saved.json()).toMatchObject({ kind: "done", step: "configured" });
    expect((await installation())?.settings).toEqual({ heading: { fr: "Avis" }, maxNotices: 4 });
    for (const [value, message] of [["lots", "must be a number"], ["99", "must be at most 50"]] as const) {
      const refused = await post(cookie, { intent: "configure", pluginId: "notice-board", "setting.maxNotices": value });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ kind: "invalid", fields: { maxNotices: message } });
    }
    expect((await installation())?.settings).toEqual({ heading: { fr: "Avis" }, maxNotices: 4 });
  });

  it("disables and enables, and uninstalls keeping data unless the purge is confirmed", async () => {
    const { cookie } = await person(["city-admin"]);
    await post(cookie, { intent: "disable", pluginId: "notice-board" });
    expect(board(await page(cookie)).state).toBe("disabled");
    await post(cookie, { intent: "enable", pluginId: "notice-board" });
    const unconfirmed = await post(cookie, { intent: "uninstall", pluginId: "notice-board", purge: "on", confirmPurge: "" });
    expect(await unconfirmed.json()).toMatchObject({ kind: "invalid", fields: { confirmPurge: expect.any(String) } });
    expect(await installation()).not.toBeNull();
    expect(await (await post(cookie, { intent: "uninstall", pluginId: "notice-board" })).json()).toMatchObject({ step: "uninstalled" });
    expect(await installation()).toBeNull();
  });

  it("never lets another city's admin in", async () => {
    const { cookie } = await person(["city-admin"], { id: autreId, realm: "autre" });
    // Autre's session is nobody at Ville: sent to sign in there.
    const answer = await thrownResponse(loader(await loaderArgs(resolver, VILLE, { params: { city: "ville" }, headers: { Cookie: cookie } })));
    expect([302, 403]).toContain(answer.status);
  });
});
