// Anonymous actions are limited per client address: past the limit, 429 with Retry-After, while
// another address goes on.
import { describe, expect, it } from "vitest";
import { limitAction } from "./rate-limits.server";

describe("action limits", () => {
  it("answer 429 with Retry-After past the limit, per address", async () => {
    const flooding = { clientAddress: "203.0.113.7" };
    for (let i = 0; i < 3; i += 1) await limitAction(flooding, "test.report", 3, 600);
    const refused = await limitAction(flooding, "test.report", 3, 600).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(429);
    expect(Number((refused as Response).headers.get("Retry-After"))).toBeGreaterThan(500);
    await expect(limitAction({ clientAddress: "198.51.100.1" }, "test.report", 3, 600)).resolves.toBeUndefined();
    // Another action has its own count.
    await expect(limitAction(flooding, "test.follow", 3, 600)).resolves.toBeUndefined();
  });
});
