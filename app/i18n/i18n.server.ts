// Server side of the UI languages: the translations of every shipped locale (bundled, so the
// build does not depend on the working directory), and the choice of a page's language.
import type { TFunction } from "i18next";
import ar from "../../locales/ar/common.json";
import de from "../../locales/de/common.json";
import en from "../../locales/en/common.json";
import es from "../../locales/es/common.json";
import fr from "../../locales/fr/common.json";
import hu from "../../locales/hu/common.json";
import it from "../../locales/it/common.json";
import nl from "../../locales/nl/common.json";
import pt from "../../locales/pt/common.json";
import zh from "../../locales/zh/common.json";
import { createI18n, type CommonTranslations } from "./i18n";
import { isSupportedLocale, type Locale } from "./locales";

// Typed against English: a locale missing a key fails type checking.
const COMMON: Record<Locale, CommonTranslations> = { ar, de, en, es, fr, hu, it, nl, pt, zh };

export function commonTranslations(locale: Locale): CommonTranslations {
  return COMMON[locale];
}

const translators = new Map<Locale, TFunction>();

/** A `t` bound to one language, for text a loader computes (page titles). */
export function translator(locale: Locale): TFunction {
  let t = translators.get(locale);
  if (!t) {
    t = createI18n(locale, COMMON[locale]).t;
    translators.set(locale, t);
  }
  return t;
}

/**
 * The best of `available` for an Accept-Language header (q-values honoured, "fr-CA" matches
 * "fr"), or `fallback`. Malformed parts of the header are ignored.
 */
export function negotiateLocale<L extends string = Locale>(
  acceptLanguage: string | null,
  available: readonly L[],
  fallback: L,
): L {
  if (!acceptLanguage) return fallback;
  const wanted = acceptLanguage
    .slice(0, 1_000)
    .split(",")
    .map((part, index) => {
      const [tag = "", ...parameters] = part.trim().split(";");
      const q = parameters.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const quality = q === undefined ? 1 : Number(q.slice(2));
      return { language: tag.trim().toLowerCase().split("-")[0] ?? "", quality, index };
    })
    .filter(({ language, quality }) => /^[a-z]{2,3}$/.test(language) && quality > 0 && quality <= 1)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { language } of wanted) {
    const match = available.find((locale) => locale === language);
    if (match) return match;
  }
  return fallback;
}

/**
 * The UI language of a city's pages: its default if Civitas ships it, else the first enabled
 * one it ships, else English. (The resident's own choice comes with the portal.)
 */
export function cityUiLocale(city: { defaultLocale: string; enabledLocales: string[] }): Locale {
  const candidate = [city.defaultLocale, ...city.enabledLocales].find(isSupportedLocale);
  return candidate ?? "en";
}
