// Server side of the UI languages: text for loaders and server-rendered pages, the languages a
// site offers, and the choice of a page's language among them (remix-i18next's detection: the
// `lng` cookie of an explicit choice, then Accept-Language, then the site's default).
import { createCookie } from "@remix-run/node";
import type { TFunction } from "i18next";
import { RemixI18Next } from "remix-i18next/server";
import { createI18n, DEFAULT_NAMESPACE } from "./i18n";
import { isSupportedLocale, type Locale } from "./locales";
import { RESOURCES, type Namespace } from "./resources.server";

const translators = new Map<string, TFunction>();

/** A `t` bound to one language and namespace, for text computed on the server (titles, the provider's pages). */
export function translator(locale: Locale, namespace: Namespace = DEFAULT_NAMESPACE): TFunction {
  const key = `${locale}:${namespace}`;
  let t = translators.get(key);
  if (!t) {
    t = createI18n(locale, { [locale]: RESOURCES[locale] }).getFixedT(locale, namespace) as TFunction;
    translators.set(key, t);
  }
  return t;
}

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/**
 * The language someone picked with the switcher, remembered by this browser for a year. Shared
 * by every site of a host: each site still only uses it when it offers that language.
 */
export const languageCookie = createCookie("lng", {
  path: "/",
  sameSite: "lax",
  httpOnly: true,
  maxAge: ONE_YEAR_SECONDS,
});

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
 * The UI language of a city's pages when nothing else decides: its default if Civitas ships
 * it, else the first enabled one it ships, else English.
 */
export function cityUiLocale(city: { defaultLocale: string; enabledLocales: string[] }): Locale {
  const candidate = [city.defaultLocale, ...city.enabledLocales].find(isSupportedLocale);
  return candidate ?? "en";
}

/** The city's languages that Civitas ships, default first; English if it enables none of them. */
export function cityLocales(city: { defaultLocale: string; enabledLocales: string[] }): Locale[] {
  const shipped = [city.defaultLocale, ...city.enabledLocales].filter(isSupportedLocale);
  return shipped.length > 0 ? [...new Set(shipped)] : ["en"];
}

// One detector per set of languages (a handful: the cities' configurations).
const detectors = new Map<string, RemixI18Next>();

function detectorFor(available: readonly Locale[], fallback: Locale): RemixI18Next {
  const key = `${fallback}|${available.join(",")}`;
  let detector = detectors.get(key);
  if (!detector) {
    detector = new RemixI18Next({
      detection: {
        supportedLanguages: [...available],
        fallbackLanguage: fallback,
        cookie: languageCookie,
        // No ?lng=: a page has one address whatever its language.
        order: ["cookie", "custom"],
        // remix-i18next 6 only tries the header's first language; this tries them all.
        findLocale: async (request) => negotiateLocale(request.headers.get("Accept-Language"), available, fallback),
      },
    });
    detectors.set(key, detector);
  }
  return detector;
}

/**
 * The language of a page among `available`: the person's own choice when signed in (`chosen`,
 * from their profile), else this browser's (the `lng` cookie), else the browser's preferences
 * (Accept-Language), else `fallback`.
 */
export async function detectLocale(
  request: Request,
  { available, fallback, chosen }: { available: readonly Locale[]; fallback: Locale; chosen?: string | null },
): Promise<Locale> {
  const fromProfile = available.find((locale) => locale === chosen);
  if (fromProfile) return fromProfile;
  const detected = await detectorFor(available, fallback).getLocale(request);
  return available.find((locale) => locale === detected) ?? fallback;
}
