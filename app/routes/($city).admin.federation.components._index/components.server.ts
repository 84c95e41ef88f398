// The city's components in the federation (its admins): those it published (withdraw, publish a
// new version), those it imported (a newer version offered), and the federated catalogue with
// its filters (service, language, city).
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import {
  componentKindName,
  localText,
  NO_STORE,
  pageTitle,
  requireFederationConsole,
  serviceName,
  type FederationConsole,
} from "~/components/federation.server";
import { listComponents, listImports, withdrawComponent, type ComponentEntry, type ComponentFilter } from "~/federation/components.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale, LOCALE_NAMES, SUPPORTED_LOCALES } from "~/i18n/locales";
import { allPlugins } from "~/plugins/catalogue.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const PAGE_SIZE = 20;

export type ComponentsResult = { kind: "refused"; componentId: string; error: string };

function summaryOf(console: FederationConsole, entry: ComponentEntry) {
  const { locale } = console;
  return {
    id: entry.id,
    title: localText(entry.title, locale, entry.kind),
    summary: localText(entry.summary, locale),
    city: localText(entry.origin.city.names, locale, entry.origin.city.slug),
    instance: entry.origin.local ? null : entry.origin.instance,
    kind: componentKindName(entry.pluginId, entry.kind, locale),
    service: serviceName(entry.pluginId, locale),
    version: entry.latestVersion,
    languages: entry.locales.map((code) => ({ code, name: isSupportedLocale(code) ? LOCALE_NAMES[code] : code })),
    published: entry.origin.published.toISOString(),
    withdrawn: entry.withdrawnAt !== null,
  };
}

export async function componentsPage(args: Args) {
  const console = await requireFederationConsole(args);
  const { principal, service, locale } = console;
  const url = new URL(args.request.url);
  const services = allPlugins().filter((plugin) => (plugin.federation?.components?.length ?? 0) > 0);
  const wantedService = url.searchParams.get("service") ?? "";
  const wantedLanguage = url.searchParams.get("language") ?? "";
  const wantedCity = (url.searchParams.get("city") ?? "").slice(0, 2048);
  const filter: ComponentFilter = {
    pluginId: services.some((plugin) => plugin.id === wantedService) ? wantedService : null,
    locale: SUPPORTED_LOCALES.find((code) => code === wantedLanguage) ?? null,
    city: wantedCity || null,
    first: PAGE_SIZE,
  };
  const after = url.searchParams.get("after");
  let catalogue;
  try {
    catalogue = await listComponents(principal, { ...filter, after: after || null }, service);
  } catch (error) {
    // A cursor or city edited by hand: the first page, unfiltered by city.
    if (!(error instanceof ValidationFailed)) throw error;
    catalogue = await listComponents(principal, { ...filter, city: null }, service);
  }
  const [published, imports, everything] = await Promise.all([
    listComponents(principal, { city: console.city.uri, first: 100 }, service),
    listImports(principal, service),
    // The cities to filter by: those with components in the catalogue.
    listComponents(principal, { first: 100 }, service),
  ]);
  const cities = new Map<string, ReturnType<typeof localText>>();
  for (const entry of everything.components) cities.set(entry.origin.city.uri, localText(entry.origin.city.names, locale, entry.origin.city.slug));
  const next = new URLSearchParams({
    ...(filter.pluginId && { service: filter.pluginId }),
    ...(filter.locale && { language: filter.locale }),
    ...(filter.city && { city: filter.city }),
  });
  if (catalogue.endCursor) next.set("after", catalogue.endCursor);
  const done = url.searchParams.get("done");
  return json(
    {
      title: pageTitle(console, translator(locale, "federation")("city.components")),
      locale,
      base: console.base,
      cityName: console.city.name,
      done: done === "withdrawn" ? done : null,
      filters: {
        service: filter.pluginId ?? "",
        language: filter.locale ?? "",
        city: filter.city ?? "",
        services: services.map((plugin) => ({ value: plugin.id, label: serviceName(plugin.id, locale) })),
        languages: SUPPORTED_LOCALES.map((code) => ({ value: code, label: LOCALE_NAMES[code], lang: code })),
        cities: [...cities].map(([uri, name]) => ({ value: uri, label: name.text, lang: name.lang })).sort((a, b) => a.label.localeCompare(b.label, locale)),
      },
      published: published.components.map((entry) => summaryOf(console, entry)),
      imports: imports.map((entry) => ({
        ...summaryOf(console, entry.component),
        imported: entry.version,
        following: entry.following,
        updateAvailable: entry.updateAvailable,
      })),
      catalogue: catalogue.components.map((entry) => summaryOf(console, entry)),
      nextHref: catalogue.hasNextPage ? `${console.base}/components?${next.toString()}` : null,
    },
    { headers: NO_STORE },
  );
}

export async function changeComponents(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const componentId = String(form.get("componentId") ?? "");
  if (form.get("intent") !== "withdraw") return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
  try {
    await withdrawComponent(console.principal, { componentId }, console.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    if (error instanceof Conflict) {
      return json<ComponentsResult>({ kind: "refused", componentId, error: "federation:components.errors.withdrawn" }, { status: 409, headers: NO_STORE });
    }
    throw error;
  }
  return redirect(`${console.base}/components?done=withdrawn`, { status: 303, headers: NO_STORE });
}
