// Text a city wrote in several languages ({ "fr": "Paris", "en": "Paris" }), read with the
// fallback chain: the language asked for, the request's (Accept-Language), the city's default, any.
import { z } from "zod";
import { pickTranslation } from "../../app/i18n/translated";
import { builder } from "../builder";

export type TranslatedTextShape = { values: Record<string, string>; cityDefault: string };

/** Wraps a stored `{ locale: text }` column (anything else reads as no text at all). */
export function translated(column: unknown, cityDefault: string): TranslatedTextShape {
  const values: Record<string, string> = {};
  if (column && typeof column === "object" && !Array.isArray(column)) {
    for (const [locale, text] of Object.entries(column)) if (typeof text === "string" && text !== "") values[locale] = text;
  }
  return { values, cityDefault };
}

const LANGUAGE_TAG = z
  .string()
  .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$/, { error: "must be a language tag such as fr or pt-BR" })
  .nullish();

const Translation = builder.objectRef<{ locale: string; text: string }>("Translation").implement({
  description: "The text in one language (a BCP 47 tag).",
  fields: (t) => ({ locale: t.exposeString("locale"), text: t.exposeString("text") }),
});

export const TranslatedText = builder.objectRef<TranslatedTextShape>("TranslatedText").implement({
  description: "Text a city wrote in several languages.",
  fields: (t) => ({
    text: t.string({
      nullable: true,
      description:
        "The text in `locale` (default: the request's language from Accept-Language), else in the city's default language, else in any language it exists in. Null only when there is no text at all.",
      args: { locale: t.arg.string({ required: false, validate: LANGUAGE_TAG }) },
      resolve: ({ values, cityDefault }, { locale }, context) => {
        const requested = locale ?? context.locale;
        // "fr-CA" falls back to "fr" before the city's default.
        const picked = pickTranslation(values, requested, requested.split("-")[0] ?? cityDefault) ?? pickTranslation(values, cityDefault, cityDefault);
        return picked?.text ?? null;
      },
    }),
    translations: t.field({
      type: [Translation],
      resolve: ({ values }) => Object.entries(values).map(([locale, text]) => ({ locale, text })),
    }),
    locales: t.stringList({ resolve: ({ values }) => Object.keys(values) }),
  }),
});
