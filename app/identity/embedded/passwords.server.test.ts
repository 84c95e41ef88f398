import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.server";

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
