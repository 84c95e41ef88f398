// What operators do on the platform's address: list cities, onboard one (the same shape as a
// tenants/ file, plus its first admin), suspend and resume, and see each city's health.
import {
  cityCursor,
  cityHealth,
  listCities,
  onboardCity,
  resumeCity,
  suspendCity,
  type OnboardCityInput,
} from "../../app/cities/platform.server";
import { DEFAULT_BRANDING } from "../../app/tenancy/resolve.server";
import { builder, MUTATION_ERRORS } from "../builder";
import { City, CityStatus } from "../city/city";
import { translationsOf, TranslationInput } from "../city/settings";
import { atomically, type GraphQLContext } from "../context";
import { connectionOf, forwardOnly, nodeSelection } from "../pagination";

const CityHealth = builder
  .objectRef<{
    members: number;
    admins: number;
    pendingInvitations: number;
    lastActivityAt: Date | null;
    realmProvisioned: boolean;
  }>("CityHealth")
  .implement({
    description: "How a city is doing, for operators.",
    fields: (t) => ({
      members: t.exposeInt("members", { description: "People known to the city." }),
      admins: t.exposeInt("admins", { description: "People holding admin (membership or realm role)." }),
      pendingInvitations: t.exposeInt("pendingInvitations"),
      lastActivityAt: t.expose("lastActivityAt", { type: "DateTime", nullable: true, description: "The latest audit event." }),
      realmProvisioned: t.exposeBoolean("realmProvisioned", { description: "Whether its identity realm exists." }),
    }),
  });

builder.objectField(City, "health", (t) =>
  t.field({
    type: CityHealth,
    authScopes: { operatorPermission: "platform.cities.manage" },
    resolve: (city, _args, context) => cityHealth(context.principal, { id: city.id }, context.service),
  }),
);

builder.queryField("cities", (t) =>
  t.connection({
    type: City,
    description: "Every city of the instance, by slug (operators).",
    authScopes: { operatorPermission: "platform.cities.manage" },
    args: {
      status: t.arg({ type: CityStatus, required: false }),
      search: t.arg.string({ required: false, description: "Part of the slug, realm, a host name or a name." }),
    },
    resolve: async (_root, args, context, info) => {
      forwardOnly(args);
      const page = await listCities(context.principal, args, context.service, nodeSelection(context, info));
      return connectionOf(page.cities, page, cityCursor);
    },
  }),
);

// --- Onboarding -------------------------------------------------------------------------------

const LocalesInput = builder.inputType("CityLocalesInput", {
  fields: (t) => ({
    default: t.string({ required: true, description: "Must be one of `enabled`." }),
    enabled: t.stringList({ required: true, description: "In the order a language switcher shows them." }),
  }),
});

const OnboardingBrandingInput = builder.inputType("CityBrandingInput", {
  fields: (t) => ({
    primaryColor: t.string({ required: false, description: "#rrggbb (default #1f4e79)." }),
    accentColor: t.string({ required: false, description: "#rrggbb (default #e0a526)." }),
    logoUrl: t.string({ required: false }),
  }),
});

const FirstAdminInput = builder.inputType("FirstAdminInput", {
  fields: (t) => ({ email: t.string({ required: true }), displayName: t.string({ required: false }) }),
});

const OnboardCityInputType = builder.inputType("OnboardCityInput", {
  description: "A city as in a tenants/ file (tenants/README.md), plus its first admin.",
  fields: (t) => ({
    slug: t.string({ required: true, description: "Lower-case letters, digits and -, e.g. lyon." }),
    names: t.field({ type: [TranslationInput], required: true, description: "The name in each enabled language." }),
    locales: t.field({ type: LocalesInput, required: true }),
    timeZone: t.string({ required: true }),
    branding: t.field({ type: OnboardingBrandingInput, required: false }),
    domains: t.stringList({ required: false, description: "The city's own host names." }),
    realm: t.string({ required: false, description: "Its identity realm (default: the slug)." }),
    firstAdmin: t.field({ type: FirstAdminInput, required: true }),
  }),
});

/** Drops absent (null) fields: the city-file schema is strict about what it is given. */
function present<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null && field !== undefined)) as Partial<T>;
}

function onboardingInput(input: typeof OnboardCityInputType.$inferInput): OnboardCityInput {
  const { names, branding, realm, firstAdmin, ...city } = input;
  return {
    ...present(city),
    names: translationsOf(names),
    branding: { primaryColor: DEFAULT_BRANDING.primaryColor, accentColor: DEFAULT_BRANDING.accentColor, ...present(branding ?? {}) },
    ...(realm && { identity: { realm } }),
    firstAdmin: present(firstAdmin),
  } as OnboardCityInput;
}

const OnboardedInvitation = builder
  .objectRef<{ email: string; role: string; expiresAt: Date; token: string }>("OnboardedInvitation")
  .implement({
    fields: (t) => ({
      email: t.exposeString("email"),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
      token: t.exposeString("token", { description: "Shown once: signed in at the city, the first admin accepts with it (acceptInvitation)." }),
    }),
  });

const OnboardedCity = builder
  .objectRef<{ cityId: string; realmCreated: boolean; invitation: { email: string; role: string; expiresAt: Date; token: string } }>(
    "OnboardedCity",
  )
  .implement({
    fields: (t) => ({
      realmCreated: t.exposeBoolean("realmCreated", { description: "False when the realm existed (an earlier attempt)." }),
      invitation: t.field({
        type: OnboardedInvitation,
        resolve: ({ invitation }) => invitation,
      }),
      city: t.prismaField({
        type: City,
        resolve: (query, onboarded, _args, context) => context.db().city.findUniqueOrThrow({ ...query, where: { id: onboarded.cityId } }),
      }),
    }),
  });

const CityStatusChange = builder.objectRef<{ cityId: string; changed: boolean }>("CityStatusChange").implement({
  fields: (t) => ({
    changed: t.exposeBoolean("changed", { description: "False when the city had this status already." }),
    city: t.prismaField({
      type: City,
      resolve: (query, change, _args, context) => context.db().city.findUniqueOrThrow({ ...query, where: { id: change.cityId } }),
    }),
  }),
});

const caches = (context: GraphQLContext) => ({ ...context.service, issuers: context.identity.issuers });

builder.mutationFields((t) => ({
  onboardCity: t.field({
    type: OnboardedCity,
    description: "Creates a city, its identity realm and its first admin's invitation (operators).",
    authScopes: { operatorPermission: "platform.cities.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: OnboardCityInputType, required: true }) },
    resolve: (_root, { input }, context) =>
      atomically(context, async () => {
        const onboarded = await onboardCity(context.principal, onboardingInput(input), {
          ...caches(context),
          backend: context.identity.backend,
        });
        return { cityId: onboarded.city.id, realmCreated: onboarded.realmCreated, invitation: onboarded.invitation };
      }),
  }),
  suspendCity: t.field({
    type: CityStatusChange,
    description: "Its pages and API stop answering, and its tokens are refused (operators).",
    authScopes: { operatorPermission: "platform.cities.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.globalID({ required: true, for: City }), reason: t.arg.string({ required: false }) },
    resolve: (_root, { id, reason }, context) =>
      atomically(context, async () => {
        const change = await suspendCity(context.principal, { id: id.id, ...(reason && { reason }) }, caches(context));
        return { cityId: change.city.id, changed: change.changed };
      }),
  }),
  resumeCity: t.field({
    type: CityStatusChange,
    authScopes: { operatorPermission: "platform.cities.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.globalID({ required: true, for: City }), reason: t.arg.string({ required: false }) },
    resolve: (_root, { id, reason }, context) =>
      atomically(context, async () => {
        const change = await resumeCity(context.principal, { id: id.id, ...(reason && { reason }) }, caches(context));
        return { cityId: change.city.id, changed: change.changed };
      }),
  }),
}));
