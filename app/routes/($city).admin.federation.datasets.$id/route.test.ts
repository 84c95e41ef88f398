// A dataset's page: its records with their provenance, for the publishing city and for a city
// subscribed to it (not before); who may read it, changed by the publishing city only, refused
// choices on their fields; another city the policy leaves out does not find it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cityUri } from "~/federation/instance.server";
import { bodyOf, federationConsoleCities, fileRequest, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as publish from "../($city).admin.federation.datasets.new/route";
import * as route from "./route";

let test: FederationConsoleTest;
let datasetId: string;

beforeAll(async () => {
  test = await federationConsoleCities();
  await runReporting(test.ville);
  await fileRequest(test.ville, "pothole");
  await fileRequest(test.ville, "pothole");
  await fileRequest(test.ville, "graffiti");
  const answer = await submit(publish, "/ville/admin/federation/datasets/new", { city: "ville" }, test.ville.admin.cookie, {
    dataset: "reporting:request-statistics",
    sharing: "cities",
    sharedWith: cityUri("autre"),
  });
  datasetId = /datasets\/([0-9a-f-]{36})\?/.exec(answer.headers.get("Location") ?? "")?.[1] ?? "";
});

afterAll(async () => {
  await test?.release();
});

type City = "ville" | "autre" | "tierce";
const path = (slug: City) => `/${slug}/admin/federation/datasets/${datasetId}`;
const page = async (slug: City, query = "") => bodyOf(await load(route, `${path(slug)}${query}`, { city: slug, id: datasetId }, test[slug].admin.cookie));
const post = (slug: City, fields: Record<string, string | string[]>) => submit(route, path(slug), { city: slug, id: datasetId }, test[slug].admin.cookie, fields);
const month = new Date().toISOString().slice(0, 7);

describe("a dataset's page", () => {
  it("shows the publishing city its records, each with where it comes from, and its policy", async () => {
    const shown = await page("ville", "?done=published");
    expect(shown).toMatchObject({ mine: true, sharing: "cities", sharedWith: [cityUri("autre")], withdrawn: false, done: "published", city: { text: "Ville" } });
    expect(shown.title).toMatch(/ – Fédération – Ville$/);
    expect(shown.cities.map((city: { name: string }) => city.name)).toEqual(["Autre", "Tierce"]);
    expect(shown.records.items.map((record: { key: string }) => record.key)).toEqual([`graffiti/${month}`, `pothole/${month}`]);
    const pothole = shown.records.items.find((record: { key: string }) => record.key.startsWith("pothole"));
    expect(pothole).toMatchObject({ deleted: false, city: "ville", time: expect.any(String) });
    expect(pothole.values).toMatchObject({ received: { text: "2" }, category: { text: "pothole" }, medianHoursToClose: { text: "—" } });
    // The columns: the fields the service declares, in its order, each described.
    expect(shown.records.columns.map((column: { name: string }) => column.name)).toEqual(["category", "categoryName", "month", "received", "closed", "open", "medianHoursToClose"]);
    expect(shown.records.columns[0].description).not.toBe("");
    // A page after the last record: empty, with the way back to the first.
    const after = await page("ville", `?after=${shown.lastSeq}`);
    expect(after.records).toMatchObject({ after: shown.lastSeq, items: [], nextHref: null });
  });

  it("shows a city it is shared with its records once subscribed, and a city left out nothing", async () => {
    const before = await page("autre");
    expect(before).toMatchObject({ mine: false, subscription: null, records: null, sharedWith: [], cities: [] });
    expect((await post("autre", { intent: "subscribe" })).headers.get("Location")).toBe(`${path("autre")}?done=subscribed`);
    const after = await page("autre");
    expect(after.subscription).toBe("active");
    expect(after.records.items).toHaveLength(2);
    expect((await thrownResponse(page("tierce"))).status).toBe(404);
  });

  it("changes who may read it, refusing named cities without one on the field", async () => {
    const refused = await post("ville", { intent: "sharing", sharing: "cities" });
    expect(refused.status).toBe(400);
    expect(await bodyOf(refused)).toEqual({ kind: "invalid", errors: { cities: "federation:publishDataset.errors.cities" }, values: { sharing: "cities", sharedWith: [] } });
    // Another city's dataset is not its to change.
    expect((await thrownResponse(post("autre", { intent: "sharing", sharing: "public" }))).status).toBe(404);

    expect((await post("ville", { intent: "sharing", sharing: "cities", sharedWith: cityUri("tierce") })).headers.get("Location")).toBe(`${path("ville")}?done=sharing`);
    expect((await page("ville")).sharedWith).toEqual([cityUri("tierce")]);
    // Autre is left out now: its subscription is refused, and the page gone.
    expect((await thrownResponse(page("autre"))).status).toBe(404);
    expect((await page("tierce")).mine).toBe(false);
  });
});
