import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.server";
import { createSignInThrottle } from "./throttle.server";

describe("password hashes", () => {
  it("are scrypt with their parameters and a salt of their own, and check only the right password", async () => {
    const hash = await hashPassword("Tr0ub4dor&3");
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await hashPassword("Tr0ub4dor&3")).not.toBe(hash);
    expect(await verifyPassword("Tr0ub4dor&3", hash)).toBe(true);
    expect(await verifyPassword("tr0ub4dor&3", hash)).toBe(false);
    expect(await verifyPassword("", hash)).toBe(false);
  });

  it("treat a missing or damaged hash as no match, not as an error", async () => {
    expect(await verifyPassword("anything", null)).toBe(false);
    const hash = await hashPassword("secret");
    for (const damaged of ["", "plain-text", hash.replace("scrypt", "bcrypt"), hash.replace("$32768$", "$1000$"), hash.replace("$32768$", "$1073741824$"), hash.slice(0, -20)]) {
      expect(await verifyPassword("secret", damaged)).toBe(false);
    }
  });

  it("refuse to hash an empty password", async () => {
    await expect(hashPassword("")).rejects.toThrow(/empty/);
  });
});

describe("the sign-in throttle", () => {
  it("refuses a username of a realm after five failures within fifteen minutes, until the oldest one ages out", () => {
    const throttle = createSignInThrottle();
    const start = 1_000_000;
    for (let minute = 0; minute < 5; minute += 1) {
      expect(throttle.retryAfter("paris", "ada", start + minute * 60_000)).toBe(0);
      throttle.recordFailure("paris", "ada", start + minute * 60_000);
    }
    const now = start + 5 * 60_000;
    expect(throttle.retryAfter("paris", "ada", now)).toBe(10 * 60_000);
    expect(throttle.retryAfter("lyon", "ada", now)).toBe(0);
    expect(throttle.retryAfter("paris", "grace", now)).toBe(0);
    expect(throttle.retryAfter("paris", "ada", start + 15 * 60_000)).toBe(0);
  });

  it("forgets failures after a successful sign-in", () => {
    const throttle = createSignInThrottle({ limit: 2, windowMs: 60_000 });
    throttle.recordFailure("paris", "ada", 0);
    throttle.recordSuccess("paris", "ada");
    throttle.recordFailure("paris", "ada", 1);
    expect(throttle.retryAfter("paris", "ada", 2)).toBe(0);
    throttle.recordFailure("paris", "ada", 2);
    expect(throttle.retryAfter("paris", "ada", 3)).toBeGreaterThan(0);
  });
});
