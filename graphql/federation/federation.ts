// What the federation's modules share: who may call them, how a city's fields reach the services
// (outside the city's transaction), the cities and origins they name, and the ids they hand out.
// Peering is in peers.ts (operators), components and datasets in their own files (city admins).
import { ValidationFailed } from "../../app/auth/errors";
import type { ServiceContext } from "../../app/auth/principal.server";
import { builder } from "../builder";
import { TranslatedText, translated } from "../city/translated-text";
import type { GraphQLContext } from "../context";

/** The operators' fields: peering, the instance's keys and its outbox. */
export const OPERATOR = { operatorPermission: "platform.federation.manage" } as const;
/** A city admin's fields: publishing, importing and subscribing for the city. */
export const CITY_ADMIN = { cityPermission: "federation.manage" } as const;

/**
 * Root fields of a city that the services answer in units of work of their own (graphql/yoga.ts,
 * opensOwnUnitsOfWork): app/federation reaches the instance's tables as app_admin, which the
 * city's transaction cannot become (ADR 013).
 */
export const OWN_UNITS_OF_WORK = { ownUnitsOfWork: true } as const;

const MIXED =
  "Federation fields run outside the city's transaction: ask them in an operation of their own, without other fields.";

/**
 * The service context of a federation field. At a city, the operation must be made of
 * federation fields only (then no transaction is open); asked next to other fields, inside the
 * city's transaction, the field refuses rather than fail in the service.
 */
export function federationService(context: GraphQLContext): ServiceContext {
  if (context.city !== null && context.unitOfWork.tx !== null) throw new ValidationFailed({ "": [MIXED] });
  return context.service;
}

/** The language texts default to: the request's city's (none on the platform's address). */
export const cityDefault = (context: GraphQLContext): string => context.city?.defaultLocale ?? "en";

export type CityShape = { uri: string; slug: string; names: Record<string, string> };

export const FederationCity = builder.objectRef<CityShape>("FederationCity").implement({
  description: "A city as the federation names it: of this instance or of a peer.",
  fields: (t) => ({
    uri: t.exposeString("uri", { description: "Its id in the protocol: `{instance id}/federation/cities/{slug}`." }),
    slug: t.exposeString("slug"),
    names: t.field({ type: TranslatedText, resolve: (city, _args, context) => translated(city.names, cityDefault(context)) }),
  }),
});

export type ProvenanceShape = { city: CityShape; instance: string; local: boolean; ownCity: boolean };

export const FederationProvenance = builder.objectRef<ProvenanceShape>("FederationProvenance").implement({
  description: "Where a component or a dataset comes from.",
  fields: (t) => ({
    city: t.field({ type: FederationCity, resolve: (origin) => origin.city }),
    instance: t.exposeString("instance", { description: "The origin instance's id (its base URL)." }),
    local: t.exposeBoolean("local", { description: "Published by a city of this instance (not a peer's)." }),
    ownCity: t.exposeBoolean("ownCity", { description: "Published by the asking city." }),
  }),
});

/** A text map as the API shows it. */
export const texts = (values: Record<string, string>, context: GraphQLContext) => translated(values, cityDefault(context));

/** `[{ locale, text }]` as the `{ locale: text }` the services take; a repeated language is refused. */
export function languageMap(field: string, list: readonly { locale: string; text: string }[] | null | undefined): Record<string, string> | null {
  if (!list) return null;
  const map: Record<string, string> = {};
  for (const { locale, text } of list) {
    if (locale in map) throw new ValidationFailed({ [field]: [`gives ${locale} twice`] });
    map[locale] = text;
  }
  return map;
}

/** A sequence number as the API writes it: a string (they outgrow GraphQL's 32-bit Int). */
export const seqText = (seq: number | bigint): string => String(seq);

/** Reads a sequence-number cursor (`after`): digits only, else the argument is refused. */
export function readSeq(field: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const seq = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(seq)) throw new ValidationFailed({ [field]: ["is not a cursor of this list"] });
  return seq;
}
