// Datasets between cities (docs/federation.md §7, §8): Paris shares a plugin's dataset with
// Budapest and with Graz (a city of a peer instance) only; Lyon, on the same instance, and Linz,
// at the same peer, never see it, subscribe to it or read it, here or through the pull feed.
// Refreshes number what changed; records carry their provenance; peers' followers get pushes;
// a peer's datasets arrive in the inbox, are shown only to the cities they name, and are kept
// up to date by pushes and, when something was missed, by catching up through the feed.
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { serve, type Served } from "../../tests/support/http";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS } from "../auth/permissions";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { addToCatalogue, loadCatalogue, removeFromCatalogue } from "../plugins/catalogue.server";
import { definePlugin, type DatasetRecord, type PluginTranslations } from "../plugins/sdk.server";
import { canonicalJson } from "./canonical";
import { datasetRoutes } from "./datasets-http.server";
import {
  catchUp,
  catchUpDue,
  datasetRecords,
  getDataset,
  listDatasets,
  listSubscriptions,
  onDatasetActivity,
  onPeerActivated,
  publishDataset,
  refreshDataset,
  refreshDueDatasets,
  subscribeDataset,
  unsubscribeDataset,
  updateDatasetSharing,
  withdrawDataset,
  type DatasetView,
  type FeedPage,
  type WireRecord,
} from "./datasets.server";
import { InboxRefusal } from "./inbox.server";
import { cityUri, instanceId } from "./instance.server";
import { signRequest } from "./signatures.server";

// --- A plugin whose snapshot the tests choose ----------------------------------------------------

/** Each city's snapshot of the counts dataset. */
const snapshots = new Map<string, DatasetRecord[]>();

function translations(): PluginTranslations {
  return Object.fromEntries(
    SUPPORTED_LOCALES.map((locale) => [
      locale,
      {
        plugin: { name: `Statistics ${locale}`, description: `Statistics of the city (${locale})` },
        counts: { name: `Counts ${locale}`, description: `How many of each thing (${locale})` },
        broken: { name: `Broken ${locale}`, description: `Never works (${locale})` },
        field: { key: `The thing (${locale})`, count: `How many (${locale})` },
      },
    ]),
  ) as unknown as PluginTranslations;
}

const statistics = definePlugin({
  id: "test-statistics",
  version: "1.0.0",
  name: "test-statistics:plugin.name",
  description: "test-statistics:plugin.description",
  category: "other",
  icon: "box",
  translations: translations(),
  federation: {
    datasets: [
      {
        id: "counts",
        name: "test-statistics:counts.name",
        description: "test-statistics:counts.description",
        keywords: ["counts"],
        fields: [
          { name: "key", type: "string", description: "test-statistics:field.key" },
          { name: "count", type: "integer", description: "test-statistics:field.count" },
        ],
        handler: async () => ({ snapshot: async ({ tenantId }) => snapshots.get(tenantId) ?? [] }),
      },
      {
        id: "broken",
        name: "test-statistics:broken.name",
        description: "test-statistics:broken.description",
        fields: [],
        handler: async () => ({
          snapshot: async () => {
            throw new Error("the broken dataset's snapshot fails");
          },
        }),
      },
    ],
  },
});

// --- Cities, people, peers ---------------------------------------------------------------------------

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
let lyon: TestCity;
let vienna: TestCity;

const person = (city: TestCity, role: "admin" | "staff"): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: [role] });
const adminOf = (city: TestCity) => person(city, "admin");
const at = (city: TestCity) => ({ tenantId: city.id, database });

type TestPeer = { id: string; instanceId: string; keyId: string; privateKey: KeyObject };

const PEER = "https://peer.example";
const OTHER = "https://other.example";
const GRAZ = `${PEER}/federation/cities/graz`;
const LINZ = `${PEER}/federation/cities/linz`;
const OSLO = `${OTHER}/federation/cities/oslo`;

let peer: TestPeer;
let other: TestPeer;

async function addPeer(id: string, slugs: string[], state: { active?: boolean; suspended?: boolean } = {}): Promise<TestPeer> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const keyId = `${id}#k1`;
  const row = await withPlatformAdmin(
    (tx) =>
      tx.federationPeer.create({
        data: {
          id: randomUUID(),
          instanceId: id,
          baseUrl: id,
          inboxUrl: `${id}/federation/inbox`,
          name: `Peer ${id}`,
          keys: [{ id: keyId, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), status: "current" }],
          discovery: {
            id,
            capabilities: ["peering", "datasets", "dataset-feed"],
            cities: slugs.map((slug) => ({ id: `${id}/federation/cities/${slug}`, slug, names: { en: slug }, locales: ["en"] })),
          },
          localAccepted: state.active ?? true,
          remoteAccepted: state.active ?? true,
          suspended: state.suspended ?? false,
        },
      }),
    database,
  );
  return { id: row.id, instanceId: id, keyId, privateKey };
}

async function runPlugin(city: TestCity): Promise<void> {
  await withPlatformAdmin(
    (tx) => tx.pluginInstallation.create({ data: { tenantId: city.id, pluginId: statistics.id, version: "1.0.0", enabled: true, settings: {} } }),
    database,
  );
}

async function setLanguages(city: TestCity, names: Record<string, string>, locales: string[]): Promise<void> {
  await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { names, enabledLocales: locales, defaultLocale: locales[0]! } }), database);
}

type Sent = { id: string; type: string; actor: string; object: Record<string, unknown> & { type?: string; id?: string } };

/** What the outbox holds for a peer, oldest first; `since` leaves out what a test saw before. */
async function outbox(target: TestPeer): Promise<Sent[]> {
  const rows = await withPlatformAdmin(
    (tx) => tx.federationOutbox.findMany({ where: { peerId: target.id }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { activity: true } }),
    database,
  );
  return rows.map((row) => row.activity as unknown as Sent);
}

async function clearOutbox(): Promise<void> {
  await withPlatformAdmin((tx) => tx.federationOutbox.deleteMany({}), database);
}

const activityFrom = (from: TestPeer, type: string, object: unknown, actor = from.instanceId) => ({
  "@context": "https://www.w3.org/ns/activitystreams",
  id: `${from.instanceId}/federation/activities/${randomUUID()}`,
  type,
  actor,
  object,
  published: new Date().toISOString(),
});

/** The inbox's part: the handler in a platform transaction, with the peer as stored. */
async function receive(from: TestPeer, activity: Record<string, unknown>): Promise<void> {
  await withPlatformAdmin(async (tx) => {
    const row = await tx.federationPeer.findUniqueOrThrow({ where: { id: from.id } });
    await onDatasetActivity({ tx, peer: row, activity: activity as never, database });
  }, database);
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InboxRefusal);
  return { status: (error as InboxRefusal).status, code: (error as InboxRefusal).code };
}

async function auditActions(city: TestCity): Promise<string[]> {
  const rows = await withTenant(city.id, (tx) => tx.auditEvent.findMany({ where: { tenantId: city.id, subjectType: "federation_dataset" }, orderBy: { occurredAt: "asc" } }), database);
  return rows.map((row) => row.action);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A record as a peer's instance sends it. */
function remoteRecord(dataset: string, seq: number, key: string, data: Record<string, unknown> | null): WireRecord {
  return {
    key,
    seq,
    deleted: data === null,
    hash: sha256(canonicalJson(data)),
    data,
    provenance: { city: GRAZ, instance: PEER, dataset, seq, time: "2026-11-27T10:00:00.000Z" },
  };
}

// --- The HTTP side ----------------------------------------------------------------------------------

let server: Served;

/** A GET of this instance's routes, signed as `signer` when given (the target URI is the instance's). */
async function get(path: string, signer?: TestPeer): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = signer
    ? { ...signRequest({ method: "GET", url: `${instanceId()}${path}`, keyId: signer.keyId, privateKey: signer.privateKey }) }
    : {};
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const feedPath = (dataset: DatasetView, query: Record<string, string>) => `/federation/datasets/${dataset.id}/records?${new URLSearchParams(query).toString()}`;

beforeAll(async () => {
  loadCatalogue();
  addToCatalogue(statistics);
  database = await createTestDatabase();
  paris = await createCity(database, { slug: "paris" });
  budapest = await createCity(database, { slug: "budapest" });
  lyon = await createCity(database, { slug: "lyon" });
  vienna = await createCity(database, { slug: "vienna" });
  await setLanguages(paris, { fr: "Paris", en: "Paris" }, ["fr", "en"]);
  await setLanguages(budapest, { hu: "Budapest", en: "Budapest" }, ["hu", "en"]);
  for (const city of [paris, vienna]) await runPlugin(city);
  peer = await addPeer(PEER, ["graz", "linz"]);
  other = await addPeer(OTHER, ["oslo"]);
  const app = express();
  app.use(datasetRoutes({ database }));
  server = await serve(app);
});

afterAll(async () => {
  removeFromCatalogue(statistics.id);
  await server?.close();
  await database?.drop();
});

// --- Publishing -----------------------------------------------------------------------------------

describe("publishing a dataset", () => {
  it("publishes a plugin's dataset under the plugin's translated name and description, one publication per city, plugin and dataset", async () => {
    snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 3 } }]);
    const published = await publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "counts", sharing: "federation" }, at(vienna));
    expect(published).toMatchObject({
      uri: `${instanceId()}/federation/datasets/${published.id}`,
      pluginId: statistics.id,
      dataset: "counts",
      sharing: "federation",
      mine: true,
      origin: { city: cityUri("vienna"), slug: "vienna", instance: instanceId(), local: true },
    });
    expect(published.title).toEqual(Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, `Counts ${locale}`])));
    expect(published.description.fr).toBe("How many of each thing (fr)");
    // Its first records right away.
    expect(published.lastSeq).toBe(1);

    const again = await publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "counts", sharing: "public", title: { en: "Vienna's counts" } }, at(vienna));
    expect(again).toMatchObject({ id: published.id, sharing: "public", title: { en: "Vienna's counts" } });
    expect(await auditActions(vienna)).toEqual(["federation.dataset.published", "federation.dataset.updated"]);
  });

  it("refuses a service the city does not run, a dataset the plugin does not declare, and anyone without federation.manage there", async () => {
    const input = { pluginId: statistics.id, dataset: "counts", sharing: "federation" as const };
    await expect(publishDataset(adminOf(budapest), input, at(budapest))).rejects.toBeInstanceOf(Conflict);
    await expect(publishDataset(adminOf(vienna), { ...input, dataset: "nothing" }, at(vienna))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(publishDataset(adminOf(vienna), { ...input, pluginId: "no-such-plugin" }, at(vienna))).rejects.toBeInstanceOf(NotFound);
    await expect(publishDataset(person(vienna, "staff"), input, at(vienna))).rejects.toBeInstanceOf(Forbidden);
    await expect(publishDataset(adminOf(vienna), input, at(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(publishDataset(ANONYMOUS, input, at(vienna))).rejects.toBeInstanceOf(Unauthenticated);
  });

  it("takes named cities of this instance and those an active peer lists, nothing else", async () => {
    const named = (sharedWith: string[]) =>
      publishDataset(adminOf(paris), { pluginId: statistics.id, dataset: "counts", sharing: "cities", sharedWith }, at(paris));
    await expect(named([cityUri("atlantis")])).rejects.toBeInstanceOf(ValidationFailed);
    await expect(named([`${PEER}/federation/cities/salzburg`])).rejects.toBeInstanceOf(ValidationFailed);
    await expect(named(["https://stranger.example/federation/cities/x"])).rejects.toBeInstanceOf(ValidationFailed);
    await expect(named([])).rejects.toBeInstanceOf(ValidationFailed);
    await expect(named([cityUri("paris")])).rejects.toBeInstanceOf(ValidationFailed);
    await expect(
      publishDataset(adminOf(paris), { pluginId: statistics.id, dataset: "counts", sharing: "public", sharedWith: [GRAZ] }, at(paris)),
    ).rejects.toBeInstanceOf(ValidationFailed);
    // A suspended peer's cities cannot be named.
    const suspended = await addPeer("https://suspended.example", ["bern"], { suspended: true });
    await expect(named([`${suspended.instanceId}/federation/cities/bern`])).rejects.toBeInstanceOf(ValidationFailed);
    await withPlatformAdmin((tx) => tx.federationPeer.delete({ where: { id: suspended.id } }), database);
    // Nothing was published by the refusals.
    expect((await listDatasets(adminOf(paris), {}, at(paris))).items.filter((dataset) => dataset.mine)).toEqual([]);
  });
});

// --- The sharing policy ---------------------------------------------------------------------------

describe("a dataset shared with named cities", () => {
  let shared: DatasetView;

  beforeAll(async () => {
    await clearOutbox();
    snapshots.set(paris.id, [
      { key: "a", data: { key: "a", count: 1 } },
      { key: "b", data: { key: "b", count: 2 } },
    ]);
    shared = await publishDataset(
      adminOf(paris),
      { pluginId: statistics.id, dataset: "counts", sharing: "cities", sharedWith: [GRAZ, cityUri("budapest")] },
      at(paris),
    );
  });

  it("is invisible to the other cities of the instance: their list omits it, subscribing and reading refuse them", async () => {
    const atBudapest = (await listDatasets(adminOf(budapest), {}, at(budapest))).items;
    expect(atBudapest.map((dataset) => dataset.uri)).toContain(shared.uri);
    // Who else may read it is the publisher's business.
    expect(atBudapest.find((dataset) => dataset.uri === shared.uri)?.sharedWith).toEqual([]);
    expect(shared.sharedWith).toEqual([GRAZ, cityUri("budapest")].sort());

    const atLyon = (await listDatasets(adminOf(lyon), {}, at(lyon))).items;
    expect(atLyon.map((dataset) => dataset.uri)).not.toContain(shared.uri);
    await expect(getDataset(adminOf(lyon), { datasetId: shared.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
    await expect(subscribeDataset(adminOf(lyon), { datasetId: shared.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
    await expect(datasetRecords(adminOf(lyon), { datasetId: shared.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
    // Public and federation datasets are everyone's here.
    expect(atLyon.map((dataset) => dataset.pluginId + "/" + dataset.origin.slug)).toContain(`${statistics.id}/vienna`);
  });

  it("lets a named city subscribe at once and read the records, each with its provenance", async () => {
    const subscribed = await subscribeDataset(adminOf(budapest), { datasetId: shared.id }, at(budapest));
    expect(subscribed.subscription).toMatchObject({ state: "active" });
    const page = await datasetRecords(adminOf(budapest), { datasetId: shared.id }, at(budapest));
    expect(page).toMatchObject({ dataset: shared.uri, last: 2, hasNextPage: false, endCursor: 2 });
    expect(page.items).toEqual([
      {
        key: "a",
        seq: 1,
        deleted: false,
        hash: sha256(canonicalJson({ key: "a", count: 1 })),
        data: { key: "a", count: 1 },
        provenance: { city: cityUri("paris"), instance: instanceId(), dataset: shared.uri, seq: 1, time: expect.any(String) },
      },
      expect.objectContaining({ key: "b", seq: 2, provenance: expect.objectContaining({ city: cityUri("paris"), seq: 2 }) }),
    ]);
    expect((await listSubscriptions(adminOf(budapest), at(budapest))).map((dataset) => [dataset.uri, dataset.subscription?.state])).toEqual([[shared.uri, "active"]]);
    expect(await auditActions(budapest)).toEqual(["federation.dataset.subscribed"]);
    // Subscribing again changes nothing; the publisher does not subscribe to its own.
    await subscribeDataset(adminOf(budapest), { datasetId: shared.id }, at(budapest));
    expect(await auditActions(budapest)).toEqual(["federation.dataset.subscribed"]);
    await expect(subscribeDataset(adminOf(paris), { datasetId: shared.id }, at(paris))).rejects.toBeInstanceOf(Conflict);
  });

  it("is announced only to the peer hosting a named city, naming only that peer's cities", async () => {
    const told = (await outbox(peer)).filter((activity) => activity.object.id === shared.uri);
    expect(told).toEqual([
      expect.objectContaining({
        type: "Create",
        actor: cityUri("paris"),
        object: expect.objectContaining({ type: "civitas:Dataset", id: shared.uri, sharing: "cities", sharedWith: [GRAZ], plugin: statistics.id, dataset: "counts" }),
      }),
    ]);
    expect(JSON.stringify(await outbox(other))).not.toContain(shared.uri);
  });

  it("answers the pull feed to a named city of the peer, and refuses another city of that peer with 403 not_shared", async () => {
    const named = await get(feedPath(shared, { after: "0", city: GRAZ }), peer);
    expect(named.status).toBe(200);
    expect(named.body).toMatchObject({ dataset: shared.uri, last: 2, next: null });
    expect((named.body as FeedPage).records.map((record) => [record.key, record.seq, record.provenance.city])).toEqual([
      ["a", 1, cityUri("paris")],
      ["b", 2, cityUri("paris")],
    ]);

    const linz = await get(feedPath(shared, { after: "0", city: LINZ }), peer);
    expect(linz).toMatchObject({ status: 403, body: { error: "not_shared" } });
    // Another peer's city, or one another peer claims: refused too.
    expect(await get(feedPath(shared, { after: "0", city: OSLO }), other)).toMatchObject({ status: 403, body: { error: "not_shared" } });
    expect(await get(feedPath(shared, { after: "0", city: GRAZ }), other)).toMatchObject({ status: 403, body: { error: "not_shared" } });
    // And the instance's own cities are not read through the feed.
    expect(await get(feedPath(shared, { after: "0", city: cityUri("budapest") }), peer)).toMatchObject({ status: 403, body: { error: "not_shared" } });
    expect(await get(feedPath(shared, { after: "0", city: GRAZ }))).toMatchObject({ status: 401, body: { error: "missing_signature" } });
    expect(await get(feedPath(shared, { after: "0" }), peer)).toMatchObject({ status: 400, body: { error: "malformed" } });
  });

  it("accepts a Follow from a named city of the peer and rejects one from another of its cities", async () => {
    await clearOutbox();
    const follow = activityFrom(peer, "Follow", shared.uri, GRAZ);
    await receive(peer, follow);
    const linzFollow = activityFrom(peer, "Follow", shared.uri, LINZ);
    await receive(peer, linzFollow);
    const followers = await withPlatformAdmin((tx) => tx.federationDatasetFollower.findMany({ where: { datasetId: shared.id }, select: { cityUri: true, peerId: true } }), database);
    expect(followers).toEqual([{ cityUri: GRAZ, peerId: peer.id }]);
    expect((await outbox(peer)).map((activity) => [activity.type, activity.object])).toEqual([
      ["Accept", { type: "Follow", id: follow.id, actor: GRAZ, object: shared.uri }],
      ["Reject", { type: "Follow", id: linzFollow.id, actor: LINZ, object: shared.uri }],
    ]);

    // A peer speaks for its own cities only; a Follow of what is not a dataset here is refused.
    expect(await refusal(receive(peer, activityFrom(peer, "Follow", shared.uri, OSLO)))).toEqual({ status: 403, code: "actor_mismatch" });
    expect(await refusal(receive(peer, activityFrom(peer, "Follow", `${instanceId()}/federation/components/${randomUUID()}`, GRAZ)))).toEqual({
      status: 422,
      code: "refused",
    });
    // An unknown dataset of ours: the follower hears Reject.
    await receive(peer, activityFrom(peer, "Follow", `${instanceId()}/federation/datasets/${randomUUID()}`, GRAZ));
    expect((await outbox(peer)).at(-1)?.type).toBe("Reject");
  });

  it("lets another city act on none of the publisher's datasets", async () => {
    await expect(updateDatasetSharing(adminOf(budapest), { datasetId: shared.id, sharing: "public" }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    await expect(withdrawDataset(adminOf(budapest), { datasetId: shared.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
  });

  describe("refreshed", () => {
    it("numbers each new, changed and removed key with the next sequence number, and leaves unchanged keys alone", async () => {
      await clearOutbox();
      snapshots.set(paris.id, [
        { key: "a", data: { key: "a", count: 5 } },
        { key: "c", data: { key: "c", count: 1 } },
      ]);
      expect(await refreshDataset(shared.id, { database })).toEqual({ datasetId: shared.id, changed: 2, removed: 1, lastSeq: 5, pushed: 1 });

      const all = await datasetRecords(adminOf(budapest), { datasetId: shared.id, includeDeleted: true }, at(budapest));
      expect(all.items.map((record) => [record.key, record.seq, record.deleted, record.data])).toEqual([
        ["a", 3, false, { key: "a", count: 5 }],
        ["c", 4, false, { key: "c", count: 1 }],
        ["b", 5, true, null],
      ]);
      expect(all.items[2]).toMatchObject({ hash: sha256("null"), provenance: { seq: 5, city: cityUri("paris") } });
      // A reader that keeps no copy sees the current records only.
      expect((await datasetRecords(adminOf(budapest), { datasetId: shared.id }, at(budapest))).items.map((record) => record.key)).toEqual(["a", "c"]);

      expect(await refreshDataset(shared.id, { database })).toEqual({ datasetId: shared.id, changed: 0, removed: 0, lastSeq: 5, pushed: 0 });
    });

    it("pushes the changes to the following peer only", async () => {
      const [push] = await outbox(peer);
      expect(push).toMatchObject({
        type: "Update",
        actor: cityUri("paris"),
        object: { type: "civitas:DatasetRecords", dataset: shared.uri, after: 2, last: 5 },
      });
      expect((push!.object.records as WireRecord[]).map((record) => [record.key, record.seq, record.deleted])).toEqual([
        ["a", 3, false],
        ["c", 4, false],
        ["b", 5, true],
      ]);
      expect(await outbox(other)).toEqual([]);
    });

    it("pushes a large change in batches of at most 500, each continuing from the one before", async () => {
      await clearOutbox();
      snapshots.set(
        paris.id,
        Array.from({ length: 600 }, (_, index) => ({ key: `k${String(index).padStart(3, "0")}`, data: { key: `k${index}`, count: index } })),
      );
      // 600 new keys, a and c removed: seqs 6 to 607.
      expect(await refreshDataset(shared.id, { database })).toMatchObject({ changed: 600, removed: 2, lastSeq: 607, pushed: 2 });
      const pushes = (await outbox(peer))
        .map((activity) => activity.object as { after: number; last: number; records: WireRecord[] })
        .sort((a, b) => a.after - b.after);
      expect(pushes.map((batch) => [batch.after, batch.last, batch.records.length, batch.records[0]?.seq])).toEqual([
        [5, 505, 500, 6],
        [505, 607, 102, 506],
      ]);
    });

    it("pages the records, for the subscribing city and in the feed", async () => {
      const first = await datasetRecords(adminOf(budapest), { datasetId: shared.id, first: 250 }, at(budapest));
      expect(first).toMatchObject({ hasNextPage: true, endCursor: 255 });
      const second = await datasetRecords(adminOf(budapest), { datasetId: shared.id, first: 500, after: first.endCursor }, at(budapest));
      // The last two sequence numbers are tombstones, which this reader does not ask for.
      expect(second).toMatchObject({ hasNextPage: false, endCursor: 605 });
      expect(first.items.length + second.items.length).toBe(600);
      await expect(datasetRecords(adminOf(budapest), { datasetId: shared.id, first: 501 }, at(budapest))).rejects.toBeInstanceOf(ValidationFailed);

      const page = await get(feedPath(shared, { after: "600", limit: "5", city: GRAZ }), peer);
      expect(page.status).toBe(200);
      expect((page.body as FeedPage).records.map((record) => record.seq)).toEqual([601, 602, 603, 604, 605]);
      expect(page.body.next).toBe(`${shared.uri}/records?after=605&limit=5&city=${encodeURIComponent(GRAZ)}`);
      const next = await get(new URL(page.body.next as string).pathname + new URL(page.body.next as string).search, peer);
      expect(next.body).toMatchObject({ last: 607, next: null });
      expect((next.body as FeedPage).records.map((record) => record.seq)).toEqual([606, 607]);

      for (const limit of ["0", "501", "x"]) expect((await get(feedPath(shared, { limit, city: GRAZ }), peer)).body).toMatchObject({ error: "malformed" });
      expect(await get(`/federation/datasets/${randomUUID()}/records?city=${encodeURIComponent(GRAZ)}`, peer)).toMatchObject({ status: 404, body: { error: "unknown_dataset" } });
      expect(await get(`/federation/datasets/not-an-id/records`)).toMatchObject({ status: 404, body: { error: "unknown_dataset" } });
    });

    it("narrowing the policy tells the peer it is gone, rejects its follower and refuses the city left out", async () => {
      await clearOutbox();
      await updateDatasetSharing(adminOf(paris), { datasetId: shared.id, sharing: "cities", sharedWith: [cityUri("lyon")] }, at(paris));
      // One transaction: in whichever order the outbox holds them.
      expect((await outbox(peer)).map((activity) => [activity.type, activity.object]).sort()).toEqual([
        ["Delete", shared.uri],
        ["Reject", { type: "Follow", actor: GRAZ, object: shared.uri }],
      ]);
      expect(await withPlatformAdmin((tx) => tx.federationDatasetFollower.count({ where: { datasetId: shared.id } }), database)).toBe(0);
      expect((await listSubscriptions(adminOf(budapest), at(budapest)))[0]?.subscription?.state).toBe("refused");
      await expect(datasetRecords(adminOf(budapest), { datasetId: shared.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
      expect((await listDatasets(adminOf(lyon), {}, at(lyon))).items.map((dataset) => dataset.uri)).toContain(shared.uri);
      expect(await auditActions(paris)).toEqual(["federation.dataset.published", "federation.dataset.sharing_changed"]);

      // Shared with Graz again: the peer hears of it anew.
      await clearOutbox();
      await updateDatasetSharing(adminOf(paris), { datasetId: shared.id, sharing: "cities", sharedWith: [cityUri("budapest"), GRAZ] }, at(paris));
      expect((await outbox(peer)).map((activity) => activity.type)).toEqual(["Create"]);
      await unsubscribeDataset(adminOf(budapest), { datasetId: shared.id }, at(budapest));
      expect(await listSubscriptions(adminOf(budapest), at(budapest))).toEqual([]);
    });
  });
});

describe("announcing and withdrawing", () => {
  it("announces to a newly active peer the datasets its cities may see", async () => {
    await clearOutbox();
    const newcomer = await addPeer("https://newcomer.example", ["bergen"]);
    await withPlatformAdmin(async (tx) => onPeerActivated(tx, await tx.federationPeer.findUniqueOrThrow({ where: { id: newcomer.id } })), database);
    const told = await outbox(newcomer);
    // Vienna's public dataset; not Paris', shared with named cities elsewhere.
    expect(told.map((activity) => [activity.type, activity.object.plugin, (activity.object as { origin: { city: { slug: string } } }).origin.city.slug])).toEqual([
      ["Create", statistics.id, "vienna"],
    ]);
    await withPlatformAdmin((tx) => tx.federationPeer.delete({ where: { id: newcomer.id } }), database);
  });

  it("withdraws a dataset: peers hear Delete, no other city sees, subscribes to or reads it, and it is no longer refreshed", async () => {
    const vienneseCounts = (await listDatasets(adminOf(vienna), { city: cityUri("vienna") }, at(vienna))).items.find((dataset) => dataset.dataset === "counts")!;
    await subscribeDataset(adminOf(lyon), { datasetId: vienneseCounts.id }, at(lyon));
    await clearOutbox();
    const withdrawn = await withdrawDataset(adminOf(vienna), { datasetId: vienneseCounts.id }, at(vienna));
    expect(withdrawn.withdrawnAt).toBeInstanceOf(Date);
    expect((await outbox(peer)).map((activity) => [activity.type, activity.object])).toEqual([["Delete", vienneseCounts.uri]]);
    expect((await outbox(other)).map((activity) => activity.type)).toEqual(["Delete"]);
    expect((await listDatasets(adminOf(lyon), {}, at(lyon))).items.map((dataset) => dataset.id)).not.toContain(vienneseCounts.id);
    await expect(datasetRecords(adminOf(lyon), { datasetId: vienneseCounts.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
    await expect(subscribeDataset(adminOf(budapest), { datasetId: vienneseCounts.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    // The publisher still has it, to publish it again.
    expect((await listDatasets(adminOf(vienna), {}, at(vienna))).items.find((dataset) => dataset.id === vienneseCounts.id)?.withdrawnAt).toBeInstanceOf(Date);
    await expect(refreshDataset(vienneseCounts.id, { database })).rejects.toBeInstanceOf(Conflict);
    await expect(withdrawDataset(adminOf(vienna), { datasetId: vienneseCounts.id }, at(vienna))).rejects.toBeInstanceOf(Conflict);
    expect(await get(`/federation/datasets/${vienneseCounts.id}/records.json`)).toMatchObject({ status: 404, body: { error: "unknown_dataset" } });

    const back = await publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "counts", sharing: "public" }, at(vienna));
    expect(back).toMatchObject({ id: vienneseCounts.id, withdrawnAt: null });
  });

  it("serves a public dataset's records as one download and its descriptor to anyone; others' to the peers they are announced to", async () => {
    const vienneseCounts = (await listDatasets(adminOf(vienna), { city: cityUri("vienna"), pluginId: statistics.id }, at(vienna))).items[0]!;
    const download = await get(`/federation/datasets/${vienneseCounts.id}/records.json`);
    expect(download.status).toBe(200);
    expect(download.body).toMatchObject({ dataset: vienneseCounts.uri, records: [{ key: "bench", data: { key: "bench", count: 3 }, provenance: { city: cityUri("vienna") } }] });
    expect(await get(`/federation/datasets/${vienneseCounts.id}`)).toMatchObject({ status: 200, body: { type: "civitas:Dataset", id: vienneseCounts.uri, sharing: "public" } });

    const parisCounts = (await listDatasets(adminOf(paris), { city: cityUri("paris") }, at(paris))).items[0]!;
    expect(await get(`/federation/datasets/${parisCounts.id}/records.json`)).toMatchObject({ status: 403, body: { error: "not_shared" } });
    expect(await get(`/federation/datasets/${parisCounts.id}`)).toMatchObject({ status: 401 });
    expect(await get(`/federation/datasets/${parisCounts.id}`, other)).toMatchObject({ status: 403, body: { error: "not_shared" } });
    expect(await get(`/federation/datasets/${parisCounts.id}`, peer)).toMatchObject({ status: 200, body: { id: parisCounts.uri, sharedWith: [GRAZ] } });
  });

  it("refreshes the datasets that are due, one failing not stopping the others", async () => {
    await publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "broken", sharing: "public" }, at(vienna));
    snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 4 } }]);
    const later = new Date(Date.now() + 10 * 60_000);
    const round = await refreshDueDatasets({ database, now: later });
    expect(round).toEqual({ refreshed: 2, skipped: 0, failed: 1 });
    const vienneseCounts = (await listDatasets(adminOf(vienna), { city: cityUri("vienna"), pluginId: statistics.id }, at(vienna))).items.find((dataset) => dataset.dataset === "counts")!;
    expect((await datasetRecords(adminOf(vienna), { datasetId: vienneseCounts.id }, at(vienna))).items.map((record) => record.data)).toEqual([{ key: "bench", count: 4 }]);
    // Claimed: not due again within the interval, whether it worked or not.
    expect(await refreshDueDatasets({ database, now: later })).toEqual({ refreshed: 0, skipped: 0, failed: 0 });
  });
});

// --- A peer's datasets -----------------------------------------------------------------------------

function descriptor(uri: string, overrides: Record<string, unknown> = {}) {
  return {
    type: "civitas:Dataset",
    id: uri,
    plugin: statistics.id,
    dataset: "counts",
    title: { de: "Zählungen", en: "Counts of Graz" },
    description: { en: "How many" },
    sharing: "cities",
    sharedWith: [cityUri("budapest")],
    origin: { instance: PEER, city: { id: GRAZ, slug: "graz", names: { de: "Graz" }, locales: ["de", "en"] }, published: "2026-11-27T10:00:00.000Z" },
    lastSeq: 2,
    ...overrides,
  };
}

describe("a peer's dataset", () => {
  const remote = `${PEER}/federation/datasets/${randomUUID()}`;
  let mirrored: DatasetView;

  const batch = (after: number, last: number, records: WireRecord[]) => ({ type: "civitas:DatasetRecords", dataset: remote, after, last, records });

  it("is shown only to the cities it names", async () => {
    await receive(peer, activityFrom(peer, "Create", descriptor(remote), GRAZ));
    const atBudapest = (await listDatasets(adminOf(budapest), {}, at(budapest))).items;
    mirrored = atBudapest.find((dataset) => dataset.uri === remote)!;
    expect(mirrored).toMatchObject({ title: { en: "Counts of Graz" }, sharing: "cities", origin: { city: GRAZ, instance: PEER, local: false }, subscription: null });
    expect((await listDatasets(adminOf(lyon), {}, at(lyon))).items.map((dataset) => dataset.uri)).not.toContain(remote);
    await expect(subscribeDataset(adminOf(lyon), { datasetId: mirrored.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
    await expect(datasetRecords(adminOf(lyon), { datasetId: mirrored.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
  });

  it("is subscribed to by a Follow of the city; the origin's Accept makes the subscription active", async () => {
    await clearOutbox();
    const pending = await subscribeDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    expect(pending.subscription?.state).toBe("pending");
    const [follow] = await outbox(peer);
    expect(follow).toMatchObject({ type: "Follow", actor: cityUri("budapest"), object: remote });
    await receive(peer, activityFrom(peer, "Accept", follow, GRAZ));
    const active = await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    expect(active.subscription?.state).toBe("active");
    // Due for a catch-up: what was published before the subscription comes through the feed.
    expect(active.refreshedAt).toBeNull();
  });

  it("applies pushes that continue what it holds, and stores nothing from one that comes after a gap", async () => {
    const first = [remoteRecord(remote, 1, "x", { key: "x", count: 1 }), remoteRecord(remote, 2, "y", { key: "y", count: 2 })];
    await receive(peer, activityFrom(peer, "Update", batch(0, 2, first), GRAZ));
    const page = await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    expect(page).toMatchObject({ dataset: remote, last: 2 });
    expect(page.items).toEqual(first);
    // The same batch again (another activity id): nothing changes.
    await receive(peer, activityFrom(peer, "Update", batch(0, 2, first), GRAZ));
    expect((await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).items).toEqual(first);

    await receive(peer, activityFrom(peer, "Update", batch(4, 5, [remoteRecord(remote, 5, "z", { key: "z", count: 9 })]), GRAZ));
    const after = await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    expect(after).toMatchObject({ lastSeq: 2, refreshedAt: null });
    expect((await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).items.map((record) => record.key)).toEqual(["x", "y"]);

    // Continuing: y removed.
    await receive(peer, activityFrom(peer, "Update", batch(2, 3, [remoteRecord(remote, 3, "y", null)]), GRAZ));
    expect((await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).items.map((record) => record.key)).toEqual(["x"]);
    expect((await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).subscription?.cursor).toBe(3);
  });

  it("refuses records that are not what they claim, and a dataset of another instance", async () => {
    const tampered = { ...remoteRecord(remote, 4, "x", { key: "x", count: 2 }), data: { key: "x", count: 3 } };
    expect(await refusal(receive(peer, activityFrom(peer, "Update", batch(3, 4, [tampered]), GRAZ)))).toEqual({ status: 400, code: "malformed" });
    const foreign = { ...remoteRecord(remote, 4, "x", { key: "x", count: 2 }), provenance: { ...remoteRecord(remote, 4, "x", null).provenance, instance: OTHER } };
    expect(await refusal(receive(peer, activityFrom(peer, "Update", batch(3, 4, [foreign]), GRAZ)))).toEqual({ status: 400, code: "malformed" });
    expect(await refusal(receive(peer, activityFrom(peer, "Update", { ...batch(3, 4, []), dataset: `${OTHER}/federation/datasets/${randomUUID()}` }, GRAZ)))).toEqual({
      status: 403,
      code: "actor_mismatch",
    });
    expect(await refusal(receive(other, activityFrom(other, "Create", descriptor(remote), OSLO)))).toEqual({ status: 403, code: "actor_mismatch" });
    expect(await refusal(receive(peer, activityFrom(peer, "Create", { ...descriptor(remote), sharing: "everyone" }, GRAZ)))).toEqual({ status: 400, code: "malformed" });
  });

  it("is refused by a Reject, and gone with its copy after a Delete", async () => {
    await receive(peer, activityFrom(peer, "Reject", { type: "Follow", actor: cityUri("budapest"), object: remote }, GRAZ));
    expect((await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).subscription?.state).toBe("refused");
    await receive(peer, activityFrom(peer, "Delete", remote, GRAZ));
    expect((await listDatasets(adminOf(budapest), {}, at(budapest))).items.map((dataset) => dataset.uri)).not.toContain(remote);
    await expect(datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    expect(await withPlatformAdmin((tx) => tx.federationDatasetRecord.count({ where: { datasetId: mirrored.id } }), database)).toBe(0);
  });
});

// --- Catching up through a peer's feed -----------------------------------------------------------------

describe("catching up", () => {
  let feed: Served;
  let feedPeer: TestPeer;
  let remote: string;
  const asked: { after: string; limit: string; city: string; signed: boolean }[] = [];
  let records: WireRecord[] = [];
  let refuse = false;

  beforeAll(async () => {
    const app = express();
    app.get("/federation/datasets/:id/records", (req, res) => {
      const query = req.query as Record<string, string>;
      asked.push({ after: query.after!, limit: query.limit!, city: query.city!, signed: /keyid="[^"]+#/.test(req.get("signature-input") ?? "") });
      if (refuse) return void res.status(403).json({ error: "not_shared", message: "no" });
      const after = Number(query.after);
      const page = records.filter((record) => record.seq > after).slice(0, 2);
      const more = records.some((record) => record.seq > (page.at(-1)?.seq ?? after));
      res.json({ dataset: remote, records: page, last: records.at(-1)?.seq ?? 0, next: more ? `${remote}/records?after=${page.at(-1)!.seq}` : null });
    });
    feed = await serve(app);
    const base = `http://127.0.0.1:${feed.port}`;
    feedPeer = await addPeer(base, ["graz"]);
    remote = `${base}/federation/datasets/${randomUUID()}`;
    const origin = { instance: base, city: { id: `${base}/federation/cities/graz`, slug: "graz", names: {} }, published: "2026-11-27T10:00:00.000Z" };
    records = [1, 2, 3, 4, 5].map((seq) => ({
      ...remoteRecord(remote, seq, `k${seq}`, { count: seq }),
      provenance: { city: origin.city.id, instance: base, dataset: remote, seq, time: "2026-11-27T10:00:00.000Z" },
    }));
    await receive(feedPeer, activityFrom(feedPeer, "Create", descriptor(remote, { sharing: "federation", sharedWith: [], origin, lastSeq: 5 })));
  });

  afterAll(async () => {
    await feed?.close();
  });

  it("reads the feed page after page as a subscribing city, signed, once the subscription is accepted", async () => {
    const mirror = (await listDatasets(adminOf(lyon), {}, at(lyon))).items.find((dataset) => dataset.uri === remote)!;
    await subscribeDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon));
    // Pending: nothing to catch up yet.
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, failed: 0 });
    await receive(feedPeer, activityFrom(feedPeer, "Accept", { type: "Follow", actor: cityUri("lyon"), object: remote }));

    expect(await catchUpDue({ database })).toEqual({ caughtUp: 1, failed: 0 });
    expect(asked).toEqual([
      { after: "0", limit: "500", city: cityUri("lyon"), signed: true },
      { after: "2", limit: "500", city: cityUri("lyon"), signed: true },
      { after: "4", limit: "500", city: cityUri("lyon"), signed: true },
    ]);
    const page = await datasetRecords(adminOf(lyon), { datasetId: mirror.id }, at(lyon));
    expect(page.items).toEqual(records);
    expect(page.last).toBe(5);
    // Up to date: not due again for a while.
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, failed: 0 });
    expect(await catchUp(mirror.id, { database })).toEqual({ datasetId: mirror.id, records: 0, lastSeq: 5, complete: true });
  });

  it("loses the subscription of a city the origin refuses", async () => {
    const mirror = (await listDatasets(adminOf(lyon), {}, at(lyon))).items.find((dataset) => dataset.uri === remote)!;
    refuse = true;
    expect(await catchUp(mirror.id, { database })).toMatchObject({ complete: false });
    expect((await getDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon))).subscription?.state).toBe("refused");
  });
});
