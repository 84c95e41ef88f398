import { describe, expect, it } from "vitest";
import { loader } from "./route";

describe("/healthz", () => {
  it("answers 200 without touching the database, never cached", async () => {
    const response = loader();
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
