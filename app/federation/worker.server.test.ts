// The federation worker: a tick delivers what is due, and pruning keeps what must be kept
// (recent receipts, undelivered messages, keys still in their week). PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { insertPeer, startFakePeer, type FakePeer } from "../../tests/support/federation";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { currentKey, instanceId, rotateKey } from "./instance.server";
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
  it("deletes old receipts, old delivered and failed messages and week-old retired keys, and nothing else", async () => {
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
        keys: (await tx.federationKey.findMany({ select: { kid: true } })).map((row) => row.kid),
      }),
      database,
    );
    expect(left.receipts).toEqual(["recent-receipt"]);
    expect(left.messages).toEqual(expect.arrayContaining(["delivered-recent", "failed-recent", "pending-old"]));
    expect(left.messages).not.toContain("delivered-old");
    expect(left.messages).not.toContain("failed-old");
    expect(left.keys).not.toContain(rotated.old.previous);
    expect(left.keys).toEqual(expect.arrayContaining([rotated.recent.previous, rotated.recent.current]));
  });
});
