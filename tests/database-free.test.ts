// The rule that lets some files run on one backend only (tests/support/database-free.ts): the
// list names real files, and in their project a database cannot be opened.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../app/db/database.server";
import { DATABASE_FREE_TESTS } from "./support/database-free";
import { refusals } from "./support/setup-database-free";

describe("database-free test files", () => {
  it("are listed by their paths", () => {
    expect(DATABASE_FREE_TESTS.filter((file) => !existsSync(file))).toEqual([]);
  });

  it("cannot open a database: PGlite or PostgreSQL", async () => {
    await expect(openDatabase({ dataDir: "memory://" })).rejects.toThrow(/database-free/);
    const postgres = await openDatabase({ url: "postgresql://nobody@127.0.0.1:1/none" });
    await expect(postgres.owner.query("SELECT 1")).rejects.toThrow(/database-free/);
    await postgres.close();
    expect(refusals).toHaveLength(2);
    // Refused on purpose here: not a reason to fail this file.
    refusals.length = 0;
  });
});
