// The server side of UI languages. (That every shipped locale has every key, with the same
// interpolations and real translations, is checked by scripts/i18n-check.ts, a test too.)
import { describe, expect, it } from "vitest";
import { cityLocales, cityUiLocale, detectLocale, languageCookie, negotiateLocale, translator } from "./i18n.server";
import { SUPPORTED_LOCALES } from "./locales";

describe("translator", () => {
  it("interpolates without escaping (React escapes what it renders)", () => {
    expect(translator("fr")("home.welcome", { city: "Saint-Étienne & Co" })).toBe("Bienvenue à Saint-Étienne & Co");
  });

  it("speaks one namespace, falling back to common, and follows each language's plural rules", () => {
    const t = translator("ar", "account");
    expect(t("title")).toBe("حسابي");
    expect(t("layout.skip")).toBe("انتقل إلى المحتوى الرئيسي");
    const count = (n: number) => translator("ar")("home.languageCount", { count: n });
    expect([0, 1, 2, 3, 11, 100].map(count)).toEqual([
      "هذا الموقع غير متاح بأي لغة:",
      "هذا الموقع متاح بلغة واحدة:",
      "هذا الموقع متاح بلغتين:",
      "هذا الموقع متاح بـ 3 لغات:",
      "هذا الموقع متاح بـ 11 لغةً:",
      "هذا الموقع متاح بـ 100 لغة:",
    ]);
    // Numbers are formatted by Intl in the page's language.
    const million = new Intl.NumberFormat("fr").format(1_000_000);
    expect(translator("fr")("home.languageCount", { count: 1_000_000 })).toBe(`Ce site est disponible en ${million} de langues :`);
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

describe("cityLocales", () => {
  it("lists the city's languages that Civitas ships, default first, once each", () => {
    expect(cityLocales({ defaultLocale: "fr", enabledLocales: ["en", "fr", "ca", "ar"] })).toEqual(["fr", "en", "ar"]);
    expect(cityLocales({ defaultLocale: "eu", enabledLocales: ["eu"] })).toEqual(["en"]);
  });
});

describe("detectLocale", () => {
  const available = ["fr", "en", "ar"] as const;
  const request = async (cookie: string | null, acceptLanguage: string | null) =>
    new Request("http://ville.localhost/", {
      headers: {
        ...(cookie === null ? {} : { Cookie: await languageCookie.serialize(cookie) }),
        ...(acceptLanguage === null ? {} : { "Accept-Language": acceptLanguage }),
      },
    });
  const detect = async (chosen: string | null, cookie: string | null, acceptLanguage: string | null) =>
    detectLocale(await request(cookie, acceptLanguage), { available: [...available], fallback: "fr", chosen });

  it("follows the profile, then the cookie, then Accept-Language, then the fallback", async () => {
    expect(await detect("ar", "en", "en")).toBe("ar");
    expect(await detect(null, "en", "ar")).toBe("en");
    expect(await detect(null, null, "de, ar;q=0.5")).toBe("ar");
    expect(await detect(null, null, null)).toBe("fr");
  });

  it("skips any choice the site does not offer", async () => {
    expect(await detect("de", "zh", "hu, en;q=0.1")).toBe("en");
    expect(await detect("ca", null, "ja")).toBe("fr");
  });
});
