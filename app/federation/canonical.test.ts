// RFC 8785 canonical JSON: the RFC's own examples, and the property signatures rely on (what the
// sender serialises is what the receiver re-serialises after parsing).
import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalJson } from "./canonical";

describe("canonicalJson", () => {
  it("serialises the example of RFC 8785 §3.2.2 exactly", () => {
    // The input as the RFC writes it (JSON text, so the number literals go through the parser).
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it("sorts members by UTF-16 code units, as RFC 8785 §3.2.3 shows", () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`);
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    [0, "0"],
    [-0, "0"],
    [1, "1"],
    [-1.5, "-1.5"],
    [1e21, "1e+21"],
    [1e20, "100000000000000000000"],
    [0.000001, "0.000001"],
    [1e-7, "1e-7"],
    [2 ** 53 + 2, "9007199254740994"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [0.1 + 0.2, "0.30000000000000004"],
  ])("writes the number %s as ECMAScript does: %s", (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("nests objects and arrays without whitespace, sorting at every level", () => {
    expect(canonicalJson({ b: [3, { z: 1, a: [] }], a: { d: null, c: "x" } })).toBe('{"a":{"c":"x","d":null},"b":[3,{"a":[],"z":1}]}');
  });

  it("reads a JavaScript value as JSON.stringify does", () => {
    const value = {
      when: new Date("2026-11-27T10:00:00Z"),
      skipped: undefined,
      list: [undefined, () => 1],
      nested: { toJSON: () => ({ b: 2, a: 1 }) },
    };
    expect(canonicalJson(value)).toBe('{"list":[null,null],"nested":{"a":1,"b":2},"when":"2026-11-27T10:00:00.000Z"}');
    expect(canonicalJson(value)).toBe(canonicalJson(JSON.parse(JSON.stringify(value))));
  });

  it("gives the same bytes for the same document whatever its member order", () => {
    const a = { type: "civitas:Component", id: "https://a.example/federation/components/1", title: { fr: "Voirie", en: "Roads" } };
    const b = { title: { en: "Roads", fr: "Voirie" }, id: a.id, type: a.type };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it("keeps non-ASCII text as is and escapes control characters in lower-case hex", () => {
    expect(canonicalJson("Nid-de-poule — 道路 \u0001\u001f\t")).toBe('"Nid-de-poule — 道路 \\u0001\\u001f\\t"');
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a BigInt", 10n],
    ["a lone surrogate", "\ud800"],
    ["a lone surrogate in a key", { "\udc00": 1 }],
    ["undefined", undefined],
  ])("refuses %s", (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
  });

  it("refuses a value that contains itself, but not one that repeats a branch", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(CanonicalJsonError);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });
});
