// This instance as the federation sees it (docs/federation.md §1, §2): its id and the URIs under
// it, its Ed25519 key pairs, documents signed on their own (components), and the discovery
// document peers fetch. Keys live in federation_keys, reachable as app_admin only; a private
// key never leaves the database except into this process' memory to sign.
import { generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import { config, publicUrl } from "../config.server";
import { Conflict } from "../auth/errors";
import { withPlatformAdmin, type Database, type Tx } from "../db/database.server";
import { Prisma } from "../db/generated/client.ts";
import { canonicalJson } from "./canonical";
import { importPrivateKey, importPublicKey } from "./signatures.server";

export const PROTOCOL = "civitas-federation/1";
export const DISCOVERY_PATH = "/.well-known/civitas-federation";
export const INBOX_PATH = "/federation/inbox";
/** What this implementation speaks (docs §2): a peer sends nothing for a capability it lacks. */
export const CAPABILITIES = ["peering", "components", "datasets", "dataset-feed", "dcat-ap-3"] as const;
export const PROOF_TYPE = "Ed25519Signature2026";
/** How long a retired key stays published, and accepted by peers that re-pinned (docs §3.5). */
export const RETIRED_KEY_GRACE_MS = 24 * 60 * 60 * 1000;

// --- Identifiers --------------------------------------------------------------------------

/**
 * The instance id: the public URL in one spelling (lower-case scheme and host, no default port,
 * no trailing slash), so that peers comparing ids compare the same string.
 */
export function instanceId(): string {
  return normaliseBaseUrl(publicUrl());
}

/** `https://Example.org:443/` → `https://example.org`; a path is kept, without its trailing slash. */
export function normaliseBaseUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

export const cityUri = (slug: string): string => `${instanceId()}/federation/cities/${slug}`;
export const componentUri = (id: string): string => `${instanceId()}/federation/components/${id}`;
export const datasetUri = (id: string): string => `${instanceId()}/federation/datasets/${id}`;
export const activityUri = (id: string): string => `${instanceId()}/federation/activities/${id}`;
export const newActivityId = (): string => activityUri(randomUUID());
export const inboxUrl = (): string => `${instanceId()}${INBOX_PATH}`;
export const keyIdOf = (kid: string): string => `${instanceId()}#${kid}`;

/** The instance a key id names (`https://a.example#k1` → `https://a.example`), or null. */
export function instanceOfKeyId(keyId: string): string | null {
  const hash = keyId.indexOf("#");
  if (hash <= 0 || hash === keyId.length - 1) return null;
  return keyId.slice(0, hash);
}

/** The kinds of ids an instance mints under `{instance id}/federation/` (docs §1). */
export type FederationIdKind = "activities" | "components" | "datasets" | "cities";

/**
 * Whether `uri` is an id of `instance` (docs §1: no instance speaks for another): under
 * `{instance}/federation/`, or `{instance}/federation/{kind}/` when a kind is named, with
 * something after it. A plain prefix would not do: instance ids may carry a path, and the ids of
 * `https://h.example/x` start with `https://h.example/` without being `https://h.example`'s.
 */
export function isFederationIdOf(instance: string, uri: unknown, kind?: FederationIdKind): boolean {
  if (typeof uri !== "string") return false;
  const prefix = kind === undefined ? `${instance}/federation/` : `${instance}/federation/${kind}/`;
  return uri.length > prefix.length && uri.startsWith(prefix);
}

/** An actor of `instance`: the instance itself, or one of its cities. */
export function isActorOf(instance: string, uri: unknown): boolean {
  return uri === instance || isFederationIdOf(instance, uri, "cities");
}

// --- Keys ---------------------------------------------------------------------------------

/** A key as a discovery document lists it (docs §2). */
export type DiscoveryKey = {
  id: string;
  type: "Ed25519";
  status: "current" | "retired";
  publicKeyPem: string;
  created?: string;
  /** When it was retired (retired keys only). */
  retired?: string;
};

/** One of this instance's keys as its discovery document publishes it. */
export type PublishedKey = DiscoveryKey & { created: string };

/**
 * A peer's key as pinned here (federation_peers.keys). A key pinned as retired is accepted until
 * `expires`; a current one until the peer announces another.
 */
export type PinnedKey = { id: string; publicKeyPem: string; status: "current" | "retired"; created?: string; expires?: string };

/** A key this instance signs with: `keyId` is the full key id peers look up. */
export type SigningKey = { kid: string; keyId: string; privateKey: KeyObject };

type KeyRow = { kid: string; privateKey: string };

/**
 * What private_key holds once a retired key's private half is destroyed (the worker does it a
 * week after the rotation, worker.server.ts): the column is NOT NULL, and the row stays for its
 * public half, which still verifies what this instance signed with it.
 */
export const DESTROYED_PRIVATE_KEY = "";

function signingKeyOf(row: KeyRow): SigningKey {
  return { kid: row.kid, keyId: keyIdOf(row.kid), privateKey: importPrivateKey(row.privateKey) };
}

function newKeyPair(): { kid: string; publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    kid: `k${randomBytes(9).toString("base64url")}`,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/**
 * The current key's row, created on first use. Race-safe across processes: the insert does
 * nothing when another transaction holds the one current key (the partial unique index
 * federation_keys_one_current), and the read that follows sees the winner's.
 */
async function currentKeyRow(tx: Tx): Promise<KeyRow> {
  const existing = await tx.federationKey.findFirst({ where: { status: "current" }, select: { kid: true, privateKey: true } });
  if (existing) return existing;
  await tx.federationKey.createMany({ data: [newKeyPair()], skipDuplicates: true });
  return tx.federationKey.findFirstOrThrow({ where: { status: "current" }, select: { kid: true, privateKey: true } });
}

/**
 * The key to sign with now. Read from the database at each use rather than cached: signing is
 * one message delivery at a time, and a rotation made by any process counts at once.
 */
export function currentKey(database?: Database): Promise<SigningKey> {
  return withPlatformAdmin(async (tx) => signingKeyOf(await currentKeyRow(tx)), database);
}

/**
 * One of this instance's keys by kid, current or retired (the outbox signs with a named key), or
 * null: unknown, or retired long enough ago that its private half was destroyed.
 */
export async function instanceKey(kid: string, database?: Database): Promise<SigningKey | null> {
  const row = await withPlatformAdmin(
    (tx) => tx.federationKey.findUnique({ where: { kid }, select: { kid: true, privateKey: true } }),
    database,
  );
  return row && row.privateKey !== DESTROYED_PRIVATE_KEY ? signingKeyOf(row) : null;
}

/** The keys peers may verify with: the current one and those retired less than 24 hours ago. */
export async function publishedKeys(database?: Database, now: Date = new Date()): Promise<PublishedKey[]> {
  return withPlatformAdmin(async (tx) => {
    await currentKeyRow(tx);
    return listPublishedKeys(tx, now);
  }, database);
}

async function listPublishedKeys(tx: Tx, now: Date): Promise<PublishedKey[]> {
  const rows = await tx.federationKey.findMany({
    where: { OR: [{ status: "current" }, { status: "retired", retiredAt: { gt: new Date(now.getTime() - RETIRED_KEY_GRACE_MS) } }] },
    select: { kid: true, publicKey: true, status: true, createdAt: true, retiredAt: true },
    orderBy: [{ status: "asc" }, { createdAt: "desc" }],
  });
  return rows.map((row) => ({
    id: keyIdOf(row.kid),
    type: "Ed25519" as const,
    status: row.status,
    publicKeyPem: row.publicKey,
    created: row.createdAt.toISOString(),
    ...(row.retiredAt && { retired: row.retiredAt.toISOString() }),
  }));
}

/**
 * Retires the current key and makes a new one current, in the caller's unit of work (the
 * announcement to peers commits with it: see peers.server.ts rotateInstanceKey). The retired
 * key stays in the table: it keeps signing for the peers that have not yet received the
 * announcement (outbox.server.ts) and is published for 24 hours. Two rotations at once: the
 * second is a Conflict.
 */
export async function rotateKey(tx: Tx, now: Date = new Date()): Promise<{ previous: string; current: string }> {
  const previous = await currentKeyRow(tx);
  const retired = await tx.federationKey.updateMany({
    where: { kid: previous.kid, status: "current" },
    data: { status: "retired", retiredAt: now },
  });
  if (retired.count === 0) throw new Conflict("rotation_in_progress", "The instance key is being rotated by another request.");
  const next = newKeyPair();
  try {
    await tx.federationKey.create({ data: { ...next, createdAt: now } });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      throw new Conflict("rotation_in_progress", "The instance key is being rotated by another request.");
    }
    throw error;
  }
  return { previous: previous.kid, current: next.kid };
}

// --- Signed documents (docs §4) --------------------------------------------------------------

export type DocumentProof = { type: typeof PROOF_TYPE; keyId: string; created: string; signature: string };

/** The bytes a document's proof signs: its RFC 8785 form without `proof`. */
function signedBytes(document: object): Buffer {
  const { proof: _proof, ...rest } = document as { proof?: unknown };
  return Buffer.from(canonicalJson(rest), "utf8");
}

/** The document with a `proof` by this instance's current key (an existing proof is replaced). */
export async function signDocument<T extends object>(document: T, database?: Database): Promise<T & { proof: DocumentProof }> {
  const key = await currentKey(database);
  const signature = sign(null, signedBytes(document), key.privateKey).toString("base64url");
  const proof: DocumentProof = { type: PROOF_TYPE, keyId: key.keyId, created: new Date().toISOString(), signature };
  return { ...document, proof };
}

/**
 * Whether the document's proof is a valid signature by one of `keys` (a peer's pinned keys, or
 * this instance's published ones). Only the key list decides trust: the caller passes the keys
 * of the instance the document claims to come from.
 */
export function verifyDocument(document: object, keys: readonly { id: string; publicKeyPem: string }[]): boolean {
  const proof = (document as { proof?: Partial<DocumentProof> }).proof;
  if (typeof proof !== "object" || proof === null || proof.type !== PROOF_TYPE || typeof proof.signature !== "string") return false;
  const key = keys.find((candidate) => candidate.id === proof.keyId);
  if (!key) return false;
  try {
    const signature = Buffer.from(proof.signature, "base64url");
    return signature.length === 64 && verify(null, signedBytes(document), importPublicKey(key.publicKeyPem), signature);
  } catch {
    // A malformed key or a value without canonical form: not a valid proof.
    return false;
  }
}

// --- Discovery (docs §2) --------------------------------------------------------------------

export type DiscoveryCity = { id: string; slug: string; names: Record<string, string>; locales: string[] };

export type DiscoveryDocument = {
  type: "CivitasInstance";
  protocol: string;
  id: string;
  name: string;
  inbox: string;
  keys: DiscoveryKey[];
  cities: DiscoveryCity[];
  capabilities: string[];
  endpoints: Record<string, string>;
};

export type OwnDiscoveryDocument = DiscoveryDocument & { keys: PublishedKey[] };

/** The instance's name for peers' operators: CIVITAS_INSTANCE_NAME, else "Civitas" and the host. */
export function instanceName(): string {
  return config().CIVITAS_INSTANCE_NAME ?? `Civitas ${new URL(instanceId()).host}`;
}

/** The discovery document: the instance, its published keys, its active cities. */
export async function discoveryDocument(database?: Database, now: Date = new Date()): Promise<OwnDiscoveryDocument> {
  return withPlatformAdmin((tx) => discoveryDocumentIn(tx, now), database);
}

/** The same, in the caller's unit of work (a rotation announces the document it just changed). */
export async function discoveryDocumentIn(tx: Tx, now: Date = new Date()): Promise<OwnDiscoveryDocument> {
  await currentKeyRow(tx);
  const keys = await listPublishedKeys(tx, now);
  const cities = await tx.city.findMany({
    where: { status: "active" },
    select: { slug: true, names: true, enabledLocales: true },
    orderBy: { slug: "asc" },
  });
  const id = instanceId();
  return {
    type: "CivitasInstance",
    protocol: PROTOCOL,
    id,
    name: instanceName(),
    inbox: inboxUrl(),
    keys,
    cities: cities.map((city) => ({
      id: cityUri(city.slug),
      slug: city.slug,
      names: (city.names ?? {}) as Record<string, string>,
      locales: city.enabledLocales,
    })),
    capabilities: [...CAPABILITIES],
    endpoints: {
      dcatTurtle: `${id}/federation/catalog.ttl`,
      dcatJsonLd: `${id}/federation/catalog.jsonld`,
    },
  };
}
