// An invitee's first password: it creates the account when missing, fills in a missing password,
// and never replaces one (an invitation link must not take an existing account over). The
// platform realm stands in for any: a city realm needs a city row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../db/database.server";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/database";
import { ensureAccount, setFirstPassword } from "./accounts.server";
import { verifyPassword } from "./passwords.server";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await withPlatformAdmin((tx) => tx.identityRealm.create({ data: { realm: "platform", webClientSecret: "s".repeat(43) } }), database);
});

afterAll(async () => {
  await database?.drop();
});

const stored = (username: string) =>
  withPlatformAdmin((tx) => tx.identityUser.findUnique({ where: { realm_username: { realm: "platform", username } }, select: { passwordHash: true, email: true, locale: true } }), database);

describe("setFirstPassword", () => {
  it("creates a missing account with the password", async () => {
    expect(await setFirstPassword("platform", { username: "New@Ville.test", email: "new@ville.test", password: "first passphrase", locale: "fr" }, database)).toBe("set");
    const row = await stored("new@ville.test");
    expect(row).toMatchObject({ email: "new@ville.test", locale: "fr" });
    expect(await verifyPassword("first passphrase", row?.passwordHash ?? null)).toBe(true);
  });

  it("fills in the password of an account made without one (onboarding's first admin)", async () => {
    await ensureAccount("platform", { username: "admin@ville.test", email: "admin@ville.test" }, database);
    expect(await setFirstPassword("platform", { username: "admin@ville.test", email: "admin@ville.test", password: "chosen passphrase" }, database)).toBe("set");
    expect(await verifyPassword("chosen passphrase", (await stored("admin@ville.test"))?.passwordHash ?? null)).toBe(true);
  });

  it("keeps an existing password, and the rest of the account, as they are", async () => {
    await ensureAccount("platform", { username: "owner@ville.test", email: "owner@ville.test", password: "owner's passphrase", locale: "en" }, database);
    expect(await setFirstPassword("platform", { username: "owner@ville.test", email: "owner@ville.test", password: "intruder passphrase", locale: "de" }, database)).toBe("has_password");
    const row = await stored("owner@ville.test");
    expect(row?.locale).toBe("en");
    expect(await verifyPassword("owner's passphrase", row?.passwordHash ?? null)).toBe(true);
    expect(await verifyPassword("intruder passphrase", row?.passwordHash ?? null)).toBe(false);
  });
});
