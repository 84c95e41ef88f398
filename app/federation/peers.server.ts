// Peering (docs/federation.md §3): the operators' services (platform.federation.manage, each an
// event of the platform's audit log) and the handshake activities the inbox hands over.
//
// A peer's state, from the row's three flags:
//   requested — we accepted (added it by URL), it has not yet: our Follow is on its way;
//   pending   — it asked (its Follow arrived), our operator has not accepted yet;
//   active    — both accepted: components and datasets flow;
//   suspended — our operator stopped it: its messages are refused, ours to it wait.
// When the peering becomes active, on either side, components and datasets send the peer their
// catalogue (their onPeerActivated), in the transaction that activates it.
//
// Our Follow of a peer has a fixed id, the activity URI of the peer row's id: the Undo that
// removes the peering can embed it without storing it. The peer's Follow of us is remembered by
// id (follow_id) and embedded, rebuilt, in our Accept or Reject.
//
// Removal (and refusal) deletes the peer at once (its outbox, catalogue entries and followers go
// with it through the foreign keys), then tells the peer directly, best effort, with a 5 s
// timeout: the outbox cannot carry a message to a peer that no longer exists, and an operator
// removing a peer should not wait days for it to answer. A peer that missed it learns at its next
// message (401 bad_signature: its keys are no longer pinned here, docs §5).
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordPlatformAudit } from "../audit/audit.server";
import { Conflict, NotFound, parseInput, ValidationFailed } from "../auth/errors";
import { requirePermission, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { UUID_PATTERN, withPlatformAdmin, type Tx } from "../db/database.server";
import { Prisma, type FederationPeer } from "../db/generated/client.ts";
import { discoveryBase, FederationFetchError, fetchDiscovery, parseDiscoveryDocument } from "./fetch.server";
import { InboxRefusal, type InboxContext } from "./inbox.server";
import {
  activityUri,
  discoveryDocumentIn,
  instanceId,
  instanceName,
  keyIdOf,
  PROTOCOL,
  publishedKeys,
  RETIRED_KEY_GRACE_MS,
  rotateKey,
  type DiscoveryCity,
  type DiscoveryDocument,
  type DiscoveryKey,
  type PinnedKey,
  type PublishedKey,
} from "./instance.server";
import { ACTIVITY_CONTEXT, createActivity, enqueue, enqueueToPeers, peerSigningKey, sendNow, type Activity } from "./outbox.server";

const PERMISSION = "platform.federation.manage";
const NOTIFY_TIMEOUT_MS = 5_000;

export type PeerState = "requested" | "pending" | "active" | "suspended";

export function peerState(peer: Pick<FederationPeer, "localAccepted" | "remoteAccepted" | "suspended">): PeerState {
  if (peer.suspended) return "suspended";
  if (peer.localAccepted && peer.remoteAccepted) return "active";
  return peer.localAccepted ? "requested" : "pending";
}

const isActive = (peer: Pick<FederationPeer, "localAccepted" | "remoteAccepted">) => peer.localAccepted && peer.remoteAccepted;

/** A peer as the console shows it. */
export type PeerView = {
  id: string;
  instanceId: string;
  name: string;
  baseUrl: string;
  inboxUrl: string;
  state: PeerState;
  localAccepted: boolean;
  remoteAccepted: boolean;
  suspended: boolean;
  /** Its keys pinned here. */
  keys: PinnedKey[];
  protocol: string;
  capabilities: string[];
  /** Its public cities, from its discovery document as last received. */
  cities: DiscoveryCity[];
  /** Our messages to it: waiting (or retrying), and given up. */
  outbox: { pending: number; failed: number };
  createdAt: Date;
  updatedAt: Date;
};

type OutboxCounts = Map<string, { pending: number; failed: number }>;

async function outboxCounts(tx: Tx, peerIds?: string[]): Promise<OutboxCounts> {
  const groups = await tx.federationOutbox.groupBy({
    by: ["peerId", "status"],
    where: { status: { in: ["pending", "failed"] }, ...(peerIds && { peerId: { in: peerIds } }) },
    _count: { _all: true },
  });
  const counts: OutboxCounts = new Map();
  for (const group of groups) {
    const entry = counts.get(group.peerId) ?? { pending: 0, failed: 0 };
    if (group.status === "pending") entry.pending = group._count._all;
    if (group.status === "failed") entry.failed = group._count._all;
    counts.set(group.peerId, entry);
  }
  return counts;
}

function toView(peer: FederationPeer, counts: OutboxCounts): PeerView {
  const discovery = (peer.discovery ?? {}) as Partial<DiscoveryDocument>;
  return {
    id: peer.id,
    instanceId: peer.instanceId,
    name: peer.name,
    baseUrl: peer.baseUrl,
    inboxUrl: peer.inboxUrl,
    state: peerState(peer),
    localAccepted: peer.localAccepted,
    remoteAccepted: peer.remoteAccepted,
    suspended: peer.suspended,
    keys: Array.isArray(peer.keys) ? (peer.keys as PinnedKey[]) : [],
    protocol: typeof discovery.protocol === "string" ? discovery.protocol : PROTOCOL,
    capabilities: Array.isArray(discovery.capabilities) ? discovery.capabilities : [],
    cities: Array.isArray(discovery.cities) ? discovery.cities : [],
    outbox: counts.get(peer.id) ?? { pending: 0, failed: 0 },
    createdAt: peer.createdAt,
    updatedAt: peer.updatedAt,
  };
}

async function viewOf(tx: Tx, peer: FederationPeer): Promise<PeerView> {
  return toView(peer, await outboxCounts(tx, [peer.id]));
}

/**
 * The keys of a discovery document as pinned now: a current key until the peer announces
 * another, a retired one for what remains of its 24 hours (docs §3.5).
 */
export function pinKeys(keys: readonly DiscoveryKey[], now: Date = new Date()): PinnedKey[] {
  return keys.flatMap((key): PinnedKey[] => {
    const base = { id: key.id, publicKeyPem: key.publicKeyPem, ...(key.created && { created: key.created }) };
    if (key.status === "current") return [{ ...base, status: "current" }];
    const retired = key.retired ? Date.parse(key.retired) : Number.NaN;
    const from = Number.isFinite(retired) && retired <= now.getTime() ? retired : now.getTime();
    const expires = from + RETIRED_KEY_GRACE_MS;
    return expires > now.getTime() ? [{ ...base, status: "retired", expires: new Date(expires).toISOString() }] : [];
  });
}

const audit = (context: ServiceContext, principal: Principal, action: string, peer: Pick<FederationPeer, "id" | "instanceId">, after: Prisma.InputJsonObject = {}) =>
  recordPlatformAudit({
    actor: auditActor(principal),
    action,
    subject: { type: "federation_peer", id: peer.id },
    after: { instanceId: peer.instanceId, ...after },
    requestId: context.requestId,
  });

/** An event the peer caused (its messages): no operator acted, the instance did. */
const auditInbound = (action: string, peer: Pick<FederationPeer, "id" | "instanceId">, after: Prisma.InputJsonObject = {}) =>
  recordPlatformAudit({
    actor: { type: "system", id: null },
    action,
    subject: { type: "federation_peer", id: peer.id },
    after: { instanceId: peer.instanceId, ...after },
  });

// --- Activities of the handshake ------------------------------------------------------------

/** Our Follow of the peer (its id is fixed by the peer row: see the header). */
function ourFollow(peer: Pick<FederationPeer, "id" | "instanceId">, published?: Date): Activity {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: activityUri(peer.id),
    type: "Follow",
    actor: instanceId(),
    object: peer.instanceId,
    ...(published && { published: published.toISOString() }),
  };
}

/** The peer's Follow of us, rebuilt from what the row keeps, to embed in an Accept or Reject. */
function theirFollow(peer: Pick<FederationPeer, "instanceId" | "followId">): Record<string, unknown> {
  return { type: "Follow", id: peer.followId, actor: peer.instanceId, object: instanceId() };
}

/** Peering just became active (either side accepted last): components and datasets announce their catalogue. */
async function peeringActivated(tx: Tx, peer: FederationPeer): Promise<void> {
  const [components, datasets] = await Promise.all([import("./components.server"), import("./datasets.server")]);
  await components.onPeerActivated(tx, peer);
  await datasets.onPeerActivated(tx, peer);
}

// --- Reading --------------------------------------------------------------------------------

const idSchema = z.strictObject({ id: z.string({ error: "must be a peer id" }) });
const listSchema = z.strictObject({
  state: z.enum(["requested", "pending", "active", "suspended"], { error: "must be requested, pending, active or suspended" }).nullish(),
});

function stateWhere(state: PeerState | null | undefined): Prisma.FederationPeerWhereInput {
  switch (state) {
    case "suspended":
      return { suspended: true };
    case "active":
      return { suspended: false, localAccepted: true, remoteAccepted: true };
    case "requested":
      return { suspended: false, localAccepted: true, remoteAccepted: false };
    case "pending":
      return { suspended: false, localAccepted: false };
    default:
      return {};
  }
}

/** The peers, by name (operators); optionally those in one state. */
export async function listPeers(
  principal: Principal,
  input: { state?: PeerState | null } = {},
  context: Pick<ServiceContext, "database"> = {},
): Promise<PeerView[]> {
  requirePermission(principal, PERMISSION);
  const { state } = parseInput(listSchema, input);
  return withPlatformAdmin(async (tx) => {
    const peers = await tx.federationPeer.findMany({ where: stateWhere(state), orderBy: [{ name: "asc" }, { instanceId: "asc" }] });
    const counts = await outboxCounts(tx);
    return peers.map((peer) => toView(peer, counts));
  }, context.database);
}

/** Serialises the changes to one peer: an operator's, and the inbox's for its messages. */
export async function lockPeer(tx: Tx, id: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM federation_peers WHERE id = ${id}::uuid FOR UPDATE`;
}

async function findPeerRow(tx: Tx, id: string, forUpdate = false): Promise<FederationPeer> {
  if (!UUID_PATTERN.test(id)) throw new NotFound("peer");
  if (forUpdate) await lockPeer(tx, id);
  const peer = await tx.federationPeer.findUnique({ where: { id } });
  if (!peer) throw new NotFound("peer");
  return peer;
}

/** One peer (operators). */
export async function getPeer(principal: Principal, input: { id: string }, context: Pick<ServiceContext, "database"> = {}): Promise<PeerView> {
  requirePermission(principal, PERMISSION);
  const { id } = parseInput(idSchema, input);
  return withPlatformAdmin(async (tx) => viewOf(tx, await findPeerRow(tx, id)), context.database);
}

export type OutboxProblem = {
  id: string;
  peerId: string;
  peerName: string;
  activityId: string;
  type: string;
  status: "pending" | "failed";
  attempts: number;
  lastError: string;
  nextAttemptAt: Date;
  createdAt: Date;
};

export type FederationOverview = {
  instanceId: string;
  name: string;
  protocol: string;
  /** The keys peers may verify with: the current one, and those retired in the last 24 hours. */
  keys: PublishedKey[];
  peers: PeerView[];
  outbox: { pending: number; failed: number; lastErrors: OutboxProblem[] };
};

/** What the platform console's federation page shows (operators). */
export async function federationOverview(principal: Principal, context: Pick<ServiceContext, "database"> = {}): Promise<FederationOverview> {
  requirePermission(principal, PERMISSION);
  const keys = await publishedKeys(context.database);
  return withPlatformAdmin(async (tx) => {
    const peers = await tx.federationPeer.findMany({ orderBy: [{ name: "asc" }, { instanceId: "asc" }] });
    const counts = await outboxCounts(tx);
    const problems = await tx.federationOutbox.findMany({
      where: { status: { in: ["pending", "failed"] }, lastError: { not: null } },
      orderBy: { createdAt: "desc" },
      take: 20,
      select: {
        id: true,
        peerId: true,
        activity: true,
        status: true,
        attempts: true,
        lastError: true,
        nextAttemptAt: true,
        createdAt: true,
        peer: { select: { name: true } },
      },
    });
    const totals = { pending: 0, failed: 0 };
    for (const count of counts.values()) {
      totals.pending += count.pending;
      totals.failed += count.failed;
    }
    return {
      instanceId: instanceId(),
      name: instanceName(),
      protocol: PROTOCOL,
      keys,
      peers: peers.map((peer) => toView(peer, counts)),
      outbox: {
        ...totals,
        lastErrors: problems.map((problem) => {
          const activity = problem.activity as Partial<Activity>;
          return {
            id: problem.id,
            peerId: problem.peerId,
            peerName: problem.peer.name,
            activityId: String(activity.id ?? ""),
            type: String(activity.type ?? ""),
            status: problem.status as "pending" | "failed",
            attempts: problem.attempts,
            lastError: problem.lastError ?? "",
            nextAttemptAt: problem.nextAttemptAt,
            createdAt: problem.createdAt,
          };
        }),
      },
    };
  }, context.database);
}

// --- The operators' actions -----------------------------------------------------------------

const addSchema = z.strictObject({
  url: z.string({ error: "must be the peer's address" }).trim().min(1, { error: "must be the peer's address" }).max(2000, { error: "must be at most 2000 characters" }),
});

/**
 * Adds a peer by its address (operators): its discovery document is fetched and checked, its
 * keys pinned, and a Follow sent; the peer is "requested" until its operator accepts. Adding
 * an instance that is already a peer answers it unchanged (`created: false`) — except one that
 * asked us first (pending): adding it is accepting it.
 */
export async function addPeer(principal: Principal, input: { url: string }, context: ServiceContext = {}): Promise<{ peer: PeerView; created: boolean }> {
  requirePermission(principal, PERMISSION);
  const { url } = parseInput(addSchema, input);
  let base: string;
  try {
    base = discoveryBase(url);
  } catch (error) {
    if (error instanceof FederationFetchError) throw new ValidationFailed({ url: [error.message] });
    throw error;
  }
  if (base === instanceId()) throw new ValidationFailed({ url: ["is this instance's own address"] });

  const known = await withPlatformAdmin((tx) => tx.federationPeer.findUnique({ where: { instanceId: base }, select: { id: true } }), context.database);
  if (known) return { peer: await acceptKnown(principal, known.id, context), created: false };

  let document: DiscoveryDocument;
  try {
    document = await fetchDiscovery(base);
  } catch (error) {
    if (error instanceof FederationFetchError) throw new ValidationFailed({ url: [error.message] });
    throw error;
  }

  const now = new Date();
  const created = await withPlatformAdmin(async (tx) => {
    const inserted = await tx.federationPeer.createMany({
      data: [
        {
          id: randomUUID(),
          instanceId: document.id,
          baseUrl: document.id,
          inboxUrl: document.inbox,
          name: document.name,
          keys: pinKeys(document.keys, now) as Prisma.InputJsonArray,
          discovery: document as unknown as Prisma.InputJsonObject,
          localAccepted: true,
        },
      ],
      skipDuplicates: true,
    });
    // Added meanwhile (another operator, or its Follow arrived): answered as a known peer below.
    if (inserted.count === 0) return null;
    const peer = await tx.federationPeer.findUniqueOrThrow({ where: { instanceId: document.id } });
    await enqueue(tx, peer.id, ourFollow(peer, now));
    await audit(context, principal, "federation.peer.added", peer, { name: peer.name, url: base });
    return viewOf(tx, peer);
  }, context.database);
  if (created) return { peer: created, created: true };
  const meanwhile = await withPlatformAdmin((tx) => tx.federationPeer.findUniqueOrThrow({ where: { instanceId: document.id }, select: { id: true } }), context.database);
  return { peer: await acceptKnown(principal, meanwhile.id, context), created: false };
}

/** A known peer added again: accepted if it is waiting for us, else answered as it is. */
async function acceptKnown(principal: Principal, id: string, context: ServiceContext): Promise<PeerView> {
  return withPlatformAdmin(async (tx) => {
    const peer = await findPeerRow(tx, id, true);
    if (peer.localAccepted || peer.suspended) return viewOf(tx, peer);
    return accept(tx, principal, peer, context);
  }, context.database);
}

/**
 * Accepts a peer that asked (operators): sends the Accept of its Follow; the peering is active.
 * Accepting a peer we accepted already changes nothing; a suspended one must be resumed first
 * (Conflict peer_suspended).
 */
export async function acceptPeer(principal: Principal, input: { id: string }, context: ServiceContext = {}): Promise<PeerView> {
  requirePermission(principal, PERMISSION);
  const { id } = parseInput(idSchema, input);
  return withPlatformAdmin(async (tx) => {
    const peer = await findPeerRow(tx, id, true);
    if (peer.localAccepted) return viewOf(tx, peer);
    if (peer.suspended) throw new Conflict("peer_suspended", "The peer is suspended: resume it before accepting it.");
    return accept(tx, principal, peer, context);
  }, context.database);
}

async function accept(tx: Tx, principal: Principal, peer: FederationPeer, context: ServiceContext): Promise<PeerView> {
  const updated = await tx.federationPeer.update({ where: { id: peer.id }, data: { localAccepted: true } });
  // Our answer to its Follow; without one (it never asked), our own Follow.
  const message = updated.followId ? createActivity("Accept", theirFollow(updated)) : ourFollow(updated, new Date());
  await enqueue(tx, updated.id, message);
  await audit(context, principal, "federation.peer.accepted", updated, { name: updated.name });
  if (isActive(updated)) await peeringActivated(tx, updated);
  return viewOf(tx, updated);
}

/** Refuses a peer that asked (operators): a Reject is sent and the peer forgotten. */
export async function rejectPeer(principal: Principal, input: { id: string }, context: ServiceContext = {}): Promise<{ id: string; notified: boolean }> {
  requirePermission(principal, PERMISSION);
  const { id } = parseInput(idSchema, input);
  return forget(principal, id, context, "reject");
}

/**
 * Removes a peer, whatever its state (operators): it is forgotten with its catalogue entries
 * and followers, and told so (an Undo of our Follow; a Reject if it was still waiting for us),
 * best effort: `notified` says whether it heard.
 */
export async function removePeer(principal: Principal, input: { id: string }, context: ServiceContext = {}): Promise<{ id: string; notified: boolean }> {
  requirePermission(principal, PERMISSION);
  const { id } = parseInput(idSchema, input);
  return forget(principal, id, context, "remove");
}

async function forget(principal: Principal, id: string, context: ServiceContext, how: "reject" | "remove"): Promise<{ id: string; notified: boolean }> {
  const removed = await withPlatformAdmin(async (tx) => {
    const peer = await findPeerRow(tx, id, true);
    const pending = !peer.localAccepted;
    if (how === "reject" && !pending) throw new Conflict("not_pending", "Only a peer that asked and waits for this instance's answer can be rejected; remove it instead.");
    // Read before the delete takes its outbox (and a pending key rotation) with it.
    const key = await peerSigningKey(tx, peer.id);
    await tx.federationPeer.delete({ where: { id: peer.id } });
    await audit(context, principal, how === "reject" ? "federation.peer.rejected" : "federation.peer.removed", peer, {
      name: peer.name,
      state: peerState(peer),
    });
    const message = pending && peer.followId ? createActivity("Reject", theirFollow(peer)) : createActivity("Undo", ourFollow(peer));
    return { peer, key, message };
  }, context.database);
  const { peer, key, message } = removed;
  const sent = await sendNow(peer.inboxUrl, message, { key, timeoutMs: NOTIFY_TIMEOUT_MS });
  if (!sent.delivered) {
    console.warn(`[${context.requestId ?? "-"}] federation: ${peer.instanceId} was ${how === "reject" ? "rejected" : "removed"} but not told (${sent.error})`);
  }
  return { id: peer.id, notified: sent.delivered };
}

const suspendSchema = z.strictObject({
  id: z.string({ error: "must be a peer id" }),
  reason: z.string({ error: "must be text" }).trim().max(500, { error: "must be at most 500 characters" }).optional(),
});

/**
 * Suspends a peer (operators): its messages are refused (403 peer_suspended) and ours to it
 * wait in the outbox until it is resumed. Already suspended: nothing changes.
 */
export function suspendPeer(principal: Principal, input: { id: string; reason?: string }, context: ServiceContext = {}): Promise<PeerView> {
  return setSuspended(principal, input, context, true);
}

/** Lifts a suspension (operators): the waiting messages go. Not suspended: nothing changes. */
export function resumePeer(principal: Principal, input: { id: string; reason?: string }, context: ServiceContext = {}): Promise<PeerView> {
  return setSuspended(principal, input, context, false);
}

async function setSuspended(principal: Principal, input: { id: string; reason?: string }, context: ServiceContext, suspended: boolean): Promise<PeerView> {
  requirePermission(principal, PERMISSION);
  const { id, reason } = parseInput(suspendSchema, input);
  return withPlatformAdmin(async (tx) => {
    const peer = await findPeerRow(tx, id, true);
    if (peer.suspended === suspended) return viewOf(tx, peer);
    const updated = await tx.federationPeer.update({ where: { id: peer.id }, data: { suspended } });
    await audit(context, principal, suspended ? "federation.peer.suspended" : "federation.peer.resumed", updated, {
      name: updated.name,
      ...(reason && { reason }),
    });
    return viewOf(tx, updated);
  }, context.database);
}

/**
 * Rotates the instance key (operators): a new key signs from now on, and every peer (in any
 * state: those that pinned our key while the handshake is unfinished need it too) is sent an
 * Update with the new discovery document, signed with the old key (see outbox.server.ts). The
 * old key stays published, and accepted by peers, for 24 hours.
 */
export async function rotateInstanceKey(
  principal: Principal,
  context: ServiceContext = {},
): Promise<{ keyId: string; previousKeyId: string; announcedTo: number }> {
  requirePermission(principal, PERMISSION);
  const now = new Date();
  return withPlatformAdmin(async (tx) => {
    const { previous, current } = await rotateKey(tx, now);
    const document = await discoveryDocumentIn(tx, now);
    const peers = await tx.federationPeer.findMany({ select: { id: true } });
    const announcedTo = await enqueueToPeers(tx, createActivity("Update", document, { published: now }), peers.map((peer) => peer.id));
    await recordPlatformAudit({
      actor: auditActor(principal),
      action: "federation.key.rotated",
      subject: { type: "federation_key", id: current },
      before: { keyId: keyIdOf(previous) },
      after: { keyId: keyIdOf(current), announcedTo },
      requestId: context.requestId,
    });
    return { keyId: keyIdOf(current), previousKeyId: keyIdOf(previous), announcedTo };
  }, context.database);
}

// --- The handshake as received (inbox.server.ts routes it here) -------------------------------

/**
 * A peer that asks to peer (its Follow, signature verified with a key of `document`): recorded
 * with its keys pinned, unless it is known already. The Follow itself is then handled as any
 * peer's (onPeeringActivity), in the same unit of work.
 */
export async function admitFollower(tx: Tx, document: DiscoveryDocument): Promise<FederationPeer | null> {
  await tx.federationPeer.createMany({
    data: [
      {
        id: randomUUID(),
        instanceId: document.id,
        baseUrl: document.id,
        inboxUrl: document.inbox,
        name: document.name,
        keys: pinKeys(document.keys) as Prisma.InputJsonArray,
        discovery: document as unknown as Prisma.InputJsonObject,
      },
    ],
    skipDuplicates: true,
  });
  return tx.federationPeer.findUnique({ where: { instanceId: document.id } });
}

const refused = (message: string) => new InboxRefusal(422, "refused", message);

function embeddedFollow(activity: Activity): { id?: unknown; actor?: unknown; object?: unknown } {
  return typeof activity.object === "object" && activity.object !== null ? (activity.object as Record<string, unknown>) : {};
}

/** Follow, Accept, Reject, Undo of a peering, and an instance Update (key rotation). */
export async function onPeeringActivity({ tx, peer, activity, keyId }: InboxContext): Promise<void> {
  switch (activity.type) {
    case "Follow": {
      if (activity.object !== instanceId()) throw refused("A Follow between instances follows the receiving instance.");
      const updated = await tx.federationPeer.update({ where: { id: peer.id }, data: { remoteAccepted: true, followId: activity.id } });
      if (!updated.localAccepted) {
        if (!peer.remoteAccepted) await auditInbound("federation.peer.requested", updated, { name: updated.name });
        return;
      }
      // We accepted already (we added it too, or it re-follows after forgetting us): answer,
      // and send our catalogue again, which it no longer has.
      await enqueue(tx, updated.id, createActivity("Accept", activity));
      if (!peer.remoteAccepted) await auditInbound("federation.peer.activated", updated, { name: updated.name });
      await peeringActivated(tx, updated);
      return;
    }
    case "Accept": {
      const follow = embeddedFollow(activity);
      if (follow.actor !== instanceId() || follow.object !== peer.instanceId) throw refused("The Accept does not answer a Follow of this instance.");
      // An Accept of a Follow we did not send (we never accepted) changes nothing.
      if (!peer.localAccepted || peer.remoteAccepted) return;
      const updated = await tx.federationPeer.update({ where: { id: peer.id }, data: { remoteAccepted: true } });
      await auditInbound("federation.peer.activated", updated, { name: updated.name });
      await peeringActivated(tx, updated);
      return;
    }
    case "Reject":
    case "Undo": {
      const follow = embeddedFollow(activity);
      const answersOurs = activity.type === "Reject" && follow.actor === instanceId() && follow.object === peer.instanceId;
      const undoesTheirs = activity.type === "Undo" && follow.actor === peer.instanceId && follow.object === instanceId();
      if (!answersOurs && !undoesTheirs) throw refused(`The ${activity.type} does not concern a Follow between the two instances.`);
      // The peer ends the peering (or refuses it): forget it, as its operator did us.
      await tx.federationPeer.delete({ where: { id: peer.id } });
      await auditInbound(activity.type === "Reject" ? "federation.peer.rejected_by_peer" : "federation.peer.removed_by_peer", peer, {
        name: peer.name,
        state: peerState(peer),
      });
      return;
    }
    case "Update": {
      let document: DiscoveryDocument;
      try {
        document = parseDiscoveryDocument(activity.object, peer.instanceId);
      } catch (error) {
        if (error instanceof FederationFetchError) throw refused(error.message);
        throw error;
      }
      const pinned = Array.isArray(peer.keys) ? (peer.keys as PinnedKey[]) : [];
      const current = document.keys.find((key) => key.status === "current");
      const pinnedCurrent = pinned.find((key) => key.status === "current");
      // An Update older than one already applied (deliveries are not ordered): its current key
      // is one we pinned as retired, or older than the one we pinned as current. Nothing to do.
      const stale =
        pinned.some((key) => key.id === current?.id && key.status === "retired") ||
        (current?.created !== undefined && pinnedCurrent?.created !== undefined && Date.parse(current.created) < Date.parse(pinnedCurrent.created));
      if (stale) return;
      // Only the key pinned as current re-pins: a retired key, still accepted for a day for what
      // was signed before the rotation, must not bring itself or a key of its holder's choosing
      // back. A retired key's Update that would change nothing (the one that retired it, sent
      // again) is no harm.
      if (pinnedCurrent === undefined || keyId !== pinnedCurrent.id) {
        if (current?.id !== undefined && current.id === pinnedCurrent?.id) return;
        throw refused("An instance Update is accepted only signed with the instance's key pinned here as current.");
      }
      const keys = pinKeys(document.keys);
      await tx.federationPeer.update({
        where: { id: peer.id },
        data: {
          keys: keys as Prisma.InputJsonArray,
          discovery: document as unknown as Prisma.InputJsonObject,
          name: document.name,
          inboxUrl: document.inbox,
        },
      });
      await auditInbound("federation.peer.updated", peer, { name: document.name, keys: keys.map((key) => key.id) });
      return;
    }
    default:
      throw new InboxRefusal(400, "malformed", `${activity.type.slice(0, 100)} is not a peering activity.`);
  }
}
