import { describe, expect, it } from "vitest";
import { pickTranslation } from "./translated";

describe("pickTranslation", () => {
  const names = { fr: "Le Caire", ar: "القاهرة" };

  it("follows requested, then the city's default, then any", () => {
    expect(pickTranslation(names, "ar", "fr")).toEqual({ text: "القاهرة", locale: "ar" });
    expect(pickTranslation(names, "de", "fr")).toEqual({ text: "Le Caire", locale: "fr" });
    expect(pickTranslation({ ar: "القاهرة" }, "de", "fr")).toEqual({ text: "القاهرة", locale: "ar" });
  });

  it("skips empty texts and answers null when there is nothing", () => {
    expect(pickTranslation({ fr: "", en: "Cairo" }, "fr", "fr")).toEqual({ text: "Cairo", locale: "en" });
    expect(pickTranslation({}, "fr", "fr")).toBeNull();
  });
});
