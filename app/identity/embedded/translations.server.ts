// The language of the embedded provider's pages (sign in, consent, sign out), within a realm's
// languages. Their text is the `identity` namespace (translator(locale, "identity")).
import { cityLocales, cityUiLocale, negotiateLocale } from "../../i18n/i18n.server";
import type { Locale } from "../../i18n/locales";

export type LocaleRequest = {
  /** Keycloak's `kc_locale`: a language the person picked on one of these pages. */
  chosen?: string | null;
  /** OpenID `ui_locales`: space-separated, in order of preference. */
  uiLocales?: string | null;
  acceptLanguage?: string | null;
};

/** The realm's languages that Civitas ships, in the realm's order. */
export const realmLocales = cityLocales;

/**
 * The language of a page: the one picked on the page, else the first of ui_locales, else the
 * browser's (Accept-Language), always one the realm enables; else the realm's default.
 */
export function pageLocale(realm: { defaultLocale: string; enabledLocales: string[] }, request: LocaleRequest): Locale {
  const available = realmLocales(realm);
  const fallback = cityUiLocale(realm);
  const pick = (tag: string | null | undefined) => {
    const language = tag?.trim().toLowerCase().split(/[-_]/)[0];
    return available.find((locale) => locale === language);
  };
  const chosen = pick(request.chosen);
  if (chosen) return chosen;
  for (const tag of (request.uiLocales ?? "").slice(0, 500).split(/\s+/)) {
    const match = pick(tag);
    if (match) return match;
  }
  return negotiateLocale(request.acceptLanguage ?? null, available, available.includes(fallback) ? fallback : available[0] ?? "en");
}
