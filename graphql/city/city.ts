// The city of the request: what anyone may read about it (names, languages, branding, services),
// and the lists its staff and admins read, each behind its permission.
import { NIL_UUID, UUID_PATTERN } from "../../app/db/database.server";
import { cityBranding } from "../../app/tenancy/resolve.server";
import { enabledServices, serviceCatalogue, type CatalogueEntry } from "../../app/plugins/catalogue.server";
import { builder } from "../builder";
import { TranslatedText, translated } from "./translated-text";

export const CityStatus = builder.enumType("CityStatus", {
  description: "A suspended city's pages and API answer as if it did not exist, except to operators.",
  values: ["active", "suspended"] as const,
});

const Branding = builder
  .objectRef<{ primaryColor: string; accentColor: string; logoUrl: string | null }>("Branding")
  .implement({
    description: "The city's colours (#rrggbb) and logo on its portal.",
    fields: (t) => ({
      primaryColor: t.exposeString("primaryColor"),
      accentColor: t.exposeString("accentColor"),
      logoUrl: t.exposeString("logoUrl", { nullable: true }),
    }),
  });

export const Service = builder.objectRef<CatalogueEntry & { enabled?: boolean }>("Service").implement({
  description: "A service of the shared plugin catalogue (reporting, bookings, …).",
  fields: (t) => ({
    pluginId: t.exposeString("id"),
    version: t.exposeString("version"),
    category: t.exposeString("category"),
    name: t.field({ type: TranslatedText, resolve: (entry) => translated(entry.names, "en") }),
    description: t.field({ type: TranslatedText, resolve: (entry) => translated(entry.descriptions, "en") }),
  }),
});

export const City = builder.prismaNode("City", {
  id: { field: "id" },
  description: "A partner city: the tenant everything else belongs to.",
  // At a city's address the unit of work sees that city only (RLS); an operator sees them all.
  findUnique: (id) => ({ id: UUID_PATTERN.test(id) ? id : NIL_UUID }),
  // Select mode: a city is read for the columns its asked fields need, and not at all when they
  // need only its id (see `city` below).
  select: { id: true },
  fields: (t) => ({
    slug: t.exposeString("slug"),
    names: t.field({
      type: TranslatedText,
      select: { names: true, defaultLocale: true },
      resolve: (city) => translated(city.names, city.defaultLocale),
    }),
    name: t.string({
      description: "The name in the request's language (fallback chain of TranslatedText).",
      select: { names: true, defaultLocale: true, slug: true },
      resolve: (city, _args, context) => {
        const names = translated(city.names, city.defaultLocale).values;
        return names[context.locale] ?? names[city.defaultLocale] ?? Object.values(names)[0] ?? city.slug;
      },
    }),
    welcome: t.field({
      type: TranslatedText,
      description: "The city's welcome text on its portal, in the languages it wrote it in.",
      select: { welcome: true, defaultLocale: true },
      resolve: (city) => translated(city.welcome as Record<string, string>, city.defaultLocale),
    }),
    status: t.field({ type: CityStatus, select: { status: true }, resolve: (city) => city.status }),
    defaultLocale: t.exposeString("defaultLocale"),
    enabledLocales: t.exposeStringList("enabledLocales"),
    timeZone: t.exposeString("timeZone"),
    branding: t.field({ type: Branding, select: { branding: true }, resolve: (city) => cityBranding(city.branding) }),
    services: t.field({
      type: [Service],
      description: "The services the city has enabled, from the shared catalogue.",
      select: { installations: { where: { enabled: true }, select: { pluginId: true, version: true } } },
      resolve: (city) => enabledServices(city.installations),
    }),
    persistedOperationsOnly: t.exposeBoolean("persistedOperationsOnly", {
      description: "Whether the city's API accepts only its registered operations.",
      authScopes: { cityPermission: "api_clients.manage" },
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  city: t.prismaField({
    type: City,
    nullable: true,
    description: "The city of this address (its host, or /{slug}); null on the platform's own address.",
    authScopes: { public: true },
    resolve: (query, _root, _args, context) => {
      if (!context.city) return null;
      // Only its lists asked (members, API clients, the audit log…): they need the id alone, and
      // the request's city is known, active, and the one row this unit of work may read.
      if (selectsIdOnly(query)) return { id: context.city.id } as never;
      return context.db().city.findUnique({ ...query, where: { id: context.city.id } });
    },
  }),
  serviceCatalogue: t.field({
    type: [Service],
    description: "Every service of the instance's shared plugin catalogue, installed here or not.",
    authScopes: { public: true },
    resolve: () => serviceCatalogue(),
  }),
}));

/** Whether a Pothos selection reads nothing of a row but its id. */
function selectsIdOnly(query: { select?: Record<string, unknown>; include?: unknown }): boolean {
  if (!query.select || query.include) return false;
  return Object.entries(query.select).every(([column, wanted]) => column === "id" || !wanted);
}
