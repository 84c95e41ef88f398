import { describe, expect, it } from "vitest";
import { clientBucket, createSignInThrottle, type Reservation, type SignInAttempt } from "./throttle.server";

const MINUTE = 60_000;

function granted(reservation: Reservation): SignInAttempt {
  if (!reservation.ok) throw new Error(`refused for ${reservation.retryAfterMs} ms by the ${reservation.limitedBy} bucket`);
  return reservation.attempt;
}

describe("the sign-in throttle", () => {
  it("refuses an account of a realm after five failures within fifteen minutes, until the oldest one ages out", () => {
    const throttle = createSignInThrottle();
    const start = 1_000_000;
    // Each failure from another address, so that only the account's bucket counts.
    for (let minute = 0; minute < 5; minute += 1) {
      granted(throttle.reserve({ realm: "paris", account: "ada", client: `10.0.0.${minute}` }, start + minute * MINUTE)).failed(start + minute * MINUTE);
    }
    const now = start + 5 * MINUTE;
    expect(throttle.reserve({ realm: "paris", account: "ada", client: "10.0.1.1" }, now)).toMatchObject({
      ok: false,
      retryAfterMs: 10 * MINUTE,
      limitedBy: "account",
    });
    expect(throttle.reserve({ realm: "lyon", account: "ada", client: "10.0.1.1" }, now).ok).toBe(true);
    expect(throttle.reserve({ realm: "paris", account: "grace", client: "10.0.1.1" }, now).ok).toBe(true);
    expect(throttle.reserve({ realm: "paris", account: "ada", client: "10.0.1.1" }, start + 15 * MINUTE).ok).toBe(true);
  });

  it("counts attempts still being checked, and gives them back when the check breaks", () => {
    const throttle = createSignInThrottle({ account: { limit: 2, windowMs: MINUTE } });
    const first = granted(throttle.reserve({ realm: "paris", account: "ada", client: "a" }, 0));
    granted(throttle.reserve({ realm: "paris", account: "ada", client: "b" }, 0));
    const third = throttle.reserve({ realm: "paris", account: "ada", client: "c" }, 0);
    expect(third).toMatchObject({ ok: false, limitedBy: "account" });
    // Not locked by failures yet: the wait is short.
    expect(third.ok === false && third.retryAfterMs).toBeLessThanOrEqual(1_000);
    first.abandoned();
    first.failed(0); // settled once: this counts nothing
    expect(throttle.reserve({ realm: "paris", account: "ada", client: "c" }, 0).ok).toBe(true);
  });

  it("forgets an account's failures after a successful sign-in, not its client's", () => {
    const throttle = createSignInThrottle({ account: { limit: 2, windowMs: MINUTE }, client: { limit: 3, windowMs: MINUTE } });
    const attempt = (account: string, client: string) => granted(throttle.reserve({ realm: "paris", account, client }, 0));
    attempt("ada", "a").failed(0);
    attempt("ada", "a").succeeded();
    attempt("ada", "a").failed(1);
    expect(throttle.reserve({ realm: "paris", account: "ada", client: "b" }, 2).ok).toBe(true);
    // Client "a" failed twice and the success did not wipe that: one more and it is refused.
    attempt("grace", "a").failed(2);
    expect(throttle.reserve({ realm: "paris", account: "linus", client: "a" }, 3)).toMatchObject({ ok: false, limitedBy: "client" });
  });

  it("limits one client address across many accounts, per realm", () => {
    const throttle = createSignInThrottle();
    for (let index = 0; index < 20; index += 1) {
      granted(throttle.reserve({ realm: "paris", account: `user-${index}`, client: "192.0.2.7" }, index)).failed(index);
    }
    const refused = throttle.reserve({ realm: "paris", account: "someone-else", client: "192.0.2.7" }, 100);
    expect(refused).toMatchObject({ ok: false, limitedBy: "client", retryAfterMs: 15 * MINUTE - 100 });
    expect(throttle.reserve({ realm: "paris", account: "someone-else", client: "192.0.2.8" }, 100).ok).toBe(true);
    expect(throttle.reserve({ realm: "lyon", account: "someone-else", client: "192.0.2.7" }, 100).ok).toBe(true);
  });

  it("marks only the first refusal of a lock as worth recording", () => {
    const throttle = createSignInThrottle({ account: { limit: 1, windowMs: MINUTE } });
    granted(throttle.reserve({ realm: "paris", account: "ada", client: "a" }, 0)).failed(0);
    const refusals = [1, 2, 3].map((at) => throttle.reserve({ realm: "paris", account: "ada", client: "a" }, at));
    expect(refusals.map((refusal) => !refusal.ok && refusal.firstRefusal)).toEqual([true, false, false]);
    // Once the lock is over and an attempt went through, the next lock is recorded again.
    granted(throttle.reserve({ realm: "paris", account: "ada", client: "a" }, MINUTE)).failed(MINUTE);
    const next = throttle.reserve({ realm: "paris", account: "ada", client: "a" }, MINUTE + 1);
    expect(!next.ok && next.firstRefusal).toBe(true);
  });
});

describe("clientBucket", () => {
  it("keeps IPv4 addresses, unwraps IPv4-mapped ones and groups IPv6 by /64", () => {
    expect(clientBucket("192.0.2.7")).toBe("192.0.2.7");
    expect(clientBucket("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(clientBucket("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientBucket("2001:db8:1:2::9")).toBe("2001:db8:1:2::/64");
    expect(clientBucket("2001:DB8::1")).toBe("2001:db8:0:0::/64");
    expect(clientBucket("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientBucket("::1")).toBe("0:0:0:0::/64");
    expect(clientBucket(undefined)).toBe("unknown");
  });
});
