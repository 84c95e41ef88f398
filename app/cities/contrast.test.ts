import { describe, expect, it } from "vitest";
import { contrastRatio, formatContrast, MIN_TEXT_CONTRAST, relativeLuminance } from "./contrast";

describe("contrastRatio", () => {
  it("spans 1:1 (same colour) to 21:1 (black on white), whichever colour comes first", () => {
    expect(contrastRatio("#ffffff", "#000000")).toBeCloseTo(21, 10);
    expect(contrastRatio("#000000", "#ffffff")).toBeCloseTo(21, 10);
    expect(contrastRatio("#1f4e79", "#1F4E79")).toBe(1);
  });

  it("agrees with WCAG's reference values around the AA threshold", () => {
    // #767676 is the lightest grey that passes AA on white, #777777 the first that fails.
    expect(contrastRatio("#767676", "#ffffff")).toBeGreaterThanOrEqual(MIN_TEXT_CONTRAST);
    expect(contrastRatio("#777777", "#ffffff")).toBeLessThan(MIN_TEXT_CONTRAST);
    expect(contrastRatio("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
    // Pure red on white: 4.0:1.
    expect(contrastRatio("#ff0000", "#ffffff")).toBeCloseTo(3.998, 3);
  });

  it("weighs green most and blue least, as the eye does", () => {
    expect(relativeLuminance("#00ff00")).toBeCloseTo(0.7152, 4);
    expect(relativeLuminance("#0000ff")).toBeCloseTo(0.0722, 4);
    expect(relativeLuminance("#000000")).toBe(0);
    expect(relativeLuminance("#ffffff")).toBeCloseTo(1, 10);
  });

  it("refuses what is not a #rrggbb colour", () => {
    for (const colour of ["#fff", "1f4e79", "#1f4e7g", "", "#1f4e79 "]) {
      expect(() => contrastRatio(colour, "#ffffff"), colour).toThrow(TypeError);
    }
  });
});

describe("formatContrast", () => {
  it("rounds down, so that a colour shown as reaching 4.5:1 really does", () => {
    expect(formatContrast(4.4999)).toBe("4.49:1");
    expect(formatContrast(contrastRatio("#777777", "#ffffff"))).toBe("4.47:1");
    expect(formatContrast(21)).toBe("21:1");
    expect(formatContrast(4.5)).toBe("4.5:1");
  });
});
