// Slows password guessing on the sign-in form. Two buckets per realm gate each attempt:
// - the account: at most 5 failed attempts per 15 minutes for one account (its id, so its
//   username and its email address share the bucket; a login naming no account has a bucket of
//   its own), then every attempt is refused, the right password too, until the oldest of those
//   failures is 15 minutes old. That is the longest a lock lasts: whoever locked an account can
//   lock it again 15 minutes later (Keycloak's brute-force detection has the same trade-off),
//   which the second bucket limits;
// - the client's address (an IPv6 client's /64 network): at most 20 failures per 15 minutes
//   across all logins, so one client cannot spray a password over many usernames, nor keep more
//   than four accounts locked.
// An attempt is reserved in both buckets before its password is checked and counts against
// them while in flight, so parallel requests cannot all pass the check before the failures are
// recorded. Kept in the process' memory, like the embedded provider itself (one process;
// development and evaluation).
import { isIPv4, isIPv6 } from "node:net";

const MAX_TRACKED = 10_000;
/** Retry-After when a bucket is full of attempts still being checked rather than failures. */
const IN_FLIGHT_RETRY_MS = 1_000;

export type BucketKind = "account" | "client";
export type BucketLimit = { limit: number; windowMs: number };

export type SignInAttempt = {
  /** Signed in: the account's failures are forgotten (the client's are kept). */
  succeeded(): void;
  /** Refused (wrong password, unknown account, disabled account): a failure in both buckets. */
  failed(now?: number): void;
  /** Neither (the check itself broke): the reservation is given back and nothing is counted. */
  abandoned(): void;
};

export type Reservation =
  | { ok: true; attempt: SignInAttempt }
  | {
      ok: false;
      /** Milliseconds until an attempt may be made again. */
      retryAfterMs: number;
      /** The bucket that refused (the account's when both did). */
      limitedBy: BucketKind;
      /** The first refusal since the bucket last let an attempt through: the one worth recording. */
      firstRefusal: boolean;
    };

export type SignInThrottle = {
  /**
   * Reserves one attempt, or says why not. `account` names the account bucket: the account's id
   * when the login names one, else the normalised login. `client` is clientBucket(address).
   */
  reserve(attempt: { realm: string; account: string; client: string }, now?: number): Reservation;
};

type Bucket = { limit: number; windowMs: number; failures: number[]; inFlight: number; refusalNoticed: boolean };

export function createSignInThrottle(
  limits: { account?: BucketLimit; client?: BucketLimit } = {},
): SignInThrottle {
  const account = limits.account ?? { limit: 5, windowMs: 15 * 60_000 };
  const client = limits.client ?? { limit: 20, windowMs: 15 * 60_000 };
  const buckets = new Map<string, Bucket>();

  function prune(bucket: Bucket, now: number): void {
    bucket.failures = bucket.failures.filter((at) => now - at < bucket.windowMs);
  }

  function forgetStale(now: number): void {
    if (buckets.size < MAX_TRACKED) return;
    for (const [key, bucket] of buckets) {
      prune(bucket, now);
      if (bucket.failures.length === 0 && bucket.inFlight === 0) buckets.delete(key);
    }
    // Still full of live buckets (a flood of distinct logins from many addresses): drop the
    // oldest that lock nothing, then the oldest of the rest. Buckets with attempts in flight stay.
    for (const onlyUnlocked of [true, false]) {
      for (const [key, bucket] of buckets) {
        if (buckets.size < MAX_TRACKED) return;
        if (bucket.inFlight > 0 || (onlyUnlocked && bucket.failures.length >= bucket.limit)) continue;
        buckets.delete(key);
      }
    }
  }

  function waitOf(bucket: Bucket | undefined, now: number): number {
    if (!bucket) return 0;
    prune(bucket, now);
    if (bucket.failures.length + bucket.inFlight < bucket.limit) return 0;
    if (bucket.failures.length < bucket.limit) return IN_FLIGHT_RETRY_MS;
    const oldest = bucket.failures[bucket.failures.length - bucket.limit] ?? now;
    return Math.max(1, oldest + bucket.windowMs - now);
  }

  function bucketOf(key: string, limit: BucketLimit, now: number): Bucket {
    let bucket = buckets.get(key);
    if (!bucket) {
      forgetStale(now);
      bucket = { ...limit, failures: [], inFlight: 0, refusalNoticed: false };
      buckets.set(key, bucket);
    }
    return bucket;
  }

  function release(key: string, bucket: Bucket): void {
    bucket.inFlight = Math.max(0, bucket.inFlight - 1);
    if (bucket.inFlight === 0 && bucket.failures.length === 0 && buckets.get(key) === bucket) buckets.delete(key);
  }

  return {
    reserve({ realm, account: accountKey, client: clientKey }, now = Date.now()) {
      const gates = [
        { kind: "account" as const, key: `${realm}\naccount\n${accountKey}`, limit: account },
        { kind: "client" as const, key: `${realm}\nclient\n${clientKey}`, limit: client },
      ];
      const refusing = gates
        .map((gate) => ({ ...gate, bucket: buckets.get(gate.key), wait: waitOf(buckets.get(gate.key), now) }))
        .filter((gate) => gate.wait > 0);
      if (refusing.length > 0) {
        let firstRefusal = false;
        for (const { bucket } of refusing) {
          if (bucket && !bucket.refusalNoticed) firstRefusal = true;
          if (bucket) bucket.refusalNoticed = true;
        }
        return {
          ok: false,
          retryAfterMs: Math.max(...refusing.map((gate) => gate.wait)),
          limitedBy: refusing[0]?.kind ?? "account",
          firstRefusal,
        };
      }

      // Nothing awaits between the check above and this: the reservation is atomic.
      const held = gates.map((gate) => {
        const bucket = bucketOf(gate.key, gate.limit, now);
        bucket.inFlight += 1;
        bucket.refusalNoticed = false;
        return { ...gate, bucket };
      });
      let settled = false;
      const settle = (outcome: (gate: (typeof held)[number]) => void) => {
        if (settled) return;
        settled = true;
        for (const gate of held) outcome(gate);
      };
      return {
        ok: true,
        attempt: {
          succeeded: () =>
            settle(({ kind, key, bucket }) => {
              if (kind === "account") bucket.failures = [];
              release(key, bucket);
            }),
          failed: (at = Date.now()) =>
            settle(({ key, bucket }) => {
              prune(bucket, at);
              bucket.failures.push(at);
              bucket.failures = bucket.failures.slice(-bucket.limit);
              bucket.inFlight = Math.max(0, bucket.inFlight - 1);
              // Most recently failed last, so that eviction drops the quietest buckets first.
              buckets.delete(key);
              forgetStale(at);
              buckets.set(key, bucket);
            }),
          abandoned: () => settle(({ key, bucket }) => release(key, bucket)),
        },
      };
    },
  };
}

/**
 * The client-address bucket of a request's address: an IPv4 address as it is (IPv4-mapped IPv6
 * included), an IPv6 address as its /64 network, since one subscriber usually holds a whole /64
 * and could otherwise use a fresh address for every attempt.
 */
export function clientBucket(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  const bare = address.split("%")[0] ?? "";
  if (!isIPv6(bare)) return address;
  const groups = (part: string | undefined) =>
    part ? part.split(":").flatMap((group) => (group.includes(".") ? ["0", "0"] : [group])) : [];
  const [head, tail] = bare.split("::");
  const left = groups(head);
  const right = groups(tail);
  const full = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${full
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}
