// A component's page, through the actions as two cities' admins use them: Ville publishes its
// reporting categories; Autre, which does not run reporting, sees where they come from and what
// importing would do, imports them in one step following them, and gets the report; Ville's next
// version is then offered to Autre; following can be stopped; a city cannot import its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTenant } from "~/db/database.server";
import { bodyOf, federationConsoleCities, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as overview from "../($city).admin.federation._index/route";
import * as components from "../($city).admin.federation.components._index/route";
import * as publish from "../($city).admin.federation.components.new/route";
import * as route from "./route";

let test: FederationConsoleTest;
let componentId: string;

beforeAll(async () => {
  test = await federationConsoleCities();
  await runReporting(test.ville);
  const answer = await submit(publish, "/ville/admin/federation/components/new", { city: "ville" }, test.ville.admin.cookie, {
    source: "reporting:categories",
    "title.fr": "Voirie et propreté",
    "title.en": "Roads and cleanliness",
    "summary.fr": "Les catégories de signalement de Ville",
  });
  componentId = /components\/([0-9a-f-]{36})\?/.exec(answer.headers.get("Location") ?? "")?.[1] ?? "";
});

afterAll(async () => {
  await test?.release();
});

const at = (slug: string) => ({ city: slug, id: componentId });
const pathAt = (slug: string, id = componentId) => `/${slug}/admin/federation/components/${id}`;
const pageFor = async (slug: "ville" | "autre", query = "") => bodyOf(await load(route, `${pathAt(slug)}${query}`, at(slug), test[slug].admin.cookie));
const post = (slug: "ville" | "autre", fields: Record<string, string>) => submit(route, pathAt(slug), at(slug), test[slug].admin.cookie, fields);
const categories = (tenantId: string) =>
  withTenant(tenantId, (tx) => tx.reportingCategory.findMany({ where: { tenantId }, select: { code: true }, orderBy: { code: "asc" } })).then((rows) => rows.map((row) => row.code));

describe("a component's page, from publication to import", () => {
  it("shows the publishing city its own component, with no import offered", async () => {
    const page = await pageFor("ville", "?done=published");
    expect(page).toMatchObject({
      title: "Voirie et propreté – Fédération – Ville",
      heading: { text: "Voirie et propreté" },
      origin: { city: { text: "Ville" }, local: true, own: true, author: "Véra Vidal" },
      latestVersion: 1,
      preview: null,
      refusal: null,
      done: "published",
    });
    expect(page.items.map((item: { key: string }) => item.key).sort()).toEqual(["graffiti", "litter", "pothole", "street-light"]);
    // Importing one's own: refused, said on the page.
    const own = await post("ville", { intent: "import" });
    expect(own.status).toBe(409);
    expect(await bodyOf(own)).toEqual({ kind: "refused", error: "federation:component.refused.own" });
  });

  it("shows another city where it comes from and what importing would do, changing nothing", async () => {
    const page = await pageFor("autre");
    expect(page.origin).toMatchObject({ city: { text: "Ville" }, local: true, own: false, author: "Véra Vidal" });
    expect(page.summary).toEqual({ text: "Les catégories de signalement de Ville" });
    expect(page.versions).toEqual([expect.objectContaining({ version: 1, author: "Véra Vidal" })]);
    expect(page.preview).toMatchObject({ version: 1, install: true });
    expect(page.preview.items.map((item: { key: string; action: string }) => [item.key, item.action]).sort()).toEqual([
      ["graffiti", "create"],
      ["litter", "create"],
      ["pothole", "create"],
      ["street-light", "create"],
    ]);
    expect(page.imported).toBeNull();
    expect(await categories(test.autre.id)).toEqual([]);
  });

  it("imports in one step, following it, and answers with the report", async () => {
    const answer = await post("autre", { intent: "import", version: "1", follow: "yes" });
    expect(answer.status).toBe(200);
    const { kind, report } = await bodyOf(answer);
    expect(kind).toBe("imported");
    expect(report).toMatchObject({ version: 1, installed: true, following: true, changed: true, created: 4, updated: 0 });
    expect(await categories(test.autre.id)).toEqual(["graffiti", "litter", "pothole", "street-light"]);

    const page = await pageFor("autre");
    expect(page.imported).toEqual({ version: 1, following: true, updateAvailable: false });
    expect(page.preview.items.every((item: { action: string }) => item.action === "unchanged")).toBe(true);
    // Importing the same version again changes nothing, and says so.
    expect((await bodyOf(await post("autre", { intent: "import", version: "1", follow: "yes" }))).report.changed).toBe(false);
  });

  it("offers the importer Ville's next version, and stops offering it when no longer followed", async () => {
    await submit(publish, "/ville/admin/federation/components/new", { city: "ville" }, test.ville.admin.cookie, { componentId, "title.fr": "Voirie et propreté (2)" });
    const page = await pageFor("autre");
    expect(page.imported).toEqual({ version: 1, following: true, updateAvailable: true });
    expect(page.preview.version).toBe(2);
    const listed = await bodyOf(await load(components, "/autre/admin/federation/components", { city: "autre" }, test.autre.admin.cookie));
    expect(listed.imports).toEqual([expect.objectContaining({ id: componentId, imported: 1, version: 2, updateAvailable: true, following: true })]);
    const summary = await bodyOf(await load(overview, "/autre/admin/federation", { city: "autre" }, test.autre.admin.cookie));
    expect(summary.updates).toEqual([{ id: componentId, title: { text: "Voirie et propreté (2)" }, version: 1, latest: 2 }]);

    const unfollowed = await post("autre", { intent: "unfollow" });
    expect(unfollowed.headers.get("Location")).toBe(`${pathAt("autre")}?done=notFollowing`);
    expect((await pageFor("autre")).imported.following).toBe(false);
  });

  it("answers an unknown component, or following one never imported, with a 404", async () => {
    const unknown = "6a1f0c2e-7b39-4f0a-9a57-2c0d3b4e5f60";
    expect((await thrownResponse(load(route, pathAt("autre", unknown), { city: "autre", id: unknown }, test.autre.admin.cookie))).status).toBe(404);
    expect((await thrownResponse(post("ville", { intent: "follow" }))).status).toBe(404);
  });
});
