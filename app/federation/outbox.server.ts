// The durable outbox (docs/federation.md §10): a message to a peer is a federation_outbox row
// written in the transaction of the change that causes it, and delivered afterwards by the
// worker, with retries and backoff, as many times as it takes and at most once accepted.
//
// A peer's messages are delivered in the order they were written (created_at: insertMessages),
// one after the other: a message to try again later holds back those behind it for that peer (a
// dataset's Delete never overtakes its Create), and only for that peer. Only what the peering
// state lets go is in a peer's line: before both operators accepted, the handshake and instance
// Updates; the rest waits out of line until then.
//
// Delivery, safe with several processes:
//   1. a short claim transaction takes, for each peer whose first message (its head) is due and
//      not locked by another worker (FOR UPDATE SKIP LOCKED), that message and a few of those
//      behind it, and leases them (next_attempt_at moved a few minutes ahead), then commits. A
//      message behind a head is only ever claimed by the worker that locked that head, and a
//      leased head is not due: no two workers send one peer's messages at once;
//   2. outside any transaction, each peer's run is POSTed in order, signed afresh (10 s timeout;
//      several peers at once: a slow peer holds one slot, not the batch);
//   3. a second short transaction records each outcome: delivered on 2xx or 409 replayed; on a
//      network error, 5xx, 429 or a 401 that waiting heals (unknown_key, bad_signature: the peer
//      lacks our new key yet; stale, future) retried after 30 s × 2^n (capped at 6 h, ±20 %
//      jitter) until 3 days have passed, then failed; on any other 4xx failed at once. A failed
//      message lets the next one go; a retried one holds the rest of its run back (released, due
//      again behind it). An instance Update (a key rotation) is never failed: the peer can
//      verify nothing signed with the new key until it has it. A process that dies between 1
//      and 3 leaves a lease that expires: the messages are sent again, and the peer's inbox
//      answers 409 replayed to those it had received.
//
// Which key signs: after a key rotation, the peer knows only the old key until it receives the
// Update that announces the new one (peers.server.ts rotateInstanceKey). So a message is signed
// with the key replaced by the first instance Update pending for its peer at or after it (the
// most recently retired key that Update's document lists) — the Update itself included — and
// once no Update is pending before it, with the current key.
import { randomUUID } from "node:crypto";
import { withPlatformAdmin, type Database, type Tx } from "../db/database.server";
import { Prisma } from "../db/generated/client.ts";
import { FederationFetchError, FETCH_TIMEOUT_MS, signedFetch } from "./fetch.server";
import { currentKey, instanceId, instanceKey, isActorOf, isFederationIdOf, newActivityId, type SigningKey } from "./instance.server";

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
  if (!isFederationIdOf(instanceId(), activity.id, "activities") || !isActorOf(instanceId(), activity.actor)) {
    throw new TypeError("An activity this instance sends has its id and actor under the instance id.");
  }
  return activity as unknown as Prisma.InputJsonValue;
}

/**
 * Queues `activity` for one peer, in the caller's unit of work (withPlatformAdmin's transaction),
 * so the message exists if and only if its cause commits.
 */
export async function enqueue(tx: Tx, peerId: string, activity: Activity): Promise<void> {
  await insertMessages(tx, [peerId], checkActivity(activity));
}

/**
 * The rows, created_at the time they are written, not the transaction's start (its now()): a
 * peer's messages go in that order (see the header), so a message written after another — by a
 * later statement of the same transaction, or by a transaction that waited for the other's
 * lock — must come after it. The clock is this process', to the microsecond and never the same
 * twice (writtenAt), as the database's may not be (PGlite's counts milliseconds).
 */
async function insertMessages(tx: Tx, peerIds: readonly string[], activity: Prisma.InputJsonValue): Promise<void> {
  const json = JSON.stringify(activity);
  const rows = peerIds.map((peerId) => {
    const at = writtenAt();
    return Prisma.sql`(${randomUUID()}::uuid, ${peerId}::uuid, ${json}::jsonb, ${at}::timestamptz, ${at}::timestamptz)`;
  });
  await tx.$executeRaw`
    INSERT INTO federation_outbox (id, peer_id, activity, created_at, next_attempt_at)
    VALUES ${Prisma.join(rows)}`;
}

/** Microseconds since the epoch of the last writtenAt. */
let lastWritten = 0;

/** Now, as an ISO timestamp with microseconds, after any this process answered before. */
function writtenAt(): string {
  lastWritten = Math.max(Date.now() * 1000, lastWritten + 1);
  const micros = String(lastWritten % 1000).padStart(3, "0");
  return new Date(Math.floor(lastWritten / 1000)).toISOString().replace("Z", `${micros}Z`);
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
  await insertMessages(tx, ids, json);
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
/** How long claimed messages are left alone by other workers, at least (longer than a run takes). */
export const CLAIM_LEASE_MS = 2 * 60 * 1000;
const ERROR_TEXT_LIMIT = 500;
/**
 * 401 answers that waiting heals: a key the peer has not pinned yet or no longer accepts (a
 * rotation whose Update is on its way, docs §3.5), and clocks apart.
 */
const RETRIED_SIGNATURE_ERRORS: ReadonlySet<string> = new Set(["unknown_key", "bad_signature", "stale", "future"]);

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
  /** Messages per peer per run, sent one after the other in order (default 10). */
  perPeer?: number;
  /** Peers served at once (default 8). */
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
  /** The key it is signed with (see the header). */
  key: SigningKey;
};

type Outcome = { kind: "delivered" } | { kind: "retry"; error: string; retryAfterMs?: number } | { kind: "failed"; error: string };

/** What becomes of a claimed message: `released` ones were not tried (an earlier one must be retried first). */
type Decision = { kind: "delivered" } | { kind: "retry"; error: string; waitMs: number } | { kind: "failed"; error: string } | { kind: "released" };

/** Delivers the messages that are due (the worker calls this every few seconds). */
export async function deliverDue(options: DeliverOptions = {}): Promise<DeliveryReport> {
  const now = options.now ?? new Date();
  const runs = await claim(now, options);
  const report: DeliveryReport = { delivered: 0, retried: 0, failed: 0 };
  if (runs.length === 0) return report;

  const decided = await mapConcurrently(runs, options.concurrency ?? 8, (run) => deliverRun(run, now, options));

  await withPlatformAdmin(async (tx) => {
    for (const [message, decision] of decided.flat()) {
      const attempts = message.attempts + 1;
      const where = { id: message.id, status: "pending" as const };
      if (decision.kind === "delivered") {
        await tx.federationOutbox.updateMany({ where, data: { status: "delivered", attempts, deliveredAt: now, lastError: null } });
        report.delivered += 1;
      } else if (decision.kind === "failed") {
        await tx.federationOutbox.updateMany({ where, data: { status: "failed", attempts, lastError: decision.error.slice(0, ERROR_TEXT_LIMIT) } });
        report.failed += 1;
      } else if (decision.kind === "retry") {
        await tx.federationOutbox.updateMany({
          where,
          data: { attempts, nextAttemptAt: new Date(now.getTime() + decision.waitMs), lastError: decision.error.slice(0, ERROR_TEXT_LIMIT) },
        });
        report.retried += 1;
      } else {
        // Its lease lifted: due again, behind the message that holds it back.
        await tx.federationOutbox.updateMany({ where, data: { nextAttemptAt: now } });
      }
    }
  }, options.database);
  return report;
}

/**
 * One peer's run, in order: a message the peer took, or refused for good, lets the next one go;
 * one to try again later holds back the rest (released). An instance Update is never given up:
 * until the peer has it, it cannot verify anything signed with the new key.
 */
async function deliverRun(run: Claimed[], now: Date, options: DeliverOptions): Promise<[Claimed, Decision][]> {
  const decided: [Claimed, Decision][] = [];
  let held = false;
  for (const message of run) {
    if (held) {
      decided.push([message, { kind: "released" }]);
      continue;
    }
    const outcome = await attempt(message, message.key, options.timeoutMs);
    const rotation = isInstanceUpdate(message.activity);
    const old = now.getTime() - message.createdAt.getTime() >= GIVE_UP_AFTER_MS;
    let decision: Decision;
    if (outcome.kind === "delivered") decision = outcome;
    else if (!rotation && outcome.kind === "failed") decision = outcome;
    else if (!rotation && old) decision = { kind: "failed", error: `gave up after 3 days: ${outcome.error}` };
    else {
      const retryAfterMs = outcome.kind === "retry" ? (outcome.retryAfterMs ?? 0) : 0;
      decision = { kind: "retry", error: outcome.error, waitMs: Math.min(Math.max(backoffMs(message.attempts + 1, options.random), retryAfterMs), MAX_RETRY_MS) };
    }
    decided.push([message, decision]);
    held = decision.kind === "retry";
  }
  return decided;
}

/**
 * Which of a peer's pending messages may go now (its peering state): all of them to an active
 * peer; only the handshake and instance Updates before both operators accepted. Over
 * federation_outbox `q` joined to federation_peers `p`.
 */
function sendable(ours: string): Prisma.Sql {
  return Prisma.sql`(NOT p.suspended
    AND ((p.local_accepted AND p.remote_accepted)
         OR (q.activity->>'type' = 'Follow' AND q.activity->>'object' IN (p.instance_id, ${ours}))
         OR (q.activity->>'type' IN ('Accept', 'Reject', 'Undo')
             AND q.activity->'object'->>'type' = 'Follow'
             AND q.activity->'object'->>'object' IN (p.instance_id, ${ours}))
         OR (q.activity->>'type' = 'Update' AND q.activity->'object'->>'type' = 'CivitasInstance')))`;
}

/**
 * Claims, for each peer whose first sendable message (its head, in the order they were written)
 * is due and not another worker's, that message and up to `perPeer − 1` of those that follow it,
 * as one run to send in order; the claimed messages are leased (next_attempt_at moved ahead) so
 * that no other worker takes them, nor anything behind them: a worker claims behind a head only
 * in the statement that locks that head.
 */
async function claim(now: Date, options: DeliverOptions): Promise<Claimed[][]> {
  const limit = Math.max(options.limit ?? 50, 1);
  const perPeer = Math.max(options.perPeer ?? 10, 1);
  const ours = instanceId();
  return withPlatformAdmin(async (tx) => {
    const heads = await tx.$queryRaw<{ id: string; peer_id: string }[]>`
      SELECT o.id::text AS id, o.peer_id::text AS peer_id
        FROM federation_outbox o
       WHERE o.id IN (SELECT DISTINCT ON (q.peer_id) q.id
                        FROM federation_outbox q
                        JOIN federation_peers p ON p.id = q.peer_id
                       WHERE q.status = 'pending' AND ${sendable(ours)}
                       ORDER BY q.peer_id, q.created_at, q.id)
         AND o.status = 'pending' AND o.next_attempt_at <= ${now}::timestamptz
       ORDER BY o.next_attempt_at
       LIMIT ${limit}
         FOR UPDATE OF o SKIP LOCKED`;
    if (heads.length === 0) return [];

    const runs = new Map<string, string[]>(heads.map((head) => [head.peer_id, [head.id]]));
    let budget = limit - heads.length;
    if (perPeer > 1 && budget > 0) {
      const followers = await tx.$queryRaw<{ id: string; peer_id: string }[]>`
        SELECT f.id::text AS id, f.peer_id::text AS peer_id
          FROM (SELECT q.id, q.peer_id, row_number() OVER (PARTITION BY q.peer_id ORDER BY q.created_at, q.id) AS n
                  FROM federation_outbox q
                  JOIN federation_peers p ON p.id = q.peer_id
                  JOIN federation_outbox h ON h.peer_id = q.peer_id
                 WHERE h.id::text IN (${Prisma.join(heads.map((head) => head.id))})
                   AND q.status = 'pending' AND ${sendable(ours)}
                   AND (q.created_at, q.id) > (h.created_at, h.id)) f
         WHERE f.n < ${perPeer}
         ORDER BY f.peer_id, f.n`;
      const locked = followers.length === 0 ? [] : await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM federation_outbox
         WHERE id::text IN (${Prisma.join(followers.map((row) => row.id))})
           AND status = 'pending' AND next_attempt_at <= ${now}::timestamptz
           FOR UPDATE SKIP LOCKED`;
      const taken = new Set(locked.map((row) => row.id));
      // Each peer's run continues while the next message is ours: never past a gap.
      const stopped = new Set<string>();
      for (const row of followers) {
        if (budget === 0) break;
        if (stopped.has(row.peer_id)) continue;
        if (!taken.has(row.id)) {
          stopped.add(row.peer_id);
          continue;
        }
        runs.get(row.peer_id)?.push(row.id);
        budget -= 1;
      }
    }

    const ids = [...runs.values()].flat();
    const longest = Math.max(...[...runs.values()].map((run) => run.length));
    const lease = Math.max(CLAIM_LEASE_MS, longest * (options.timeoutMs ?? FETCH_TIMEOUT_MS) + 60_000);
    await tx.federationOutbox.updateMany({ where: { id: { in: ids } }, data: { nextAttemptAt: new Date(now.getTime() + lease) } });
    const messages = await tx.federationOutbox.findMany({
      where: { id: { in: ids } },
      select: { id: true, peerId: true, activity: true, attempts: true, createdAt: true, peer: { select: { inboxUrl: true } } },
    });
    const keys = await messageKeys(tx, ids);
    const byId = new Map(messages.map((message) => [message.id, message]));
    return [...runs.values()].map((run) =>
      run.flatMap((id) => {
        const message = byId.get(id);
        if (!message) return [];
        return [
          {
            id: message.id,
            peerId: message.peerId,
            activity: message.activity as unknown as Activity,
            attempts: message.attempts,
            createdAt: message.createdAt,
            inboxUrl: message.peer.inboxUrl,
            key: keys.get(id) ?? keys.current,
          },
        ];
      }),
    );
  }, options.database);
}

type MessageKeys = { current: SigningKey; get(messageId: string): SigningKey | undefined };

/**
 * The key each message is signed with (see the header): the key replaced by the first instance
 * Update pending for its peer at or after it in the peer's order, else the current key.
 */
async function messageKeys(tx: Tx, messageIds: string[]): Promise<MessageKeys> {
  // Joins the caller's unit of work (the same platform-admin scope).
  const current = await currentKey();
  const rows = await tx.$queryRaw<{ id: string; rotation: unknown }[]>`
    SELECT m.id::text AS id,
           (SELECT u.activity FROM federation_outbox u
             WHERE u.peer_id = m.peer_id AND u.status = 'pending'
               AND u.activity->>'type' = 'Update' AND u.activity->'object'->>'type' = 'CivitasInstance'
               AND (u.created_at, u.id) >= (m.created_at, m.id)
             ORDER BY u.created_at, u.id
             LIMIT 1) AS rotation
      FROM federation_outbox m
     WHERE m.id::text IN (${Prisma.join(messageIds)})`;
  const byMessage = new Map<string, SigningKey>();
  const byKid = new Map<string, SigningKey | null>();
  for (const row of rows) {
    const kid = row.rotation ? replacedKid(row.rotation) : null;
    if (!kid) continue;
    if (!byKid.has(kid)) byKid.set(kid, await instanceKey(kid));
    // A key whose private half is gone (it never is while an Update replacing it is pending; see
    // worker.server.ts): the current one.
    const key = byKid.get(kid);
    if (key) byMessage.set(row.id, key);
  }
  return { current, get: (messageId) => byMessage.get(messageId) };
}

/**
 * The key a message to the peer sent now, outside the outbox, is signed with: the key replaced
 * by the oldest instance Update still pending for it (the newest key the peer may know), else
 * the current one.
 */
export async function peerSigningKey(tx: Tx, peerId: string): Promise<SigningKey> {
  const rotations = await tx.$queryRaw<{ activity: unknown }[]>`
    SELECT activity FROM federation_outbox
     WHERE status = 'pending' AND peer_id = ${peerId}::uuid
       AND activity->>'type' = 'Update' AND activity->'object'->>'type' = 'CivitasInstance'
     ORDER BY created_at, id
     LIMIT 1`;
  const kid = rotations[0] ? replacedKid(rotations[0].activity) : null;
  return (kid ? await instanceKey(kid) : null) ?? (await currentKey());
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
async function attempt(message: Pick<Claimed, "activity" | "inboxUrl">, key: SigningKey, timeoutMs?: number): Promise<Outcome> {
  let response: Response;
  try {
    response = await signedFetch(message.inboxUrl, { method: "POST", body: JSON.stringify(message.activity), key, timeoutMs });
  } catch (error) {
    if (error instanceof FederationFetchError) {
      // An inbox address this instance will not call (http without the flag) does not heal by
      // waiting; an address a name resolves to may (blocked_address: retried).
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
  if (response.status === 401 && answer.code !== undefined && RETRIED_SIGNATURE_ERRORS.has(answer.code)) return { kind: "retry", error };
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
  const outcome = await attempt({ activity, inboxUrl: inbox }, key, options.timeoutMs ?? 5_000);
  return outcome.kind === "delivered" ? { delivered: true } : { delivered: false, error: outcome.error };
}
