// The components' list: what the city published (withdrawn from here, once), what it imported,
// and the federated catalogue filtered by service, language and city; another city's component
// is not the city's to withdraw.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyOf, federationConsoleCities, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as publish from "../($city).admin.federation.components.new/route";
import * as route from "./route";

let test: FederationConsoleTest;
let villeComponent: string;

const publishAt = async (slug: "ville" | "autre", fields: Record<string, string>) => {
  const answer = await submit(publish, `/${slug}/admin/federation/components/new`, { city: slug }, test[slug].admin.cookie, fields);
  return /components\/([0-9a-f-]{36})\?/.exec(answer.headers.get("Location") ?? "")?.[1] ?? "";
};

beforeAll(async () => {
  test = await federationConsoleCities();
  await runReporting(test.ville);
  await runReporting(test.autre);
  villeComponent = await publishAt("ville", { source: "reporting:categories", "title.fr": "Voirie", "title.en": "Roads" });
  await publishAt("autre", { source: "reporting:categories", "title.fr": "Catégories d’Autre" });
});

afterAll(async () => {
  await test?.release();
});

const PATH = "/ville/admin/federation/components";
const list = async (query = "", slug: "ville" | "autre" = "ville") =>
  bodyOf(await load(route, `/${slug}/admin/federation/components${query}`, { city: slug }, test[slug].admin.cookie));
const titles = (entries: { title: { text: string } }[]) => entries.map((entry) => entry.title.text).sort();

describe("the components' list", () => {
  it("lists the city's own components and the whole catalogue, titled in the page's language", async () => {
    const page = await list();
    expect(page.title).toBe("Composants – Fédération – Ville");
    expect(page.published).toEqual([expect.objectContaining({ id: villeComponent, version: 1, title: { text: "Voirie" }, city: { text: "Ville" }, instance: null })]);
    expect(page.imports).toEqual([]);
    expect(titles(page.catalogue)).toEqual(["Catégories d’Autre", "Voirie"]);
    expect(page.filters.services).toEqual([{ value: "reporting", label: expect.any(String) }]);
    expect(page.filters.cities.map((city: { label: string }) => city.label)).toEqual(["Autre", "Ville"]);
  });

  it("filters the catalogue by city, language and service; a cursor edited by hand is the first page", async () => {
    expect(titles((await list("?city=autre")).catalogue)).toEqual(["Catégories d’Autre"]);
    expect(titles((await list(`?city=${encodeURIComponent("http://nowhere.example/federation/cities/x")}`)).catalogue)).toEqual([]);
    // Both speak English (the reporting categories come in every language): the city decides.
    expect(titles((await list("?language=en&city=autre")).catalogue)).toEqual(["Catégories d’Autre"]);
    expect(titles((await list("?service=reporting&language=fr")).catalogue)).toEqual(["Catégories d’Autre", "Voirie"]);
    // An unknown service or language is no filter.
    expect((await list("?service=unknown&language=xx")).filters).toMatchObject({ service: "", language: "" });
    expect((await list("?after=%%%")).catalogue).toHaveLength(2);
  });

  it("withdraws the city's own component once, and refuses another city's", async () => {
    const fromAutre = submit(route, "/autre/admin/federation/components", { city: "autre" }, test.autre.admin.cookie, { intent: "withdraw", componentId: villeComponent });
    expect((await thrownResponse(fromAutre)).status).toBe(404);

    const withdrawn = await submit(route, PATH, { city: "ville" }, test.ville.admin.cookie, { intent: "withdraw", componentId: villeComponent });
    expect(withdrawn.headers.get("Location")).toBe(`${PATH}?done=withdrawn`);
    const page = await list("?done=withdrawn");
    expect(page.done).toBe("withdrawn");
    expect(page.published).toEqual([]);
    expect(titles(page.catalogue)).toEqual(["Catégories d’Autre"]);
    const again = await submit(route, PATH, { city: "ville" }, test.ville.admin.cookie, { intent: "withdraw", componentId: villeComponent });
    expect(again.status).toBe(409);
    expect(await bodyOf(again)).toEqual({ kind: "refused", componentId: villeComponent, error: "federation:components.errors.withdrawn" });
  });
});
