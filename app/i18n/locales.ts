// The UI languages Civitas ships (BCP 47). A city enables a subset; residents pick within it.
export const SUPPORTED_LOCALES = ["en", "fr", "es", "de", "it", "pt", "nl", "hu", "ar", "zh"] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

const RIGHT_TO_LEFT: ReadonlySet<string> = new Set(["ar"]);

/** Each language named in itself, for language switchers. */
export const LOCALE_NAMES: Record<Locale, string> = {
  en: "English",
  fr: "Français",
  es: "Español",
  de: "Deutsch",
  it: "Italiano",
  pt: "Português",
  nl: "Nederlands",
  hu: "Magyar",
  ar: "العربية",
  zh: "中文",
};

export function isSupportedLocale(value: string): value is Locale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

export function textDirection(locale: string): "ltr" | "rtl" {
  return RIGHT_TO_LEFT.has(locale.split("-")[0] ?? locale) ? "rtl" : "ltr";
}
