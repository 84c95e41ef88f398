// A city admin's settings: names per language, languages, time zone, colours and logo.
import { updateCitySettings } from "../../app/cities/settings.server";
import { builder, MUTATION_ERRORS } from "../builder";
import { atomically } from "../context";
import { City } from "./city";

export const TranslationInput = builder.inputType("TranslationInput", {
  fields: (t) => ({ locale: t.string({ required: true }), text: t.string({ required: true }) }),
});

const BrandingInput = builder.inputType("BrandingInput", {
  description: "Only the fields given change; logoUrl null removes the logo.",
  fields: (t) => ({
    primaryColor: t.string({ required: false, description: "#rrggbb; white text on it must reach 4.5:1 contrast." }),
    accentColor: t.string({ required: false }),
    logoUrl: t.string({ required: false, description: "https URL of the logo (or a root-relative path)." }),
  }),
});

const CitySettingsInput = builder.inputType("CitySettingsInput", {
  description: "A partial update: absent fields stay as they are. `names` replaces the whole set.",
  fields: (t) => ({
    names: t.field({ type: [TranslationInput], required: false }),
    enabledLocales: t.stringList({ required: false }),
    defaultLocale: t.string({ required: false }),
    timeZone: t.string({ required: false, description: "IANA time zone, e.g. Europe/Paris." }),
    branding: t.field({ type: BrandingInput, required: false }),
    welcome: t.field({ type: [TranslationInput], required: false, description: "The portal's welcome text per language; replaces the whole set." }),
  }),
});

/** `[{ locale, text }]` as the `{ locale: text }` the services take (a repeated locale is refused there). */
export function translationsOf(list: readonly { locale: string; text: string }[] | null | undefined) {
  if (!list) return list;
  const entries = list.map(({ locale, text }) => [locale, text] as const);
  return Object.fromEntries(entries);
}

const CitySettingsChange = builder.objectRef<{ changed: boolean; changedFields: string[] }>("CitySettingsChange").implement({
  fields: (t) => ({
    changed: t.exposeBoolean("changed"),
    changedFields: t.exposeStringList("changedFields"),
    city: t.prismaField({
      type: City,
      resolve: (query, _change, _args, context) => context.db().city.findUniqueOrThrow({ ...query, where: { id: context.city!.id } }),
    }),
  }),
});

builder.mutationField("updateCitySettings", (t) =>
  t.field({
    type: CitySettingsChange,
    description: "Changes the city's settings (admins); each change is validated and audited.",
    authScopes: { cityPermission: "city.settings.update" },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CitySettingsInput, required: true }) },
    resolve: (_root, { input }, context) =>
      atomically(context, () =>
        updateCitySettings(
          context.principal,
          { ...input, names: translationsOf(input.names), welcome: translationsOf(input.welcome) },
          // The realm (names and languages on its sign-in pages) is updated once this commits.
          { ...context.service, identity: { backend: context.identity.backend } },
        ),
      ),
  }),
);
