// The federation worker: a tick delivers what is due, and pruning keeps what must be kept
// (recent receipts, undelivered messages, keys still in their week). PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { insertPeer, startFakePeer, type FakePeer } from "../../tests/support/federation";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { currentKey, discoveryDocumentIn, instanceId, instanceKey, keyIdOf, rotateKey } from "./instance.server";
import { createActivity, enqueue } from "./outbox.server";
import { pruneFederationRows, startFederationWorker } from "./worker.server";

let database: TestDatabase;
let fake: FakePeer;
let peer: FederationPeer;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakePeer();
  peer = await insertPeer(database, fake);
});

afterAll(async () => {
  await fake.close();
  await database.drop();
});

const DAY = 24 * 60 * 60 * 1000;

describe("the worker", () => {
  it("delivers the outbox at each tick, and stops", async () => {
    const lines: string[] = [];
    // A timer far away: only the ticks this test asks for run.
    const worker = startFederationWorker({ database, log: (line) => lines.push(line), tickMs: 3_600_000 });
    try {
      const activity = createActivity("Delete", `${instanceId()}/federation/components/${randomUUID()}`);
      await withPlatformAdmin((tx) => enqueue(tx, peer.id, activity), database);
      await worker.tick();
      expect(fake.received.map((request) => (request.json as { id: string }).id)).toEqual([activity.id]);
      // Two ticks asked for at once run one after the other, and deliver nothing twice.
      await Promise.all([worker.tick(), worker.tick()]);
      expect(fake.received).toHaveLength(1);
      expect(lines).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it("says when messages fail for good", async () => {
    const lines: string[] = [];
    const worker = startFederationWorker({ database, log: (line) => lines.push(line), tickMs: 3_600_000 });
    fake.answer = () => ({ status: 400, body: { error: "malformed", message: "no" } });
    try {
      await withPlatformAdmin((tx) => enqueue(tx, peer.id, createActivity("Delete", `${instanceId()}/federation/components/${randomUUID()}`)), database);
      await worker.tick();
      expect(lines).toEqual([expect.stringMatching(/1 message\(s\) failed for good/)]);
    } finally {
      fake.answer = () => ({ status: 202 });
      await worker.stop();
    }
  });
});

describe("pruning", () => {
  it("deletes old receipts and old delivered and failed messages, destroys week-old retired private keys, and nothing else", async () => {
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const activity = (id: string) => ({ id, type: "Delete", actor: instanceId(), object: "x" });
    await currentKey(database);
    const rotated = await withPlatformAdmin(async (tx) => {
      const old = await rotateKey(tx, ago(8));
      const recent = await rotateKey(tx, ago(2));
      await tx.federationInbox.createMany({
        data: [
          { messageId: "old-receipt", peerId: peer.id, type: "Create", receivedAt: ago(8) },
          { messageId: "recent-receipt", peerId: peer.id, type: "Create", receivedAt: ago(1) },
        ],
      });
      await tx.federationOutbox.createMany({
        data: [
          { id: randomUUID(), peerId: peer.id, activity: activity("delivered-old"), status: "delivered", deliveredAt: ago(8), createdAt: ago(8) },
          { id: randomUUID(), peerId: peer.id, activity: activity("delivered-recent"), status: "delivered", deliveredAt: ago(1), createdAt: ago(1) },
          { id: randomUUID(), peerId: peer.id, activity: activity("failed-old"), status: "failed", createdAt: ago(31) },
          { id: randomUUID(), peerId: peer.id, activity: activity("failed-recent"), status: "failed", createdAt: ago(8) },
          // Waiting for a suspended peer for weeks: kept, it is still to be sent.
          { id: randomUUID(), peerId: peer.id, activity: activity("pending-old"), status: "pending", createdAt: ago(40), nextAttemptAt: ago(40) },
        ],
      });
      return { old, recent };
    }, database);

    const pruned = await pruneFederationRows({ database, now });
    expect(pruned).toEqual({ receipts: 1, messages: 2, keys: 1 });
    const left = await withPlatformAdmin(
      async (tx) => ({
        receipts: (await tx.federationInbox.findMany({ select: { messageId: true } })).map((row) => row.messageId),
        messages: (await tx.federationOutbox.findMany({ select: { activity: true } })).map((row) => (row.activity as { id: string }).id),
        keys: await tx.federationKey.findMany({ select: { kid: true, publicKey: true, privateKey: true } }),
      }),
      database,
    );
    expect(left.receipts).toEqual(["recent-receipt"]);
    expect(left.messages).toEqual(expect.arrayContaining(["delivered-recent", "failed-recent", "pending-old"]));
    expect(left.messages).not.toContain("delivered-old");
    expect(left.messages).not.toContain("failed-old");
    // The week-old key keeps its public half (it verifies what was signed with it), not its private one.
    const kept = new Map(left.keys.map((key) => [key.kid, key]));
    expect(kept.get(rotated.old.previous)).toMatchObject({ privateKey: "", publicKey: expect.stringContaining("BEGIN PUBLIC KEY") });
    expect(await instanceKey(rotated.old.previous, database)).toBeNull();
    for (const kid of [rotated.recent.previous, rotated.recent.current]) expect(kept.get(kid)?.privateKey).toContain("BEGIN PRIVATE KEY");
    expect(await pruneFederationRows({ database, now })).toEqual({ receipts: 0, messages: 0, keys: 0 });
  });

  it("keeps a retired private key as long as a rotation's Update that replaces it waits for a peer", async () => {
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const { update, retired } = await withPlatformAdmin(async (tx) => {
      const rotation = await rotateKey(tx, ago(20));
      // The document as it was then: the new key, and the one it replaced (not those retired since).
      const document = await discoveryDocumentIn(tx, ago(20));
      const keys = document.keys.filter((key) => key.status === "current" || key.id === keyIdOf(rotation.previous));
      const activity = createActivity("Update", { ...document, keys });
      await enqueue(tx, peer.id, activity);
      return { update: activity, retired: rotation.previous };
    }, database);
    expect((await pruneFederationRows({ database, now })).keys).toBe(0);
    expect((await instanceKey(retired, database))?.kid).toBe(retired);
    // Delivered at last: the key signs nothing any more.
    await withPlatformAdmin((tx) => tx.federationOutbox.updateMany({ where: { activity: { path: ["id"], equals: update.id } }, data: { status: "delivered", deliveredAt: now } }), database);
    expect((await pruneFederationRows({ database, now })).keys).toBe(1);
    expect(await instanceKey(retired, database)).toBeNull();
  });
});
