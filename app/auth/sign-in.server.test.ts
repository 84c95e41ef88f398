import { describe, expect, it } from "vitest";
import { safeReturnTo } from "./sign-in.server";

describe("where the browser goes after sign-in", () => {
  it("keeps a path inside the site", () => {
    expect(safeReturnTo("/developer?tab=token", "")).toBe("/developer?tab=token");
    expect(safeReturnTo("/paris/developer", "/paris")).toBe("/paris/developer");
    expect(safeReturnTo("/paris", "/paris")).toBe("/paris");
  });

  it("sends anything else to the site's home", () => {
    for (const value of [null, "", "developer", "//evil.example", "https://evil.example/", "/\\evil.example", "/x\u0000y"]) {
      expect(safeReturnTo(value, ""), String(value)).toBe("/");
    }
    for (const value of ["/budapest", "/parisian", "//paris", "/"]) expect(safeReturnTo(value, "/paris"), value).toBe("/paris");
  });
});
