// Slows password guessing: after `limit` failed sign-ins for one username of one realm within
// `windowMs`, that username is refused until the oldest failure leaves the window. Kept in the
// process' memory, like the embedded provider itself (one process; development and evaluation).
const MAX_TRACKED = 10_000;

export type SignInThrottle = {
  /** Milliseconds until the username may try again; 0 when it may now. */
  retryAfter(realm: string, username: string, now?: number): number;
  recordFailure(realm: string, username: string, now?: number): void;
  recordSuccess(realm: string, username: string): void;
};

export function createSignInThrottle({ limit = 5, windowMs = 15 * 60_000 } = {}): SignInThrottle {
  const failures = new Map<string, number[]>();
  const key = (realm: string, username: string) => `${realm}\n${username}`;
  const recent = (entry: string, now: number) => (failures.get(entry) ?? []).filter((at) => now - at < windowMs);

  function forgetStale(now: number) {
    if (failures.size < MAX_TRACKED) return;
    for (const [entry, times] of failures) {
      if (times.every((at) => now - at >= windowMs)) failures.delete(entry);
    }
    // Still full of live entries (a flood of distinct usernames): drop the oldest ones.
    for (const entry of failures.keys()) {
      if (failures.size < MAX_TRACKED) break;
      failures.delete(entry);
    }
  }

  return {
    retryAfter(realm, username, now = Date.now()) {
      const times = recent(key(realm, username), now);
      if (times.length < limit) return 0;
      const oldest = times[times.length - limit] ?? now;
      return Math.max(0, oldest + windowMs - now);
    },
    recordFailure(realm, username, now = Date.now()) {
      const entry = key(realm, username);
      const times = recent(entry, now);
      times.push(now);
      failures.delete(entry);
      forgetStale(now);
      failures.set(entry, times.slice(-limit));
    },
    recordSuccess(realm, username) {
      failures.delete(key(realm, username));
    },
  };
}
