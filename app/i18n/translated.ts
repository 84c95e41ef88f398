// Text that cities write per locale ({ "fr": "Paris", "en": "Paris" }), read with the fallback
// chain of the architecture: the requested language, then the city's default, then any.

export type TranslatedText = Record<string, string>;

/** The text and the locale it is really in (pages mark it with `lang` when it differs). */
export type PickedText = { text: string; locale: string };

export function pickTranslation(
  text: TranslatedText,
  requested: string,
  cityDefault: string,
): PickedText | null {
  for (const locale of [requested, cityDefault]) {
    const value = text[locale];
    if (value) return { text: value, locale };
  }
  const [locale, value] = Object.entries(text).find(([, candidate]) => candidate !== "") ?? [];
  return locale && value ? { text: value, locale } : null;
}
