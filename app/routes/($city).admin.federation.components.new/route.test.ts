// Publishing a component from the console: what can be published follows what the city runs;
// refused values come back on their fields, nothing published; a publication lands on the
// component's page; a new version only of the city's own components.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { bodyOf, federationConsoleCities, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as route from "./route";

let test: FederationConsoleTest;
const PATH = "/ville/admin/federation/components/new";
const atVille = { city: "ville" };

beforeAll(async () => {
  test = await federationConsoleCities();
});

afterAll(async () => {
  await test?.release();
});

const page = async (query = "", cookie = test.ville.admin.cookie, path = PATH, params = atVille) => bodyOf(await load(route, `${path}${query}`, params, cookie));
const publish = (fields: Record<string, string>) => submit(route, PATH, atVille, test.ville.admin.cookie, fields);
const published = () => withPlatformAdmin((tx) => tx.federationComponent.findMany({ select: { id: true, latestVersion: true, title: true } }));

describe("publishing a component", () => {
  it("offers what the services the city runs can share, and nothing before it runs any", async () => {
    expect((await page()).sources).toEqual([]);
    await runReporting(test.ville);
    const shown = await page();
    expect(shown.title).toBe("Publier un composant – Fédération – Ville");
    expect(shown.cityLocales).toEqual(["fr", "en"]);
    expect(shown.sources).toEqual([{ value: "reporting:categories", pluginId: "reporting", kind: "categories", label: expect.stringContaining("—") }]);
  });

  it("refuses a missing choice and title, and overlong texts, field by field", async () => {
    const empty = await publish({ "title.en": "Roads" });
    expect(empty.status).toBe(400);
    expect(await bodyOf(empty)).toEqual({
      kind: "invalid",
      errors: { source: "federation:publish.errors.source", title: "federation:publish.errors.title" },
      values: { source: "", title: { en: "Roads" }, summary: {} },
    });
    const long = await bodyOf(await publish({ source: "reporting:categories", "title.fr": "V".repeat(121), "summary.en": "S".repeat(1001) }));
    expect(long.errors).toEqual({ title: "federation:publish.errors.titleTooLong", summary: "federation:publish.errors.summaryTooLong" });
    // A service the city does not run is no choice.
    expect((await bodyOf(await publish({ source: "notice-board:notices", "title.fr": "Avis" }))).errors).toEqual({ source: "federation:publish.errors.source" });
    expect(await published()).toEqual([]);
  });

  it("publishes, then publishes a new version of the city's own component only", async () => {
    const answer = await publish({ source: "reporting:categories", "title.fr": "Voirie", "title.en": "Roads", "summary.fr": "Nos catégories" });
    expect(answer.status).toBe(303);
    const [component] = await published();
    expect(component).toMatchObject({ latestVersion: 1, title: { fr: "Voirie", en: "Roads" } });
    expect(answer.headers.get("Location")).toBe(`/ville/admin/federation/components/${component!.id}?done=published`);

    const next = await page(`?component=${component!.id}`);
    expect(next.heading).toBe("Publier une nouvelle version de Voirie");
    expect(next.existing).toMatchObject({ id: component!.id, source: "reporting:categories", version: 2, title: { fr: "Voirie", en: "Roads" } });
    await publish({ componentId: component!.id, "title.fr": "Voirie et éclairage" });
    expect(await published()).toEqual([{ id: component!.id, latestVersion: 2, title: { fr: "Voirie et éclairage" } }]);

    // Autre's admin: Ville's component is not theirs to version.
    const autrePath = "/autre/admin/federation/components/new";
    expect((await thrownResponse(page(`?component=${component!.id}`, test.autre.admin.cookie, autrePath, { city: "autre" }))).status).toBe(404);
    expect((await thrownResponse(page("?component=nothing-here"))).status).toBe(404);
  });
});
