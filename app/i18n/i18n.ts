// i18next for React pages. The root loader sends the page's language and its `common`
// translations; server render and browser build the same instance from them, so hydration
// sees the same text. English is bundled as the fallback for a missing key.
import { createInstance, type i18n } from "i18next";
import en from "../../locales/en/common.json";

export const DEFAULT_NAMESPACE = "common";

/** The shape of locales/{lng}/common.json (English is the reference). */
export type CommonTranslations = typeof en;

export function createI18n(locale: string, common: CommonTranslations | undefined): i18n {
  const instance = createInstance();
  // initAsync false + inline resources: init completes synchronously, as rendering needs.
  void instance.init({
    lng: locale,
    fallbackLng: "en",
    supportedLngs: false,
    ns: [DEFAULT_NAMESPACE],
    defaultNS: DEFAULT_NAMESPACE,
    resources: { en: { [DEFAULT_NAMESPACE]: en }, ...(common ? { [locale]: { [DEFAULT_NAMESPACE]: common } } : {}) },
    // React escapes what it renders; escaping here too would show &amp; in city names.
    interpolation: { escapeValue: false },
    initAsync: false,
  });
  return instance;
}
