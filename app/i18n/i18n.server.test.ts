import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cityUiLocale, negotiateLocale, translator } from "./i18n.server";
import { SUPPORTED_LOCALES } from "./locales";

const LOCALES_DIR = path.resolve("locales");

function flatten(value: unknown, prefix = ""): Record<string, string> {
  if (typeof value === "string") return { [prefix]: value };
  return Object.entries(value as Record<string, unknown>).reduce<Record<string, string>>(
    (all, [key, child]) => ({ ...all, ...flatten(child, prefix ? `${prefix}.${key}` : key) }),
    {},
  );
}

const read = (locale: string, namespace: string) =>
  flatten(JSON.parse(readFileSync(path.join(LOCALES_DIR, locale, `${namespace}.json`), "utf8")));

describe("translation files", () => {
  const namespaces = readdirSync(path.join(LOCALES_DIR, "en")).map((file) => file.replace(/\.json$/, ""));

  it("exist for every shipped locale, with exactly the English keys", () => {
    for (const namespace of namespaces) {
      const english = Object.keys(read("en", namespace)).sort();
      for (const locale of SUPPORTED_LOCALES) {
        expect(Object.keys(read(locale, namespace)).sort(), `${locale}/${namespace}`).toEqual(english);
      }
    }
  });

  it("are translations, not copies of the English text", () => {
    for (const namespace of namespaces) {
      const english = read("en", namespace);
      for (const locale of SUPPORTED_LOCALES.filter((code) => code !== "en")) {
        const copied = Object.entries(read(locale, namespace)).filter(([key, text]) => text === english[key]);
        expect(copied.map(([key]) => key), `${locale}/${namespace}`).toEqual([]);
      }
    }
  });

  it("keep every interpolation the English text has", () => {
    for (const namespace of namespaces) {
      const english = read("en", namespace);
      for (const locale of SUPPORTED_LOCALES) {
        for (const [key, text] of Object.entries(read(locale, namespace))) {
          const variables = (value: string) => [...value.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]).sort();
          expect(variables(text), `${locale}/${namespace}:${key}`).toEqual(variables(english[key] ?? ""));
        }
      }
    }
  });
});

describe("translator", () => {
  it("interpolates without escaping (React escapes what it renders)", () => {
    expect(translator("fr")("home.welcome", { city: "Saint-Étienne & Co" })).toBe("Bienvenue à Saint-Étienne & Co");
  });
});

describe("negotiateLocale", () => {
  const all = SUPPORTED_LOCALES;

  it("picks the preferred available language, matching regional variants", () => {
    expect(negotiateLocale("fr-CA,fr;q=0.9,en;q=0.8", all, "en")).toBe("fr");
    expect(negotiateLocale("ja, zh-Hant-TW;q=0.8, en;q=0.5", all, "en")).toBe("zh");
    expect(negotiateLocale("en;q=0.2, hu;q=0.9", all, "en")).toBe("hu");
  });

  it("stays within the available set and falls back", () => {
    expect(negotiateLocale("de", ["fr", "en"], "fr")).toBe("fr");
    expect(negotiateLocale(null, all, "es")).toBe("es");
    expect(negotiateLocale("ja", all, "en")).toBe("en");
  });

  it("ignores malformed parts and refused languages", () => {
    expect(negotiateLocale(";;,q=1,*,de;q=abc,fr;q=0, it;q=0.4", all, "en")).toBe("it");
    expect(negotiateLocale("x".repeat(10_000), all, "en")).toBe("en");
  });
});

describe("cityUiLocale", () => {
  it("uses the city's default when Civitas ships it, else the first shipped enabled locale", () => {
    expect(cityUiLocale({ defaultLocale: "hu", enabledLocales: ["hu", "en"] })).toBe("hu");
    expect(cityUiLocale({ defaultLocale: "ca", enabledLocales: ["ca", "es"] })).toBe("es");
    expect(cityUiLocale({ defaultLocale: "eu", enabledLocales: ["eu"] })).toBe("en");
  });
});
