// The datasets' list: the city's publications, the datasets other cities share with it (by
// their policy: a dataset shared with named cities is not listed to the others), subscribing and
// unsubscribing, and withdrawing the city's own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cityUri } from "~/federation/instance.server";
import { bodyOf, federationConsoleCities, load, runReporting, submit, type FederationConsoleTest } from "../../../tests/support/federation-console";
import { thrownResponse } from "../../../tests/support/web";
import * as publish from "../($city).admin.federation.datasets.new/route";
import * as route from "./route";

let test: FederationConsoleTest;
let datasetId: string;

beforeAll(async () => {
  test = await federationConsoleCities();
  await runReporting(test.ville);
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
const list = async (slug: City, query = "") => bodyOf(await load(route, `/${slug}/admin/federation/datasets${query}`, { city: slug }, test[slug].admin.cookie));
const post = (slug: City, fields: Record<string, string>) => submit(route, `/${slug}/admin/federation/datasets`, { city: slug }, test[slug].admin.cookie, fields);

describe("the datasets' list", () => {
  it("lists the city's publication with its policy, and nothing shared with it", async () => {
    const page = await list("ville");
    expect(page.title).toBe("Jeux de données – Fédération – Ville");
    expect(page.mine).toEqual([expect.objectContaining({ id: datasetId, sharing: "cities", mine: true, withdrawn: false, city: { text: "Ville" } })]);
    expect(page.visible).toEqual([]);
    expect(page.subscriptions).toEqual([]);
  });

  it("shows a dataset shared with named cities to those cities only", async () => {
    expect((await list("autre")).visible).toEqual([expect.objectContaining({ id: datasetId, mine: false, subscription: null })]);
    expect((await list("tierce")).visible).toEqual([]);
    // Not listed, and not to be subscribed to either.
    expect((await thrownResponse(post("tierce", { intent: "subscribe", datasetId }))).status).toBe(404);
  });

  it("subscribes and unsubscribes, each said once done", async () => {
    const subscribed = await post("autre", { intent: "subscribe", datasetId });
    expect(subscribed.headers.get("Location")).toBe("/autre/admin/federation/datasets?done=subscribed");
    const page = await list("autre", "?done=subscribed");
    expect(page.done).toBe("subscribed");
    expect(page.subscriptions).toEqual([expect.objectContaining({ id: datasetId, subscription: "active" })]);
    await post("autre", { intent: "unsubscribe", datasetId });
    expect((await list("autre")).subscriptions).toEqual([]);
    // Its own dataset: a city reads it without subscribing.
    const own = await post("ville", { intent: "subscribe", datasetId });
    expect(own.status).toBe(409);
    expect(await bodyOf(own)).toEqual({ kind: "refused", error: "federation:datasets.errors.state" });
  });

  it("withdraws the city's own dataset: gone for the others, kept in its own list as withdrawn", async () => {
    expect((await thrownResponse(post("autre", { intent: "withdraw", datasetId }))).status).toBe(404);
    expect((await post("ville", { intent: "withdraw", datasetId })).headers.get("Location")).toBe("/ville/admin/federation/datasets?done=withdrawn");
    expect((await list("ville")).mine).toEqual([expect.objectContaining({ id: datasetId, withdrawn: true })]);
    expect((await list("autre")).visible).toEqual([]);
  });
});
