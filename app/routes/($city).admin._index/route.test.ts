// The console's landing page: the sections a person holds, nothing for residents, and the
// navigation's link to it only for those who hold a section.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountFor } from "~/auth/account.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
const resolver = createTenantResolver();
const URL_VILLE = "http://localhost/ville/admin";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { en: "Town" }, defaultLocale: "en", enabledLocales: ["en"] });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const person = (realmRoles: string[]) => signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: URL_VILLE }, { realmRoles });
const args = (cookie: string) => loaderArgs(resolver, URL_VILLE, { params: { city: "ville" }, headers: { Cookie: cookie } });

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("the admin console's landing page", () => {
  it("sends a visitor to sign in and refuses a resident, who gets no link to it either", async () => {
    expect((await thrownResponse(loader(await args("")))).headers.get("Location")).toBe("/ville/auth/login?returnTo=%2Fville%2Fadmin");
    const { cookie } = await person([]);
    expect((await thrownResponse(loader(await args(cookie)))).status).toBe(403);
    const { request, context } = await args(cookie);
    expect((await accountFor(request, context)).consoleHref).toBeNull();
  });

  it("lists every section for an admin, the plugin catalogue's included, and the navigation links here", async () => {
    const { cookie } = await person(["city-admin"]);
    const page = await bodyOf(await loader(await args(cookie)));
    expect(page.sections).toEqual([
      { id: "settings", href: "/ville/admin/settings" },
      { id: "members", href: "/ville/admin/members" },
      { id: "audit", href: "/ville/admin/audit" },
      { id: "apiClients", href: "/ville/admin/api-clients" },
      { id: "services", href: "/ville/admin/services" },
      { id: "federation", href: "/ville/admin/federation" },
    ]);
    const { request, context } = await args(cookie);
    expect((await accountFor(request, context)).consoleHref).toBe("/ville/admin");
  });

  it("lists only the team for staff", async () => {
    const { cookie } = await person(["city-staff"]);
    const page = await bodyOf(await loader(await args(cookie)));
    expect(page.sections).toEqual([{ id: "members", href: "/ville/admin/members" }]);
  });
});
