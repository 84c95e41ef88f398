// The notice board page: current notices for everyone at a city that runs the board, posting and
// withdrawing for its staff only, not found where the board is not enabled, and one city's
// notices never on another's board.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin, withTenant } from "../../../app/db/database.server";
import { setIdentity } from "../../../app/identity/identity.server";
import { createTenantResolver } from "../../../app/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action, loader } from "./index";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let autreId: string;
const resolver = createTenantResolver();
const VILLE = "http://localhost/ville/services/notice-board";
const AUTRE = "http://localhost/autre/services/notice-board";

const install = (tenantId: string, enabled = true) =>
  withPlatformAdmin((tx) =>
    tx.pluginInstallation.upsert({
      where: { tenantId_pluginId: { tenantId, pluginId: "notice-board" } },
      create: { tenantId, pluginId: "notice-board", version: "1.1.0", enabled, settings: { heading: { fr: "Avis aux habitants" }, maxNotices: 2 } },
      update: { enabled },
    }),
  );

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville", en: "Town" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] });
  autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  await install(villeId);
  await install(autreId);
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const person = (realmRoles: string[] = []) =>
  signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: VILLE }, { realmRoles });

async function post(cookie: string, fields: Record<string, string>) {
  const args = await loaderArgs(resolver, VILLE, { method: "POST", params: { city: "ville" }, headers: formHeaders(VILLE, cookie), body: await formBody(fields) });
  return action(args);
}

const read = async (url = VILLE, city = "ville", cookie = "") =>
  (await (await loader(await loaderArgs(resolver, url, { params: { city }, headers: cookie ? { Cookie: cookie } : {} }))).json()) as {
    heading: Record<string, string>;
    canPublish: boolean;
    notices: { id: string; title: Record<string, string> }[];
  };

describe("the notice board page", () => {
  it("shows the city's heading and an empty board to anyone, without the posting form", async () => {
    const page = await read();
    expect(page).toMatchObject({ heading: { fr: "Avis aux habitants" }, canPublish: false, notices: [] });
  });

  it("lets staff post in the city's languages, newest first, as many as the settings show", async () => {
    const { cookie } = await person(["city-staff"]);
    expect((await read(VILLE, "ville", cookie)).canPublish).toBe(true);
    for (const title of ["Travaux rue Haute", "Marché de Noël", "Fermeture de la piscine"]) {
      const answer = await post(cookie, { intent: "post", "title.fr": title, "title.en": `${title} (en)` });
      expect(await answer.json()).toEqual({ kind: "posted" });
    }
    const page = await read();
    expect(page.notices.map((notice) => notice.title.fr)).toEqual(["Fermeture de la piscine", "Marché de Noël"]);
    expect(page.notices[0]?.title.en).toBe("Fermeture de la piscine (en)");
  });

  it("refuses a notice without a title, or ending in the past, field by field", async () => {
    const { cookie } = await person(["city-staff"]);
    const untitled = await post(cookie, { intent: "post", "body.fr": "Sans titre" });
    expect(untitled.status).toBe(400);
    expect(await untitled.json()).toMatchObject({ kind: "invalid", fields: { title: expect.any(String) }, values: { "body.fr": "Sans titre" } });
    const past = await post(cookie, { intent: "post", "title.fr": "Hier", expiresAt: "2020-01-01" });
    expect(await past.json()).toMatchObject({ kind: "invalid", fields: { expiresAt: "must be in the future" } });
  });

  it("does not let a resident post or withdraw", async () => {
    const { cookie } = await person();
    expect((await thrownResponse(post(cookie, { intent: "post", "title.fr": "Pirate" }))).status).toBe(403);
    const [first] = (await read()).notices;
    expect((await thrownResponse(post(cookie, { intent: "withdraw", id: first!.id }))).status).toBe(403);
    expect((await read()).notices.map((notice) => notice.title.fr)).not.toContain("Pirate");
  });

  it("lets staff withdraw a notice; another city's board never shows it", async () => {
    const { cookie } = await person(["city-staff"]);
    const [first] = (await read()).notices;
    expect(await (await post(cookie, { intent: "withdraw", id: first!.id })).json()).toEqual({ kind: "withdrawn" });
    expect((await read()).notices.map((notice) => notice.id)).not.toContain(first!.id);
    expect((await read(AUTRE, "autre")).notices).toEqual([]);
    // Withdrawing it again, or an id of nothing: not found.
    expect((await thrownResponse(post(cookie, { intent: "withdraw", id: first!.id }))).status).toBe(404);
    const rows = await withTenant(villeId, (tx) => tx.noticeBoardNotice.count({ where: { withdrawnAt: { not: null } } }));
    expect(rows).toBe(1);
  });

  it("is not found where the city does not run the board, while other cities keep it", async () => {
    await install(villeId, false);
    try {
      expect((await thrownResponse(read())).status).toBe(404);
      const { cookie } = await person(["city-staff"]);
      expect((await thrownResponse(post(cookie, { intent: "post", "title.fr": "Test" }))).status).toBe(404);
      expect((await read(AUTRE, "autre")).heading).toEqual({ fr: "Avis aux habitants" });
    } finally {
      await install(villeId, true);
    }
  });
});
