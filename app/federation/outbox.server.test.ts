// The outbox: messages written with their cause, claimed once across workers, signed at each
// attempt, and what each answer of a peer's inbox means (delivered, retried with backoff, failed).
// Against fake peers on 127.0.0.1. PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { insertPeer, ourPublicKeys, startFakePeer, type FakePeer, type ReceivedRequest } from "../../tests/support/federation";
import { resetConfig } from "../config.server";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { currentKey, discoveryDocumentIn, instanceId, keyIdOf, rotateKey } from "./instance.server";
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
    const unavailable = await fakePeer();
    const busy = await fakePeer();
    unavailable.fake.answer = () => ({ status: 503, body: { error: "unavailable", message: "maintenance" } });
    busy.fake.answer = () => ({ status: 429, body: { error: "rate_limited", message: "slow down" }, headers: { "retry-after": "600" } });
    await withPlatformAdmin(async (tx) => {
      await enqueue(tx, unavailable.peer.id, component());
      await enqueue(tx, busy.peer.id, createActivity("Delete", `${instanceId()}/federation/components/1`));
    }, database);
    const now = soon();
    expect(await deliverDue({ database, now, random: () => 0.5 })).toEqual({ delivered: 0, retried: 2, failed: 0 });
    const [create] = await rows(unavailable.peer.id);
    const [remove] = await rows(busy.peer.id);
    expect(create).toMatchObject({ status: "pending", attempts: 1, lastError: "HTTP 503 unavailable: maintenance" });
    expect(create!.nextAttemptAt.getTime()).toBe(now.getTime() + 30_000);
    expect(remove!.nextAttemptAt.getTime()).toBe(now.getTime() + 600_000);

    // Not due before its time; then tried again, and waiting twice as long.
    expect(await deliverDue({ database, now: new Date(now.getTime() + 29_000) })).toEqual({ delivered: 0, retried: 0, failed: 0 });
    const second = new Date(now.getTime() + 31_000);
    expect(await deliverDue({ database, now: second, random: () => 0.5 })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    const [again] = await rows(unavailable.peer.id);
    expect(again).toMatchObject({ attempts: 2 });
    expect(again!.nextAttemptAt.getTime()).toBe(second.getTime() + 60_000);
    expect(unavailable.fake.received).toHaveLength(2);
    expect(busy.fake.received).toHaveLength(1);
  });

  it("retries a 401 that a key rotation explains, and fails another 401 at once", async () => {
    const { fake, peer } = await fakePeer();
    const answers = [
      { status: 401, body: { error: "unknown_key", message: "No known key" } },
      { status: 401, body: { error: "bad_signature", message: "does not verify" } },
      { status: 401, body: { error: "digest_mismatch", message: "altered" } },
    ];
    fake.answer = () => answers.shift() ?? { status: 202 };
    await withPlatformAdmin(async (tx) => {
      await enqueue(tx, peer.id, component());
      await enqueue(tx, peer.id, component());
    }, database);
    const now = soon();
    expect(await deliverDue({ database, now })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect(await deliverDue({ database, now: new Date(now.getTime() + 3_600_000) })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect(await deliverDue({ database, now: new Date(now.getTime() + 7_200_000) })).toEqual({ delivered: 1, retried: 0, failed: 1 });
    expect((await rows(peer.id)).map((row) => [row.status, row.attempts, row.lastError])).toEqual([
      ["failed", 3, "HTTP 401 digest_mismatch: altered"],
      ["delivered", 1, null],
    ]);
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

  it("delivers one peer's messages in the order they were written, a message to retry holding back those behind it", async () => {
    const { fake, peer } = await fakePeer();
    const dataset = `${instanceId()}/federation/datasets/${randomUUID()}`;
    const written = [
      createActivity("Create", { type: "civitas:Dataset", id: dataset }),
      createActivity("Update", { type: "civitas:Dataset", id: dataset }),
      createActivity("Delete", dataset),
    ];
    // Written in one transaction (one created_at for all if it were the transaction's time).
    await withPlatformAdmin(async (tx) => {
      for (const activity of written) await enqueue(tx, peer.id, activity);
    }, database);
    let down = true;
    fake.answer = () => (down ? { status: 503 } : { status: 202 });
    const now = soon();
    expect(await deliverDue({ database, now })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    // Only the Create was tried; the others wait behind it, even when they are due.
    expect(fake.received.map((request) => (request.json as Activity).id)).toEqual([written[0]!.id]);
    expect(await deliverDue({ database, now: new Date(now.getTime() + 10_000) })).toEqual({ delivered: 0, retried: 0, failed: 0 });
    down = false;
    expect(await deliverDue({ database, now: new Date(now.getTime() + 3_600_000) })).toEqual({ delivered: 3, retried: 0, failed: 0 });
    expect(fake.received.map((request) => (request.json as Activity).id)).toEqual([written[0]!.id, ...written.map((activity) => activity.id)]);
  });

  it("lets the next message go once one is refused for good, and never holds back another peer", async () => {
    const refusing = await fakePeer();
    const down = await fakePeer();
    const fine = await fakePeer();
    refusing.fake.answer = (request) => ((request.json as Activity).type === "Create" ? { status: 422, body: { error: "refused", message: "no" } } : { status: 202 });
    down.fake.answer = () => ({ status: 503 });
    await withPlatformAdmin(async (tx) => {
      for (const { peer } of [refusing, down, fine]) {
        await enqueue(tx, peer.id, component());
        await enqueue(tx, peer.id, createActivity("Delete", `${instanceId()}/federation/components/1`));
      }
    }, database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 3, retried: 1, failed: 1 });
    expect(refusing.fake.received.map((request) => (request.json as Activity).type)).toEqual(["Create", "Delete"]);
    expect(down.fake.received.map((request) => (request.json as Activity).type)).toEqual(["Create"]);
    expect(fine.fake.received.map((request) => (request.json as Activity).type)).toEqual(["Create", "Delete"]);
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
    const reports = await Promise.all(Array.from({ length: 4 }, (_, index) => deliverDue({ database, now, limit: 20, perPeer: 5 + index })));
    expect(reports.reduce((sum, report) => sum + report.delivered, 0)).toBeGreaterThan(0);
    // What is left goes on later runs; nothing twice, and in order.
    for (let round = 1; round <= 5; round += 1) await deliverDue({ database, now: new Date(now.getTime() + round * 3_600_000) });
    const ids = fake.received.map((request) => (request.json as Activity).id);
    expect(ids).toEqual((await rows(peer.id)).map((row) => (row.activity as Activity).id));
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
      // A second message behind it: another worker must not send it before the first is done.
      await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
      const now = soon();
      const first = deliverDue({ database, now, perPeer: 1 });
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
  it("signs with the key the announced one replaces until the announcement is delivered, then with the new one", async () => {
    const { fake, peer } = await fakePeer();
    const before = await withPlatformAdmin((tx) => tx.federationKey.findFirst({ where: { status: "current" } }), database);
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    const { previous, current } = await withPlatformAdmin(async (tx) => {
      const keys = await rotateKey(tx);
      const update = createActivity("Update", await discoveryDocumentIn(tx));
      expect(replacedKid(update)).toBe(keys.previous);
      await enqueue(tx, peer.id, update);
      await enqueue(tx, peer.id, component());
      return keys;
    }, database);
    if (before) expect(previous).toBe(before.kid);

    // The peer is down for the Update: the Create written before the rotation goes, signed with
    // the old key it still trusts; the Create written after waits behind the Update.
    fake.answer = (request) => ((request.json as Activity).type === "Update" ? { status: 503 } : { status: 202 });
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 1, retried: 1, failed: 0 });
    const sent = async () =>
      Promise.all(fake.received.map(async (request) => [(request.json as Activity).type, await verifiedKeyId(request, fake)]));
    expect(await sent()).toEqual([
      ["Create", keyIdOf(previous)],
      ["Update", keyIdOf(previous)],
    ]);

    // The Update gets through (still with the old key), and what follows it is signed with the new one.
    fake.answer = () => ({ status: 202 });
    fake.received.length = 0;
    expect(await deliverDue({ database, now: new Date(Date.now() + 3_600_000) })).toEqual({ delivered: 2, retried: 0, failed: 0 });
    expect(await sent()).toEqual([
      ["Update", keyIdOf(previous)],
      ["Create", keyIdOf(current)],
    ]);
  });

  it("never gives up an instance Update while the peer is a peer", async () => {
    const { fake, peer } = await fakePeer();
    fake.answer = () => ({ status: 403, body: { error: "peer_not_accepted", message: "not yet" } });
    await withPlatformAdmin(async (tx) => {
      await rotateKey(tx);
      await enqueue(tx, peer.id, createActivity("Update", await discoveryDocumentIn(tx)));
    }, database);
    expect(await deliverDue({ database, now: soon(), random: () => 0.5 })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    const [row] = await rows(peer.id);
    expect(row).toMatchObject({ status: "pending", attempts: 1, lastError: "HTTP 403 peer_not_accepted: not yet" });
    // Days later, when any other message would have been given up.
    const later = new Date(row!.createdAt.getTime() + 4 * 86_400_000);
    expect(await deliverDue({ database, now: later, random: () => 0.5 })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect((await rows(peer.id))[0]).toMatchObject({ status: "pending", attempts: 2 });
    expect((await rows(peer.id))[0]!.nextAttemptAt.getTime()).toBe(later.getTime() + 60_000);
  });
});

describe("addresses", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    resetConfig();
  });

  it("does not deliver to a peer whose inbox resolves to loopback when this instance is not on loopback, and tries again later", async () => {
    const { fake, peer } = await fakePeer();
    await withPlatformAdmin((tx) => tx.federationPeer.update({ where: { id: peer.id }, data: { inboxUrl: `http://localhost:${fake.port}/federation/inbox` } }), database);
    await currentKey(database);
    vi.stubEnv("CIVITAS_PUBLIC_URL", "https://civitas.example");
    resetConfig();
    await withPlatformAdmin((tx) => enqueue(tx, peer.id, component()), database);
    expect(await deliverDue({ database, now: soon() })).toEqual({ delivered: 0, retried: 1, failed: 0 });
    expect((await rows(peer.id))[0]!.lastError).toMatch(/was not contacted: localhost resolves to .*a loopback address/);
    expect(fake.received).toHaveLength(0);
  });
});
