// What the federation console's loaders and actions share (a city's admins): who may open it,
// the city as the federation names it, texts picked from language maps, the names of services,
// component kinds and datasets in the page's language, and the sharing policy read from a form.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { requireCityConsole } from "~/auth/console.server";
import { Conflict, NotFound } from "~/auth/errors";
import { shareableCities, subscribeDataset, unsubscribeDataset, withdrawDataset, type DatasetView } from "~/federation/datasets.server";
import { cityUri } from "~/federation/instance.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale, type Locale } from "~/i18n/locales";
import { pickTranslation } from "~/i18n/translated";
import { catalogueEntry, pluginById } from "~/plugins/catalogue.server";
import { pageLocale, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";
import { SHARINGS, type CityChoice, type LocalText, type Sharing } from "./federation";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

export const NO_STORE = { "Cache-Control": "no-store" };

/** A city admin holding federation.manage, with the city as pages and services need it. */
export async function requireFederationConsole(args: Args) {
  const { principal, tenantId, citySlug, basePath } = await requireCityConsole(args, "federation.manage");
  const { tenant } = args.context;
  if (tenant.kind !== "city") throw notFound();
  const locale = await pageLocale(args.request, args.context);
  const city = tenant.city;
  return {
    principal,
    tenantId,
    locale,
    base: `${basePath}/admin/federation`,
    service: { tenantId, requestId: args.context.requestId },
    city: {
      slug: citySlug,
      uri: cityUri(citySlug),
      name: siteName(args.context, locale).text,
      defaultLocale: city.defaultLocale,
      locales: [city.defaultLocale, ...city.enabledLocales.filter((code) => code !== city.defaultLocale)],
    },
  };
}

export type FederationConsole = Awaited<ReturnType<typeof requireFederationConsole>>;

/** "{page} – Federation – {city}", as the other console pages title themselves. */
export function pageTitle(console: FederationConsole, page: string | null): string {
  const section = translator(console.locale, "federation")("title");
  return [page, section, console.city.name].filter(Boolean).join(" – ");
}

/** A text another city wrote, in the page's language if it has one (then its own, then any). */
export function localText(map: Record<string, string> | null | undefined, locale: Locale, fallback = ""): LocalText {
  const picked = pickTranslation(map ?? {}, locale, "en");
  if (!picked) return { text: fallback };
  return picked.locale === locale || !isSupportedLocale(picked.locale) ? { text: picked.text } : { text: picked.text, lang: picked.locale };
}

/** A service's name in the page's language (its id when the catalogue has no such service). */
export function serviceName(pluginId: string, locale: Locale): string {
  return catalogueEntry(pluginId)?.names[locale] ?? pluginId;
}

/** The name a plugin gives one of its component kinds (its code when unknown here). */
export function componentKindName(pluginId: string, kind: string, locale: Locale): string {
  const declared = pluginById(pluginId)?.federation?.components?.find((component) => component.kind === kind);
  return declared ? String(translator(locale)(declared.name)) : kind;
}

/** The name a plugin gives one of its datasets (its code when unknown here). */
export function datasetName(pluginId: string, dataset: string, locale: Locale): string {
  const declared = pluginById(pluginId)?.federation?.datasets?.find((entry) => entry.id === dataset);
  return declared ? String(translator(locale)(declared.name)) : dataset;
}

/** The cities a dataset can be shared with: this instance's other open cities, then the peers'. */
export async function cityChoices(console: FederationConsole): Promise<CityChoice[]> {
  const cities = await shareableCities(console.principal, console.service);
  return cities.map((city) => {
    const name = localText(city.names, console.locale, city.slug);
    return { uri: city.uri, name: name.text, ...(name.lang && { lang: name.lang }), instance: city.local ? null : city.instance };
  });
}

/** The policy a form asks for: the sharing (null when missing or unknown) and the named cities. */
export function sharingFrom(form: FormData): { sharing: Sharing | null; sharedWith: string[] } {
  const wanted = String(form.get("sharing") ?? "");
  const sharing = SHARINGS.find((value) => value === wanted) ?? null;
  const sharedWith = [...new Set(form.getAll("sharedWith").map(String).filter((uri) => uri !== ""))];
  return { sharing, sharedWith: sharing === "cities" ? sharedWith : [] };
}

/** The texts a form gives per language (`{prefix}.{locale}`), empty ones left out, trimmed. */
export function textsFrom(form: FormData, prefix: string, locales: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    locales.flatMap((locale) => {
      const value = String(form.get(`${prefix}.${locale}`) ?? "").trim();
      return value ? [[locale, value]] : [];
    }),
  );
}

/** A dataset as the console lists it. */
export function datasetRow(console: FederationConsole, dataset: DatasetView) {
  const { locale } = console;
  return {
    id: dataset.id,
    title: localText(dataset.title, locale, datasetName(dataset.pluginId, dataset.dataset, locale)),
    city: localText(dataset.origin.names, locale, dataset.origin.slug),
    instance: dataset.origin.local ? null : dataset.origin.instance,
    service: serviceName(dataset.pluginId, locale),
    sharing: dataset.sharing,
    mine: dataset.mine,
    lastSeq: dataset.lastSeq,
    refreshedAt: dataset.refreshedAt?.toISOString() ?? null,
    withdrawn: dataset.withdrawnAt !== null,
    subscription: dataset.subscription?.state ?? null,
  };
}

export const DATASET_NOTICES = ["published", "sharing", "subscribed", "unsubscribed", "withdrawn"] as const;
export type DatasetNotice = (typeof DATASET_NOTICES)[number];

export type DatasetRefused = { kind: "refused"; error: string };

/**
 * Subscribe, unsubscribe and withdraw, from the datasets' list or a dataset's page: a redirect
 * to `back` with its notice; null for another intent (the page's own).
 */
export async function changeDataset(console: FederationConsole, datasetId: string, intent: string, back: string): Promise<Response | null> {
  const done = (notice: DatasetNotice) => redirect(`${back}?done=${notice}`, { status: 303, headers: NO_STORE });
  try {
    switch (intent) {
      case "subscribe":
        await subscribeDataset(console.principal, { datasetId }, console.service);
        return done("subscribed");
      case "unsubscribe":
        await unsubscribeDataset(console.principal, { datasetId }, console.service);
        return done("unsubscribed");
      case "withdraw":
        await withdrawDataset(console.principal, { datasetId }, console.service);
        return done("withdrawn");
      default:
        return null;
    }
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    // Withdrawn already, or the city's own dataset: the page was out of date.
    if (error instanceof Conflict) return json<DatasetRefused>({ kind: "refused", error: "federation:datasets.errors.state" }, { status: 409, headers: NO_STORE });
    throw error;
  }
}
