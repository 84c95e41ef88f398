// The platform console's list: operators only, on the platform's address; every city with its
// status and health; search and status filters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, signedInOperator, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let cookie: string;
const resolver = createTenantResolver();

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  await insertCity({ slug: "paris", names: { fr: "Paris", en: "Paris" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] });
  await insertCity({ slug: "budapest", names: { hu: "Budapest", de: "Budapest" }, defaultLocale: "hu", enabledLocales: ["hu", "de"], status: "suspended" });
  ({ cookie } = await signedInOperator(fake));
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const list = async (query = "", headers: Record<string, string> = { Cookie: cookie }) =>
  bodyOf(await loader(await loaderArgs(resolver, `http://localhost/platform${query}`, { headers })));

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("the platform console's list of cities", () => {
  it("sends a visitor to sign in, and is no page of a city", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://localhost/platform")))).headers.get("Location")).toBe("/auth/login?returnTo=%2Fplatform");
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://paris.localhost/platform", { headers: { Cookie: cookie } })))).status).toBe(404);
  });

  it("lists every city with its status and health", async () => {
    const page = await list();
    expect(page.cities).toEqual([
      expect.objectContaining({ slug: "budapest", name: "Budapest", status: "suspended", members: 0, admins: 0, pendingInvitations: 0, realmProvisioned: false }),
      expect.objectContaining({ slug: "paris", name: "Paris", status: "active" }),
    ]);
  });

  it("searches and filters by status", async () => {
    expect((await list("?q=buda")).cities.map((city: { slug: string }) => city.slug)).toEqual(["budapest"]);
    expect((await list("?status=active")).cities.map((city: { slug: string }) => city.slug)).toEqual(["paris"]);
    // A cursor edited by hand is the first page, not an error.
    expect((await list("?after=%%%")).cities).toHaveLength(2);
  });
});
