// The federation section of a city's admin console: only the city's admins open any of its pages
// or post to them (a visitor is sent to sign in, a resident or staff member gets the 403 page, an
// admin of another city is nobody here); the overview counts what the city shares and reuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyOf, federationConsoleCities, load, submit, type FederationConsoleTest, type RouteModule } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as componentPage from "../($city).admin.federation.components.$id/route";
import * as components from "../($city).admin.federation.components._index/route";
import * as publishComponent from "../($city).admin.federation.components.new/route";
import * as datasetPage from "../($city).admin.federation.datasets.$id/route";
import * as datasets from "../($city).admin.federation.datasets._index/route";
import * as publishDataset from "../($city).admin.federation.datasets.new/route";
import * as overview from "./route";

let test: FederationConsoleTest;
const SOME_ID = "0b6f7a40-6f0c-4b35-9d0e-3d9b8c6f1a11";

beforeAll(async () => {
  test = await federationConsoleCities();
});

afterAll(async () => {
  await test?.release();
});

const PAGES: [string, RouteModule, Record<string, string>, Record<string, string>][] = [
  ["/ville/admin/federation", overview, {}, {}],
  ["/ville/admin/federation/components", components, {}, { intent: "withdraw", componentId: SOME_ID }],
  ["/ville/admin/federation/components/new", publishComponent, {}, { source: "reporting:categories", "title.fr": "Voirie" }],
  [`/ville/admin/federation/components/${SOME_ID}`, componentPage, { id: SOME_ID }, { intent: "import" }],
  ["/ville/admin/federation/datasets", datasets, {}, { intent: "subscribe", datasetId: SOME_ID }],
  ["/ville/admin/federation/datasets/new", publishDataset, {}, { dataset: "reporting:request-statistics", sharing: "public" }],
  [`/ville/admin/federation/datasets/${SOME_ID}`, datasetPage, { id: SOME_ID }, { intent: "sharing", sharing: "public" }],
];

describe("who may open the federation console", () => {
  it("sends a visitor to sign in, from every page", async () => {
    for (const [path, route, params] of PAGES) {
      const answer = await thrownResponse(load(route, path, { city: "ville", ...params }, ""));
      expect(answer.status, path).toBe(302);
      expect(answer.headers.get("Location"), path).toBe(`/ville/auth/login?returnTo=${encodeURIComponent(path)}`);
    }
  });

  it("refuses a resident and a staff member every page and every form", async () => {
    for (const cookie of [test.ville.resident, test.ville.staff]) {
      for (const [path, route, params, fields] of PAGES) {
        expect((await thrownResponse(load(route, path, { city: "ville", ...params }, cookie))).status, path).toBe(403);
        if (route.action) expect((await thrownResponse(submit(route, path, { city: "ville", ...params }, cookie, fields))).status, path).toBe(403);
      }
    }
  });

  it("never lets another city's admin in", async () => {
    for (const [path, route, params] of PAGES) {
      const answer = await thrownResponse(load(route, path, { city: "ville", ...params }, test.autre.admin.cookie));
      expect([302, 403], path).toContain(answer.status);
    }
  });
});

describe("the federation overview", () => {
  it("is titled like the console's other pages, and says the city shares nothing yet", async () => {
    const page = await bodyOf(await load(overview, "/ville/admin/federation", { city: "ville" }, test.ville.admin.cookie));
    expect(page).toEqual({
      title: "Fédération – Ville",
      base: "/ville/admin/federation",
      cityName: "Ville",
      counts: { published: 0, imports: 0, datasets: 0, subscriptions: 0 },
      updates: [],
    });
  });
});
