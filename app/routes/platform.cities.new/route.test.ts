// Onboarding from the platform console: operators only, on the platform's address only; every
// field checked with its own message and nothing created when one is wrong; a taken slug said
// so; a good form opens the city, creates its realm and first admin, and shows its addresses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInOperator, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action, loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let operatorCookie: string;
let villeId: string;
const resolver = createTenantResolver();
const URL_NEW = "http://localhost/platform/cities/new";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { en: "Town" }, defaultLocale: "en", enabledLocales: ["en"] });
  ({ cookie: operatorCookie } = await signedInOperator(fake));
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

async function post(fields: Record<string, string | string[]>, cookie = operatorCookie, url = URL_NEW) {
  const body = await formBody({});
  for (const [name, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(name, item);
  return action(await loaderArgs(resolver, url, { method: "POST", headers: formHeaders(url, cookie), body }));
}

const lyon = {
  slug: "lyon",
  enabledLocales: ["fr", "en"],
  defaultLocale: "fr",
  "name.fr": "Lyon",
  "name.en": "Lyon",
  "name.de": "ignored",
  timeZone: "Europe/Paris",
  adminEmail: "Maire@Lyon.test",
  adminName: "Grégory",
};

const cityCount = () => withPlatformAdmin((tx) => tx.city.count());

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("who may onboard", () => {
  it("sends a visitor to the platform's sign-in, and refuses a city's admin", async () => {
    const response = await thrownResponse(loader(await loaderArgs(resolver, URL_NEW)));
    expect(response.headers.get("Location")).toBe("/auth/login?returnTo=%2Fplatform%2Fcities%2Fnew");
    expect((await thrownResponse(post(lyon, ""))).status).toBe(302);
    // A city's admin, even with the session cookie sent to the platform, is nobody there.
    const { cookie } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: "http://localhost/ville" }, { realmRoles: ["city-admin"] });
    expect((await thrownResponse(post(lyon, cookie))).status).toBe(302);
    expect(await cityCount()).toBe(1);
  });

  it("is no page of a city", async () => {
    const url = "http://ville.localhost/platform/cities/new";
    expect((await thrownResponse(loader(await loaderArgs(resolver, url, { headers: { Cookie: operatorCookie } })))).status).toBe(404);
  });

  it("refuses a form without its CSRF token", async () => {
    const forged = action(await loaderArgs(resolver, URL_NEW, { method: "POST", headers: formHeaders(URL_NEW, operatorCookie), body: new URLSearchParams({ slug: "lyon" }) }));
    expect((await thrownResponse(forged)).status).toBe(403);
  });
});

describe("onboarding", () => {
  it("refuses every wrong field with its own message, and creates nothing", async () => {
    const response = await post({ slug: "Lyon!", enabledLocales: ["fr", "en"], defaultLocale: "de", "name.fr": "Lyon", timeZone: "Mars/Base", adminEmail: "nobody" });
    expect(response.status).toBe(400);
    const body = await bodyOf(response);
    expect(Object.fromEntries(Object.entries(body.errors as Record<string, { key: string }>).map(([field, error]) => [field, error.key]))).toEqual({
      slug: "platform:onboard.errors.slug",
      "default-locale": "platform:onboard.errors.defaultLocale",
      "name-en": "platform:onboard.errors.name",
      "time-zone": "platform:onboard.errors.timeZone",
      "admin-email": "platform:onboard.errors.email",
    });
    expect(body.values).toMatchObject({ slug: "lyon!", timeZone: "Mars/Base" });
    expect((await bodyOf(await post({ ...lyon, slug: "admin" }))).errors).toEqual({ slug: { key: "platform:onboard.errors.slugReserved" } });
    expect((await bodyOf(await post({ ...lyon, enabledLocales: [] }))).errors).toEqual({ locales: { key: "platform:onboard.errors.locales" } });
    expect(await cityCount()).toBe(1);
  });

  it("says a slug is taken", async () => {
    const response = await post({ ...lyon, slug: "ville" });
    expect(response.status).toBe(400);
    expect((await bodyOf(response)).errors).toEqual({ slug: { key: "platform:onboard.errors.slugTaken" } });
  });

  it("opens the city with its realm and first admin, and shows its addresses and the admin's link", async () => {
    const response = await post(lyon);
    expect(response.status).toBe(200);
    const body = await bodyOf(response);
    expect(body).toMatchObject({ kind: "onboarded", slug: "lyon", name: "Lyon", adminEmail: "maire@lyon.test" });
    expect(body.addresses[0]).toMatch(/\/lyon$/);
    expect(body.addresses[1]).toMatch(/^http:\/\/lyon\.localhost(:\d+)?\/$/);
    expect(body.invitationLink).toMatch(/\/lyon\/invitations\/[A-Za-z0-9_-]{43}$/);
    const city = await withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { slug: "lyon" }, select: { names: true, enabledLocales: true, defaultLocale: true, timeZone: true, status: true } }));
    expect(city).toEqual({ names: { fr: "Lyon", en: "Lyon" }, enabledLocales: ["fr", "en"], defaultLocale: "fr", timeZone: "Europe/Paris", status: "active" });
    expect(fake.user("lyon", "maire@lyon.test")).toMatchObject({ email: "maire@lyon.test", firstName: "Grégory" });
    // Its home page answers at once (the tenant resolver forgot the city list).
    expect(await resolver.resolve({ host: "localhost", pathname: "/lyon" })).toMatchObject({ kind: "city", city: { slug: "lyon" } });
  });
});
