// Two real Civitas instances on loopback ports, each with its own database, federating over
// HTTP: the peering handshake, a component published on A and imported by a city on B, a dataset
// shared with one named city of B, an update pushed, and an update B missed while it was stopped
// recovered through the pull feed. Each instance is a child process (tests/support/
// federation-instance.ts) driven through its services; messages travel through each outbox,
// delivered explicitly so every step is deterministic.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createScratchPostgres } from "../support/database";
import { startFederationInstance, type FederationInstance } from "../support/federation-instance";
import { compileRemixBuild, type TestRemixBuild } from "../support/remix-build";
import { migratedPGliteDumpFile, migratedPostgresTemplate } from "../support/templates";

const PEERS = "app/federation/peers.server.ts";
const OUTBOX = "app/federation/outbox.server.ts";
const COMPONENTS = "app/federation/components.server.ts";
const DATASETS = "app/federation/datasets.server.ts";
const LIFECYCLE = "app/plugins/lifecycle.server.ts";
const CATEGORIES = "plugins/reporting/categories.server.ts";
const REQUESTS = "plugins/reporting/requests.server.ts";
const PROBE = "tests/support/federation-probe.ts";

const operator = { $principal: "operator" };
const admin = (city: string) => ({ $principal: "admin", city });

type Peer = { id: string; instanceId: string; state: string };
type Component = { id: string; uri: string; pluginId: string; kind: string; title: Record<string, string>; latestVersion: number; origin: { instance: string; city: { id: string; slug: string } } };
type Dataset = { id: string; uri: string; sharing: string };
type DatasetRecord = { key: string; seq: number; data: Record<string, unknown> | null; provenance: { city: string; instance: string } };
type Category = { code: string; names: Record<string, string>; attributes: { code: string; description: Record<string, string>; values: { key: string; name: Record<string, string> }[] }[] };

let remix: TestRemixBuild;
let dir: string;
let a: FederationInstance;
let b: FederationInstance;
const drops: (() => Promise<void>)[] = [];

/** Where an instance keeps its data: a copy of the run's migrated template when there is one. */
async function storage(name: string): Promise<{ databaseUrl?: string; dataDir?: string; pgliteDumpFile?: string }> {
  const server = process.env.DATABASE_URL;
  if (!server) return { dataDir: path.join(dir, name), pgliteDumpFile: await migratedPGliteDumpFile() };
  const scratch = await createScratchPostgres(server, { template: await migratedPostgresTemplate() });
  drops.push(scratch.drop);
  return { databaseUrl: scratch.url };
}

/** Delivers both outboxes until nothing is left to send (a message may cause an answer). */
async function settle(...instances: FederationInstance[]): Promise<void> {
  for (let round = 0; round < 6; round += 1) {
    let sent = 0;
    for (const instance of instances) {
      const result = await instance.call<{ delivered: number }>(OUTBOX, "deliverDue");
      sent += result.delivered;
    }
    if (sent === 0) return;
  }
}

/** A list, or a page of one (components come as `components`, datasets and records as `items`). */
const list = <T>(page: T[] | { items?: T[]; components?: T[] }): T[] => (Array.isArray(page) ? page : (page.items ?? page.components ?? []));

beforeAll(async () => {
  remix = await compileRemixBuild();
  dir = await mkdtemp(path.join(os.tmpdir(), "civitas-federation-"));
  const remixBuildDir = path.dirname(remix.publicDir);
  [a, b] = await Promise.all([
    startFederationInstance({
      ...(await storage("a")),
      remixBuildDir,
      cities: [{ slug: "paris", names: { fr: "Paris", en: "Paris" }, locales: ["fr", "en"] }],
    }),
    startFederationInstance({
      ...(await storage("b")),
      remixBuildDir,
      cities: [
        { slug: "budapest", names: { hu: "Budapest", en: "Budapest" }, locales: ["hu", "en", "fr"] },
        { slug: "lyon", names: { fr: "Lyon" }, locales: ["fr", "en"] },
      ],
    }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  for (const drop of drops) await drop();
  await remix?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("two instances", () => {
  test("peer only once both operators accept", async () => {
    await a.call(PEERS, "addPeer", operator, { url: b.base });
    await settle(a, b);
    const atB = list(await b.call<Peer[]>(PEERS, "listPeers", operator));
    expect(atB).toEqual([expect.objectContaining({ instanceId: a.base, state: "pending" })]);
    expect(list(await a.call<Peer[]>(PEERS, "listPeers", operator))).toEqual([expect.objectContaining({ instanceId: b.base, state: "requested" })]);

    await b.call(PEERS, "acceptPeer", operator, { id: atB[0]!.id });
    await settle(b, a);
    expect(list(await a.call<Peer[]>(PEERS, "listPeers", operator))).toEqual([expect.objectContaining({ instanceId: b.base, state: "active" })]);
    expect(list(await b.call<Peer[]>(PEERS, "listPeers", operator))).toEqual([expect.objectContaining({ instanceId: a.base, state: "active" })]);
  });

  test("a component published at Paris (A) is imported by Budapest (B), translations and settings intact", async () => {
    await a.call(LIFECYCLE, "installPlugin", admin("paris"), { pluginId: "reporting" });
    await a.call(LIFECYCLE, "configurePlugin", admin("paris"), {
      pluginId: "reporting",
      settings: {
        duplicateRadiusMeters: 120,
        anonymousReports: false,
        notificationsFrom: "voirie@paris.example",
        agencyName: { fr: "Direction de la voirie", en: "Roads department" },
      },
    });
    await a.call(CATEGORIES, "defineServiceCategory", admin("paris"), {
      code: "streetlight",
      names: { fr: "Éclairage public en panne", en: "Street light out", hu: "Nem működő közvilágítás" },
      descriptions: { fr: "Un lampadaire éteint ou qui clignote", en: "A street light that is off or flickering" },
      attributes: [
        {
          code: "pole",
          datatype: "singlevaluelist",
          required: true,
          description: { fr: "Type de support", en: "Kind of pole" },
          values: [
            { key: "wall", name: { fr: "Applique murale", en: "Wall mounted" } },
            { key: "post", name: { fr: "Candélabre", en: "Post" } },
          ],
        },
      ],
    });
    const published = await a.call<Component>(COMPONENTS, "publishComponent", admin("paris"), {
      pluginId: "reporting",
      kind: "categories",
      title: { fr: "Voirie et éclairage de Paris", en: "Paris roads and street lights" },
      summary: { en: "Pothole and street light categories" },
    });
    const parisSettings = (await a.call<{ settings: Record<string, unknown> }>(LIFECYCLE, "getCityPlugin", admin("paris"), "reporting")).settings;
    await settle(a, b);

    const catalogue = list(await b.call<Component[]>(COMPONENTS, "listComponents", admin("budapest"), {}));
    const offered = catalogue.find((component) => component.uri === published.uri);
    expect(offered).toMatchObject({ pluginId: "reporting", kind: "categories", title: { en: "Paris roads and street lights" }, origin: { instance: a.base, city: { slug: "paris" } } });

    await b.call(COMPONENTS, "importComponent", admin("budapest"), { componentId: offered!.id, follow: true });
    const categories = await b.call<Category[]>(CATEGORIES, "listServiceCategories", admin("budapest"));
    const streetlight = list(categories).find((category) => category.code === "streetlight");
    expect(streetlight?.names).toEqual({ fr: "Éclairage public en panne", en: "Street light out", hu: "Nem működő közvilágítás" });
    expect(streetlight?.attributes[0]).toMatchObject({
      code: "pole",
      description: { fr: "Type de support", en: "Kind of pole" },
      values: [
        { key: "wall", name: { fr: "Applique murale", en: "Wall mounted" } },
        { key: "post", name: { fr: "Candélabre", en: "Post" } },
      ],
    });
    const budapest = await b.call<{ state: string; settings: Record<string, unknown> }>(LIFECYCLE, "getCityPlugin", admin("budapest"), "reporting");
    expect(budapest.state).toBe("enabled");
    // The preset: Paris' portable settings (how reporting works) and nothing else: Paris'
    // sender address and agency name stay in Paris.
    expect(parisSettings).toMatchObject({ duplicateRadiusMeters: 120, anonymousReports: false, notificationsFrom: "voirie@paris.example" });
    for (const field of ["anonymousReports", "duplicateRadiusMeters", "duplicateWindowDays", "photoMaxBytes", "photoMaxCount", "defaultListDays"]) {
      expect(budapest.settings[field], field).toEqual(parisSettings[field]);
    }
    expect(budapest.settings).toMatchObject({ notificationsFrom: "", agencyName: {}, smtp: null });
  });

  let parisStatistics: Dataset;

  test("a dataset shared with Budapest only: pushed to it, invisible to Lyon on the same instance", async () => {
    const budapestUri = `${b.base}/federation/cities/budapest`;
    parisStatistics = await a.call<Dataset>(DATASETS, "publishDataset", admin("paris"), {
      pluginId: "reporting",
      dataset: "request-statistics",
      sharing: "cities",
      sharedWith: [budapestUri],
    });
    await settle(a, b);

    const atBudapest = list(await b.call<Dataset[]>(DATASETS, "listDatasets", admin("budapest"), {}));
    const mirrored = atBudapest.find((dataset) => dataset.uri === parisStatistics.uri);
    expect(mirrored).toBeDefined();
    const atLyon = list(await b.call<Dataset[]>(DATASETS, "listDatasets", admin("lyon"), {}));
    expect(atLyon.find((dataset) => dataset.uri === parisStatistics.uri)).toBeUndefined();
    await expect(b.call(DATASETS, "subscribeDataset", admin("lyon"), { datasetId: mirrored!.id })).rejects.toThrow();

    // Across the peering too: A refuses Lyon's read of the feed, signed by B.
    const refused = await b.call<{ status: number; body: { error?: string } }>(PROBE, "signedGet", `${parisStatistics.uri}/records?after=0&city=${encodeURIComponent(`${b.base}/federation/cities/lyon`)}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe("not_shared");

    await b.call(DATASETS, "subscribeDataset", admin("budapest"), { datasetId: mirrored!.id });
    await settle(b, a);
    await b.call(DATASETS, "catchUpDue");

    await a.call(REQUESTS, "reportIssue", admin("paris"), { categoryCode: "streetlight", description: "Lampadaire éteint rue de Rivoli", address: "Rue de Rivoli", attributes: { pole: "post" }, confirmNotDuplicate: true });
    await a.call(DATASETS, "refreshDataset", parisStatistics.id);
    await settle(a, b);

    const records = list(await b.call<DatasetRecord[]>(DATASETS, "datasetRecords", admin("budapest"), { datasetId: mirrored!.id }));
    const month = records.find((record) => record.key.startsWith("streetlight/"));
    expect(month?.data).toMatchObject({ category: "streetlight", received: 1 });
    expect(month?.provenance).toMatchObject({ city: `${a.base}/federation/cities/paris`, instance: a.base });
  });

  test("an update missed while B was stopped is recovered through the pull feed", async () => {
    await b.stop();
    await a.call(REQUESTS, "reportIssue", admin("paris"), { categoryCode: "streetlight", description: "Deux lampadaires éteints quai de la Seine", address: "Quai de la Seine", attributes: { pole: "wall" }, confirmNotDuplicate: true });
    await a.call(DATASETS, "refreshDataset", parisStatistics.id);
    const attempt = await a.call<{ delivered: number; retried: number }>(OUTBOX, "deliverDue");
    expect(attempt).toMatchObject({ delivered: 0, retried: 1 });

    await b.start();
    const mirrored = list(await b.call<Dataset[]>(DATASETS, "listDatasets", admin("budapest"), {})).find((dataset) => dataset.uri === parisStatistics.uri)!;
    await b.call(DATASETS, "catchUp", mirrored.id);
    const atB = list(await b.call<DatasetRecord[]>(DATASETS, "datasetRecords", admin("budapest"), { datasetId: mirrored.id }));
    const atA = list(await a.call<DatasetRecord[]>(DATASETS, "datasetRecords", admin("paris"), { datasetId: parisStatistics.id }));
    expect(atB.map((record) => [record.key, record.seq, record.data])).toEqual(atA.map((record) => [record.key, record.seq, record.data]));
    expect(atB.find((record) => record.key.startsWith("streetlight/"))?.data).toMatchObject({ received: 2 });
  });
});
