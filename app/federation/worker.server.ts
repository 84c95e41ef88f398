// The federation's background work, in every app process: delivering the outbox (every couple
// of seconds), refreshing the datasets that are due (every minute), and pruning what is kept
// only for a while (hourly). Safe with several processes: deliveries are claimed with SKIP
// LOCKED (outbox.server.ts), refreshes claim their datasets (datasets.server.ts), pruning is
// idempotent. A failure is logged and the next tick tries again.
import { withPlatformAdmin, type Database } from "../db/database.server";
import { DESTROYED_PRIVATE_KEY } from "./instance.server";
import { deliverDue, replacedKid } from "./outbox.server";

export type FederationWorker = { tick(): Promise<void>; stop(): Promise<void> };

export type FederationWorkerOptions = {
  database?: Database;
  log: (line: string) => void;
  /** How often the outbox is looked at (default 2 s). */
  tickMs?: number;
  /** How often datasets are refreshed (default 60 s). */
  refreshMs?: number;
  /** How often copies of peers' datasets that missed something catch up (default 15 s). */
  catchUpMs?: number;
  /** How often old rows are pruned (default 1 h). */
  pruneMs?: number;
  /** The clock (tests). */
  now?: () => Date;
};

/** Inbox receipts are kept a week: much longer than the signature window (docs §10 asks 24 h). */
export const INBOX_RECEIPT_DAYS = 7;
/** Delivered messages are kept a week (what was sent, for an operator's questions). */
export const DELIVERED_MESSAGE_DAYS = 7;
/** Failed ones a month: the operator sees them in the console. */
export const FAILED_MESSAGE_DAYS = 30;
/**
 * A retired key's private half is destroyed a week after its rotation, unless a key rotation's
 * Update that replaces it is still waiting for a peer (everything to that peer is signed with it
 * until then: outbox.server.ts). Its row and public half stay: they verify what this instance
 * signed with it (components' proofs), and private_key, NOT NULL, holds DESTROYED_PRIVATE_KEY.
 */
export const RETIRED_KEY_DAYS = 7;
/** Batches delivered per tick at most: a backlog drains quickly without holding the tick forever. */
const BATCHES_PER_TICK = 10;
const BATCH_SIZE = 50;

const DAY_MS = 24 * 60 * 60 * 1000;

export function startFederationWorker(options: FederationWorkerOptions): FederationWorker {
  const clock = options.now ?? (() => new Date());
  let lastRefresh = -Infinity;
  let lastCatchUp = -Infinity;
  let lastPrune = -Infinity;
  let running: Promise<void> | null = null;
  let stopped = false;

  const report = (what: string, error: unknown) =>
    options.log(`federation ${what} failed: ${error instanceof Error ? error.message : String(error)}`);

  async function deliver(): Promise<void> {
    for (let batch = 0; batch < BATCHES_PER_TICK && !stopped; batch += 1) {
      const result = await deliverDue({ database: options.database, now: clock(), limit: BATCH_SIZE });
      if (result.failed > 0) options.log(`federation: ${result.failed} message(s) failed for good (see the platform console)`);
      if (result.delivered + result.retried + result.failed < BATCH_SIZE) return;
    }
  }

  async function refresh(): Promise<void> {
    const { refreshDueDatasets } = await import("./datasets.server");
    await refreshDueDatasets({ database: options.database });
  }

  // Our copies of peers' datasets that missed something (a gap in the pushes, a new
  // subscription, an hour without news) read the origin's pull feed.
  async function catchUp(): Promise<void> {
    const { catchUpDue } = await import("./datasets.server");
    const result = await catchUpDue({ database: options.database });
    if (result.failed > 0) options.log(`federation: ${result.failed} dataset(s) could not catch up (origin unreachable?)`);
  }

  async function tick(): Promise<void> {
    const now = clock().getTime();
    // Each step on its own: a failing refresh must not hold up deliveries, nor the reverse.
    await deliver().catch((error: unknown) => report("delivery", error));
    if (stopped) return;
    if (now - lastCatchUp >= (options.catchUpMs ?? 15_000)) {
      lastCatchUp = now;
      await catchUp().catch((error: unknown) => report("catch-up", error));
    }
    if (stopped) return;
    if (now - lastRefresh >= (options.refreshMs ?? 60_000)) {
      lastRefresh = now;
      await refresh().catch((error: unknown) => report("dataset refresh", error));
    }
    if (stopped) return;
    if (now - lastPrune >= (options.pruneMs ?? 60 * 60 * 1000)) {
      lastPrune = now;
      await pruneFederationRows({ database: options.database, now: new Date(now) }).catch((error: unknown) => report("pruning", error));
    }
  }

  const timer = setInterval(() => {
    if (running || stopped) return;
    running = tick().finally(() => {
      running = null;
    });
  }, options.tickMs ?? 2_000);
  timer.unref();

  return {
    tick: async () => {
      // A tick asked for while the timer's runs waits for it: never two at once in a process.
      while (running) await running;
      running = tick().finally(() => {
        running = null;
      });
      await running;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Deletes the rows kept only for a while, and destroys old retired private keys (see the
 * constants above); answers how many of each.
 */
export async function pruneFederationRows(
  options: { database?: Database; now?: Date } = {},
): Promise<{ receipts: number; messages: number; keys: number }> {
  const now = (options.now ?? new Date()).getTime();
  const before = (days: number) => new Date(now - days * DAY_MS);
  return withPlatformAdmin(async (tx) => {
    const receipts = await tx.federationInbox.deleteMany({ where: { receivedAt: { lt: before(INBOX_RECEIPT_DAYS) } } });
    const delivered = await tx.federationOutbox.deleteMany({ where: { status: "delivered", deliveredAt: { lt: before(DELIVERED_MESSAGE_DAYS) } } });
    const failed = await tx.federationOutbox.deleteMany({ where: { status: "failed", createdAt: { lt: before(FAILED_MESSAGE_DAYS) } } });
    const rotations = await tx.$queryRaw<{ activity: unknown }[]>`
      SELECT activity FROM federation_outbox
       WHERE status = 'pending' AND activity->>'type' = 'Update' AND activity->'object'->>'type' = 'CivitasInstance'`;
    const stillSigning = rotations.map((rotation) => replacedKid(rotation.activity)).filter((kid): kid is string => kid !== null);
    const keys = await tx.federationKey.updateMany({
      where: {
        status: "retired",
        retiredAt: { lt: before(RETIRED_KEY_DAYS) },
        privateKey: { not: DESTROYED_PRIVATE_KEY },
        ...(stillSigning.length > 0 && { kid: { notIn: stillSigning } }),
      },
      data: { privateKey: DESTROYED_PRIVATE_KEY },
    });
    return { receipts: receipts.count, messages: delivered.count + failed.count, keys: keys.count };
  }, options.database);
}
