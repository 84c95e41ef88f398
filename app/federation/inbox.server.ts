// The inbox (docs/federation.md §5): what another instance POSTs, checked in this order —
// media type and size, the activity's shape, the signature (RFC 9421 over method, target URI,
// Content-Digest and created) with a key pinned for the signing instance, the ids (no instance
// speaks for another), the peering state — and then handled exactly once: the activity id is
// recorded in federation_inbox in the transaction of its effect, and a second delivery of the
// same id is answered 409 replayed, which the sender counts as delivered.
//
// Peering activities go to peers.server.ts, component ones to components.server.ts, dataset ones
// to datasets.server.ts. The one message accepted from an instance that is not a peer is its
// Follow of this instance (docs §3 step 2): its discovery document is fetched, the signature
// verified with a key it lists, and it becomes a pending peer.
//
// Who peers with this instance is not told to whoever asks: a peer's state (suspended) is
// answered only once its signature verified with a pinned key, and a signature that does not
// verify is answered alike whether the key id names a peer or not (401 bad_signature).
import type { KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { z } from "zod";
import { ServiceError } from "../auth/errors";
import { overLimit } from "../auth/rate-limits.server";
import { withPlatformAdmin, type Database, type Tx } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { FederationFetchError, fetchDiscovery } from "./fetch.server";
import { instanceId, instanceOfKeyId, isActorOf, isFederationIdOf, type DiscoveryDocument, type PinnedKey } from "./instance.server";
import { capabilityOf, isPeeringActivity, type Activity } from "./outbox.server";
import { importPublicKey, SignatureError, verifyRequest, type HeaderInput } from "./signatures.server";

export type { Activity } from "./outbox.server";

/**
 * What a handler of incoming activities gets: the unit of work its effect must join, and the
 * key id that signed the activity (one of the peer's pinned keys; the inbox always sets it).
 */
export type InboxContext = { tx: Tx; peer: FederationPeer; activity: Activity; keyId?: string; database?: Database };

/** An expected refusal, answered as `{ error: code, message }` with `status` (docs §5). */
export class InboxRefusal extends Error {
  override name = "InboxRefusal";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For a 429 or 503: when to try again (the Retry-After header). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const MAX_INBOX_BYTES = 1024 * 1024;
const MEDIA_TYPES: ReadonlySet<string> = new Set(["application/activity+json", "application/ld+json", "application/json"]);
const ACTIVITY_TYPES: ReadonlySet<string> = new Set(["Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Announce"]);
/** Activities whose object is the sender's own (a component, a dataset, its discovery document). */
const AUTHORED_TYPES: ReadonlySet<string> = new Set(["Create", "Update", "Delete", "Announce"]);

export type IncomingRequest = {
  method: string;
  /** The target URI as the sender addressed it: `${instanceId()}${req.originalUrl}` (see requestTarget). */
  url: string;
  headers: HeaderInput;
  /** The exact bytes received: the digest is checked over them. */
  body?: Uint8Array;
  /** The client's address (Express' req.ip): peering requests are limited per address. */
  clientAddress?: string;
};

/**
 * The URI a peer signed for a request to this instance: the instance id and the path as
 * received. Built from the configured public URL, not from Host or X-Forwarded-*, so it holds
 * behind any proxy that passes the path on unchanged.
 */
export function requestTarget(originalUrl: string): string {
  return `${instanceId()}${originalUrl}`;
}

// --- Receiving ------------------------------------------------------------------------------

type InboxOptions = { database?: Database; /** Seconds since the epoch (tests). */ now?: number };

/** Refuses (415) a body that is not JSON by its Content-Type (docs §5). */
export function checkMediaType(contentType: string | undefined): void {
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!MEDIA_TYPES.has(mediaType)) {
    throw new InboxRefusal(415, "unsupported_media_type", "Send the activity as application/activity+json.");
  }
}

/** Handles one POST to the inbox, or throws an InboxRefusal saying why not. */
export async function receiveActivity(request: IncomingRequest & { contentType?: string }, options: InboxOptions = {}): Promise<void> {
  checkMediaType(request.contentType);
  const body = request.body ?? new Uint8Array();
  if (body.byteLength > MAX_INBOX_BYTES) throw new InboxRefusal(413, "too_large", "The body is over 1 MB.");
  const activity = parseActivity(body);

  // Filled in by the key lookup: who signed, as this instance knows them.
  let known: FederationPeer | null = null;
  let follower: DiscoveryDocument | null = null;
  const { keyId } = await verify(request, options, async (keyId) => {
    const instance = instanceOfKeyId(keyId);
    if (instance === null) return null;
    if (activity.type === "Follow" && activity.object === instanceId()) await limitFollows(request.clientAddress);
    const peer = await findPeer(instance, options.database);
    if (peer) {
      // Suspended or not, its pinned keys decide first (see the header).
      known = peer;
      return pinnedKey(peer.keys, keyId, options.now);
    }
    // Not a peer: answered as a key this instance does not accept, unless it asks to peer.
    if (!isFollowOfThisInstance(activity, instance)) return null;
    follower = await strangerDiscovery(instance, options.database);
    const key = follower?.keys.find((candidate) => candidate.id === keyId);
    return key ? importPublicKey(key.publicKeyPem) : null;
  });
  const sender = instanceOfKeyId(keyId) as string;
  if ((known as FederationPeer | null)?.suspended) throw new InboxRefusal(403, "peer_suspended", "This instance has suspended the peering.");

  checkOrigin(activity, sender);
  const route = routeOf(activity, sender);
  if (route === null) throw new InboxRefusal(400, "malformed", `This instance does not handle ${activity.type.slice(0, 100)} activities of this kind.`);

  const signer = known as FederationPeer | null;
  const discovery = follower as DiscoveryDocument | null;
  await handle(options.database, async (tx) => {
    const peers = await import("./peers.server");
    const admitted = signer ?? (await peers.admitFollower(tx, discovery as DiscoveryDocument));
    if (!admitted) throw new InboxRefusal(403, "unknown_peer", "The sender is no longer a peer of this instance.");
    // Read again, locked, in the unit of work: the operator may have suspended or removed it meanwhile.
    await peers.lockPeer(tx, admitted.id);
    const peer = await tx.federationPeer.findUnique({ where: { id: admitted.id } });
    if (!peer) throw new InboxRefusal(403, "unknown_peer", "The sender is no longer a peer of this instance.");
    if (peer.suspended) throw new InboxRefusal(403, "peer_suspended", "This instance has suspended the peering.");
    if (route !== "peering" && !(peer.localAccepted && peer.remoteAccepted)) {
      throw new InboxRefusal(403, "peer_not_accepted", "The peering handshake is not finished: only Follow, Accept, Reject, Undo and instance Updates are accepted.");
    }
    const receipt = await tx.federationInbox.createMany({
      data: [{ messageId: activity.id, peerId: peer.id, type: activity.type }],
      skipDuplicates: true,
    });
    if (receipt.count === 0) throw new InboxRefusal(409, "replayed", "This activity id was received before.");
    const context: InboxContext = { tx, peer, activity, keyId, database: options.database };
    if (route === "peering") await peers.onPeeringActivity(context);
    else if (route === "components") await (await import("./components.server")).onComponentActivity(context);
    else await (await import("./datasets.server")).onDatasetActivity(context);
  });
}

/** The unit of work of an activity; a handler's expected failure (a ServiceError) is a 422. */
async function handle(database: Database | undefined, work: (tx: Tx) => Promise<void>): Promise<void> {
  try {
    await withPlatformAdmin(work, database);
  } catch (error) {
    if (error instanceof ServiceError) throw new InboxRefusal(422, "refused", error.message);
    throw error;
  }
}

const activitySchema = z.looseObject({
  id: z.string().min(1).max(2000),
  type: z.string().min(1).max(100),
  actor: z.string().min(1).max(2000),
  object: z.union([z.string().min(1).max(2000), z.record(z.string(), z.unknown())]),
  published: z.string().max(100).optional(),
});

function parseActivity(body: Uint8Array): Activity {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new InboxRefusal(400, "malformed", "The body is not JSON.");
  }
  const parsed = activitySchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? "body")))].join(", ");
    throw new InboxRefusal(400, "malformed", `Not an activity: check ${fields} (id, type, actor and object are required).`);
  }
  return parsed.data as Activity;
}

function isFollowOfThisInstance(activity: Activity, sender: string): boolean {
  return activity.type === "Follow" && activity.object === instanceId() && activity.actor === sender && sender !== instanceId();
}

/**
 * Fetches of strangers' discovery documents under way in this process. Anyone can make the
 * inbox fetch one (a Follow signed with any key does), so they are few at a time, few per client
 * address (limitFollows), only while the requests waiting for the operator are not too many, and
 * what went wrong is not told: the inbox must not become a probe of what this instance can reach.
 */
let strangerFetches = 0;
const MAX_STRANGER_FETCHES = 4;
/** Peering requests waiting for the operator's answer, beyond which new ones are refused (503). */
export const MAX_PENDING_REQUESTS = 100;
/** Follows of this instance per client address (an IPv6 /64) and window. */
export const FOLLOWS_PER_ADDRESS = 20;
export const FOLLOW_WINDOW_SECONDS = 10 * 60;

const followLimiter = new RateLimiterMemory({ points: FOLLOWS_PER_ADDRESS, duration: FOLLOW_WINDOW_SECONDS, keyPrefix: "federation-follow" });

/**
 * Counts a Follow of this instance for the client's address, peer or not (the answer must not
 * depend on it); past the limit, 429. A call without an address (a service, a test) is not counted.
 */
async function limitFollows(clientAddress: string | undefined): Promise<void> {
  if (!clientAddress) return;
  const wait = await overLimit(followLimiter, addressKey(clientAddress));
  if (wait !== null) throw new InboxRefusal(429, "rate_limited", "Too many peering requests from this address; try again later.", wait);
}

/** An IPv4 address, or an IPv6 address's /64 (one subscriber's usual share), as a limiter key. */
export function addressKey(address: string): string {
  const text = address.toLowerCase().split("%")[0] ?? "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (mapped?.[1]) return mapped[1];
  if (isIP(text) !== 6) return text;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const [head = "", tail] = text.split("::");
  const words = tail === undefined ? groups(head) : [...groups(head), ...new Array<string>(8 - groups(head).length - groups(tail).length).fill("0"), ...groups(tail)];
  return `${words.slice(0, 4).map((word) => Number.parseInt(word, 16).toString(16)).join(":")}::/64`;
}

/**
 * The discovery document of an instance that asks to peer, or null if it cannot be read (the
 * caller answers as for a key it does not know).
 */
async function strangerDiscovery(instance: string, database?: Database): Promise<DiscoveryDocument | null> {
  const waiting = await withPlatformAdmin((tx) => tx.federationPeer.count({ where: { localAccepted: false } }), database);
  if (waiting >= MAX_PENDING_REQUESTS) {
    throw new InboxRefusal(503, "too_many_requests", "This instance has too many peering requests waiting for its operator; try again later.", 3600);
  }
  if (strangerFetches >= MAX_STRANGER_FETCHES) {
    throw new InboxRefusal(429, "rate_limited", "Too many peering requests at once; try again later.", 60);
  }
  strangerFetches += 1;
  try {
    return await fetchDiscovery(instance);
  } catch (error) {
    if (!(error instanceof FederationFetchError)) throw error;
    return null;
  } finally {
    strangerFetches -= 1;
  }
}

/**
 * Ids of the signing instance (docs §1): the activity's, its actor (the instance or one of its
 * cities), an authored object's, and an undone Follow's actor.
 */
function checkOrigin(activity: Activity, sender: string): void {
  const mismatch = (what: string) => new InboxRefusal(403, "actor_mismatch", `The ${what} is not under the signing instance's id (${sender}).`);
  if (!isFederationIdOf(sender, activity.id, "activities")) throw mismatch("activity id");
  if (!isActorOf(sender, activity.actor)) throw mismatch("actor");
  const object = activity.object;
  if (AUTHORED_TYPES.has(activity.type)) {
    const id = typeof object === "string" ? object : (object as Record<string, unknown>).id ?? (object as Record<string, unknown>).dataset;
    if (id !== undefined && id !== sender && !isFederationIdOf(sender, id)) throw mismatch("object id");
  }
  if (activity.type === "Undo" && typeof object === "object" && !isActorOf(sender, (object as Record<string, unknown>).actor)) {
    throw mismatch("undone activity's actor");
  }
}

type Route = "peering" | "components" | "datasets";

function routeOf(activity: Activity, sender: string): Route | null {
  if (!ACTIVITY_TYPES.has(activity.type)) return null;
  if (isPeeringActivity(activity, sender)) return "peering";
  return capabilityOf(activity);
}

// --- Signatures -----------------------------------------------------------------------------

/**
 * The signature checked, a SignatureError becoming its 401 refusal. A key id this instance does
 * not accept and a signature that does not verify with the key it names are answered alike: the
 * difference would tell whether the key id's instance is a peer (see the header).
 */
async function verify(
  request: IncomingRequest,
  options: InboxOptions,
  resolveKey: (keyId: string) => Promise<KeyObject | null>,
): Promise<{ keyId: string }> {
  try {
    return await verifyRequest({ method: request.method, url: request.url, headers: request.headers, body: request.body, resolveKey, now: options.now });
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    if (error.code === "unknown_key" || error.code === "bad_signature") {
      throw new InboxRefusal(401, "bad_signature", "The signature does not verify with a key this instance accepts for its key id.");
    }
    throw new InboxRefusal(401, error.code, error.message);
  }
}

function findPeer(instance: string, database?: Database): Promise<FederationPeer | null> {
  return withPlatformAdmin((tx) => tx.federationPeer.findUnique({ where: { instanceId: instance } }), database);
}

/** A pinned key of the peer by id, unless it was pinned as retired and its 24 hours are over. */
function pinnedKey(keys: unknown, keyId: string, now?: number): KeyObject | null {
  if (!Array.isArray(keys)) return null;
  const key = (keys as PinnedKey[]).find((candidate) => candidate?.id === keyId);
  if (!key || typeof key.publicKeyPem !== "string") return null;
  if (key.expires !== undefined && Date.parse(key.expires) <= (now === undefined ? Date.now() : now * 1000)) return null;
  try {
    return importPublicKey(key.publicKeyPem);
  } catch {
    return null;
  }
}

const hasSignature = (headers: HeaderInput): boolean =>
  headers instanceof Headers ? headers.has("signature") : Object.keys(headers).some((name) => name.toLowerCase() === "signature");

class NotAPeer extends Error {}

/**
 * Checks a signed request from a peer that is not a POST to the inbox (the datasets' pull feed).
 * Answers the active peer that signed it, or `peer: null` for a request that carries no
 * signature, is signed by an instance that is not a peer, or is signed for a peer with a key not
 * pinned for it or a signature that does not verify: such a request gets what anyone gets
 * (public data), and the three are answered alike, so that the answer does not tell whether the
 * key id's instance peers with this one (as the inbox's 401 bad_signature does not, docs §5).
 * A signature that is malformed, stale or from the future is refused (401) before any key is
 * looked up, whoever it names; a suspended peer (403) or one whose handshake is not finished
 * (403) is told so once its signature verified.
 */
export async function verifyPeerRequest(
  request: IncomingRequest,
  options: InboxOptions = {},
): Promise<{ peer: FederationPeer | null; keyId: string }> {
  if (!hasSignature(request.headers)) return { peer: null, keyId: "" };
  let signer: FederationPeer | null = null;
  let keyId: string;
  try {
    ({ keyId } = await verify(request, options, async (keyId) => {
      const instance = instanceOfKeyId(keyId);
      const peer = instance === null ? null : await findPeer(instance, options.database);
      if (!peer) throw new NotAPeer();
      signer = peer;
      return pinnedKey(peer.keys, keyId, options.now);
    }));
  } catch (error) {
    if (error instanceof NotAPeer) return { peer: null, keyId: "" };
    if (error instanceof InboxRefusal && error.code === "bad_signature") return { peer: null, keyId: "" };
    throw error;
  }
  const peer = signer as unknown as FederationPeer;
  if (peer.suspended) throw new InboxRefusal(403, "peer_suspended", "This instance has suspended the peering.");
  if (!(peer.localAccepted && peer.remoteAccepted)) throw new InboxRefusal(403, "peer_not_accepted", "The peering handshake is not finished.");
  return { peer, keyId };
}
