// The durable outbox (docs/federation.md §10): a message to a peer is a federation_outbox row
// written in the transaction of the change that causes it, and delivered afterwards by the
// worker, with retries and backoff, as many times as it takes and at most once accepted.
//
// Delivery, safe with several processes:
//   1. a short claim transaction takes due rows (FOR UPDATE SKIP LOCKED, a few per peer so one
//      peer's backlog does not starve the others) and leases them for two minutes by moving
//      next_attempt_at, then commits;
//   2. outside any transaction, each claimed message is signed afresh and POSTed (10 s timeout,
//      several at once: a slow peer holds one slot, not the batch);
//   3. a second short transaction records each outcome: delivered on 2xx or 409 replayed; on a
//      network error, 5xx or 429 retried after 30 s × 2^n (capped at 6 h, ±20 % jitter) until
//      3 days have passed, then failed; on any other 4xx failed at once. A process that dies
//      between 1 and 3 leaves a lease that expires: the message is sent again, and the peer's
//      inbox answers 409 replayed if it had been received.
//
// Which key signs: after a key rotation, the peer knows only the old key until it receives the
// Update that announces the new one (peers.server.ts rotateInstanceKey). So while an instance
// Update is pending for a peer, every message to that peer, the Update included, is signed with
// the key that Update replaces (the most recently retired key its document lists); once it is
// delivered, the current key signs.
import { randomUUID } from "node:crypto";
import { withPlatformAdmin, type Database, type Tx } from "../db/database.server";
import { Prisma } from "../db/generated/client.ts";
import { FederationFetchError, signedFetch } from "./fetch.server";
import { currentKey, instanceId, instanceKey, isUnder, newActivityId, type SigningKey } from "./instance.server";

// --- Activities -----------------------------------------------------------------------------

export const ACTIVITY_CONTEXT = [
  "https://www.w3.org/ns/activitystreams",
  { civitas: "https://w3id.org/civitas/federation/v1#" },
] as const;

/** An ActivityStreams 2.0 activity (docs §4); unknown fields travel as they are. */
export type Activity = {
  "@context"?: unknown;
  id: string;
  type: string;
  actor: string;
  object: unknown;
  published?: string;
  [field: string]: unknown;
};

/** A new activity of this instance (actor: the instance, or one of its cities' ids). */
export function createActivity(type: string, object: unknown, options: { actor?: string; published?: Date } = {}): Activity {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(),
    type,
    actor: options.actor ?? instanceId(),
    object,
    published: (options.published ?? new Date()).toISOString(),
  };
}

const HANDSHAKE_TYPES: ReadonlySet<string> = new Set(["Follow", "Accept", "Reject", "Undo"]);

const objectField = (value: unknown, field: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[field] : undefined;

/**
 * What a Follow, or the Accept/Reject/Undo that embeds one, follows: the Follow's object (an id).
 * Null for other activities.
 */
export function followedObject(activity: Pick<Activity, "type" | "object">): string | null {
  if (!HANDSHAKE_TYPES.has(activity.type)) return null;
  const follow = activity.type === "Follow" ? activity : { type: objectField(activity.object, "type"), object: objectField(activity.object, "object") };
  if (follow.type !== "Follow") return null;
  const followed = typeof follow.object === "string" ? follow.object : objectField(follow.object, "id");
  return typeof followed === "string" ? followed : null;
}

/** An Update whose object is an instance's discovery document (a key rotation, docs §3.5). */
export function isInstanceUpdate(activity: Pick<Activity, "type" | "object">): boolean {
  return activity.type === "Update" && objectField(activity.object, "type") === "CivitasInstance";
}

/**
 * The peering handshake between this instance and the peer `peerInstanceId`: a Follow of either
 * instance and the Accept/Reject/Undo that answer it, and an instance Update. The only messages
 * that flow before both operators have accepted.
 */
export function isPeeringActivity(activity: Pick<Activity, "type" | "object">, peerInstanceId: string): boolean {
  if (isInstanceUpdate(activity)) return true;
  const followed = followedObject(activity);
  return followed !== null && (followed === peerInstanceId || followed === instanceId());
}

/** The capability (docs §2) an activity belongs to, when its object says so. */
export function capabilityOf(activity: Pick<Activity, "type" | "object">): "components" | "datasets" | null {
  const type = objectField(activity.object, "type");
  if (type === "civitas:Component") return "components";
  if (type === "civitas:Dataset" || type === "civitas:DatasetRecords") return "datasets";
  const id = typeof activity.object === "string" ? activity.object : (followedObject(activity) ?? objectField(activity.object, "id"));
  if (typeof id !== "string") return null;
  if (id.includes("/federation/components/")) return "components";
  if (id.includes("/federation/datasets/")) return "datasets";
  return null;
}

// --- Enqueueing -----------------------------------------------------------------------------

function checkActivity(activity: Activity): Prisma.InputJsonValue {
  for (const field of ["id", "type", "actor"] as const) {
    if (typeof activity[field] !== "string" || activity[field] === "") throw new TypeError(`An activity needs a ${field}.`);
  }
  if (!isUnder(activity.id, instanceId()) || !isUnder(activity.actor, instanceId())) {
    throw new TypeError("An activity this instance sends has its id and actor under the instance id.");
  }
  return activity as unknown as Prisma.InputJsonValue;
}

/**
 * Queues `activity` for one peer, in the caller's unit of work (withPlatformAdmin's transaction),
 * so the message exists if and only if its cause commits.
 */
export async function enqueue(tx: Tx, peerId: string, activity: Activity): Promise<void> {
  await tx.federationOutbox.create({ data: { id: randomUUID(), peerId, activity: checkActivity(activity) } });
}

/**
 * Queues `activity` for each of `peerIds`, or by default for every peer with whom peering is
 * active (a suspended one included: its messages wait) that lists the activity's capability.
 * Answers how many messages were queued.
 */
export async function enqueueToPeers(tx: Tx, activity: Activity, peerIds?: readonly string[]): Promise<number> {
  const json = checkActivity(activity);
  let ids: readonly string[];
  if (peerIds) {
    ids = [...new Set(peerIds)];
  } else {
    const capability = capabilityOf(activity);
    const peers = await tx.federationPeer.findMany({
      where: { localAccepted: true, remoteAccepted: true },
      select: { id: true, discovery: true },
    });
    ids = peers.filter((peer) => capability === null || listsCapability(peer.discovery, capability)).map((peer) => peer.id);
  }
  if (ids.length === 0) return 0;
  await tx.federationOutbox.createMany({ data: ids.map((peerId) => ({ id: randomUUID(), peerId, activity: json })) });
  return ids.length;
}

function listsCapability(discovery: unknown, capability: string): boolean {
  const capabilities = objectField(discovery, "capabilities");
  // A document without the list predates it: nothing is withheld.
  return !Array.isArray(capabilities) || capabilities.includes(capability);
}

// --- Delivery -------------------------------------------------------------------------------

export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 6 * 60 * 60 * 1000;
export const GIVE_UP_AFTER_MS = 3 * 24 * 60 * 60 * 1000;
/** How long a claimed message is left alone by other workers (longer than any attempt takes). */
export const CLAIM_LEASE_MS = 2 * 60 * 1000;
const ERROR_TEXT_LIMIT = 500;

/** The wait before the next attempt after `failures` failed ones (1, 2, …): 30 s × 2^(n−1), capped, ±20 %. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(FIRST_RETRY_MS * 2 ** exponent, MAX_RETRY_MS);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export type DeliveryReport = { delivered: number; retried: number; failed: number };

export type DeliverOptions = {
  database?: Database;
  /** The clock (tests): what is due, and when the next attempt is. */
  now?: Date;
  /** Messages per run (default 50). */
  limit?: number;
  /** Messages per peer per run (default 10). */
  perPeer?: number;
  /** Requests at once (default 8). */
  concurrency?: number;
  timeoutMs?: number;
  random?: () => number;
};

type Claimed = {
  id: string;
  peerId: string;
  activity: Activity;
  attempts: number;
  createdAt: Date;
  inboxUrl: string;
};

type Outcome = { kind: "delivered" } | { kind: "retry"; error: string; retryAfterMs?: number } | { kind: "failed"; error: string };

/** Delivers the messages that are due (the worker calls this every few seconds). */
export async function deliverDue(options: DeliverOptions = {}): Promise<DeliveryReport> {
  const now = options.now ?? new Date();
  const { claimed, keys } = await claim(now, options);
  const report: DeliveryReport = { delivered: 0, retried: 0, failed: 0 };
  if (claimed.length === 0) return report;

  const outcomes = await mapConcurrently(claimed, options.concurrency ?? 8, (message) =>
    attempt(message, keys.get(message.peerId) ?? keys.current, options.timeoutMs),
  );

  await withPlatformAdmin(async (tx) => {
    for (const [index, message] of claimed.entries()) {
      const outcome = outcomes[index] as Outcome;
      const attempts = message.attempts + 1;
      const where = { id: message.id, status: "pending" as const };
      if (outcome.kind === "delivered") {
        await tx.federationOutbox.updateMany({ where, data: { status: "delivered", attempts, deliveredAt: now, lastError: null } });
        report.delivered += 1;
      } else if (outcome.kind === "failed" || now.getTime() - message.createdAt.getTime() >= GIVE_UP_AFTER_MS) {
        const error = outcome.kind === "failed" ? outcome.error : `gave up after 3 days: ${outcome.error}`;
        await tx.federationOutbox.updateMany({ where, data: { status: "failed", attempts, lastError: error.slice(0, ERROR_TEXT_LIMIT) } });
        report.failed += 1;
      } else {
        const wait = Math.min(Math.max(backoffMs(attempts, options.random), outcome.retryAfterMs ?? 0), MAX_RETRY_MS);
        await tx.federationOutbox.updateMany({
          where,
          data: { attempts, nextAttemptAt: new Date(now.getTime() + wait), lastError: outcome.error.slice(0, ERROR_TEXT_LIMIT) },
        });
        report.retried += 1;
      }
    }
  }, options.database);
  return report;
}

/**
 * Claims due messages and picks each peer's signing key. Only handshake messages go to a peer
 * whose peering is not active; nothing goes to a suspended peer (its messages wait).
 */
type PeerKeys = { current: SigningKey; get(peerId: string): SigningKey | undefined };

async function claim(now: Date, options: DeliverOptions): Promise<{ claimed: Claimed[]; keys: PeerKeys }> {
  const limit = options.limit ?? 50;
  const perPeer = options.perPeer ?? 10;
  const ours = instanceId();
  return withPlatformAdmin(async (tx) => {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT o.id::text AS id
        FROM federation_outbox o
       WHERE o.id IN (
               SELECT due.id FROM (
                 SELECT q.id, q.next_attempt_at,
                        row_number() OVER (PARTITION BY q.peer_id ORDER BY q.next_attempt_at, q.created_at) AS n
                   FROM federation_outbox q
                   JOIN federation_peers p ON p.id = q.peer_id
                  WHERE q.status = 'pending' AND q.next_attempt_at <= ${now}::timestamptz AND NOT p.suspended
                    AND ((p.local_accepted AND p.remote_accepted)
                         OR (q.activity->>'type' = 'Follow' AND q.activity->>'object' IN (p.instance_id, ${ours}))
                         OR (q.activity->>'type' IN ('Accept', 'Reject', 'Undo')
                             AND q.activity->'object'->>'type' = 'Follow'
                             AND q.activity->'object'->>'object' IN (p.instance_id, ${ours}))
                         OR (q.activity->>'type' = 'Update' AND q.activity->'object'->>'type' = 'CivitasInstance'))
               ) due
                WHERE due.n <= ${perPeer}
                ORDER BY due.next_attempt_at
                LIMIT ${limit})
         AND o.status = 'pending' AND o.next_attempt_at <= ${now}::timestamptz
         FOR UPDATE OF o SKIP LOCKED`;
    const ids = rows.map((row) => row.id);
    if (ids.length === 0) return { claimed: [], keys: { current: await currentKey(), get: () => undefined } };
    await tx.federationOutbox.updateMany({ where: { id: { in: ids } }, data: { nextAttemptAt: new Date(now.getTime() + CLAIM_LEASE_MS) } });
    const messages = await tx.federationOutbox.findMany({
      where: { id: { in: ids } },
      select: { id: true, peerId: true, activity: true, attempts: true, createdAt: true, peer: { select: { inboxUrl: true } } },
    });
    const claimed = messages.map((message) => ({
      id: message.id,
      peerId: message.peerId,
      activity: message.activity as unknown as Activity,
      attempts: message.attempts,
      createdAt: message.createdAt,
      inboxUrl: message.peer.inboxUrl,
    }));
    return { claimed, keys: await signingKeys(tx, [...new Set(claimed.map((message) => message.peerId))]) };
  }, options.database);
}

/** The key this instance signs its messages to a peer with, now (see the header). */
export async function peerSigningKey(tx: Tx, peerId: string): Promise<SigningKey> {
  const keys = await signingKeys(tx, [peerId]);
  return keys.get(peerId) ?? keys.current;
}

/**
 * The key each peer's messages are signed with (see the header): the key replaced by the oldest
 * instance Update still pending for that peer, else the current key.
 */
async function signingKeys(tx: Tx, peerIds: string[]): Promise<PeerKeys> {
  // Joins the caller's unit of work (the same platform-admin scope).
  const current = await currentKey();
  const byPeer = new Map<string, SigningKey>();
  const rotations = await tx.$queryRaw<{ peer_id: string; activity: unknown }[]>`
    SELECT DISTINCT ON (peer_id) peer_id::text AS peer_id, activity
      FROM federation_outbox
     WHERE status = 'pending' AND peer_id::text IN (${Prisma.join(peerIds)})
       AND activity->>'type' = 'Update' AND activity->'object'->>'type' = 'CivitasInstance'
     ORDER BY peer_id, created_at`;
  for (const rotation of rotations) {
    const kid = replacedKid(rotation.activity);
    const key = kid ? await instanceKey(kid) : null;
    // A key deleted since (the worker prunes retired keys after a week): the current one.
    if (key) byPeer.set(rotation.peer_id, key);
  }
  return { current, get: (peerId) => byPeer.get(peerId) };
}

/** The kid of the key an instance Update of ours replaces: the most recently retired one it lists. */
export function replacedKid(activity: unknown): string | null {
  const keys = objectField(objectField(activity, "object"), "keys");
  if (!Array.isArray(keys)) return null;
  const prefix = `${instanceId()}#`;
  let latest: { kid: string; retired: string } | null = null;
  for (const key of keys) {
    const id = objectField(key, "id");
    const retired = objectField(key, "retired");
    if (objectField(key, "status") !== "retired" || typeof id !== "string" || typeof retired !== "string" || !id.startsWith(prefix)) continue;
    if (!latest || retired > latest.retired) latest = { kid: id.slice(prefix.length), retired };
  }
  return latest?.kid ?? null;
}

/** One attempt: the activity POSTed, signed now, and what the answer means. */
async function attempt(message: Claimed, key: SigningKey, timeoutMs?: number): Promise<Outcome> {
  let response: Response;
  try {
    response = await signedFetch(message.inboxUrl, { method: "POST", body: JSON.stringify(message.activity), key, timeoutMs });
  } catch (error) {
    if (error instanceof FederationFetchError) {
      // An inbox address this instance will not call (http without the flag) does not heal by waiting.
      const permanent = error.code === "invalid_url" || error.code === "insecure_url";
      return permanent ? { kind: "failed", error: error.message } : { kind: "retry", error: error.message };
    }
    return { kind: "retry", error: error instanceof Error ? error.message : String(error) };
  }
  if (response.status >= 200 && response.status < 300) return { kind: "delivered" };
  const answer = await errorOf(response);
  if (response.status === 409 && answer.code === "replayed") return { kind: "delivered" };
  const error = `HTTP ${response.status}${answer.code ? ` ${answer.code}` : ""}${answer.message ? `: ${answer.message}` : ""}`;
  if (response.status === 429 || response.status >= 500) return { kind: "retry", error, retryAfterMs: retryAfter(response) };
  return { kind: "failed", error };
}

async function errorOf(response: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await response.json()) as { error?: unknown; message?: unknown };
    return {
      ...(typeof body.error === "string" && { code: body.error.slice(0, 100) }),
      ...(typeof body.message === "string" && { message: body.message.slice(0, 300) }),
    };
  } catch {
    return {};
  }
}

/** Retry-After in seconds (the HTTP-date form is rare between servers and ignored). */
function retryAfter(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  return value && /^\d{1,7}$/.test(value) ? Number(value) * 1000 : undefined;
}

async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(concurrency, 1), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Sends one activity at once, outside the outbox: for the last word to a peer that is being
 * forgotten (its outbox rows go with it), such as the Undo of a removal; `key` from
 * peerSigningKey, read before the peer's rows went. Best effort: answers whether the peer
 * accepted it, never throws for the peer's sake.
 */
export async function sendNow(
  inbox: string,
  activity: Activity,
  options: { database?: Database; timeoutMs?: number; key?: SigningKey } = {},
): Promise<{ delivered: boolean; error?: string }> {
  const key = options.key ?? (await currentKey(options.database));
  const outcome = await attempt({ id: "", peerId: "", activity, attempts: 0, createdAt: new Date(), inboxUrl: inbox }, key, options.timeoutMs ?? 5_000);
  return outcome.kind === "delivered" ? { delivered: true } : { delivered: false, error: outcome.error };
}
