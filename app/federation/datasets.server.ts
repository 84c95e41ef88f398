// Datasets that plugins define and cities share (docs/federation.md §7, §8): publication with a
// sharing policy, refreshes numbered by the dataset's sequence, subscriptions, records with their
// provenance, the dataset activities of the inbox, the pull feed and the catch-up that reads it.
//
// Every table here is the instance's (app_admin, withPlatformAdmin): who asks is checked first.
// A city's subscriptions are written in the same platform transaction, with the city's tenant id
// in every statement: the Follow a subscription sends must commit with it, and the inbox's
// Accept/Reject changes it inside the inbox's transaction. A city's plugin is only ever run in
// that city's own unit of work (the snapshot), never as app_admin.
import { createHash, randomUUID } from "node:crypto";
import type { TFunction } from "i18next";
import { z } from "zod";
import { Conflict, NotFound, ServiceError, ValidationFailed, parseInput } from "../auth/errors";
import { requireCityPermission, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { NIL_UUID, UUID_PATTERN, withPlatformAdmin, withTenant, type Database, type Tx } from "../db/database.server";
import { Prisma, type FederationPeer } from "../db/generated/client.ts";
import { pageArguments, pageOf, timeCursor } from "../db/pages.server";
import { createI18n } from "../i18n/i18n";
import { SUPPORTED_LOCALES, type Locale } from "../i18n/locales";
import { pluginById } from "../plugins/catalogue.server";
import { ownKey, type DatasetHandler, type FederationExports, type Plugin } from "../plugins/sdk.server";
import { canonicalJson } from "./canonical";
import { FETCH_TIMEOUT_MS, signedFetch } from "./fetch.server";
import { InboxRefusal, type InboxContext } from "./inbox.server";
import { cityUri, datasetUri, instanceId, isFederationIdOf } from "./instance.server";
import { ACTIVITY_CONTEXT, createActivity, enqueue, type Activity } from "./outbox.server";

export const PERMISSION = "federation.manage";

/** A dataset not refreshed for this long is refreshed by the worker. */
export const REFRESH_INTERVAL_MS = 5 * 60_000;
/**
 * A mirror is read through the pull feed at least this often, in case pushes were lost. For a
 * peer's dataset, refreshed_at is the catch-up's clock (synced_at the last time the copy was up
 * to date, which the console shows): the next catch-up is due this long after
 * it (null: due now). A catch-up that completes sets it to its time; one under way, or one that
 * failed, sets it so that the next is due when its lease or its back-off ends (see catchUpDue).
 */
export const CATCH_UP_INTERVAL_MS = 60 * 60_000;
/** Mirrors one catchUpDue call reads at most. */
export const CATCH_UP_DATASETS = 5;
/** Pages one catch-up of the worker reads before it leaves the rest to its next call. */
export const CATCH_UP_PAGES = 20;
/** Time one catchUpDue call spends at most (each fetch is cut to what is left of it). */
export const CATCH_UP_BUDGET_MS = 20_000;
/** A claimed catch-up that never reports (its process died) is due again after this long. */
export const CATCH_UP_LEASE_MS = 2 * 60_000;
/** A failed catch-up waits as long as the copy has gone without change, within these bounds. */
export const CATCH_UP_MIN_BACKOFF_MS = 60_000;
export const CATCH_UP_MAX_BACKOFF_MS = 60 * 60_000;
/** Records per pushed batch and per page of the feed (docs/federation.md §7). */
export const MAX_BATCH_RECORDS = 500;
/**
 * Bytes of records per pushed batch or feed page: well under the 1 MB a receiving inbox and an
 * outgoing fetch accept (docs/federation.md §5, §12), whatever the records' size.
 */
export const MAX_BATCH_BYTES = 512 * 1024;
/** One record's canonical data at most: a batch always holds at least one. */
export const MAX_RECORD_BYTES = 64 * 1024;
export const MAX_KEY_LENGTH = 300;
/** Records one snapshot may hold: more is a plugin's mistake, refused rather than stored. */
export const MAX_SNAPSHOT_RECORDS = 100_000;

const CIVITAS_NS = "https://w3id.org/civitas/federation/v1#";

// --- Types -----------------------------------------------------------------------------------

export type Sharing = "public" | "federation" | "cities";
export type SubscriptionState = "pending" | "active" | "refused";
/** Texts per BCP 47 language: { "fr": "…", "en": "…" }. */
export type LanguageMap = Record<string, string>;

/** Who publishes a dataset, as stored with it and sent with its descriptor. */
export type OriginCity = { uri: string; slug: string; names: LanguageMap; instance: string; locales: string[] };

/** Where a record comes from: it travels with every record (docs/federation.md §7). */
export type Provenance = { city: string; instance: string; dataset: string; seq: number; time: string };

/** A record as it travels and as services answer it; `data` is null for a removed key. */
export type WireRecord = {
  key: string;
  seq: number;
  deleted: boolean;
  hash: string;
  data: Record<string, unknown> | null;
  provenance: Provenance;
};

export type SubscriptionView = { state: SubscriptionState; cursor: number; createdAt: Date; updatedAt: Date };

/** A dataset as a city sees it: its own publications and the ones shared with it, here or at a peer. */
export type DatasetView = {
  id: string;
  /** Its id in the protocol (docs/federation.md §1). */
  uri: string;
  pluginId: string;
  dataset: string;
  title: LanguageMap;
  description: LanguageMap;
  sharing: Sharing;
  /** The cities it is shared with: shown to the publishing city only (empty for others). */
  sharedWith: string[];
  origin: { city: string; slug: string; names: LanguageMap; instance: string; local: boolean };
  /** Published by the asking city. */
  mine: boolean;
  lastSeq: number;
  /**
   * This instance's datasets: the last refresh. Peers' (mirrors): when our copy was last brought
   * up to date (a push that continued it to the origin's last record, or a catch-up that read the
   * feed to its end); null before that.
   */
  refreshedAt: Date | null;
  withdrawnAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The asking city's subscription; null when it has none. */
  subscription: SubscriptionView | null;
};

export type DatasetPage = { items: DatasetView[]; hasNextPage: boolean; startCursor: string | null; endCursor: string | null };

export type RecordPage = {
  /** The dataset's protocol id. */
  dataset: string;
  items: WireRecord[];
  /** The dataset's last sequence number (as held here, for a peer's). */
  last: number;
  hasNextPage: boolean;
  /** Pass as `after` for the next page; null when the page is empty. */
  endCursor: number | null;
};

/** The descriptor announced to peers (docs/federation.md §7). */
export type DatasetDescriptor = {
  type: "civitas:Dataset";
  id: string;
  plugin: string;
  dataset: string;
  title: LanguageMap;
  description: LanguageMap;
  sharing: Sharing;
  sharedWith: string[];
  origin: { instance: string; city: { id: string; slug: string; names: LanguageMap; locales: string[] }; published: string };
  lastSeq: number;
  updated: string;
};

/** What a pull feed answers (docs/federation.md §7). */
export type FeedPage = { dataset: string; records: WireRecord[]; last: number; next: string | null };

/** Why the feed (or a descriptor, or a download) is not answered: the HTTP status and error code. */
export class DatasetAccessRefused extends Error {
  override name = "DatasetAccessRefused";
  constructor(
    readonly status: 400 | 401 | 403 | 404,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type ActivityType = "Create" | "Update" | "Delete" | "Follow" | "Undo" | "Accept" | "Reject";
type FollowObject = { type: "Follow"; id?: string; actor: string; object: string };
type PeerRef = Pick<FederationPeer, "id" | "instanceId">;

// --- Rows ------------------------------------------------------------------------------------

const DATASET_SELECT = {
  id: true,
  uri: true,
  peerId: true,
  originTenantId: true,
  originCity: true,
  pluginId: true,
  dataset: true,
  title: true,
  description: true,
  sharing: true,
  sharedWith: true,
  lastSeq: true,
  refreshedAt: true,
  syncedAt: true,
  withdrawnAt: true,
  createdAt: true,
  updatedAt: true,
  peer: { select: { id: true, instanceId: true, localAccepted: true, remoteAccepted: true, suspended: true } },
  originCityRow: { select: { status: true } },
} satisfies Prisma.FederationDatasetSelect;

type DatasetRow = Prisma.FederationDatasetGetPayload<{ select: typeof DATASET_SELECT }>;
type Policy = Pick<DatasetRow, "sharing" | "sharedWith" | "originCity">;

const ACTIVE_PEER = { localAccepted: true, remoteAccepted: true, suspended: false } as const;

function origin(row: Pick<DatasetRow, "originCity">): OriginCity {
  return row.originCity as unknown as OriginCity;
}

const isActive = (peer: DatasetRow["peer"]): boolean => peer !== null && peer.localAccepted && peer.remoteAccepted && !peer.suspended;

/** The rows of this instance's datasets whose city is open: a suspended city's are shown, served and refreshed to no one. */
const OPEN_ORIGIN = { originTenantId: { not: null }, originCityRow: { is: { status: "active" } } } satisfies Prisma.FederationDatasetWhereInput;

/** Whether one of this instance's datasets comes from a suspended city (a peer's never does here). */
const originSuspended = (row: Pick<DatasetRow, "originTenantId" | "originCityRow">): boolean =>
  row.originTenantId !== null && row.originCityRow?.status !== "active";

// --- Identifiers -------------------------------------------------------------------------------

// Ours follow cities_slug_format; a peer's may be any URL path segment without escapes.
const LOCAL_SLUG = /^[a-z][a-z0-9-]{1,62}$/;
const REMOTE_SLUG = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$/;
const DATASET_PATH = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The last segment of `uri` when it is exactly `{instance}/federation/{kind}/{segment}`
 * (docs/federation.md §1), or null: the whole prefix (isFederationIdOf), then one segment
 * without `/`, so that an instance whose id is a prefix of another's (`https://h.example` and
 * `https://h.example/x`) never passes for the other's cities or datasets.
 */
function federationSegment(instance: string, kind: "cities" | "datasets", uri: string, segment: RegExp): string | null {
  if (!isFederationIdOf(instance, uri, kind)) return null;
  const rest = uri.slice(`${instance}/federation/${kind}/`.length);
  return segment.test(rest) ? rest : null;
}

/** The slug of a city of this instance named by its URI, or null. */
export function localCitySlug(uri: string): string | null {
  return federationSegment(instanceId(), "cities", uri, LOCAL_SLUG);
}

/** Whether `uri` names a city of the instance `instance` (docs/federation.md §1). */
export function isCityOf(instance: string, uri: string): boolean {
  return federationSegment(instance, "cities", uri, REMOTE_SLUG) !== null;
}

/** Whether `uri` names a dataset of the instance `instance`. */
function isDatasetOf(instance: string, uri: string): boolean {
  return federationSegment(instance, "datasets", uri, REMOTE_SLUG) !== null;
}

/** The id of one of this instance's datasets named by its URI, or null. */
function localDatasetId(uri: string): string | null {
  return federationSegment(instanceId(), "datasets", uri, DATASET_PATH);
}

const validId = (value: unknown): string => (typeof value === "string" && UUID_PATTERN.test(value) ? value.toLowerCase() : NIL_UUID);

// --- Sharing policy (docs/federation.md §8) ----------------------------------------------------

/**
 * Whether a city (its URI, of this instance or of an active peer) may see the dataset, subscribe
 * and read its records: the origin city always; anyone for public and federation datasets (the
 * caller has checked the city is here or at an active peer); only the named cities otherwise.
 */
export function policyAllows(policy: Policy, city: string): boolean {
  if (city === origin(policy).uri) return true;
  if (policy.sharing !== "cities") return true;
  return policy.sharedWith.includes(city);
}

/** Whether a peer is told about the dataset: all of them, or those hosting a named city. */
export function peerMaySee(policy: Policy, peer: Pick<PeerRef, "instanceId">): boolean {
  if (policy.sharing !== "cities") return true;
  return policy.sharedWith.some((city) => isCityOf(peer.instanceId, city));
}

/** What a city of this instance sees (§8): its own, and others' by their policy, a peer's while it is active. */
function visibleTo(row: DatasetRow, viewer: { tenantId: string; uri: string }): boolean {
  if (row.originTenantId === viewer.tenantId) return true;
  if (row.withdrawnAt !== null || originSuspended(row)) return false;
  if (row.peerId !== null && !isActive(row.peer)) return false;
  return policyAllows(row, viewer.uri);
}

/** The same rule as a query (listDatasets pages in the database). */
function visibleWhere(viewer: { tenantId: string; uri: string }): Prisma.FederationDatasetWhereInput {
  const allowed: Prisma.FederationDatasetWhereInput = {
    OR: [{ sharing: { in: ["public", "federation"] } }, { sharing: "cities", sharedWith: { has: viewer.uri } }],
  };
  return {
    OR: [
      { originTenantId: viewer.tenantId },
      { withdrawnAt: null, ...OPEN_ORIGIN, ...allowed },
      { withdrawnAt: null, peer: { is: ACTIVE_PEER }, ...allowed },
    ],
  };
}

// --- Plugin texts ------------------------------------------------------------------------------

/** Each locale's translator of a plugin, built from its translations (test plugins included). */
const translators = new WeakMap<Plugin, Map<Locale, TFunction>>();

function pluginTranslator(plugin: Plugin, locale: Locale): TFunction {
  let byLocale = translators.get(plugin);
  if (!byLocale) translators.set(plugin, (byLocale = new Map()));
  let t = byLocale.get(locale);
  if (!t) {
    const i18n = createI18n(locale, { [locale]: { [plugin.id]: plugin.translations[locale] as Record<string, unknown> } });
    t = i18n.getFixedT(locale, plugin.id) as TFunction;
    byLocale.set(locale, t);
  }
  return t;
}

/** A plugin's text ("<plugin>:<key>") in every shipped locale that has it. */
export function pluginTexts(plugin: Plugin, spelt: string): LanguageMap {
  const key = ownKey(plugin.id, spelt);
  const texts: LanguageMap = {};
  for (const locale of SUPPORTED_LOCALES) {
    const text = pluginTranslator(plugin, locale)(key, { defaultValue: "" }) as unknown;
    if (typeof text === "string" && text !== "") texts[locale] = text;
  }
  return texts;
}

export type DeclaredDataset = NonNullable<FederationExports["datasets"]>[number];

/** The dataset a plugin of the catalogue declares, or null. */
export function declaredDataset(pluginId: string, dataset: string): { plugin: Plugin; declared: DeclaredDataset } | null {
  const plugin = pluginById(pluginId);
  const declared = plugin?.federation?.datasets?.find((entry) => entry.id === dataset);
  return plugin && declared ? { plugin, declared } : null;
}

// --- Records -----------------------------------------------------------------------------------

/** sha-256 (hex) of a record's canonical data (RFC 8785); a tombstone hashes `null`. */
export function recordHash(data: Record<string, unknown> | null): string {
  return createHash("sha256").update(canonicalJson(data)).digest("hex");
}

const RECORD_SELECT = { key: true, seq: true, deleted: true, hash: true, data: true, provenance: true } satisfies Prisma.FederationDatasetRecordSelect;
type RecordRow = Prisma.FederationDatasetRecordGetPayload<{ select: typeof RECORD_SELECT }>;

function wireRecord(row: RecordRow): WireRecord {
  return {
    key: row.key,
    seq: Number(row.seq),
    deleted: row.deleted,
    hash: row.hash,
    data: row.deleted ? null : ((row.data ?? {}) as Record<string, unknown>),
    provenance: row.provenance as unknown as Provenance,
  };
}

const byteLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8");

/** Records cut in batches of at most MAX_BATCH_RECORDS and MAX_BATCH_BYTES (one record at least). */
function batches(records: readonly WireRecord[]): WireRecord[][] {
  const result: WireRecord[][] = [];
  let current: WireRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = byteLength(record);
    if (current.length > 0 && (current.length >= MAX_BATCH_RECORDS || bytes + size > MAX_BATCH_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/**
 * Writes records (a refresh's changes, or a peer's for the mirror) in one statement per batch.
 * A record replaces the stored one of its key only when its sequence number is later, so that a
 * push and a catch-up racing each other, or a batch delivered twice, leave the latest.
 */
async function writeRecords(tx: Tx, datasetId: string, records: readonly WireRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += MAX_BATCH_RECORDS) {
    const rows = records.slice(start, start + MAX_BATCH_RECORDS).map((record) => ({
      key: record.key,
      seq: record.seq,
      data: record.deleted ? null : record.data,
      hash: record.hash,
      deleted: record.deleted,
      provenance: record.provenance,
    }));
    await tx.$executeRaw`
      INSERT INTO "federation_dataset_records" ("dataset_id", "key", "seq", "data", "hash", "deleted", "provenance", "updated_at")
      SELECT ${datasetId}::uuid, r."key", r."seq", r."data", r."hash", r."deleted", r."provenance", now()
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS r("key" text, "seq" bigint, "data" jsonb, "hash" text, "deleted" boolean, "provenance" jsonb)
      ON CONFLICT ("dataset_id", "key") DO UPDATE
         SET "seq" = EXCLUDED."seq", "data" = EXCLUDED."data", "hash" = EXCLUDED."hash", "deleted" = EXCLUDED."deleted",
             "provenance" = EXCLUDED."provenance", "updated_at" = EXCLUDED."updated_at"
       WHERE "federation_dataset_records"."seq" < EXCLUDED."seq"`;
  }
}

/** Locks a dataset's row for the rest of the transaction: refreshes and mirror writes take turns. */
async function lockDataset(tx: Tx, datasetId: string): Promise<{ lastSeq: number; withdrawn: boolean } | null> {
  const [row] = await tx.$queryRaw<{ last_seq: bigint; withdrawn_at: Date | null }[]>`
    SELECT "last_seq", "withdrawn_at" FROM "federation_datasets" WHERE "id" = ${datasetId}::uuid FOR UPDATE`;
  return row ? { lastSeq: Number(row.last_seq), withdrawn: row.withdrawn_at !== null } : null;
}

// --- Activities ----------------------------------------------------------------------------------

const activity = (type: ActivityType, actor: string, object: unknown): Activity => createActivity(type, object, { actor });

const send = (tx: Tx, peerId: string, message: Activity): Promise<void> => enqueue(tx, peerId, message);

/** Whether a peer's discovery document lists the datasets capability (a document without the list predates it). */
function speaksDatasets(discovery: unknown): boolean {
  const capabilities = (discovery as { capabilities?: unknown } | null)?.capabilities;
  return !Array.isArray(capabilities) || capabilities.includes("datasets");
}

/**
 * The descriptor as one peer gets it: a dataset shared with named cities lists only that peer's
 * among them (it needs no more to show the dataset to the right cities, and learns nothing of
 * who else reads it).
 */
export function descriptorFor(row: DatasetRow, peer: Pick<PeerRef, "instanceId"> | null): DatasetDescriptor {
  const city = origin(row);
  return {
    type: "civitas:Dataset",
    id: row.uri,
    plugin: row.pluginId,
    dataset: row.dataset,
    title: row.title as LanguageMap,
    description: row.description as LanguageMap,
    sharing: row.sharing,
    sharedWith: row.sharing === "cities" && peer ? row.sharedWith.filter((uri) => isCityOf(peer.instanceId, uri)) : [],
    origin: {
      instance: city.instance,
      city: { id: city.uri, slug: city.slug, names: city.names, locales: city.locales ?? [] },
      published: row.createdAt.toISOString(),
    },
    lastSeq: Number(row.lastSeq),
    updated: (row.refreshedAt ?? row.updatedAt).toISOString(),
  };
}

/** Peers with an active peering (a suspended one included: its messages wait) that speak datasets. */
async function acceptedPeers(tx: Tx): Promise<PeerRef[]> {
  const peers = await tx.federationPeer.findMany({ where: { localAccepted: true, remoteAccepted: true }, select: { id: true, instanceId: true, discovery: true } });
  return peers.filter((peer) => speaksDatasets(peer.discovery)).map(({ id, instanceId }) => ({ id, instanceId }));
}

/**
 * Tells the peers what changed in a publication (docs/federation.md §7): Create or Update to
 * those its policy now lets see it, Delete to those that saw it and no longer may (or all, when
 * it is withdrawn). Followers and local subscribers the new policy leaves out lose their
 * subscription; a peer's hear it as Reject of their Follow.
 */
async function announceChange(tx: Tx, before: DatasetRow | null, after: DatasetRow): Promise<void> {
  const actor = origin(after).uri;
  for (const peer of await acceptedPeers(tx)) {
    const saw = before !== null && before.withdrawnAt === null && peerMaySee(before, peer);
    const sees = after.withdrawnAt === null && peerMaySee(after, peer);
    if (sees) await send(tx, peer.id, activity(saw ? "Update" : "Create", actor, descriptorFor(after, peer)));
    else if (saw) await send(tx, peer.id, activity("Delete", actor, after.uri));
  }
  const followers = await tx.federationDatasetFollower.findMany({ where: { datasetId: after.id }, select: { peerId: true, cityUri: true } });
  for (const follower of followers) {
    if (policyAllows(after, follower.cityUri)) continue;
    await tx.federationDatasetFollower.deleteMany({ where: { datasetId: after.id, peerId: follower.peerId, cityUri: follower.cityUri } });
    const follow: FollowObject = { type: "Follow", actor: follower.cityUri, object: after.uri };
    await send(tx, follower.peerId, activity("Reject", actor, follow));
  }
  const subscribers = await tx.federationSubscription.findMany({
    where: { datasetId: after.id, state: { not: "refused" } },
    select: { tenantId: true, city: { select: { slug: true } } },
  });
  const leftOut = subscribers.filter((subscriber) => !policyAllows(after, cityUri(subscriber.city.slug))).map((subscriber) => subscriber.tenantId);
  if (leftOut.length > 0) {
    await tx.federationSubscription.updateMany({ where: { datasetId: after.id, tenantId: { in: leftOut } }, data: { state: "refused" } });
  }
}

/** When a peering becomes active: the peer hears of every dataset its cities may see. */
export async function onPeerActivated(tx: Tx, peer: PeerRef & { discovery?: unknown }): Promise<void> {
  if (!speaksDatasets(peer.discovery)) return;
  const rows = await tx.federationDataset.findMany({
    where: { withdrawnAt: null, ...OPEN_ORIGIN },
    select: DATASET_SELECT,
    orderBy: { createdAt: "asc" },
  });
  for (const row of rows) {
    if (peerMaySee(row, peer)) await send(tx, peer.id, activity("Create", origin(row).uri, descriptorFor(row, peer)));
  }
}

// --- Who asks ------------------------------------------------------------------------------------

type Viewer = { tenantId: string; uri: string; city: OriginCity };

function authorize(principal: Principal, context: ServiceContext): { tenantId: string; actor: AuditActor } {
  const checked = requireCityPermission(principal, context.tenantId, PERMISSION);
  return { tenantId: checked.tenantId, actor: auditActor(checked) };
}

async function viewerOf(tx: Tx, tenantId: string): Promise<Viewer> {
  const city = await tx.city.findUnique({ where: { id: tenantId }, select: { slug: true, names: true, enabledLocales: true } });
  if (!city) throw new NotFound("city");
  const uri = cityUri(city.slug);
  return { tenantId, uri, city: { uri, slug: city.slug, names: city.names as LanguageMap, instance: instanceId(), locales: city.enabledLocales } };
}

function subscriptionView(row: { state: SubscriptionState; cursor: bigint; createdAt: Date; updatedAt: Date } | null | undefined): SubscriptionView | null {
  return row ? { state: row.state, cursor: Number(row.cursor), createdAt: row.createdAt, updatedAt: row.updatedAt } : null;
}

function datasetView(row: DatasetRow, viewer: { tenantId: string }, subscription: SubscriptionView | null): DatasetView {
  const city = origin(row);
  const mine = row.originTenantId === viewer.tenantId;
  return {
    id: row.id,
    uri: row.uri,
    pluginId: row.pluginId,
    dataset: row.dataset,
    title: row.title as LanguageMap,
    description: row.description as LanguageMap,
    sharing: row.sharing,
    sharedWith: mine ? [...row.sharedWith] : [],
    origin: { city: city.uri, slug: city.slug, names: city.names, instance: city.instance, local: row.peerId === null },
    mine,
    lastSeq: Number(row.lastSeq),
    refreshedAt: row.peerId === null ? row.refreshedAt : row.syncedAt,
    withdrawnAt: row.withdrawnAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    subscription,
  };
}

const SUBSCRIPTION_SELECT = { state: true, cursor: true, createdAt: true, updatedAt: true } as const;

// --- Input -------------------------------------------------------------------------------------

const languageMap = (max: number) =>
  z
    .partialRecord(z.enum(SUPPORTED_LOCALES, { error: "is not a supported language" }), z.string({ error: "must be text" }).trim().max(max, { error: `must be at most ${max} characters` }), {
      error: "must be texts per language",
    })
    .transform((texts) => Object.fromEntries(Object.entries(texts).filter(([, text]) => text)) as LanguageMap)
    .refine((texts) => Object.keys(texts).length > 0, { error: "needs a text in at least one language" });

const sharingSchema = z.enum(["public", "federation", "cities"], { error: "must be public, federation or cities" });
const sharedWithSchema = z
  .array(z.url({ error: "must list city URIs" }).trim().max(300, { error: "must be at most 300 characters" }), { error: "must be a list of city URIs" })
  .max(200, { error: "must list at most 200 cities" });

function policyRefinement(input: { sharing: Sharing; sharedWith?: readonly string[] | null }, ctx: z.RefinementCtx): void {
  if (input.sharing === "cities" && (input.sharedWith ?? []).length === 0) {
    ctx.addIssue({ code: "custom", path: ["sharedWith"], message: "must name at least one city when sharing with named cities" });
  }
  if (input.sharing !== "cities" && (input.sharedWith ?? []).length > 0) {
    ctx.addIssue({ code: "custom", path: ["sharedWith"], message: "names cities only when sharing with named cities" });
  }
}

const publishSchema = z
  .strictObject({
    pluginId: z.string({ error: "is required" }).trim().min(1, { error: "is required" }).max(60, { error: "is too long" }),
    dataset: z.string({ error: "is required" }).trim().min(1, { error: "is required" }).max(100, { error: "is too long" }),
    sharing: sharingSchema,
    sharedWith: sharedWithSchema.nullish(),
    title: languageMap(200).nullish(),
    description: languageMap(4000).nullish(),
  })
  .superRefine(policyRefinement);

const sharingUpdateSchema = z
  .strictObject({ datasetId: z.string({ error: "is required" }), sharing: sharingSchema, sharedWith: sharedWithSchema.nullish() })
  .superRefine(policyRefinement);

const listSchema = z.strictObject({
  ...pageArguments,
  pluginId: z.string({ error: "must be text" }).trim().max(60, { error: "is too long" }).nullish(),
  city: z.string({ error: "must be a city URI" }).trim().max(300, { error: "is too long" }).nullish(),
});

const seqSchema = z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(0, { error: "must not be negative" });

const recordsSchema = z.strictObject({
  datasetId: z.string({ error: "is required" }),
  after: seqSchema.nullish(),
  first: z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(MAX_BATCH_RECORDS, { error: `must be at most ${MAX_BATCH_RECORDS}` }).nullish(),
  includeDeleted: z.boolean({ error: "must be true or false" }).nullish(),
});

/**
 * Named cities must exist: a city of this instance, or one an active peer lists in its pinned
 * discovery document. The origin city is left out (it always sees its own); the list is sorted.
 */
async function checkSharedWith(tx: Tx, uris: readonly string[], originUri: string): Promise<string[]> {
  const problems: string[] = [];
  const accepted = new Set<string>();
  const wanted = [...new Set(uris)].filter((uri) => uri !== originUri);
  const localSlugs = wanted.map(localCitySlug).filter((slug): slug is string => slug !== null);
  const localCities = new Set(
    (await tx.city.findMany({ where: { slug: { in: localSlugs } }, select: { slug: true } })).map((city) => cityUri(city.slug)),
  );
  const peers = await tx.federationPeer.findMany({ where: ACTIVE_PEER, select: { instanceId: true, discovery: true } });
  for (const uri of wanted) {
    // In this instance's id space exactly: a peer whose id starts with ours has its own cities.
    if (isFederationIdOf(instanceId(), uri, "cities")) {
      if (localCities.has(uri)) accepted.add(uri);
      else problems.push(`${uri} is not a city of this instance`);
      continue;
    }
    const peer = peers.find((candidate) => isCityOf(candidate.instanceId, uri));
    if (!peer) {
      problems.push(`${uri} is not a city of this instance or of an active peer`);
      continue;
    }
    const listed = discoveryCities(peer).map((city) => city.uri);
    if (listed.includes(uri)) accepted.add(uri);
    else problems.push(`${uri} is not among the cities ${peer.instanceId} lists`);
  }
  if (problems.length > 0) throw new ValidationFailed({ sharedWith: problems });
  if (uris.length > 0 && accepted.size === 0) throw new ValidationFailed({ sharedWith: ["must name a city other than the publishing one"] });
  return [...accepted].sort();
}

/** A city a dataset can be shared with: one of this instance's, or one an active peer lists. */
export type ShareableCity = { uri: string; slug: string; names: LanguageMap; instance: string; local: boolean };

/**
 * The cities the asking city may name in a dataset's policy (what `checkSharedWith` accepts):
 * this instance's other active cities, then each active peer's, as its pinned discovery
 * document lists them.
 */
export async function shareableCities(principal: Principal, context: ServiceContext = {}): Promise<ShareableCity[]> {
  const { tenantId } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const [cities, peers] = await Promise.all([
      tx.city.findMany({ where: { status: "active", id: { not: tenantId } }, select: { slug: true, names: true }, orderBy: { slug: "asc" } }),
      tx.federationPeer.findMany({ where: ACTIVE_PEER, select: { instanceId: true, discovery: true }, orderBy: { name: "asc" } }),
    ]);
    const local = cities.map((city) => ({ uri: cityUri(city.slug), slug: city.slug, names: city.names as LanguageMap, instance: instanceId(), local: true }));
    const remote = peers.flatMap((peer) => discoveryCities(peer).map((city) => ({ ...city, instance: peer.instanceId, local: false })));
    return [...local, ...remote];
  }, context.database);
}

/** The cities a peer's pinned discovery document lists under its own id space. */
function discoveryCities(peer: { instanceId: string; discovery: unknown }): { uri: string; slug: string; names: LanguageMap }[] {
  const cities = (peer.discovery as { cities?: unknown } | null)?.cities;
  if (!Array.isArray(cities)) return [];
  return cities.flatMap((city: unknown) => {
    const { id, slug, names } = (city ?? {}) as { id?: unknown; slug?: unknown; names?: unknown };
    if (typeof id !== "string" || !isCityOf(peer.instanceId, id)) return [];
    const textNames = names && typeof names === "object" ? Object.fromEntries(Object.entries(names).filter((entry): entry is [string, string] => typeof entry[1] === "string")) : {};
    return [{ uri: id, slug: typeof slug === "string" ? slug : id.slice(id.lastIndexOf("/") + 1), names: textNames }];
  });
}

const policyOf = (row: DatasetRow) =>
  ({ sharing: row.sharing, sharedWith: [...row.sharedWith], withdrawn: row.withdrawnAt !== null, title: row.title, description: row.description }) as Prisma.InputJsonValue;

// --- Publishing ------------------------------------------------------------------------------------

export type PublishDatasetInput = {
  pluginId: string;
  dataset: string;
  sharing: Sharing;
  /** City URIs (docs/federation.md §1), with sharing "cities" only. */
  sharedWith?: readonly string[] | null;
  /** Default: the dataset's name and description, as the plugin translates them, in every locale. */
  title?: LanguageMap | null;
  description?: LanguageMap | null;
};

/**
 * Publishes one of the plugin's datasets from the city (the plugin installed and enabled there),
 * or, when the city published it before, sets its policy (and texts, when given) and brings it
 * back if it was withdrawn: one publication per city, plugin and dataset. Peers the policy lets
 * see it are told; its first records follow right after (see refreshDataset).
 */
export async function publishDataset(principal: Principal, input: PublishDatasetInput, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId, actor } = authorize(principal, context);
  const parsed = parseInput(publishSchema, input);
  const plugin = pluginById(parsed.pluginId);
  if (!plugin) throw new NotFound("service");
  const found = declaredDataset(parsed.pluginId, parsed.dataset);
  if (!found) throw new ValidationFailed({ dataset: [`the service ${parsed.pluginId} declares no dataset ${parsed.dataset}`] });
  const row = await withPlatformAdmin(async (tx) => {
    const installed = await tx.pluginInstallation.findFirst({ where: { tenantId, pluginId: plugin.id, enabled: true }, select: { pluginId: true } });
    if (!installed) throw new Conflict("service_not_enabled", `The city does not run the service ${plugin.id}: install and enable it first.`);
    const viewer = await viewerOf(tx, tenantId);
    const sharedWith = parsed.sharing === "cities" ? await checkSharedWith(tx, parsed.sharedWith ?? [], viewer.uri) : [];
    const before = await tx.federationDataset.findFirst({
      where: { originTenantId: tenantId, pluginId: plugin.id, dataset: parsed.dataset },
      select: DATASET_SELECT,
    });
    let after: DatasetRow;
    if (before) {
      after = await tx.federationDataset.update({
        where: { id: before.id },
        data: {
          sharing: parsed.sharing,
          sharedWith,
          withdrawnAt: null,
          originCity: viewer.city as unknown as Prisma.InputJsonValue,
          ...(parsed.title && { title: parsed.title }),
          ...(parsed.description && { description: parsed.description }),
        },
        select: DATASET_SELECT,
      });
    } else {
      const id = randomUUID();
      after = await tx.federationDataset.create({
        data: {
          id,
          uri: datasetUri(id),
          originTenantId: tenantId,
          originCity: viewer.city as unknown as Prisma.InputJsonValue,
          pluginId: plugin.id,
          dataset: parsed.dataset,
          title: parsed.title ?? pluginTexts(plugin, found.declared.name),
          description: parsed.description ?? pluginTexts(plugin, found.declared.description),
          sharing: parsed.sharing,
          sharedWith,
        },
        select: DATASET_SELECT,
      });
    }
    await announceChange(tx, before, after);
    await recordAudit(tx, tenantId, {
      actor,
      action: before ? "federation.dataset.updated" : "federation.dataset.published",
      subject: { type: "federation_dataset", id: after.id },
      before: before ? policyOf(before) : null,
      after: policyOf(after),
      requestId: context.requestId,
    });
    return after;
  }, context.database);
  await refreshAfterPublication(row.id, context);
  const refreshed = await withPlatformAdmin((tx) => tx.federationDataset.findUnique({ where: { id: row.id }, select: DATASET_SELECT }), context.database);
  return datasetView(refreshed ?? row, { tenantId }, null);
}

/**
 * The first records of a publication, right after it committed: best effort (the worker
 * refreshes it within REFRESH_INTERVAL_MS otherwise). After the caller's commit when it has a
 * unit of work still open.
 */
async function refreshAfterPublication(datasetId: string, context: ServiceContext): Promise<void> {
  const work = async () => {
    try {
      await refreshDataset(datasetId, { database: context.database });
    } catch (error) {
      console.error(`civitas: the first refresh of dataset ${datasetId} failed (the worker retries):`, error);
    }
  };
  if (context.afterCommit) context.afterCommit(work);
  else await work();
}

/** The city's own publication, for a change: not found for anyone else's. */
async function ownDataset(tx: Tx, tenantId: string, datasetId: unknown): Promise<DatasetRow> {
  const row = await tx.federationDataset.findFirst({ where: { id: validId(datasetId), originTenantId: tenantId }, select: DATASET_SELECT });
  if (!row) throw new NotFound("dataset");
  return row;
}

export type DatasetSharingInput = { datasetId: string; sharing: Sharing; sharedWith?: readonly string[] | null };

/** Changes who may see one of the city's publications; peers and subscribers follow the change. */
export async function updateDatasetSharing(principal: Principal, input: DatasetSharingInput, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId, actor } = authorize(principal, context);
  const parsed = parseInput(sharingUpdateSchema, input);
  return withPlatformAdmin(async (tx) => {
    const before = await ownDataset(tx, tenantId, parsed.datasetId);
    const viewer = await viewerOf(tx, tenantId);
    const sharedWith = parsed.sharing === "cities" ? await checkSharedWith(tx, parsed.sharedWith ?? [], viewer.uri) : [];
    return changePublication(tx, before, { sharing: parsed.sharing, sharedWith }, { tenantId, actor, action: "federation.dataset.sharing_changed", requestId: context.requestId });
  }, context.database);
}

/**
 * Withdraws one of the city's publications: peers that saw it hear Delete, no one sees or reads
 * it any more. Followers are kept, so that publishing it again resumes their pushes.
 */
export async function withdrawDataset(principal: Principal, input: { datasetId: string }, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId, actor } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const before = await ownDataset(tx, tenantId, input?.datasetId);
    if (before.withdrawnAt) throw new Conflict("already_withdrawn", "The dataset is withdrawn already.");
    return changePublication(tx, before, { withdrawnAt: new Date() }, { tenantId, actor, action: "federation.dataset.withdrawn", requestId: context.requestId });
  }, context.database);
}

/** Changes one of the city's publications: peers hear what it means for them, and it is audited. */
async function changePublication(
  tx: Tx,
  before: DatasetRow,
  data: Prisma.FederationDatasetUpdateInput,
  audit: { tenantId: string; actor: AuditActor; action: string; requestId?: string },
): Promise<DatasetView> {
  const after = await tx.federationDataset.update({ where: { id: before.id }, data, select: DATASET_SELECT });
  await announceChange(tx, before, after);
  await recordAudit(tx, audit.tenantId, {
    actor: audit.actor,
    action: audit.action,
    subject: { type: "federation_dataset", id: after.id },
    before: policyOf(before),
    after: policyOf(after),
    requestId: audit.requestId,
  });
  return datasetView(after, { tenantId: audit.tenantId }, null);
}

// --- Refresh -----------------------------------------------------------------------------------------

export type RefreshResult = {
  datasetId: string;
  /** Keys new or changed since the last refresh. */
  changed: number;
  /** Keys gone since (now tombstones). */
  removed: number;
  lastSeq: number;
  /** Update activities enqueued (batches × following peers). */
  pushed: number;
};

type Snapshot = Map<string, { data: Record<string, unknown>; hash: string }>;

/** A plugin's snapshot, checked: what a plugin gets wrong is its bug, and nothing is stored. */
function checkSnapshot(pluginId: string, dataset: string, records: unknown): Snapshot {
  const where = `The dataset ${pluginId}/${dataset}`;
  if (!Array.isArray(records)) throw new Error(`${where}: the snapshot is not a list of records.`);
  if (records.length > MAX_SNAPSHOT_RECORDS) throw new Error(`${where}: the snapshot has more than ${MAX_SNAPSHOT_RECORDS} records.`);
  const snapshot: Snapshot = new Map();
  for (const record of records as unknown[]) {
    const { key, data } = (record ?? {}) as { key?: unknown; data?: unknown };
    if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) throw new Error(`${where}: a record key must be text of 1 to ${MAX_KEY_LENGTH} characters.`);
    if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error(`${where}: the record ${key} has no data object.`);
    if (snapshot.has(key)) throw new Error(`${where}: the key ${key} is given twice.`);
    const canonical = canonicalJson(data);
    if (Buffer.byteLength(canonical, "utf8") > MAX_RECORD_BYTES) throw new Error(`${where}: the record ${key} is over ${MAX_RECORD_BYTES} bytes.`);
    // What is stored and sent is what the hash covers: the data as JSON reads it back.
    snapshot.set(key, { data: JSON.parse(canonical) as Record<string, unknown>, hash: createHash("sha256").update(canonical).digest("hex") });
  }
  return snapshot;
}

/** Snapshots taken at most for one refresh, when other refreshes of the dataset keep committing in between. */
const REFRESH_ATTEMPTS = 3;

/**
 * Refreshes one of this instance's datasets: the plugin's snapshot in the origin city's unit of
 * work, then, in one platform transaction, the diff with the stored records by hash: each new,
 * changed or removed key (a tombstone) gets the dataset's next sequence number, and each peer
 * with a follower of the dataset gets the changes as `Update` civitas:DatasetRecords batches.
 *
 * The snapshot cannot be taken under the dataset's lock (the plugin runs in the city's own
 * transaction, never as app_admin), so the write checks, under the lock, that no other refresh
 * committed since the snapshot began (the dataset's row as read before it: see sameRefresh). If
 * one did, its snapshot may be newer than ours: ours is taken again (REFRESH_ATTEMPTS at most)
 * rather than written over it, which would bring back older records under new sequence numbers.
 */
export async function refreshDataset(datasetId: string, options: { database?: Database; now?: Date } = {}): Promise<RefreshResult> {
  const id = validId(datasetId);
  for (let attempt = 1; ; attempt += 1) {
    const result = await refreshOnce(id, options);
    if (result) return result;
    if (attempt >= REFRESH_ATTEMPTS) throw new Conflict("refresh_in_progress", "Other refreshes of the dataset kept committing; it will be refreshed again shortly.");
  }
}

/**
 * Whether the dataset is as it was read before a snapshot: a refresh that committed meanwhile
 * moved its last seq or its refreshed_at, and updated_at (Prisma sets it on every write) even
 * when it found nothing new at the same `now`.
 */
const sameRefresh = (a: DatasetRow, b: DatasetRow): boolean =>
  a.lastSeq === b.lastSeq && a.refreshedAt?.getTime() === b.refreshedAt?.getTime() && a.updatedAt.getTime() === b.updatedAt.getTime();

/** One snapshot and its write; null when another refresh committed since the snapshot began. */
async function refreshOnce(id: string, options: { database?: Database; now?: Date }): Promise<RefreshResult | null> {
  const { database } = options;
  const row = await withPlatformAdmin((tx) => tx.federationDataset.findUnique({ where: { id }, select: DATASET_SELECT }), database);
  if (!row || row.originTenantId === null) throw new NotFound("dataset");
  if (row.withdrawnAt) throw new Conflict("withdrawn", "A withdrawn dataset is not refreshed.");
  if (originSuspended(row)) throw new Conflict("city_suspended", "The city that publishes the dataset is suspended; it keeps its last records.");
  const found = declaredDataset(row.pluginId, row.dataset);
  if (!found) throw new Conflict("dataset_unavailable", `The service ${row.pluginId} no longer declares the dataset ${row.dataset}.`);
  const handler: DatasetHandler = await found.declared.handler();
  const tenantId = row.originTenantId;
  const records = await withTenant(
    tenantId,
    async (tx) => {
      const installation = await tx.pluginInstallation.findFirst({ where: { tenantId, pluginId: row.pluginId, enabled: true }, select: { settings: true } });
      if (!installation) return null;
      return handler.snapshot({ tx, tenantId, settings: (installation.settings ?? {}) as Record<string, unknown> });
    },
    database,
  );
  if (records === null) throw new Conflict("service_not_enabled", `The city no longer runs the service ${row.pluginId}; the dataset keeps its last records.`);
  const snapshot = checkSnapshot(row.pluginId, row.dataset, records);
  const now = options.now ?? new Date();

  return withPlatformAdmin(async (tx) => {
    const locked = await lockDataset(tx, row.id);
    if (!locked) throw new NotFound("dataset");
    if (locked.withdrawn) throw new Conflict("withdrawn", "A withdrawn dataset is not refreshed.");
    // The policy and city as they are now (a sharing change may have committed meanwhile).
    const current = await tx.federationDataset.findUniqueOrThrow({ where: { id: row.id }, select: DATASET_SELECT });
    if (!sameRefresh(current, row)) return null;
    if (originSuspended(current)) throw new Conflict("city_suspended", "The city that publishes the dataset is suspended; it keeps its last records.");
    const stored = await tx.federationDatasetRecord.findMany({ where: { datasetId: row.id }, select: { key: true, hash: true, deleted: true } });
    const storedByKey = new Map(stored.map((record) => [record.key, record]));
    const previous = locked.lastSeq;
    let seq = previous;
    const city = origin(current);
    const provenance = (next: number): Provenance => ({ city: city.uri, instance: instanceId(), dataset: current.uri, seq: next, time: now.toISOString() });
    const changes: WireRecord[] = [];
    // Keys in a fixed order: two refreshes of the same change number it the same way.
    for (const key of [...snapshot.keys()].sort()) {
      const record = snapshot.get(key)!;
      const old = storedByKey.get(key);
      if (old && !old.deleted && old.hash === record.hash) continue;
      seq += 1;
      changes.push({ key, seq, deleted: false, hash: record.hash, data: record.data, provenance: provenance(seq) });
    }
    let removed = 0;
    for (const old of [...stored].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      if (old.deleted || snapshot.has(old.key)) continue;
      seq += 1;
      removed += 1;
      changes.push({ key: old.key, seq, deleted: true, hash: recordHash(null), data: null, provenance: provenance(seq) });
    }
    await writeRecords(tx, row.id, changes);
    await tx.federationDataset.update({ where: { id: row.id }, data: { lastSeq: BigInt(seq), refreshedAt: now } });
    const pushed = changes.length > 0 ? await pushRecords(tx, current, previous, changes) : 0;
    return { datasetId: row.id, changed: changes.length - removed, removed, lastSeq: seq, pushed };
  }, database);
}

/** Sends a refresh's changes to every accepted peer with a follower the policy still allows. */
async function pushRecords(tx: Tx, row: DatasetRow, previous: number, changes: readonly WireRecord[]): Promise<number> {
  const followers = await tx.federationDatasetFollower.findMany({
    where: { datasetId: row.id, peer: { is: { localAccepted: true, remoteAccepted: true } } },
    select: { peerId: true, cityUri: true },
  });
  const peers = [...new Set(followers.filter((follower) => policyAllows(row, follower.cityUri)).map((follower) => follower.peerId))];
  if (peers.length === 0) return 0;
  let after = previous;
  let pushed = 0;
  for (const batch of batches(changes)) {
    const last = batch.at(-1)!.seq;
    const message = activity("Update", origin(row).uri, { type: "civitas:DatasetRecords", dataset: row.uri, after, last, records: batch });
    for (const peerId of peers) {
      await send(tx, peerId, message);
      pushed += 1;
    }
    after = last;
  }
  return pushed;
}

/**
 * The worker's round: refreshes each of this instance's datasets not refreshed for
 * REFRESH_INTERVAL_MS (a suspended city's are left alone). Each is claimed first (its
 * refreshed_at set, FOR UPDATE SKIP LOCKED), so several processes share the work and a dataset
 * that fails is retried one interval later; one failing never stops the others.
 */
export async function refreshDueDatasets(
  options: { database?: Database; now?: Date; limit?: number } = {},
): Promise<{ refreshed: number; skipped: number; failed: number }> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - REFRESH_INTERVAL_MS);
  const limit = options.limit ?? 50;
  const due = await withPlatformAdmin(
    (tx) => tx.$queryRaw<{ id: string }[]>`
      UPDATE "federation_datasets" SET "refreshed_at" = ${now}
       WHERE "id" IN (
         SELECT "id" FROM "federation_datasets"
          WHERE "origin_tenant_id" IS NOT NULL AND "withdrawn_at" IS NULL
            AND ("refreshed_at" IS NULL OR "refreshed_at" <= ${cutoff})
            AND EXISTS (SELECT 1 FROM "cities" c WHERE c."id" = "origin_tenant_id" AND c."status" = 'active')
          ORDER BY "refreshed_at" NULLS FIRST
          LIMIT ${limit}::int
          FOR UPDATE SKIP LOCKED)
      RETURNING "id"`,
    options.database,
  );
  const result = { refreshed: 0, skipped: 0, failed: 0 };
  for (const { id } of due) {
    try {
      await refreshDataset(id, { database: options.database, now });
      result.refreshed += 1;
    } catch (error) {
      // A plugin no longer enabled or declaring the dataset: expected, the dataset keeps its records.
      if (error instanceof ServiceError) result.skipped += 1;
      else {
        result.failed += 1;
        console.error(`civitas: refreshing dataset ${id} failed:`, error);
      }
    }
  }
  return result;
}

// --- Reading -------------------------------------------------------------------------------------------

export type ListDatasetsInput = {
  /** Only this plugin's datasets. */
  pluginId?: string | null;
  /** Only those published by this city (its URI). */
  city?: string | null;
  first?: number | null;
  after?: string | null;
};

const datasetCursor = (row: { id: string; createdAt: Date }) => timeCursor(row, row.createdAt);

/**
 * The datasets the asking city may see (docs/federation.md §8), newest first: its own
 * publications (withdrawn ones included), this instance's others' by their policy, and active
 * peers' as they announced them, each with the city's subscription.
 */
export async function listDatasets(principal: Principal, input: ListDatasetsInput = {}, context: ServiceContext = {}): Promise<DatasetPage> {
  const { tenantId } = authorize(principal, context);
  const filter = parseInput(listSchema, input ?? {});
  const first = filter.first ?? 25;
  return withPlatformAdmin(async (tx) => {
    const viewer = await viewerOf(tx, tenantId);
    const rows = await tx.federationDataset.findMany({
      where: {
        AND: [
          visibleWhere(viewer),
          ...(filter.pluginId ? [{ pluginId: filter.pluginId }] : []),
          ...(filter.city ? [{ originCity: { path: ["uri"], equals: filter.city } }] : []),
        ],
      },
      select: DATASET_SELECT,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: first + 1,
      ...(filter.after && { cursor: { id: filter.after.id }, skip: 1 }),
    });
    const { rows: page, ...cursors } = pageOf(rows, first, datasetCursor);
    const subscriptions = await tx.federationSubscription.findMany({
      where: { tenantId, datasetId: { in: page.map((row) => row.id) } },
      select: { datasetId: true, ...SUBSCRIPTION_SELECT },
    });
    const byDataset = new Map(subscriptions.map((subscription) => [subscription.datasetId, subscriptionView(subscription)]));
    return { items: page.map((row) => datasetView(row, viewer, byDataset.get(row.id) ?? null)), ...cursors };
  }, context.database);
}

/** One dataset the city may see (not found otherwise). */
export async function getDataset(principal: Principal, input: { datasetId: string }, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const viewer = await viewerOf(tx, tenantId);
    const row = await tx.federationDataset.findUnique({ where: { id: validId(input?.datasetId) }, select: DATASET_SELECT });
    if (!row || !visibleTo(row, viewer)) throw new NotFound("dataset");
    const subscription = await tx.federationSubscription.findUnique({ where: { tenantId_datasetId: { tenantId, datasetId: row.id } }, select: SUBSCRIPTION_SELECT });
    return datasetView(row, viewer, subscriptionView(subscription));
  }, context.database);
}

/** Records in sequence order after `after`, at most `limit` and MAX_BATCH_BYTES of them. */
async function readRecords(
  tx: Tx,
  datasetId: string,
  options: { after: number; limit: number; includeDeleted: boolean },
): Promise<{ records: WireRecord[]; more: boolean }> {
  const rows = await tx.federationDatasetRecord.findMany({
    where: { datasetId, seq: { gt: BigInt(options.after) }, ...(!options.includeDeleted && { deleted: false }) },
    select: RECORD_SELECT,
    orderBy: { seq: "asc" },
    take: options.limit + 1,
  });
  const records: WireRecord[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, options.limit)) {
    const record = wireRecord(row);
    const size = byteLength(record);
    if (records.length > 0 && bytes + size > MAX_BATCH_BYTES) return { records, more: true };
    records.push(record);
    bytes += size;
  }
  return { records, more: rows.length > options.limit };
}

export type DatasetRecordsInput = {
  datasetId: string;
  /** Records after this sequence number (the previous page's endCursor); 0 when absent. */
  after?: number | null;
  /** 1 to 500; 500 when absent. */
  first?: number | null;
  /** Tombstones of removed keys too (for a reader keeping its own copy). */
  includeDeleted?: boolean | null;
};

/**
 * A dataset's current records in sequence order, each with its provenance, for a city its
 * policy lets read them: this instance's from their table, a peer's from the local mirror.
 */
export async function datasetRecords(principal: Principal, input: DatasetRecordsInput, context: ServiceContext = {}): Promise<RecordPage> {
  const { tenantId } = authorize(principal, context);
  const parsed = parseInput(recordsSchema, input ?? {});
  return withPlatformAdmin(async (tx) => {
    const viewer = await viewerOf(tx, tenantId);
    const row = await tx.federationDataset.findUnique({ where: { id: validId(parsed.datasetId) }, select: DATASET_SELECT });
    if (!row || !visibleTo(row, viewer)) throw new NotFound("dataset");
    const { records, more } = await readRecords(tx, row.id, {
      after: parsed.after ?? 0,
      limit: parsed.first ?? MAX_BATCH_RECORDS,
      includeDeleted: parsed.includeDeleted === true,
    });
    return { dataset: row.uri, items: records, last: Number(row.lastSeq), hasNextPage: more, endCursor: records.at(-1)?.seq ?? null };
  }, context.database);
}

/** The city's subscriptions, newest first, each with its dataset (withdrawn ones included). */
export async function listSubscriptions(principal: Principal, context: ServiceContext = {}): Promise<DatasetView[]> {
  const { tenantId } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const rows = await tx.federationSubscription.findMany({
      where: { tenantId },
      select: { ...SUBSCRIPTION_SELECT, dataset: { select: DATASET_SELECT } },
      orderBy: [{ createdAt: "desc" }, { datasetId: "asc" }],
    });
    return rows.map((row) => datasetView(row.dataset, { tenantId }, subscriptionView(row)));
  }, context.database);
}

// --- Subscriptions -----------------------------------------------------------------------------------

/**
 * Subscribes the city to a dataset it may see: at once for this instance's, and for a peer's by
 * a `Follow` its origin answers (pending until then; the records come by push and catch-up).
 * Subscribing again is a no-op, except after a refusal, when it asks again.
 */
export async function subscribeDataset(principal: Principal, input: { datasetId: string }, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId, actor } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const viewer = await viewerOf(tx, tenantId);
    const row = await tx.federationDataset.findUnique({ where: { id: validId(input?.datasetId) }, select: DATASET_SELECT });
    if (!row || row.withdrawnAt !== null || !visibleTo(row, viewer)) throw new NotFound("dataset");
    if (row.originTenantId === tenantId) throw new Conflict("own_dataset", "A city reads its own datasets without subscribing to them.");
    const key = { tenantId_datasetId: { tenantId, datasetId: row.id } };
    const existing = await tx.federationSubscription.findUnique({ where: key, select: SUBSCRIPTION_SELECT });
    if (existing && existing.state !== "refused") return datasetView(row, viewer, subscriptionView(existing));
    const state: SubscriptionState = row.peerId === null ? "active" : "pending";
    const subscription = await tx.federationSubscription.upsert({
      where: key,
      create: { tenantId, datasetId: row.id, state },
      update: { state, cursor: 0 },
      select: SUBSCRIPTION_SELECT,
    });
    if (row.peerId !== null) await send(tx, row.peerId, activity("Follow", viewer.uri, row.uri));
    await recordAudit(tx, tenantId, {
      actor,
      action: "federation.dataset.subscribed",
      subject: { type: "federation_dataset", id: row.id },
      before: existing ? { state: existing.state } : null,
      after: { state, dataset: row.uri },
      requestId: context.requestId,
    });
    return datasetView(row, viewer, subscriptionView(subscription));
  }, context.database);
}

/** Ends the city's subscription; a peer's origin hears `Undo` of the Follow. */
export async function unsubscribeDataset(principal: Principal, input: { datasetId: string }, context: ServiceContext = {}): Promise<DatasetView> {
  const { tenantId, actor } = authorize(principal, context);
  return withPlatformAdmin(async (tx) => {
    const viewer = await viewerOf(tx, tenantId);
    const datasetId = validId(input?.datasetId);
    const existing = await tx.federationSubscription.findUnique({ where: { tenantId_datasetId: { tenantId, datasetId } }, select: SUBSCRIPTION_SELECT });
    const row = await tx.federationDataset.findUnique({ where: { id: datasetId }, select: DATASET_SELECT });
    if (!existing || !row) throw new NotFound("subscription");
    await tx.federationSubscription.deleteMany({ where: { tenantId, datasetId } });
    if (row.peerId !== null && existing.state !== "refused") {
      // The Follow's own id is not kept: the origin routes an Undo by what was followed, and by whom.
      const follow: FollowObject = { type: "Follow", actor: viewer.uri, object: row.uri };
      await send(tx, row.peerId, activity("Undo", viewer.uri, follow));
    }
    await recordAudit(tx, tenantId, {
      actor,
      action: "federation.dataset.unsubscribed",
      subject: { type: "federation_dataset", id: row.id },
      before: { state: existing.state },
      after: null,
      requestId: context.requestId,
    });
    return datasetView(row, viewer, null);
  }, context.database);
}

// --- The pull feed and what peers read ---------------------------------------------------------------

export type FeedRequest = {
  /** The dataset's id (the last segment of its URI). */
  datasetId: string;
  after: number;
  limit: number;
  /** The subscribing city whose right to read is checked (`city` of the query). */
  city: string | null;
  /** The active peer that signed the request; null for an unsigned one. */
  peer: PeerRef | null;
};

/** One of this instance's datasets as peers and the public may reach it: not withdrawn, its city not suspended. */
async function publishedDataset(tx: Tx, datasetId: string): Promise<DatasetRow> {
  const row = await tx.federationDataset.findFirst({
    where: { id: validId(datasetId), withdrawnAt: null, ...OPEN_ORIGIN },
    select: DATASET_SELECT,
  });
  if (!row) throw new DatasetAccessRefused(404, "unknown_dataset", "This instance publishes no such dataset.");
  return row;
}

/**
 * Unsigned, signed by an instance that is not a peer, or signed for a peer with a key this
 * instance has not pinned (or that does not verify): the same answer, which tells no prober who
 * peers with this instance (verifyPeerRequest).
 */
const NOT_PUBLIC =
  "This dataset is not public: the request must be signed by a peer, with a key this instance has pinned for it.";

/** Public datasets are anyone's; others need a signed peer and a city of that peer the policy names. */
function checkReader(row: DatasetRow, peer: PeerRef | null, city: string | null): void {
  if (row.sharing === "public") return;
  if (!peer) throw new DatasetAccessRefused(401, "missing_signature", NOT_PUBLIC);
  if (!city) throw new DatasetAccessRefused(400, "malformed", "The city asking to read the dataset is missing (the city parameter).");
  if (!isCityOf(peer.instanceId, city) || !policyAllows(row, city)) {
    throw new DatasetAccessRefused(403, "not_shared", "The dataset is not shared with this city.");
  }
}

/** One page of the pull feed (docs/federation.md §7), tombstones included. */
export async function feedPage(request: FeedRequest, options: { database?: Database } = {}): Promise<FeedPage> {
  return withPlatformAdmin(async (tx) => {
    const row = await publishedDataset(tx, request.datasetId);
    checkReader(row, request.peer, request.city);
    const { records, more } = await readRecords(tx, row.id, { after: request.after, limit: request.limit, includeDeleted: true });
    const lastIncluded = records.at(-1)?.seq ?? request.after;
    const query = new URLSearchParams({ after: String(lastIncluded), limit: String(request.limit), ...(request.city && { city: request.city }) });
    return { dataset: row.uri, records, last: Number(row.lastSeq), next: more ? `${row.uri}/records?${query.toString()}` : null };
  }, options.database);
}

/** Records per page of a public download at most, and the default. */
export const MAX_DOWNLOAD_RECORDS = 1000;
/** Bytes of records per page of a public download: the 1 MB a fetch reads (docs/federation.md §12). */
export const MAX_DOWNLOAD_BYTES = 1024 * 1024;
/** Records read from the database at a time for a download page. */
const DOWNLOAD_READ_BATCH = 100;

export type PublicRecordsPage = {
  dataset: string;
  title: LanguageMap;
  /** The dataset's last sequence number when this page was read. */
  last: number;
  modified: string;
  /** Current records (no tombstones) in key order. */
  records: Omit<WireRecord, "deleted">[];
  /** The URL of the next page (records after this page's last key), or null on the last. */
  next: string | null;
};

/**
 * A page of a public dataset's current records (no tombstones) in key order, for open-data
 * downloads: at most `limit` (MAX_DOWNLOAD_RECORDS) and MAX_DOWNLOAD_BYTES of them after the key
 * `after`, with the URL of the next page. Paged by key, a key changed while a client reads
 * comes once, as it is when its page is read.
 */
export async function publicRecords(
  datasetId: string,
  options: { database?: Database; after?: string | null; limit?: number } = {},
): Promise<PublicRecordsPage> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? MAX_DOWNLOAD_RECORDS), 1), MAX_DOWNLOAD_RECORDS);
  const after = options.after ?? null;
  return withPlatformAdmin(async (tx) => {
    const row = await publishedDataset(tx, datasetId);
    if (row.sharing !== "public") throw new DatasetAccessRefused(403, "not_shared", "This dataset is not public.");
    const records: Omit<WireRecord, "deleted">[] = [];
    let bytes = 0;
    let more = false;
    let cursor = after;
    // Read in small batches: a page of large records stops at MAX_DOWNLOAD_BYTES without having
    // loaded a thousand of them.
    reading: while (records.length < limit) {
      const take = Math.min(DOWNLOAD_READ_BATCH, limit - records.length);
      const rows = await tx.federationDatasetRecord.findMany({
        where: { datasetId: row.id, deleted: false, ...(cursor !== null && { key: { gt: cursor } }) },
        select: RECORD_SELECT,
        orderBy: { key: "asc" },
        take: take + 1,
      });
      more = rows.length > take;
      for (const stored of rows.slice(0, take)) {
        const { deleted: _deleted, ...record } = wireRecord(stored);
        const size = byteLength(record);
        if (records.length > 0 && bytes + size > MAX_DOWNLOAD_BYTES) {
          more = true;
          break reading;
        }
        records.push(record);
        bytes += size;
      }
      if (!more) break;
      cursor = records.at(-1)!.key;
    }
    const query = new URLSearchParams({ after: records.at(-1)?.key ?? "", limit: String(limit) });
    return {
      dataset: row.uri,
      title: row.title as LanguageMap,
      last: Number(row.lastSeq),
      modified: (row.refreshedAt ?? row.updatedAt).toISOString(),
      records,
      next: more && records.length > 0 ? `${row.uri}/records.json?${query.toString()}` : null,
    };
  }, options.database);
}

/** A dataset's descriptor for whoever may see it: anyone for a public one, a peer it is announced to otherwise. */
export async function datasetDescriptor(
  datasetId: string,
  peer: PeerRef | null,
  options: { database?: Database } = {},
): Promise<DatasetDescriptor & { "@context": unknown }> {
  return withPlatformAdmin(async (tx) => {
    const row = await publishedDataset(tx, datasetId);
    if (row.sharing !== "public") {
      if (!peer) throw new DatasetAccessRefused(401, "missing_signature", NOT_PUBLIC);
      if (!peerMaySee(row, peer)) throw new DatasetAccessRefused(403, "not_shared", "The dataset is not shared with the cities of this peer.");
    }
    return { "@context": ACTIVITY_CONTEXT, ...descriptorFor(row, peer) };
  }, options.database);
}

/** The public datasets of this instance's cities, for the DCAT-AP catalogue. */
export type CatalogueDataset = {
  id: string;
  uri: string;
  pluginId: string;
  dataset: string;
  title: LanguageMap;
  description: LanguageMap;
  origin: OriginCity;
  issued: Date;
  modified: Date;
  lastSeq: number;
};

export async function publicDatasets(options: { database?: Database } = {}): Promise<CatalogueDataset[]> {
  const rows = await withPlatformAdmin(
    (tx) =>
      tx.federationDataset.findMany({
        // As the discovery document lists cities: a suspended city's datasets are left out.
        where: { withdrawnAt: null, sharing: "public", ...OPEN_ORIGIN },
        select: DATASET_SELECT,
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      }),
    options.database,
  );
  return rows.map((row) => ({
    id: row.id,
    uri: row.uri,
    pluginId: row.pluginId,
    dataset: row.dataset,
    title: row.title as LanguageMap,
    description: row.description as LanguageMap,
    origin: origin(row),
    issued: row.createdAt,
    modified: row.refreshedAt ?? row.updatedAt,
    lastSeq: Number(row.lastSeq),
  }));
}

// --- Inbox: what peers send --------------------------------------------------------------------------

const url = z.string().url().max(2000);
const languageMapIn = z
  .record(z.string().min(1).max(35), z.string().max(10_000))
  .refine((texts) => Object.keys(texts).length <= 100, { message: "too many languages" });

const descriptorSchema = z.object({
  type: z.string(),
  id: url,
  plugin: z.string().min(1).max(60),
  dataset: z.string().min(1).max(100),
  title: languageMapIn,
  description: languageMapIn.optional(),
  sharing: z.enum(["public", "federation", "cities"]),
  sharedWith: z.array(url).max(1000).optional(),
  origin: z.object({
    instance: url,
    city: z.object({ id: url, slug: z.string().min(1).max(100), names: languageMapIn.optional(), locales: z.array(z.string().min(1).max(35)).max(100).optional() }),
  }),
  lastSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

const recordSchema = z.object({
  key: z.string().min(1).max(MAX_KEY_LENGTH),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  deleted: z.boolean(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  data: z.record(z.string(), z.unknown()).nullable(),
  provenance: z.object({
    city: url,
    instance: url,
    dataset: url,
    seq: z.number().int(),
    time: z.iso.datetime({ offset: true }),
  }),
});

const recordsBatchSchema = z.object({
  type: z.string(),
  dataset: url,
  after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  last: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  records: z.array(recordSchema).max(MAX_BATCH_RECORDS * 2),
});

const feedSchema = z.object({
  dataset: url,
  records: z.array(recordSchema).max(MAX_BATCH_RECORDS),
  last: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  next: url.nullable(),
});

const followSchema = z.object({ type: z.literal("Follow"), id: z.string().max(2000).optional(), actor: url, object: url });

function malformed(message: string): InboxRefusal {
  return new InboxRefusal(400, "malformed", message);
}

function parseObject<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw malformed(`${what}: ${result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".") || "object"} ${issue.message}`).join("; ")}`);
  return result.data;
}

/** The `object` of an activity as a URI: itself when a string, its `id` when an object. */
function objectUri(object: unknown): string | null {
  if (typeof object === "string") return object;
  if (object && typeof object === "object" && typeof (object as { id?: unknown }).id === "string") return (object as { id: string }).id;
  return null;
}

const objectType = (object: unknown): string | null =>
  object && typeof object === "object" && typeof (object as { type?: unknown }).type === "string" ? (object as { type: string }).type : null;

const isType = (type: string | null, name: "Dataset" | "DatasetRecords") => type === `civitas:${name}` || type === `${CIVITAS_NS}${name}`;

/** Records a peer sends, checked against the mirror they are for; a problem refuses them all. */
function checkPeerRecords(records: readonly z.infer<typeof recordSchema>[], mirror: DatasetRow, peer: PeerRef, bounds: { after: number; last: number }): WireRecord[] {
  const city = origin(mirror).uri;
  const keys = new Set<string>();
  let previous = bounds.after;
  return records.map((record) => {
    if (record.seq <= previous || record.seq > bounds.last) throw new Error(`record ${record.key}: seq ${record.seq} is out of order or outside (${bounds.after}, ${bounds.last}]`);
    previous = record.seq;
    if (keys.has(record.key)) throw new Error(`record ${record.key} is given twice`);
    keys.add(record.key);
    if (record.deleted !== (record.data === null)) throw new Error(`record ${record.key}: only a deleted record has no data`);
    if (recordHash(record.data) !== record.hash) throw new Error(`record ${record.key}: the hash is not the sha-256 of its canonical data`);
    const { provenance } = record;
    if (provenance.dataset !== mirror.uri || provenance.instance !== peer.instanceId || provenance.city !== city || provenance.seq !== record.seq) {
      throw new Error(`record ${record.key}: its provenance is not this dataset's`);
    }
    return { key: record.key, seq: record.seq, deleted: record.deleted, hash: record.hash, data: record.data, provenance };
  });
}

/**
 * Applies a peer's records to the mirror. A sequence number the mirror holds for another key
 * means the peer numbers inconsistently: nothing is stored.
 */
async function applyToMirror(tx: Tx, mirror: DatasetRow, records: readonly WireRecord[]): Promise<void> {
  if (records.length === 0) return;
  const taken = await tx.federationDatasetRecord.findMany({
    where: { datasetId: mirror.id, seq: { in: records.map((record) => BigInt(record.seq)) } },
    select: { key: true, seq: true },
  });
  const keyOf = new Map(records.map((record) => [record.seq, record.key]));
  const clash = taken.find((row) => keyOf.get(Number(row.seq)) !== row.key);
  if (clash) throw new Error(`seq ${clash.seq} is already the record ${clash.key}'s`);
  await writeRecords(tx, mirror.id, records);
}

/** The mirror caught up to `lastSeq`: its subscribers' cursors follow. */
async function mirrorHolds(tx: Tx, mirrorId: string, lastSeq: number, options: { upToDate: boolean }): Promise<void> {
  const now = new Date();
  await tx.federationDataset.update({
    where: { id: mirrorId },
    data: { lastSeq: BigInt(lastSeq), ...(options.upToDate && { refreshedAt: now, syncedAt: now }) },
  });
  await tx.federationSubscription.updateMany({ where: { datasetId: mirrorId, state: "active" }, data: { cursor: BigInt(lastSeq) } });
}

/** A peer's dataset as mirrored here, by its URI; null when unknown (or another peer's). */
async function mirrorOf(tx: Tx, peer: PeerRef, uri: string): Promise<DatasetRow | null> {
  if (!isDatasetOf(peer.instanceId, uri)) throw new InboxRefusal(403, "actor_mismatch", "The dataset is not the sending instance's.");
  return tx.federationDataset.findFirst({ where: { uri, peerId: peer.id }, select: DATASET_SELECT });
}

/**
 * The dataset activities a peer sends (docs/federation.md §7), inside the inbox's transaction:
 * Follow/Undo of our datasets by the peer's cities, Accept/Reject of our cities' Follows,
 * Create/Update/Announce of descriptors, Update of records, Delete of a dataset.
 */
export async function onDatasetActivity(context: InboxContext): Promise<void> {
  const { tx, peer, activity: received } = context;
  const message = received as unknown as { id: string; type: string; actor: unknown; object: unknown };
  switch (message.type) {
    case "Follow":
      return onFollow(tx, peer, message);
    case "Undo":
      return onUndo(tx, peer, message.object);
    case "Accept":
    case "Reject":
      return onAnswer(tx, peer, message.type, message.object);
    case "Create":
    case "Update":
    case "Announce": {
      const type = objectType(message.object);
      if (isType(type, "Dataset")) return onDescriptor(tx, peer, message.object);
      if (isType(type, "DatasetRecords") && message.type === "Update") return onRecords(tx, peer, message.object);
      throw malformed(`A ${message.type} of ${type ?? "an untyped object"} is not a dataset activity.`);
    }
    case "Delete":
      return onDelete(tx, peer, message.object);
    default:
      throw malformed(`${message.type} is not a dataset activity.`);
  }
}

/**
 * A peer's city follows one of our datasets. The answer always goes back as a message (Accept,
 * or Reject when the policy does not name the city, the dataset is withdrawn or unknown, or its
 * city is suspended), so
 * the follower's subscription never stays pending; only a Follow that breaks the protocol (a
 * city that is not the peer's, a dataset that is not ours) is refused at the door.
 */
async function onFollow(tx: Tx, peer: PeerRef, message: { id: string; actor: unknown; object: unknown }): Promise<void> {
  const actor = typeof message.actor === "string" ? message.actor : null;
  const object = objectUri(message.object);
  if (!actor || !object) throw malformed("A Follow names the following city (actor) and the dataset (object).");
  if (!isCityOf(peer.instanceId, actor)) throw new InboxRefusal(403, "actor_mismatch", "The following city is not one of the sending instance's.");
  const datasetId = localDatasetId(object);
  if (!datasetId) throw new InboxRefusal(422, "refused", "The object is not a dataset of this instance.");
  const row = await tx.federationDataset.findFirst({ where: { id: datasetId, originTenantId: { not: null } }, select: DATASET_SELECT });
  const follow: FollowObject = { type: "Follow", id: message.id, actor, object };
  const answerer = row ? origin(row).uri : instanceId();
  if (row && row.withdrawnAt === null && !originSuspended(row) && policyAllows(row, actor)) {
    await tx.federationDatasetFollower.upsert({
      where: { datasetId_peerId_cityUri: { datasetId: row.id, peerId: peer.id, cityUri: actor } },
      create: { datasetId: row.id, peerId: peer.id, cityUri: actor },
      update: {},
    });
    await send(tx, peer.id, activity("Accept", answerer, follow));
    return;
  }
  if (row) await tx.federationDatasetFollower.deleteMany({ where: { datasetId: row.id, peerId: peer.id, cityUri: actor } });
  await send(tx, peer.id, activity("Reject", answerer, follow));
}

async function onUndo(tx: Tx, peer: PeerRef, object: unknown): Promise<void> {
  const follow = parseObject(followSchema, object, "Undo");
  if (!isCityOf(peer.instanceId, follow.actor)) throw new InboxRefusal(403, "actor_mismatch", "The following city is not one of the sending instance's.");
  const datasetId = localDatasetId(follow.object);
  if (!datasetId) return;
  await tx.federationDatasetFollower.deleteMany({ where: { datasetId, peerId: peer.id, cityUri: follow.actor } });
}

/** The origin answered one of our cities' Follows: active (and due for a catch-up) or refused. */
async function onAnswer(tx: Tx, peer: PeerRef, type: "Accept" | "Reject", object: unknown): Promise<void> {
  const follow = parseObject(followSchema, object, type);
  const slug = localCitySlug(follow.actor);
  if (!slug) throw new InboxRefusal(422, "refused", "The Follow answered is not from a city of this instance.");
  const mirror = await mirrorOf(tx, peer, follow.object);
  const city = await tx.city.findUnique({ where: { slug }, select: { id: true } });
  if (!mirror || !city) return;
  const state: SubscriptionState = type === "Accept" ? "active" : "refused";
  const { count } = await tx.federationSubscription.updateMany({ where: { tenantId: city.id, datasetId: mirror.id }, data: { state } });
  // Accepted: what was published before the subscription comes through the feed (catchUpDue).
  if (count > 0 && state === "active") await tx.federationDataset.update({ where: { id: mirror.id }, data: { refreshedAt: null } });
}

/** A descriptor: the mirror row is created or brought up to date (a withdrawn one comes back). */
async function onDescriptor(tx: Tx, peer: PeerRef, object: unknown): Promise<void> {
  const descriptor = parseObject(descriptorSchema, object, "Dataset");
  if (!isDatasetOf(peer.instanceId, descriptor.id) || descriptor.origin.instance !== peer.instanceId || !isCityOf(peer.instanceId, descriptor.origin.city.id)) {
    throw new InboxRefusal(403, "actor_mismatch", "The dataset or its origin is not the sending instance's.");
  }
  const existing = await tx.federationDataset.findUnique({ where: { uri: descriptor.id }, select: { id: true, peerId: true, lastSeq: true } });
  if (existing && existing.peerId !== peer.id) throw new InboxRefusal(403, "actor_mismatch", "The dataset is not the sending instance's.");
  const fields = {
    originCity: {
      uri: descriptor.origin.city.id,
      slug: descriptor.origin.city.slug,
      names: descriptor.origin.city.names ?? {},
      instance: peer.instanceId,
      locales: descriptor.origin.city.locales ?? [],
    } satisfies OriginCity,
    pluginId: descriptor.plugin,
    dataset: descriptor.dataset,
    title: descriptor.title,
    description: descriptor.description ?? {},
    sharing: descriptor.sharing,
    sharedWith: descriptor.sharing === "cities" ? [...new Set(descriptor.sharedWith ?? [])] : [],
    withdrawnAt: null,
  };
  // Behind what the origin holds: the subscribers' copy catches up (catchUpDue).
  const behind = existing !== null && descriptor.lastSeq !== undefined && descriptor.lastSeq > Number(existing.lastSeq);
  if (existing) {
    await tx.federationDataset.update({ where: { id: existing.id }, data: { ...fields, ...(behind && { refreshedAt: null }) } });
  } else {
    await tx.federationDataset.create({ data: { id: randomUUID(), uri: descriptor.id, peerId: peer.id, ...fields } });
  }
}

/**
 * A push of records. When the batch continues from what the mirror holds (or overlaps it), it is
 * applied; when something was missed (after > what we hold), nothing of it is stored and the
 * mirror is marked for a catch-up through the feed.
 */
async function onRecords(tx: Tx, peer: PeerRef, object: unknown): Promise<void> {
  const batch = parseObject(recordsBatchSchema, object, "DatasetRecords");
  if (batch.last < batch.after) throw malformed("DatasetRecords: last is before after.");
  const mirror = await mirrorOf(tx, peer, batch.dataset);
  if (!mirror) return;
  const followed = await tx.federationSubscription.count({ where: { datasetId: mirror.id, state: { in: ["pending", "active"] } } });
  if (followed === 0) return;
  let records: WireRecord[];
  try {
    records = checkPeerRecords(batch.records, mirror, peer, batch);
  } catch (error) {
    throw malformed(`DatasetRecords: ${(error as Error).message}`);
  }
  const held = await lockDataset(tx, mirror.id);
  if (!held || held.withdrawn) return;
  if (batch.after > held.lastSeq) {
    await tx.federationDataset.update({ where: { id: mirror.id }, data: { refreshedAt: null } });
    return;
  }
  try {
    await applyToMirror(tx, mirror, records);
  } catch (error) {
    throw new InboxRefusal(422, "refused", `DatasetRecords: ${(error as Error).message}`);
  }
  await mirrorHolds(tx, mirror.id, Math.max(held.lastSeq, batch.last), { upToDate: true });
}

/** The origin withdrew the dataset, or no longer shares it with this instance: its copy goes. */
async function onDelete(tx: Tx, peer: PeerRef, object: unknown): Promise<void> {
  const uri = objectUri(object);
  if (!uri) throw malformed("A Delete names what it deletes (object).");
  const mirror = await mirrorOf(tx, peer, uri);
  if (!mirror) return;
  await tx.federationDatasetRecord.deleteMany({ where: { datasetId: mirror.id } });
  await tx.federationDataset.update({ where: { id: mirror.id }, data: { withdrawnAt: new Date(), lastSeq: 0n, refreshedAt: null } });
  await tx.federationSubscription.updateMany({ where: { datasetId: mirror.id }, data: { cursor: 0n } });
}

// --- Catch-up through the pull feed ------------------------------------------------------------------

export type CatchUpResult = { datasetId: string; records: number; lastSeq: number; complete: boolean };

type CatchUpState = { mirror: DatasetRow; cities: { tenantId: string; uri: string }[] };

async function catchUpState(tx: Tx, datasetId: string): Promise<CatchUpState | null> {
  const mirror = await tx.federationDataset.findUnique({ where: { id: datasetId }, select: DATASET_SELECT });
  if (!mirror || mirror.peerId === null || mirror.withdrawnAt !== null || !isActive(mirror.peer)) return null;
  const subscriptions = await tx.federationSubscription.findMany({
    where: { datasetId, state: "active" },
    select: { tenantId: true, city: { select: { slug: true } } },
    orderBy: { createdAt: "asc" },
  });
  const cities = subscriptions.map((subscription) => ({ tenantId: subscription.tenantId, uri: cityUri(subscription.city.slug) })).filter((city) => policyAllows(mirror, city.uri));
  return { mirror, cities };
}

export type CatchUpOptions = {
  database?: Database;
  /** Pages read at most (CATCH_UP_PAGES); what is left waits for the next catch-up. */
  maxPages?: number;
  /** No page is asked for after this time (ms since the epoch), and none waits beyond it. */
  deadline?: number;
};

/** A fetch needs at least this much of the budget left to be worth starting. */
const MIN_FETCH_MS = 500;

/**
 * Brings a peer's dataset up to date through its pull feed: signed GETs of
 * `{dataset}/records?after=…&limit=500&city=…` for one of the subscribing cities, page after page,
 * each applied in sequence order in its own transaction. A city the origin refuses (403
 * not_shared) loses its subscription, and the next one reads; the pages followed are ours to
 * compute (after = what we hold), never a URL the peer chose. It stops after `maxPages` pages
 * or at the `deadline` (complete: false); the next catch-up continues from what we hold.
 */
export async function catchUp(datasetId: string, options: CatchUpOptions = {}): Promise<CatchUpResult> {
  const { database } = options;
  const id = validId(datasetId);
  const maxPages = options.maxPages ?? CATCH_UP_PAGES;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  let records = 0;
  for (let page = 0; page < maxPages; page += 1) {
    const state = await withPlatformAdmin((tx) => catchUpState(tx, id), database);
    if (!state) throw new NotFound("dataset");
    const { mirror } = state;
    const city = state.cities[0];
    const held = Number(mirror.lastSeq);
    if (!city) return { datasetId: id, records, lastSeq: held, complete: false };
    const left = deadline - Date.now();
    if (left < MIN_FETCH_MS) return { datasetId: id, records, lastSeq: held, complete: false };
    const query = new URLSearchParams({ after: String(held), limit: String(MAX_BATCH_RECORDS), city: city.uri });
    const response = await signedFetch(`${mirror.uri}/records?${query.toString()}`, { method: "GET", database, timeoutMs: Math.min(FETCH_TIMEOUT_MS, left) });
    const body = await readJson(response);
    if (response.status === 403 && (body as { error?: unknown } | null)?.error === "not_shared") {
      await withPlatformAdmin((tx) => tx.federationSubscription.updateMany({ where: { tenantId: city.tenantId, datasetId: id }, data: { state: "refused" } }), database);
      continue;
    }
    if (response.status === 404) throw new Conflict("unknown_dataset", `${mirror.uri} is no longer published by its instance.`);
    if (response.status !== 200) throw new Error(`Reading ${mirror.uri}'s feed answered ${response.status}.`);
    const feed = feedSchema.safeParse(body);
    if (!feed.success || feed.data.dataset !== mirror.uri) throw new Error(`${mirror.uri}'s feed answered something that is not a page of it.`);
    const applied = await withPlatformAdmin(async (tx) => {
      const locked = await lockDataset(tx, id);
      // Withdrawn or reset meanwhile (a Delete): this page no longer continues what we hold.
      if (!locked || locked.withdrawn || locked.lastSeq < held) return null;
      const checked = checkPeerRecords(feed.data.records, mirror, { id: mirror.peerId!, instanceId: origin(mirror).instance }, { after: held, last: feed.data.last });
      await applyToMirror(tx, mirror, checked);
      const reached = feed.data.next ? (checked.at(-1)?.seq ?? held) : Math.max(checked.at(-1)?.seq ?? held, feed.data.last);
      const lastSeq = Math.max(locked.lastSeq, reached);
      await mirrorHolds(tx, id, lastSeq, { upToDate: feed.data.next === null });
      return { count: checked.length, lastSeq };
    }, database);
    if (!applied) return { datasetId: id, records, lastSeq: held, complete: false };
    records += applied.count;
    if (feed.data.next === null) return { datasetId: id, records, lastSeq: applied.lastSeq, complete: true };
    // A page that moves nothing forward would be read again and again.
    if (applied.lastSeq <= held) return { datasetId: id, records, lastSeq: applied.lastSeq, complete: false };
  }
  const last = await withPlatformAdmin((tx) => tx.federationDataset.findUnique({ where: { id }, select: { lastSeq: true } }), database);
  return { datasetId: id, records, lastSeq: Number(last?.lastSeq ?? 0), complete: false };
}

async function readJson(response: { text(): Promise<string> }): Promise<unknown> {
  try {
    return JSON.parse(await response.text()) as unknown;
  } catch {
    return null;
  }
}

/** A claimed catch-up: the mirror, what it held and when it last changed when claimed, and its lease (refreshed_at). */
type ClaimedCatchUp = { id: string; peerId: string; lastSeq: number; updatedAt: Date; lease: Date };

/** What one catchUpDue call leaves for a later one: mirrors it read already, peers that failed it. */
type CatchUpSkips = { datasets: string[]; peers: string[] };

const notIn = (column: Prisma.Sql, ids: readonly string[]) =>
  ids.length > 0 ? Prisma.sql`AND ${column} NOT IN (${Prisma.join(ids.map((id) => Prisma.sql`${id}::uuid`))})` : Prisma.empty;

/**
 * Claims the mirror most overdue for a catch-up (FOR UPDATE SKIP LOCKED): its refreshed_at is
 * moved so that it is due again only when the lease ends, and other processes pass it by.
 */
async function claimCatchUp(now: Date, skip: CatchUpSkips, database?: Database): Promise<ClaimedCatchUp | null> {
  const cutoff = new Date(now.getTime() - CATCH_UP_INTERVAL_MS);
  const lease = new Date(now.getTime() + CATCH_UP_LEASE_MS - CATCH_UP_INTERVAL_MS);
  const [claimed] = await withPlatformAdmin(
    // refreshed_at only, by SQL: updated_at keeps the time the copy last changed (the back-off's measure).
    (tx) => tx.$queryRaw<{ id: string; peer_id: string; last_seq: bigint; updated_at: Date }[]>`
      UPDATE "federation_datasets" SET "refreshed_at" = ${lease}
       WHERE "id" = (
         SELECT d."id" FROM "federation_datasets" d
           JOIN "federation_peers" p ON p."id" = d."peer_id"
          WHERE d."withdrawn_at" IS NULL
            AND p."local_accepted" AND p."remote_accepted" AND NOT p."suspended"
            AND (d."refreshed_at" IS NULL OR d."refreshed_at" <= ${cutoff})
            AND EXISTS (SELECT 1 FROM "federation_subscriptions" s WHERE s."dataset_id" = d."id" AND s."state" = 'active')
            ${notIn(Prisma.sql`d."id"`, skip.datasets)} ${notIn(Prisma.sql`d."peer_id"`, skip.peers)}
          ORDER BY d."refreshed_at" NULLS FIRST, d."id"
          LIMIT 1
          FOR UPDATE OF d SKIP LOCKED)
      RETURNING "id"::text AS "id", "peer_id"::text AS "peer_id", "last_seq", "updated_at"`,
    database,
  );
  return claimed ? { id: claimed.id, peerId: claimed.peer_id, lastSeq: Number(claimed.last_seq), updatedAt: new Date(claimed.updated_at), lease } : null;
}

/**
 * Sets when a claimed mirror's next catch-up is due (refreshed_at = that time −
 * CATCH_UP_INTERVAL_MS), unless its clock moved since the claim: a push that brought it up to
 * date, or one that showed a gap (due now), says more than this catch-up.
 */
async function catchUpDueAt(claimed: ClaimedCatchUp, due: Date, database?: Database): Promise<void> {
  const clock = new Date(due.getTime() - CATCH_UP_INTERVAL_MS);
  await withPlatformAdmin(
    (tx) => tx.$executeRaw`UPDATE "federation_datasets" SET "refreshed_at" = ${clock} WHERE "id" = ${claimed.id}::uuid AND "refreshed_at" = ${claimed.lease}`,
    database,
  );
}

/**
 * How long a failed catch-up waits: as long as the copy has gone without change (its updated_at:
 * a page applied, a push, a descriptor, a mark), at least CATCH_UP_MIN_BACKOFF_MS and at most
 * CATCH_UP_MAX_BACKOFF_MS. After a gap is noticed the tries come 1, 2, 4, 8, … minutes after it;
 * an hourly check of a quiet copy that fails is tried again hourly.
 */
export function catchUpBackoff(now: Date, unchangedSince: Date): number {
  return Math.min(CATCH_UP_MAX_BACKOFF_MS, Math.max(CATCH_UP_MIN_BACKOFF_MS, now.getTime() - unchangedSince.getTime()));
}

export type CatchUpRound = { caughtUp: number; partial: number; failed: number };

/**
 * The worker's round for mirrors: peers' datasets with an active subscription here that are
 * marked for a catch-up (accepted Follow, missed push, descriptor ahead of us) or whose clock
 * says it is due (CATCH_UP_INTERVAL_MS after the last one, or when a back-off ends).
 *
 * Bounded, so that a slow or unreachable peer holds up neither the worker nor the others: at
 * most `limit` (CATCH_UP_DATASETS) mirrors, `maxPages` (CATCH_UP_PAGES) pages each, and
 * `budgetMs` (CATCH_UP_BUDGET_MS) in all. Each mirror is claimed before it is read, so several
 * processes share the work. One that stops short having made progress (caught up partly) is due
 * again from the next call on, and continues from what we hold; one that fails or moves nothing
 * forward backs off (catchUpBackoff), and the other mirrors of its peer wait for the next call.
 * One failing never stops the others.
 */
export async function catchUpDue(
  options: { database?: Database; now?: Date; limit?: number; maxPages?: number; budgetMs?: number } = {},
): Promise<CatchUpRound> {
  const started = Date.now();
  const deadline = started + (options.budgetMs ?? CATCH_UP_BUDGET_MS);
  const limit = options.limit ?? CATCH_UP_DATASETS;
  const at = () => (options.now ? new Date(options.now.getTime() + (Date.now() - started)) : new Date());
  const skip: CatchUpSkips = { datasets: [], peers: [] };
  const result: CatchUpRound = { caughtUp: 0, partial: 0, failed: 0 };
  for (let round = 0; round < limit && Date.now() + MIN_FETCH_MS <= deadline; round += 1) {
    const claimed = await claimCatchUp(at(), skip, options.database);
    if (!claimed) break;
    skip.datasets.push(claimed.id);
    let outcome: CatchUpResult | null = null;
    try {
      outcome = await catchUp(claimed.id, { database: options.database, maxPages: options.maxPages, deadline });
    } catch (error) {
      console.error(`civitas: catching up dataset ${claimed.id} failed:`, error);
    }
    if (outcome?.complete) {
      // mirrorHolds set the clock: due again CATCH_UP_INTERVAL_MS from now.
      result.caughtUp += 1;
      continue;
    }
    const now = at();
    if (outcome && outcome.lastSeq > claimed.lastSeq) {
      result.partial += 1;
      await catchUpDueAt(claimed, now, options.database);
      continue;
    }
    result.failed += 1;
    skip.peers.push(claimed.peerId);
    await catchUpDueAt(claimed, new Date(now.getTime() + catchUpBackoff(now, claimed.updatedAt)), options.database);
  }
  return result;
}
