import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatabaseInUseError, openDatabase } from "./database.server";

// The lock concerns the embedded database only; it runs in both projects all the same.
describe("embedded database folder", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "civitas-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is opened by one process at a time, and free again once closed", async () => {
    const dataDir = path.join(dir, "pglite");
    const first = await openDatabase({ dataDir });
    const error = await openDatabase({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseInUseError);
    expect((error as Error).message).toMatch(new RegExp(`in use by process ${process.pid}`));
    await first.close();

    const again = await openDatabase({ dataDir });
    await again.close();
  });

  it("takes over a lock left by a process that is gone", async () => {
    const dataDir = path.join(dir, "pglite");
    // Beyond the kernel's pid range: no such process can exist.
    await writeFile(`${dataDir}.lock`, "4194305");
    const database = await openDatabase({ dataDir });
    await database.close();
  });
});
