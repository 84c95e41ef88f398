// The inbox as peers reach it: the real application (app/http.server.ts) on 127.0.0.1, a fake
// peer with its own Ed25519 key pinned here, and signed POSTs. Every refusal of docs §5 that a
// forged, altered, late, repeated or unwelcome message earns, and the one good message accepted
// exactly once. PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  fakeKey,
  insertPeer,
  peerActivity,
  post,
  signedPost,
  startFakePeer,
  type FakeKey,
  type FakePeer,
} from "../../tests/support/federation";
import { serve, type Served } from "../../tests/support/http";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../tests/support/process-database";
import { resetConfig } from "../config.server";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { createApp } from "../http.server";
import { addressKey, FOLLOWS_PER_ADDRESS, InboxRefusal, MAX_PENDING_REQUESTS, receiveActivity, requestTarget } from "./inbox.server";
import { instanceId } from "./instance.server";
import { contentDigest } from "./signatures.server";
import type { Activity } from "./outbox.server";

let processDatabase: ProcessDatabase;
let served: Served;
let base: string;
let inbox: string;
/** A peer of this instance, active; its key is pinned here. */
let peer: FakePeer;
let peerRow: FederationPeer;
const others: FakePeer[] = [];

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  served = await serve(createApp({ handler: (_req, res) => void res.status(404).send("pages"), logRequests: false }));
  base = `http://127.0.0.1:${served.port}`;
  vi.stubEnv("CIVITAS_PUBLIC_URL", base);
  resetConfig();
  inbox = `${base}/federation/inbox`;
  peer = await startFakePeer({ name: "Graz" });
  peerRow = await insertPeer(processDatabase.database, peer);
}, 60_000);

afterAll(async () => {
  await served?.close();
  await Promise.all([peer, ...others].map((fake) => fake?.close()));
  await processDatabase?.release();
  vi.unstubAllEnvs();
  resetConfig();
});

async function another(options: { pinned?: Parameters<typeof insertPeer>[2] } = {}): Promise<FakePeer> {
  const fake = await startFakePeer();
  others.push(fake);
  if (options.pinned) await insertPeer(processDatabase.database, fake, options.pinned);
  return fake;
}

/** A harmless peering message with a visible effect: the peer's discovery document again, renamed. */
function rename(fake: FakePeer, name: string): Activity {
  return peerActivity(fake, "Update", { ...fake.document, name });
}

async function send(activity: Activity | string, key: FakeKey, options: { created?: number } = {}) {
  const body = typeof activity === "string" ? activity : JSON.stringify(activity);
  const { headers } = signedPost(inbox, body, key, options);
  return post(inbox, headers, body);
}

const refusal = (status: number, error: string) => ({ status, json: { error, message: expect.any(String) } });
const received = (messageId: string) => withPlatformAdmin((tx) => tx.federationInbox.count({ where: { messageId } }));
const renames = () => withPlatformAdmin((tx) => tx.platformAuditEvent.count({ where: { action: "federation.peer.updated", subjectId: peerRow.id } }));

describe("the inbox", () => {
  it("accepts a good message exactly once, and refuses its replay", async () => {
    const activity = rename(peer, "Graz am Mur");
    const body = JSON.stringify(activity);
    const { headers } = signedPost(inbox, body, peer.key);
    const first = await post(inbox, headers, body);
    expect(first).toMatchObject({ status: 202, json: { status: "accepted" } });
    expect((await withPlatformAdmin((tx) => tx.federationPeer.findUniqueOrThrow({ where: { id: peerRow.id } }))).name).toBe("Graz am Mur");
    expect(await received(activity.id)).toBe(1);
    expect(await renames()).toBe(1);

    // The very same request again, and the same id freshly signed: replays, no second effect.
    expect(await post(inbox, headers, body)).toMatchObject(refusal(409, "replayed"));
    expect(await send(activity, peer.key)).toMatchObject(refusal(409, "replayed"));
    expect(await renames()).toBe(1);
  });

  it("refuses an unsigned message", async () => {
    const body = JSON.stringify(rename(peer, "Unsigned"));
    expect(await post(inbox, { "content-type": "application/activity+json", "content-digest": contentDigest(body) }, body)).toMatchObject(
      refusal(401, "missing_signature"),
    );
  });

  it("refuses a message signed with another key than the one pinned for its key id", async () => {
    const impostor = { ...peer.newKey(), keyId: peer.key.keyId };
    const activity = rename(peer, "Impostor");
    expect(await send(activity, impostor)).toMatchObject(refusal(401, "bad_signature"));
    expect(await received(activity.id)).toBe(0);
  });

  it("refuses a tampered body, whose digest was recomputed but not signed", async () => {
    const signed = JSON.stringify(rename(peer, "Original"));
    const tampered = JSON.stringify(rename(peer, "Tampered"));
    const { headers } = signedPost(inbox, signed, peer.key);
    expect(await post(inbox, { ...headers, "content-digest": contentDigest(tampered) }, tampered)).toMatchObject(refusal(401, "bad_signature"));
  });

  it("refuses a body that does not match its digest", async () => {
    const signed = JSON.stringify(rename(peer, "Original"));
    const { headers } = signedPost(inbox, signed, peer.key);
    expect(await post(inbox, headers, signed.replace("Original", "Altered!"))).toMatchObject(refusal(401, "digest_mismatch"));
  });

  it("refuses a signature created more than 5 minutes ago, or more than 30 seconds ahead", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await send(rename(peer, "Late"), peer.key, { created: now - 301 })).toMatchObject(refusal(401, "stale"));
    expect(await send(rename(peer, "Early"), peer.key, { created: now + 120 })).toMatchObject(refusal(401, "future"));
  });

  it("refuses a key of a peer that it has not pinned", async () => {
    expect(await send(rename(peer, "New key"), peer.newKey())).toMatchObject(refusal(401, "bad_signature"));
  });

  it("refuses an instance that is not a peer", async () => {
    const stranger = await another();
    const create = peerActivity(stranger, "Create", { type: "civitas:Component", id: `${stranger.instanceId}/federation/components/1` });
    expect(await send(create, stranger.key)).toMatchObject(refusal(401, "bad_signature"));
  });

  it("refuses a suspended peer, and tells it so only once its signature verified", async () => {
    const suspended = await another({ pinned: { suspended: true } });
    expect(await send(rename(suspended, "Suspended"), suspended.key)).toMatchObject(refusal(403, "peer_suspended"));
    expect(await send(rename(suspended, "Forged"), suspended.newKey())).toMatchObject(refusal(401, "bad_signature"));
  });

  it("answers a forged message alike whether its key id names a peer, a suspended peer or a stranger", async () => {
    // Someone who knows the instances' public key ids, and none of their private keys.
    const forger = peer.newKey();
    const suspended = await another({ pinned: { suspended: true } });
    const stranger = await another();
    const answers = [];
    for (const victim of [peer, suspended, stranger]) {
      const activity = peerActivity(victim, "Create", { type: "civitas:Component", id: `${victim.instanceId}/federation/components/1` });
      for (const keyId of [victim.key.keyId, `${victim.instanceId}#unknown`]) {
        answers.push(await send(activity, { ...forger, keyId }));
      }
    }
    for (const answer of answers) expect({ status: answer.status, json: answer.json }).toEqual({ status: 401, json: answers[0]!.json });
    expect(answers[0]).toMatchObject(refusal(401, "bad_signature"));
  });

  it("takes only the handshake from a peer whose operator has not accepted yet", async () => {
    const pending = await another({ pinned: { localAccepted: false } });
    const create = peerActivity(pending, "Create", { type: "civitas:Component", id: `${pending.instanceId}/federation/components/1` });
    expect(await send(create, pending.key)).toMatchObject(refusal(403, "peer_not_accepted"));
    expect(await send(rename(pending, "Still pending"), pending.key)).toMatchObject({ status: 202 });
  });

  it("refuses ids that are not the signing instance's", async () => {
    expect(await send({ ...rename(peer, "x"), actor: "https://elsewhere.example" }, peer.key)).toMatchObject(refusal(403, "actor_mismatch"));
    expect(await send({ ...rename(peer, "x"), id: `https://elsewhere.example/federation/activities/${randomUUID()}` }, peer.key)).toMatchObject(
      refusal(403, "actor_mismatch"),
    );
    const foreign = peerActivity(peer, "Create", { type: "civitas:Component", id: "https://elsewhere.example/federation/components/1" });
    expect(await send(foreign, peer.key)).toMatchObject(refusal(403, "actor_mismatch"));
    // Nor those of an instance served under a path of the peer's host (another instance).
    const nested = `${peer.instanceId}/x`;
    expect(await send({ ...rename(peer, "x"), id: `${nested}/federation/activities/${randomUUID()}` }, peer.key)).toMatchObject(refusal(403, "actor_mismatch"));
    expect(await send({ ...rename(peer, "x"), actor: `${nested}/federation/cities/graz` }, peer.key)).toMatchObject(refusal(403, "actor_mismatch"));
    const theirs = peerActivity(peer, "Create", { type: "civitas:Component", id: `${nested}/federation/components/1` });
    expect(await send(theirs, peer.key)).toMatchObject(refusal(403, "actor_mismatch"));
  });

  it("refuses what is not an activity it handles", async () => {
    expect(await send("{not json", peer.key)).toMatchObject(refusal(400, "malformed"));
    const { object: _object, ...withoutObject } = rename(peer, "x");
    expect(await send(withoutObject as Activity, peer.key)).toMatchObject(refusal(400, "malformed"));
    expect(await send(peerActivity(peer, "Like", `${peer.instanceId}/federation/components/1`), peer.key)).toMatchObject(refusal(400, "malformed"));
  });

  it("refuses other media types and bodies over 1 MB before reading them", async () => {
    const body = JSON.stringify(rename(peer, "x"));
    const { headers } = signedPost(inbox, body, peer.key);
    expect(await post(inbox, { ...headers, "content-type": "text/plain" }, body)).toMatchObject(refusal(415, "unsupported_media_type"));
    // Announced too large: refused without reading (the body sent is short, the connection closes).
    expect(await post(inbox, { ...headers, "content-length": String(2 * 1024 * 1024) }, body)).toMatchObject(refusal(413, "too_large"));
    // Too large without saying so.
    const huge = JSON.stringify({ ...rename(peer, "x"), padding: "x".repeat(1024 * 1024) });
    expect(await send(huge, peer.key)).toMatchObject(refusal(413, "too_large"));
  });

  it("verifies against the instance's public URL whatever Host the request came with (behind a proxy)", async () => {
    const activity = rename(peer, "Via proxy");
    const body = JSON.stringify(activity);
    const { headers } = signedPost(inbox, body, peer.key);
    expect(await post(inbox, { ...headers, host: "civitas-internal:8080" }, body)).toMatchObject({ status: 202 });
  });
});

describe("a Follow from an instance that is not a peer", () => {
  it("fetches its discovery document, checks the key there, and records a pending peer", async () => {
    const asking = await another();
    const follow = peerActivity(asking, "Follow", instanceId());
    expect(await send(follow, asking.key)).toMatchObject({ status: 202 });
    const row = await withPlatformAdmin((tx) => tx.federationPeer.findUnique({ where: { instanceId: asking.instanceId } }));
    expect(row).toMatchObject({ localAccepted: false, remoteAccepted: true, suspended: false, followId: follow.id, inboxUrl: asking.document.inbox });
    expect(row!.keys).toEqual([expect.objectContaining({ id: asking.key.keyId, status: "current" })]);
    // Nothing but the handshake is taken from it yet.
    const create = peerActivity(asking, "Create", { type: "civitas:Component", id: `${asking.instanceId}/federation/components/1` });
    expect(await send(create, asking.key)).toMatchObject(refusal(403, "peer_not_accepted"));
  });

  it("refuses it signed with a key its document does not list", async () => {
    const asking = await another();
    expect(await send(peerActivity(asking, "Follow", instanceId()), asking.newKey())).toMatchObject(refusal(401, "bad_signature"));
    expect(await withPlatformAdmin((tx) => tx.federationPeer.count({ where: { instanceId: asking.instanceId } }))).toBe(0);
  });

  it("fetches few strangers' documents at a time", async () => {
    // Four strangers under one origin (instance ids with a path), whose documents come late.
    const waiting: (() => void)[] = [];
    let fourWaiting: () => void = () => undefined;
    const four = new Promise<void>((resolve) => (fourWaiting = resolve));
    const keys = new Map<string, FakeKey>();
    const slow = http.createServer((req, res) => {
      const id = `${origin}${(req.url ?? "").replace("/.well-known/civitas-federation", "")}`;
      const key = keys.get(id)!;
      const document = { ...peer.document, id, inbox: `${id}/federation/inbox`, cities: [], keys: [{ id: key.keyId, type: "Ed25519", status: "current", publicKeyPem: key.publicKeyPem }] };
      waiting.push(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document)));
      if (waiting.length === 4) fourWaiting();
    });
    slow.listen(0, "127.0.0.1");
    await once(slow, "listening");
    const origin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      const strangers = ["a", "b", "c", "d", "e"].map((name) => {
        const instance = { instanceId: `${origin}/${name}` };
        keys.set(instance.instanceId, fakeKey(instance.instanceId));
        return instance;
      });
      const follow = (stranger: { instanceId: string }) => send(peerActivity(stranger, "Follow", instanceId()), keys.get(stranger.instanceId)!);
      const first = strangers.slice(0, 4).map(follow);
      await four;
      const fifth = await follow(strangers[4]!);
      expect(fifth).toMatchObject(refusal(429, "rate_limited"));
      expect(fifth.headers["retry-after"]).toMatch(/^\d+$/);
      for (const answer of waiting) answer();
      expect((await Promise.all(first)).map((response) => response.status)).toEqual([202, 202, 202, 202]);
      expect(await withPlatformAdmin((tx) => tx.federationPeer.count({ where: { instanceId: { startsWith: `${origin}/` } } }))).toBe(4);
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it("refuses it when its discovery document cannot be read, or follows someone else", async () => {
    const asking = await another();
    asking.document = { ...asking.document, protocol: "civitas-federation/9" };
    expect(await send(peerActivity(asking, "Follow", instanceId()), asking.key)).toMatchObject(refusal(401, "bad_signature"));
    const confused = await another();
    expect(await send(peerActivity(confused, "Follow", "https://third.example"), confused.key)).toMatchObject(refusal(401, "bad_signature"));
  });

  it("refuses new peering requests while too many wait for the operator, without fetching anything", async () => {
    const waiting = Array.from({ length: MAX_PENDING_REQUESTS }, (_, index) => `https://waiting-${index}.example`);
    await withPlatformAdmin((tx) =>
      tx.federationPeer.createMany({
        data: waiting.map((id) => ({ id: randomUUID(), instanceId: id, baseUrl: id, inboxUrl: `${id}/federation/inbox`, name: id, keys: [], discovery: {}, followId: `${id}/federation/activities/1` })),
      }),
    );
    try {
      const asking = await another();
      let fetched = 0;
      const document = asking.document;
      Object.defineProperty(asking, "document", { get: () => ((fetched += 1), document), configurable: true });
      const answer = await send(peerActivity(asking, "Follow", instanceId()), asking.key);
      expect(answer).toMatchObject(refusal(503, "too_many_requests"));
      expect(answer.headers["retry-after"]).toMatch(/^\d+$/);
      expect(fetched).toBe(0);
      // A peer already known is not a new request: its messages still come in.
      expect(await send(rename(peer, "Graz still"), peer.key)).toMatchObject({ status: 202 });
    } finally {
      await withPlatformAdmin((tx) => tx.federationPeer.deleteMany({ where: { instanceId: { in: waiting } } }));
    }
  });

  it("limits the Follows of this instance per client address (an IPv6 /64), peer or not", async () => {
    const asking = await another();
    const follow = (clientAddress: string) => {
      const body = JSON.stringify(peerActivity(asking, "Follow", instanceId()));
      const url = requestTarget("/federation/inbox");
      const { headers } = signedPost(url, body, asking.key);
      return receiveActivity(
        { method: "POST", url, headers, body: Buffer.from(body), contentType: headers["content-type"], clientAddress },
        { database: processDatabase.database },
      ).then(
        () => 202,
        (error: unknown) => (error instanceof InboxRefusal ? `${error.status} ${error.code}` : Promise.reject(error)),
      );
    };
    // The first one makes it a pending peer; the others are its Follow again.
    for (let index = 0; index < FOLLOWS_PER_ADDRESS; index += 1) expect(await follow("2001:db8:1:2::7")).toBe(202);
    expect(await follow("2001:db8:1:2:ffff::9")).toBe("429 rate_limited");
    expect(await follow("2001:db8:1:3::7")).toBe(202);
    expect(await follow("198.51.100.7")).toBe(202);
  });

  it("keys client addresses by IPv4 address, or by IPv6 /64", () => {
    expect(addressKey("198.51.100.7")).toBe("198.51.100.7");
    expect(addressKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(addressKey("2001:db8:1:2::7")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff::9")).toBe("2001:db8:1:2::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
  });
});
