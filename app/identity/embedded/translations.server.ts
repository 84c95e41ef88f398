// The `identity` namespace: text of the embedded provider's pages (sign in, consent, sign out),
// bundled for every shipped locale, and the choice of a page's language within a realm's.
import { createInstance, type TFunction } from "i18next";
import ar from "../../../locales/ar/identity.json";
import de from "../../../locales/de/identity.json";
import en from "../../../locales/en/identity.json";
import es from "../../../locales/es/identity.json";
import fr from "../../../locales/fr/identity.json";
import hu from "../../../locales/hu/identity.json";
import it from "../../../locales/it/identity.json";
import nl from "../../../locales/nl/identity.json";
import pt from "../../../locales/pt/identity.json";
import zh from "../../../locales/zh/identity.json";
import { cityUiLocale, negotiateLocale } from "../../i18n/i18n.server";
import { isSupportedLocale, type Locale } from "../../i18n/locales";

export const IDENTITY_NAMESPACE = "identity";

/** The shape of locales/{lng}/identity.json (English is the reference). */
export type IdentityTranslations = typeof en;

// Typed against English: a locale missing a key fails type checking.
const IDENTITY: Record<Locale, IdentityTranslations> = { ar, de, en, es, fr, hu, it, nl, pt, zh };

const translators = new Map<Locale, TFunction>();

/** A `t` of the identity namespace bound to one language. Its output is text, not HTML. */
export function identityTranslator(locale: Locale): TFunction {
  let t = translators.get(locale);
  if (!t) {
    const instance = createInstance();
    void instance.init({
      lng: locale,
      fallbackLng: "en",
      supportedLngs: false,
      ns: [IDENTITY_NAMESPACE],
      defaultNS: IDENTITY_NAMESPACE,
      resources: { en: { [IDENTITY_NAMESPACE]: en }, [locale]: { [IDENTITY_NAMESPACE]: IDENTITY[locale] } },
      // Pages escape everything they print, translations and values alike.
      interpolation: { escapeValue: false },
      initAsync: false,
    });
    t = instance.t;
    translators.set(locale, t);
  }
  return t;
}

export type LocaleRequest = {
  /** Keycloak's `kc_locale`: a language the person picked on one of these pages. */
  chosen?: string | null;
  /** OpenID `ui_locales`: space-separated, in order of preference. */
  uiLocales?: string | null;
  acceptLanguage?: string | null;
};

/** The realm's languages that Civitas ships, in the realm's order. */
export function realmLocales(realm: { defaultLocale: string; enabledLocales: string[] }): Locale[] {
  const enabled = [realm.defaultLocale, ...realm.enabledLocales].filter(isSupportedLocale);
  const unique = [...new Set(enabled)];
  return unique.length > 0 ? unique : ["en"];
}

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
