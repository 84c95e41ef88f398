// Publishing a dataset from the console: the datasets of the services the city runs, the cities
// it can be shared with; refused choices come back on their fields, nothing published; a
// publication lands on the dataset's page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { bodyOf, federationConsoleCities, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import * as route from "./route";

let test: FederationConsoleTest;
const PATH = "/ville/admin/federation/datasets/new";
const atVille = { city: "ville" };

beforeAll(async () => {
  test = await federationConsoleCities();
});

afterAll(async () => {
  await test?.release();
});

const page = async () => bodyOf(await load(route, PATH, atVille, test.ville.admin.cookie));
const publish = (fields: Record<string, string | string[]>) => submit(route, PATH, atVille, test.ville.admin.cookie, fields);
const datasets = () => withPlatformAdmin((tx) => tx.federationDataset.findMany({ select: { id: true, sharing: true, sharedWith: true } }));

describe("publishing a dataset", () => {
  it("offers the datasets of the services the city runs, and the other cities to share with", async () => {
    const before = await page();
    expect(before.title).toBe("Publier un jeu de données – Fédération – Ville");
    expect(before.datasets).toEqual([]);
    await runReporting(test.ville);
    const shown = await page();
    expect(shown.datasets).toEqual([expect.objectContaining({ value: "reporting:request-statistics", pluginId: "reporting", dataset: "request-statistics" })]);
    expect(shown.cities).toEqual([
      { uri: expect.stringMatching(/\/federation\/cities\/autre$/), name: "Autre", instance: null },
      { uri: expect.stringMatching(/\/federation\/cities\/tierce$/), name: "Tierce", instance: null },
    ]);
  });

  it("refuses a missing dataset or policy, and named cities without a city, field by field", async () => {
    const empty = await publish({});
    expect(empty.status).toBe(400);
    expect(await bodyOf(empty)).toEqual({
      kind: "invalid",
      errors: { dataset: "federation:publishDataset.errors.dataset", sharing: "federation:publishDataset.errors.sharing" },
      values: { dataset: "", sharing: "", sharedWith: [] },
    });
    const noCity = await bodyOf(await publish({ dataset: "reporting:request-statistics", sharing: "cities" }));
    expect(noCity.errors).toEqual({ cities: "federation:publishDataset.errors.cities" });
    const unknownCity = await bodyOf(await publish({ dataset: "reporting:request-statistics", sharing: "cities", sharedWith: "http://localhost/federation/cities/nowhere" }));
    expect(unknownCity.errors).toEqual({ cities: "federation:publishDataset.errors.unknownCities" });
    expect(await datasets()).toEqual([]);
  });

  it("publishes, shared with a named city, and lands on the dataset's page", async () => {
    const { cities } = await page();
    const answer = await publish({ dataset: "reporting:request-statistics", sharing: "cities", sharedWith: [cities[0].uri] });
    expect(answer.status).toBe(303);
    const [dataset] = await datasets();
    expect(dataset).toEqual({ id: expect.any(String), sharing: "cities", sharedWith: [cities[0].uri] });
    expect(answer.headers.get("Location")).toBe(`/ville/admin/federation/datasets/${dataset!.id}?done=published`);
  });
});
