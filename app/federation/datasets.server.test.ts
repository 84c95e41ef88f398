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

/**
 * A refresh that should stall: the next refresh of the counts dataset reads the snapshots as
 * they are when it starts, says so (`reached`), and waits for `release` before it takes them.
 */
let stall: { reached: () => void; release: Promise<void> } | null = null;

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
        handler: async () => {
          // What the city's records are when the refresh begins; a stalled refresh returns them late.
          const taken = new Map(snapshots);
          const stalled = stall;
          stall = null;
          if (stalled) {
            stalled.reached();
            await stalled.release;
          }
          return { snapshot: async ({ tenantId }) => taken.get(tenantId) ?? [] };
        },
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

  it("tells this instance's cities from those of a peer whose id starts with this instance's", async () => {
    // https://civitas.example and https://civitas.example/regional are two instances.
    const nested = await addPeer(`${instanceId()}/regional`, ["salzburg"]);
    const salzburg = `${nested.instanceId}/federation/cities/salzburg`;
    const shared = await publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "counts", sharing: "cities", sharedWith: [salzburg] }, at(vienna));
    expect(shared.sharedWith).toEqual([salzburg]);
    // Announced to that peer only, naming its city; a city of ours it does not host is still refused.
    expect((await outbox(nested)).map((activity) => [activity.type, activity.object.sharedWith])).toEqual([["Update", [salzburg]]]);
    await expect(
      publishDataset(adminOf(vienna), { pluginId: statistics.id, dataset: "counts", sharing: "cities", sharedWith: [`${nested.instanceId}/federation/cities/atlantis`] }, at(vienna)),
    ).rejects.toBeInstanceOf(ValidationFailed);
    await updateDatasetSharing(adminOf(vienna), { datasetId: shared.id, sharing: "public" }, at(vienna));
    await withPlatformAdmin((tx) => tx.federationPeer.delete({ where: { id: nested.id } }), database);
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

  it("answers a signature it cannot verify as no signature, whether or not its key id names a peer", async () => {
    const unsigned = await get(feedPath(shared, { after: "0", city: GRAZ }));
    expect(unsigned).toMatchObject({ status: 401, body: { error: "missing_signature" } });
    // The peer's key id with a key it never pinned; a key of an instance that is no peer.
    const forged: TestPeer = { ...peer, privateKey: generateKeyPairSync("ed25519").privateKey };
    const stranger: TestPeer = { ...forged, instanceId: "https://stranger.example", keyId: "https://stranger.example#k1" };
    for (const signer of [forged, stranger]) {
      expect(await get(feedPath(shared, { after: "0", city: GRAZ }), signer)).toEqual(unsigned);
      expect(await get(`/federation/datasets/${shared.id}`, signer)).toEqual(await get(`/federation/datasets/${shared.id}`));
    }
    // The same signature checks still hold for the peer itself.
    expect((await get(feedPath(shared, { after: "0", city: GRAZ }), peer)).status).toBe(200);
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
    const pushed = Date.now();
    await receive(peer, activityFrom(peer, "Update", batch(0, 2, first), GRAZ));
    const page = await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    expect(page).toMatchObject({ dataset: remote, last: 2 });
    expect(page.items).toEqual(first);
    // The same batch again (another activity id): nothing changes.
    await receive(peer, activityFrom(peer, "Update", batch(0, 2, first), GRAZ));
    expect((await datasetRecords(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).items).toEqual(first);
    // Up to date with the origin's last record: that is when it was last synced.
    const synced = (await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest))).refreshedAt;
    expect(synced?.getTime()).toBeGreaterThanOrEqual(pushed - 1_000);

    await receive(peer, activityFrom(peer, "Update", batch(4, 5, [remoteRecord(remote, 5, "z", { key: "z", count: 9 })]), GRAZ));
    const after = await getDataset(adminOf(budapest), { datasetId: mirrored.id }, at(budapest));
    // Shown: the copy was last up to date with the first push. Due now: a catch-up for the gap.
    expect(after).toMatchObject({ lastSeq: 2, refreshedAt: synced });
    const schedule = await withPlatformAdmin((tx) => tx.federationDataset.findUniqueOrThrow({ where: { id: mirrored.id }, select: { refreshedAt: true } }), database);
    expect(schedule.refreshedAt).toBeNull();
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
    // An instance whose id is a prefix of another's does not speak for the other's cities or datasets.
    const underPeer = `${PEER}/regional`;
    const theirs = `${underPeer}/federation/datasets/${randomUUID()}`;
    const theirOrigin = { instance: PEER, city: { id: `${underPeer}/federation/cities/graz`, slug: "graz" }, published: "2026-11-27T10:00:00.000Z" };
    expect(await refusal(receive(peer, activityFrom(peer, "Create", descriptor(theirs), GRAZ)))).toEqual({ status: 403, code: "actor_mismatch" });
    expect(await refusal(receive(peer, activityFrom(peer, "Create", descriptor(remote, { origin: theirOrigin }), GRAZ)))).toEqual({ status: 403, code: "actor_mismatch" });
    expect(await refusal(receive(peer, activityFrom(peer, "Follow", mirrored.uri, `${underPeer}/federation/cities/graz`)))).toEqual({ status: 403, code: "actor_mismatch" });
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
  const asked: { dataset: string; after: string; limit: string; city: string; signed: boolean }[] = [];
  /** Each dataset's records at its origin, by its URI. */
  const published = new Map<string, WireRecord[]>();
  /** How the origins answer: pages of two records, 403 not_shared, 500, or not at all. */
  let answer: "pages" | "refuse" | "fail" | "silence" = "pages";

  const app = express();
  app.get("/federation/datasets/:id/records", (req, res) => {
    const dataset = `http://${req.get("host")}/federation/datasets/${req.params.id}`;
    const query = req.query as Record<string, string>;
    asked.push({ dataset, after: query.after!, limit: query.limit!, city: query.city!, signed: /keyid="[^"]+#/.test(req.get("signature-input") ?? "") });
    if (answer === "silence") return;
    if (answer === "refuse") return void res.status(403).json({ error: "not_shared", message: "no" });
    if (answer === "fail") return void res.status(500).json({ error: "internal", message: "down" });
    const records = published.get(dataset) ?? [];
    const after = Number(query.after);
    const page = records.filter((record) => record.seq > after).slice(0, 2);
    const more = records.some((record) => record.seq > (page.at(-1)?.seq ?? after));
    res.json({ dataset, records: page, last: records.at(-1)?.seq ?? 0, next: more ? `${dataset}/records?after=${page.at(-1)!.seq}` : null });
  });

  /** A dataset of `count` records that the origin announces (shared with the federation). */
  async function publishAt(origin: TestPeer, count: number): Promise<string> {
    const uri = `${origin.instanceId}/federation/datasets/${randomUUID()}`;
    const city = { id: `${origin.instanceId}/federation/cities/graz`, slug: "graz", names: {} };
    published.set(
      uri,
      Array.from({ length: count }, (_, index) => index + 1).map((seq) => ({
        ...remoteRecord(uri, seq, `k${seq}`, { count: seq }),
        provenance: { city: city.id, instance: origin.instanceId, dataset: uri, seq, time: "2026-11-27T10:00:00.000Z" },
      })),
    );
    const origins = { instance: origin.instanceId, city, published: "2026-11-27T10:00:00.000Z" };
    await receive(origin, activityFrom(origin, "Create", descriptor(uri, { sharing: "federation", sharedWith: [], origin: origins, lastSeq: count })));
    return uri;
  }

  const mirrorAtLyon = async (uri: string) => (await listDatasets(adminOf(lyon), {}, at(lyon))).items.find((dataset) => dataset.uri === uri)!;

  /** Lyon subscribes and the origin accepts: the copy is due for a catch-up. */
  async function follow(origin: TestPeer, uri: string): Promise<DatasetView> {
    const mirror = await mirrorAtLyon(uri);
    await subscribeDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon));
    await receive(origin, activityFrom(origin, "Accept", { type: "Follow", actor: cityUri("lyon"), object: uri }));
    return mirror;
  }

  const askedFor = (uri: string) => asked.filter((request) => request.dataset === uri);
  const held = async (mirror: DatasetView) => (await getDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon))).lastSeq;

  beforeAll(async () => {
    feed = await serve(app);
    feedPeer = await addPeer(`http://127.0.0.1:${feed.port}`, ["graz"]);
    remote = await publishAt(feedPeer, 5);
  });

  afterAll(async () => {
    await feed?.close();
  });

  it("reads the feed page after page as a subscribing city, signed, once the subscription is accepted", async () => {
    const mirror = await mirrorAtLyon(remote);
    await subscribeDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon));
    // Pending: nothing to catch up yet.
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    await receive(feedPeer, activityFrom(feedPeer, "Accept", { type: "Follow", actor: cityUri("lyon"), object: remote }));

    expect(await catchUpDue({ database })).toEqual({ caughtUp: 1, partial: 0, failed: 0 });
    expect(asked).toEqual([
      { dataset: remote, after: "0", limit: "500", city: cityUri("lyon"), signed: true },
      { dataset: remote, after: "2", limit: "500", city: cityUri("lyon"), signed: true },
      { dataset: remote, after: "4", limit: "500", city: cityUri("lyon"), signed: true },
    ]);
    const page = await datasetRecords(adminOf(lyon), { datasetId: mirror.id }, at(lyon));
    expect(page.items).toEqual(published.get(remote));
    expect(page.last).toBe(5);
    // Up to date: not due again for a while.
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    expect(await catchUp(mirror.id, { database })).toEqual({ datasetId: mirror.id, records: 0, lastSeq: 5, complete: true });
  });

  it("loses the subscription of a city the origin refuses", async () => {
    const mirror = await mirrorAtLyon(remote);
    answer = "refuse";
    expect(await catchUp(mirror.id, { database })).toMatchObject({ complete: false });
    expect((await getDataset(adminOf(lyon), { datasetId: mirror.id }, at(lyon))).subscription?.state).toBe("refused");
    answer = "pages";
  });

  it("reads a few pages per call and continues from what it holds on the next", async () => {
    const uri = await publishAt(feedPeer, 5);
    const mirror = await follow(feedPeer, uri);
    expect(await catchUpDue({ database, maxPages: 1 })).toEqual({ caughtUp: 0, partial: 1, failed: 0 });
    expect(await held(mirror)).toBe(2);
    expect(await catchUpDue({ database, maxPages: 1 })).toEqual({ caughtUp: 0, partial: 1, failed: 0 });
    expect(await catchUpDue({ database, maxPages: 1 })).toEqual({ caughtUp: 1, partial: 0, failed: 0 });
    expect(askedFor(uri).map((request) => request.after)).toEqual(["0", "2", "4"]);
    expect(await held(mirror)).toBe(5);
  });

  it("backs off an origin that fails, 1, 2, 4… minutes after the gap was noticed, instead of asking it every round", async () => {
    const uri = await publishAt(feedPeer, 1);
    const mirror = await follow(feedPeer, uri);
    const start = Date.now();
    const after = (seconds: number) => new Date(start + seconds * 1000);
    const tries = () => askedFor(uri).length;
    answer = "fail";
    expect(await catchUpDue({ database, now: after(0) })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
    // The worker's next rounds leave it alone until the back-off ends.
    expect(await catchUpDue({ database, now: after(15) })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    expect(tries()).toBe(1);
    expect(await catchUpDue({ database, now: after(70) })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
    expect(await catchUpDue({ database, now: after(130) })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    expect(await catchUpDue({ database, now: after(150) })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
    // Waiting longer each time: a fixed minute would have tried again by now.
    expect(await catchUpDue({ database, now: after(250) })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    expect(tries()).toBe(3);
    answer = "pages";
    expect(await catchUpDue({ database, now: after(310) })).toEqual({ caughtUp: 1, partial: 0, failed: 0 });
    expect(await held(mirror)).toBe(1);
  });

  it("leaves the other datasets of an origin that failed for a later call", async () => {
    const first = await publishAt(feedPeer, 1);
    const second = await publishAt(feedPeer, 1);
    await follow(feedPeer, first);
    await follow(feedPeer, second);
    answer = "fail";
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
    expect(askedFor(first).length + askedFor(second).length).toBe(1);
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
    expect([askedFor(first).length, askedFor(second).length]).toEqual([1, 1]);
    expect(await catchUpDue({ database })).toEqual({ caughtUp: 0, partial: 0, failed: 0 });
    answer = "pages";
  });

  it("stops when the call's time is spent, even while an origin does not answer", async () => {
    const elsewhere = await serve(app);
    try {
      const secondPeer = await addPeer(`http://127.0.0.1:${elsewhere.port}`, ["graz"]);
      const here = await publishAt(feedPeer, 1);
      const there = await publishAt(secondPeer, 1);
      await follow(feedPeer, here);
      await follow(secondPeer, there);
      answer = "silence";
      // The first read is cut at the end of the budget (not the fetch's 10 s), and the other
      // origin's dataset waits for the next call.
      expect(await catchUpDue({ database, budgetMs: 1_000 })).toEqual({ caughtUp: 0, partial: 0, failed: 1 });
      expect(askedFor(here).length + askedFor(there).length).toBe(1);
    } finally {
      answer = "pages";
      await elsewhere.close();
    }
  });
});

// --- Refreshes that race, downloads that page, a suspended city ------------------------------------

describe("a public dataset", () => {
  let counts: DatasetView;

  beforeAll(async () => {
    counts = (await listDatasets(adminOf(vienna), { city: cityUri("vienna"), pluginId: statistics.id }, at(vienna))).items.find((dataset) => dataset.dataset === "counts")!;
    expect(counts.sharing).toBe("public");
  });

  it("never has an older snapshot written over a newer one that committed meanwhile", async () => {
    snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 10 } }]);
    let reached!: () => void;
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (reached = resolve));
    stall = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
    // This refresh has read the city's records (10 benches) and waits before it writes them.
    const slow = refreshDataset(counts.id, { database });
    await stalled;
    snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 11 } }]);
    const quick = await refreshDataset(counts.id, { database });
    expect(quick).toMatchObject({ changed: 1 });
    release();
    // The slow one sees that a refresh committed since it began, and takes the records again.
    expect(await slow).toMatchObject({ changed: 0, lastSeq: quick.lastSeq });
    const records = await datasetRecords(adminOf(vienna), { datasetId: counts.id, includeDeleted: true }, at(vienna));
    expect(records.items.map((record) => [record.key, record.data])).toEqual([["bench", { key: "bench", count: 11 }]]);
  });

  it("is downloaded in pages of current records in key order, each naming the next in its body and a Link header", async () => {
    snapshots.set(
      vienna.id,
      ["e", "a", "d", "b", "c"].map((key) => ({ key, data: { key, count: 1 } })),
    );
    await refreshDataset(counts.id, { database });
    const download = async (query: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}/federation/datasets/${counts.id}/records.json${query}`);
      return { status: response.status, link: response.headers.get("link"), body: (await response.json()) as { records?: WireRecord[]; next?: string | null; error?: string; last?: number } };
    };
    const whole = await download("");
    expect(whole.status).toBe(200);
    expect(whole.body.records?.map((record) => record.key)).toEqual(["a", "b", "c", "d", "e"]);
    expect(whole.body).toMatchObject({ next: null, last: expect.any(Number) });
    expect(whole.link).toBeNull();

    const first = await download("?limit=2");
    expect(first.body.records?.map((record) => record.key)).toEqual(["a", "b"]);
    expect(first.body.next).toBe(`${counts.uri}/records.json?after=b&limit=2`);
    expect(first.link).toBe(`<${counts.uri}/records.json?after=b&limit=2>; rel="next"`);
    const second = await download(new URL(first.body.next!).search);
    expect(second.body.records?.map((record) => record.key)).toEqual(["c", "d"]);
    const last = await download(new URL(second.body.next!).search);
    expect(last.body).toMatchObject({ next: null });
    expect(last.body.records?.map((record) => record.key)).toEqual(["e"]);

    for (const query of ["?limit=0", "?limit=1001", "?limit=x", `?after=${"k".repeat(301)}`, "?after=a&after=b"]) {
      expect(await download(query), query).toMatchObject({ status: 400, body: { error: "malformed" } });
    }

    // More records than the database is read for at a time: still one page, in order.
    const many = Array.from({ length: 250 }, (_, index) => `m${String(index).padStart(3, "0")}`);
    snapshots.set(vienna.id, many.map((key) => ({ key, data: { key, count: 1 } })));
    await refreshDataset(counts.id, { database });
    const all = await download("");
    expect(all.body.records?.map((record) => record.key)).toEqual(many);
    expect(all.body.next).toBeNull();
    const part = await download("?limit=150");
    expect(part.body.records?.map((record) => record.key)).toEqual(many.slice(0, 150));
    const rest = await download(new URL(part.body.next!).search);
    expect(rest.body).toMatchObject({ next: null });
    expect(rest.body.records?.map((record) => record.key)).toEqual(many.slice(150));
  });

  it("holds at most a megabyte of records per page of the download", async () => {
    const filler = "x".repeat(60_000);
    snapshots.set(
      vienna.id,
      Array.from({ length: 20 }, (_, index) => ({ key: `r${String(index).padStart(2, "0")}`, data: { filler } })),
    );
    await refreshDataset(counts.id, { database });
    const keys: string[] = [];
    let next: string | null = `/federation/datasets/${counts.id}/records.json`;
    let pages = 0;
    while (next) {
      const response = await fetch(`http://127.0.0.1:${server.port}${next.startsWith("/") ? next : new URL(next).pathname + new URL(next).search}`);
      const text = await response.text();
      expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024 + 4096);
      const body = JSON.parse(text) as { records: WireRecord[]; next: string | null };
      keys.push(...body.records.map((record) => record.key));
      next = body.next;
      pages += 1;
    }
    expect(pages).toBe(2);
    expect(keys).toEqual(Array.from({ length: 20 }, (_, index) => `r${String(index).padStart(2, "0")}`));
    snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 11 } }]);
    await refreshDataset(counts.id, { database });
  });

  describe("of a suspended city", () => {
    const setStatus = (status: "active" | "suspended") => withPlatformAdmin((tx) => tx.city.update({ where: { id: vienna.id }, data: { status } }), database);

    beforeAll(async () => {
      await setStatus("suspended");
    });

    afterAll(async () => {
      await setStatus("active");
    });

    it("is shown to no other city, nor read or subscribed to", async () => {
      expect((await listDatasets(adminOf(lyon), {}, at(lyon))).items.map((dataset) => dataset.id)).not.toContain(counts.id);
      await expect(getDataset(adminOf(lyon), { datasetId: counts.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
      await expect(datasetRecords(adminOf(lyon), { datasetId: counts.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
      await expect(subscribeDataset(adminOf(budapest), { datasetId: counts.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    });

    it("is served to no one: feed, download and descriptor answer 404 unknown_dataset", async () => {
      for (const path of [`/federation/datasets/${counts.id}/records`, `/federation/datasets/${counts.id}/records.json`, `/federation/datasets/${counts.id}`]) {
        expect(await get(path), path).toMatchObject({ status: 404, body: { error: "unknown_dataset" } });
      }
      expect(await get(`/federation/datasets/${counts.id}/records?city=${encodeURIComponent(GRAZ)}`, peer)).toMatchObject({ status: 404 });
    });

    it("is not refreshed, nor announced to a new peer, and a peer's Follow is rejected", async () => {
      snapshots.set(vienna.id, [{ key: "bench", data: { key: "bench", count: 12 } }]);
      const before = await withPlatformAdmin((tx) => tx.federationDataset.findUniqueOrThrow({ where: { id: counts.id }, select: { lastSeq: true, refreshedAt: true } }), database);
      await refreshDueDatasets({ database, now: new Date(Date.now() + 60 * 60_000) });
      await expect(refreshDataset(counts.id, { database })).rejects.toBeInstanceOf(Conflict);
      expect(await withPlatformAdmin((tx) => tx.federationDataset.findUniqueOrThrow({ where: { id: counts.id }, select: { lastSeq: true, refreshedAt: true } }), database)).toEqual(before);

      await clearOutbox();
      const newcomer = await addPeer("https://latecomer.example", ["tromso"]);
      await withPlatformAdmin(async (tx) => onPeerActivated(tx, await tx.federationPeer.findUniqueOrThrow({ where: { id: newcomer.id } })), database);
      expect(JSON.stringify(await outbox(newcomer))).not.toContain(counts.uri);
      await receive(peer, activityFrom(peer, "Follow", counts.uri, GRAZ));
      expect((await outbox(peer)).map((activity) => activity.type)).toEqual(["Reject"]);
      await withPlatformAdmin((tx) => tx.federationPeer.delete({ where: { id: newcomer.id } }), database);
    });

    it("is back when the city is", async () => {
      await setStatus("active");
      expect((await listDatasets(adminOf(lyon), {}, at(lyon))).items.map((dataset) => dataset.id)).toContain(counts.id);
      expect(await get(`/federation/datasets/${counts.id}/records.json`)).toMatchObject({ status: 200 });
    });
  });
});
