// One city in the platform console: its addresses and health; suspending and resuming it only
// once confirmed, audited, and the city's pages following at once.
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
let cookie: string;
let parisId: string;
const resolver = createTenantResolver();
const URL_PARIS = "http://localhost/platform/cities/paris";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  parisId = await insertCity({ slug: "paris", names: { fr: "Paris" }, defaultLocale: "fr", enabledLocales: ["fr"], domains: ["services.paris.example"] });
  ({ cookie } = await signedInOperator(fake));
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const params = { slug: "paris" };
async function post(fields: Record<string, string>, as = cookie) {
  return action(await loaderArgs(resolver, URL_PARIS, { method: "POST", params, headers: formHeaders(URL_PARIS, as), body: await formBody(fields) }));
}
const status = () => withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { id: parisId }, select: { status: true } })).then((row) => row.status);

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("a city in the platform console", () => {
  it("is for operators only", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, URL_PARIS, { params })))).status).toBe(302);
    const resident = await signedInResident(fake, { id: parisId, realm: "paris", basePath: "/paris", url: "http://localhost/paris" }, { realmRoles: ["city-admin"] });
    expect((await thrownResponse(post({ intent: "suspend", confirm: "yes" }, resident.cookie))).status).toBe(302);
    expect(await status()).toBe("active");
  });

  it("shows its addresses and health (the admin who signed in above), and a 404 for an unknown slug", async () => {
    const page = await bodyOf(await loader(await loaderArgs(resolver, URL_PARIS, { params, headers: { Cookie: cookie } })));
    expect(page).toMatchObject({ slug: "paris", name: "Paris", status: "active", realm: "paris", health: { members: 1, admins: 1 } });
    expect(page.addresses).toEqual([expect.stringMatching(/\/paris$/), expect.stringMatching(/^http:\/\/paris\.localhost/), "http://services.paris.example/"]);
    const missing = loaderArgs(resolver, "http://localhost/platform/cities/nowhere", { params: { slug: "nowhere" }, headers: { Cookie: cookie } });
    expect((await thrownResponse(loader(await missing))).status).toBe(404);
  });

  it("suspends only once confirmed, then resumes, each audited", async () => {
    const unconfirmed = await post({ intent: "suspend", reason: "unpaid" });
    expect(unconfirmed.status).toBe(400);
    expect(await bodyOf(unconfirmed)).toEqual({ errors: { confirm: "platform:city.errors.confirm" }, values: { reason: "unpaid" } });
    expect(await status()).toBe("active");

    const suspended = await post({ intent: "suspend", reason: "unpaid", confirm: "yes" });
    expect(suspended.status).toBe(303);
    expect(suspended.headers.get("Location")).toBe("/platform/cities/paris?changed=suspended");
    expect(await status()).toBe("suspended");
    // The city's pages answer 503 at once.
    expect(await resolver.resolve({ host: "localhost", pathname: "/paris" })).toMatchObject({ kind: "city", city: { status: "suspended" } });

    expect((await post({ intent: "resume", confirm: "yes" })).headers.get("Location")).toBe("/platform/cities/paris?changed=resumed");
    expect(await status()).toBe("active");
    const events = await withPlatformAdmin((tx) => tx.platformAuditEvent.findMany({ where: { subjectId: parisId }, select: { action: true }, orderBy: { occurredAt: "asc" } }));
    expect(events.map((event) => event.action)).toEqual(["city.suspended", "city.resumed"]);
  });
});
