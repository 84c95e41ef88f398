// The outbox: messages written with their cause, claimed once across workers, signed at each
// attempt, and what each answer of a peer's inbox means (delivered, retried with backoff, failed).
// Against fake peers on 127.0.0.1. PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { insertPeer, ourPublicKeys, startFakePeer, type FakePeer, type ReceivedRequest } from "../../tests/support/federation";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { discoveryDocumentIn, instanceId, keyIdOf, rotateKey } from "./instance.server";
import {
  backoffMs,
  capabilityOf,
  createActivity,
  deliverDue,
  enqueue,
  enqueueToPeers,
  isPeeringActivity,
  MAX_RETRY_MS,
  replacedKid,
  type Activity,
} from "./outbox.server";
import { verifyRequest } from "./signatures.server";

let database: TestDatabase;
const fakes: FakePeer[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
  await database.drop();
});

beforeEach(async () => {
  // Each test starts with no message and no peer.
  await withPlatformAdmin(async (tx) => {
    await tx.federationOutbox.deleteMany();
    await tx.federationPeer.deleteMany();
  }, database);
});

async function fakePeer(flags: Parameters<typeof insertPeer>[2] = {}): Promise<{ fake: FakePeer; peer: FederationPeer }> {
  const fake = await startFakePeer();
  fakes.push(fake);
  return { fake, peer: await insertPeer(database, fake, flags) };
}

const component = (suffix = randomUUID()) =>
  createActivity("Create", { type: "civitas:Component", id: `${instanceId()}/federation/components/${suffix}`, version: 1 });

const rows = (peerId?: string) =>
  withPlatformAdmin((tx) => tx.federationOutbox.findMany({ where: peerId ? { peerId } : {}, orderBy: { createdAt: "asc" } }), database);

/** A time after everything that is due now (the database's clock wrote the rows). */
const soon = () => new Date(Date.now() + 1000);

async function verifiedKeyId(request: ReceivedRequest, fake: FakePeer): Promise<string> {
  const keys = await ourPublicKeys(database, instanceId());
  const verified = await verifyRequest({
    method: request.method,
    url: `${fake.instanceId}${request.path}`,
    headers: request.headers,
    body: request.body,
    resolveKey: async (keyId) => keys.get(keyId) ?? null,
  });
  return verified.keyId;
}

describe("activities", () => {
  it("tells the handshake from the rest, and a component's activity from a dataset's", () => {
    const peer = "https://b.example";
    const follow = { type: "Follow", id: "https://b.example/federation/activities/1", actor: peer, object: instanceId() };
    expect(isPeeringActivity({ type: "Follow", object: peer }, peer)).toBe(true);
    expect(isPeeringActivity({ type: "Accept", object: follow }, peer)).toBe(true);
    expect(isPeeringActivity({ type: "Undo", object: follow }, peer)).toBe(true);
    expect(isPeeringActivity({ type: "Update", object: { type: "CivitasInstance", id: peer } }, peer)).toBe(true);
    const datasetFollow = { type: "Follow", object: `${instanceId()}/federation/datasets/9` };
    expect(isPeeringActivity(datasetFollow, peer)).toBe(false);
    expect(isPeeringActivity({ type: "Accept", object: datasetFollow }, peer)).toBe(false);
    expect(isPeeringActivity({ type: "Follow", object: "https://c.example" }, peer)).toBe(false);
    expect(capabilityOf(datasetFollow)).toBe("datasets");
    expect(capabilityOf({ type: "Accept", object: datasetFollow })).toBe("datasets");
    expect(capabilityOf({ type: "Update", object: { type: "civitas:DatasetRecords", dataset: "x" } })).toBe("datasets");
    expect(capabilityOf({ type: "Delete", object: `${instanceId()}/federation/components/1` })).toBe("components");
    expect(capabilityOf({ type: "Announce", object: { type: "civitas:Component" } })).toBe("components");
    expect(capabilityOf({ type: "Like", object: "https://b.example/x" })).toBeNull();
  });
});

describe("enqueueing", () => {
  it("writes a message only if its cause commits", async () => {
    const { peer } = await fakePeer();
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    await expect(
      withPlatformAdmin(async (tx) => {
        await enqueue(tx, peer.id, component());
        throw new Error("the cause fails");
      }, database),
    ).rejects.toThrow("the cause fails");
    expect(await rows(peer.id)).toHaveLength(1);
  });

  it("refuses an activity that is not this instance's", async () => {
    const { peer } = await fakePeer();
    await expect(withPlatformAdmin((tx) => enqueue(tx, peer.id, { ...component(), actor: "https://b.example" }), database)).rejects.toThrow(TypeError);
  });

  it("sends to every active peer by default, suspended ones included, and only where the capability is listed", async () => {
    const active = await fakePeer();
    const suspended = await fakePeer({ suspended: true });
    const requested = await fakePeer({ remoteAccepted: false });
    const pending = await fakePeer({ localAccepted: false });
    const noComponents = await startFakePeer();
    fakes.push(noComponents);
    noComponents.document.capabilities = ["peering", "datasets"];
    const withoutComponents = await insertPeer(database, noComponents);
    const count = await withPlatformAdmin((tx) => enqueueToPeers(tx, component()), database);
    expect(count).toBe(2);
    const recipients = (await rows()).map((row) => row.peerId).sort();
    expect(recipients).toEqual([active.peer.id, suspended.peer.id].sort());
    expect(recipients).not.toContain(requested.peer.id);
    expect(recipients).not.toContain(pending.peer.id);
    expect(recipients).not.toContain(withoutComponents.id);
    // Named peers get it whatever their state.
    await withPlatformAdmin((tx) => enqueueToPeers(tx, component(), [pending.peer.id, pending.peer.id]), database);
    expect(await rows(pending.peer.id)).toHaveLength(1);
  });
});

describe("backoff", () => {
  it("waits 30 s, 1 min, 2 min… with ±20 % jitter, capped at 6 hours", () => {
    expect(backoffMs(1, () => 0.5)).toBe(30_000);
    expect(backoffMs(2, () => 0.5)).toBe(60_000);
    expect(backoffMs(3, () => 0.5)).toBe(120_000);
    expect(backoffMs(1, () => 0)).toBe(24_000);
    expect(backoffMs(1, () => 1)).toBe(36_000);
    expect(backoffMs(12, () => 0.5)).toBe(MAX_RETRY_MS);
    expect(backoffMs(500, () => 1)).toBe(Math.round(MAX_RETRY_MS * 1.2));
  });
});

describe("delivery", () => {
  it("POSTs each message once, signed afresh with the current key, and marks it delivered", async () => {
    const { fake, peer } = await fakePeer();
    const activity = component();
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, activity), database);
    const now = soon();
    expect(await deliverDue({ database, now })).toEqual({ delivered: 1, retried: 0, failed: 0 });
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.json).toEqual(activity);
    const current = await withPlatformAdmin((tx) => tx.federationKey.findFirstOrThrow({ where: { status: "current" } }), database);
    expect(await verifiedKeyId(fake.received[0]!, fake)).toBe(keyIdOf(current.kid));
    expect(await rows(peer.id)).toEqual([expect.objectContaining({ status: "delivered", attempts: 1, deliveredAt: now, lastError: null })]);
    // Done: nothing is sent again.
    expect(await deliverDue({ database, now: new Date(now.getTime() + 86_400_000) })).toEqual({ delivered: 0, retried: 0, failed: 0 });
    expect(fake.received).toHaveLength(1);
  });

  it("counts 409 replayed as delivered, and another 409 as a failure", async () => {
    const { fake, peer } = await fakePeer();
    fake.answer = (request) =>
      (request.json as Activity).type === "Create"
        ? { status: 409, body: { error: "replayed", message: "seen" } }
        : { status: 409, body: { error: "conflict", message: "no" } };
    await withPlatformAdmin(async (tx) => {
      await enqueue(tx, peer.id, component());
      await enqueue(tx, peer.id, createActivity("Delete", `${instanceId()}/federation/components/1`));
    }, database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 1, retried: 0, failed: 1 });
    expect((await rows(peer.id)).find((row) => row.status === "failed")?.lastError).toBe("HTTP 409 conflict: no");
  });

  it("retries a 5xx with backoff, and a 429 no sooner than its Retry-After", async () => {
    const { fake, peer } = await fakePeer();
    fake.answer = (request) =>
      (request.json as Activity).type === "Create"
        ? { status: 503, body: { error: "unavailable", message: "maintenance" } }
        : { status: 429, body: { error: "rate_limited", message: "slow down" }, headers: { "retry-after": "600" } };
    await withPlatformAdmin(async (tx) => {
      await enqueue(tx, peer.id, component());
      await enqueue(tx, peer.id, createActivity("Delete", `${instanceId()}/federation/components/1`));
    }, database);
    const now = soon();
    expect(await deliverDue({ database, now, random: () => 0.5 })).toEqual({ delivered: 0, retried: 2, failed: 0 });
    const [create, remove] = await rows(peer.id);
    expect(create).toMatchObject({ status: "pending", attempts: 1, lastError: "HTTP 503 unavailable: maintenance" });
    expect(create!.nextAttemptAt.getTime()).toBe(now.getTime() + 30_000);
    expect(remove!.nextAttemptAt.getTime()).toBe(now.getTime() + 600_000);

    // Not due before its time; then tried again, and waiting twice as long.
    expect(await deliverDue({ database, now: new Date(now.getTime() + 29_000) })).toEqual({ delivered: 0, retried: 0, failed: 0 });
    const second = new Date(now.getTime() + 31_000);
    expect(await deliverDue({ database, now: second, random: () => 0.5 })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    const [again] = await rows(peer.id);
    expect(again).toMatchObject({ attempts: 2 });
    expect(again!.nextAttemptAt.getTime()).toBe(second.getTime() + 60_000);
    expect(fake.received).toHaveLength(3);
  });

  it("fails at once on another 4xx, keeping the peer's reason", async () => {
    const { fake, peer } = await fakePeer();
    fake.answer = () => ({ status: 403, body: { error: "peer_not_accepted", message: "The peering handshake is not finished." } });
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 0, retried: 0, failed: 1 });
    expect(await rows(peer.id)).toEqual([
      expect.objectContaining({ status: "failed", attempts: 1, lastError: "HTTP 403 peer_not_accepted: The peering handshake is not finished." }),
    ]);
  });

  it("retries when the peer cannot be reached, and gives up after 3 days", async () => {
    const closed = http.createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const { peer } = await fakePeer();
    await withPlatformAdmin((tx) => tx.federationPeer.update({ where: { id: peer.id }, data: { inboxUrl: `http://127.0.0.1:${port}/federation/inbox` } }), database);
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    const now = soon();
    expect(await deliverDue({ database, now })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect((await rows(peer.id))[0]!.lastError).toMatch(/could not be reached/);

    const [row] = await rows(peer.id);
    const threeDaysLater = new Date(row!.createdAt.getTime() + 3 * 86_400_000 + 1000);
    expect(await deliverDue({ database, now: threeDaysLater })).toEqual({ delivered: 0, retried: 0, failed: 1 });
    expect((await rows(peer.id))[0]).toMatchObject({ status: "failed", attempts: 2, lastError: expect.stringMatching(/^gave up after 3 days: .*could not be reached/) });
  });

  it("sends only the handshake to a peer that has not accepted, and nothing to a suspended one", async () => {
    const requested = await fakePeer({ remoteAccepted: false });
    const suspended = await fakePeer({ suspended: true });
    const follow = (peer: FederationPeer): Activity => ({ ...createActivity("Follow", peer.instanceId) });
    await withPlatformAdmin(async (tx) => {
      await enqueue(tx, requested.peer.id, component());
      await enqueue(tx, requested.peer.id, follow(requested.peer));
      await enqueue(tx, suspended.peer.id, follow(suspended.peer));
    }, database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 1, retried: 0, failed: 0 });
    expect(requested.fake.received.map((request) => (request.json as Activity).type)).toEqual(["Follow"]);
    expect(suspended.fake.received).toHaveLength(0);

    // Once the peering is active and the suspension lifted, what waited goes.
    await withPlatformAdmin(async (tx) => {
      await tx.federationPeer.update({ where: { id: requested.peer.id }, data: { remoteAccepted: true } });
      await tx.federationPeer.update({ where: { id: suspended.peer.id }, data: { suspended: false } });
    }, database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 2, retried: 0, failed: 0 });
    expect(requested.fake.received.map((request) => (request.json as Activity).type)).toEqual(["Follow", "Create"]);
    expect(suspended.fake.received).toHaveLength(1);
  });

  it("does not let one peer's backlog starve the others", async () => {
    const busy = await fakePeer();
    const quiet = await fakePeer();
    await withPlatformAdmin(async (tx) => {
      for (let index = 0; index < 30; index += 1) await enqueue(tx, busy.peer.id, component());
    }, database);
    await withPlatformAdmin((tx) => enqueue(tx, quiet.peer.id, component()), database);
    expect(await deliverDue({ database, now: soon(), limit: 10, perPeer: 5 })).toEqual({ delivered: 6, retried: 0, failed: 0 });
    expect(quiet.fake.received).toHaveLength(1);
    expect(busy.fake.received).toHaveLength(5);
  });

  it("delivers each message once when several workers run at the same time", async () => {
    const { fake, peer } = await fakePeer();
    await withPlatformAdmin(async (tx) => {
      for (let index = 0; index < 20; index += 1) await enqueue(tx, peer.id, component());
    }, database);
    const now = soon();
    const reports = await Promise.all(Array.from({ length: 4 }, () => deliverDue({ database, now, limit: 20, perPeer: 20 })));
    expect(reports.reduce((sum, report) => sum + report.delivered, 0)).toBe(20);
    const ids = fake.received.map((request) => (request.json as Activity).id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });

  it("leaves a claimed message alone while another worker delivers it (its lease)", async () => {
    const { peer } = await fakePeer();
    // An inbox that holds its answer until told.
    let arrived: () => void = () => undefined;
    let release: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    let requests = 0;
    const slow = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        requests += 1;
        arrived();
        void released.then(() => res.writeHead(202, { "content-type": "application/json" }).end('{"status":"accepted"}'));
      });
    });
    slow.listen(0, "127.0.0.1");
    await once(slow, "listening");
    try {
      const inbox = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/federation/inbox`;
      await withPlatformAdmin((tx) => tx.federationPeer.update({ where: { id: peer.id }, data: { inboxUrl: inbox } }), database);
      await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
      const now = soon();
      const first = deliverDue({ database, now });
      await reached;
      expect(await deliverDue({ database, now: new Date(now.getTime() + 60_000) })).toEqual({ delivered: 0, retried: 0, failed: 0 });
      release();
      expect(await first).toEqual({ delivered: 1, retried: 0, failed: 0 });
      expect(requests).toBe(1);
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
});

describe("signing during a key rotation", () => {
  it("signs with the key the announced one replaces until the announcement is delivered", async () => {
    const { fake, peer } = await fakePeer();
    const before = await withPlatformAdmin((tx) => tx.federationKey.findFirst({ where: { status: "current" } }), database);
    const { previous, current } = await withPlatformAdmin(async (tx) => {
      const keys = await rotateKey(tx);
      const update = createActivity("Update", await discoveryDocumentIn(tx));
      expect(replacedKid(update)).toBe(keys.previous);
      await enqueue(tx, peer.id, update);
      await enqueue(tx, peer.id, component());
      return keys;
    }, database);
    if (before) expect(previous).toBe(before.kid);

    // The peer is down for the Update: the Create goes, signed with the old key it still trusts.
    fake.answer = (request) => ((request.json as Activity).type === "Update" ? { status: 503 } : { status: 202 });
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 1, retried: 1, failed: 0 });
    expect(await Promise.all(fake.received.map((request) => verifiedKeyId(request, fake)))).toEqual([keyIdOf(previous), keyIdOf(previous)]);

    // The Update gets through (still with the old key); what follows is signed with the new one.
    fake.answer = () => ({ status: 202 });
    fake.received.length = 0;
    expect((await deliverDue({ database, now: new Date(Date.now() + 3_600_000) })).delivered).toBe(1);
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    expect((await deliverDue({ database, now: new Date(Date.now() + 3_600_000) })).delivered).toBe(1);
    expect(await Promise.all(fake.received.map((request) => verifiedKeyId(request, fake)))).toEqual([keyIdOf(previous), keyIdOf(current)]);
  });
});
