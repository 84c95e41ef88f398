// Readiness: 200 only on a reachable, fully migrated database.
import { afterEach, describe, expect, it } from "vitest";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { loader } from "./route";

let processDatabase: ProcessDatabase | undefined;

afterEach(async () => {
  await processDatabase?.release();
  processDatabase = undefined;
});

describe("/readyz", () => {
  it("answers 200 when the database answers and every migration is applied", async () => {
    processDatabase = await useFreshProcessDatabase();
    const response = await loader();
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ ready: true, checks: { database: "ok", migrations: "ok" } });
  });

  it("answers 503 and names the pending migrations on a database not migrated yet", async () => {
    processDatabase = await useFreshProcessDatabase({ migrated: false });
    const response = await loader();
    expect(response.status).toBe(503);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await response.json();
    expect(body).toMatchObject({ ready: false, checks: { database: "ok", migrations: "pending" } });
    expect(body.pendingMigrations).toContain("20261127100000_init");
  });
});
