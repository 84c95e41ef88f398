import { describe, expect, it } from "vitest";
import type { Database } from "~/db/database.server";
import { checkReadiness } from "./readiness.server";

describe("checkReadiness", () => {
  it("reports an unreachable database as not ready instead of throwing", async () => {
    const unreachable = {
      owner: { query: () => Promise.reject(new Error("connect ECONNREFUSED")) },
    } as unknown as Database;
    expect(await checkReadiness(unreachable)).toEqual({
      ready: false,
      checks: { database: "unreachable", migrations: "unknown" },
    });
  });
});
