// One dataset (a city's admins): what it is and who publishes it; for the city's own, who may
// read it (changed here) and withdrawing it; for another city's, subscribing or not; and its
// records, paged in sequence order, each with where it comes from.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "~/auth/csrf.server";
import { NotFound, ValidationFailed } from "~/auth/errors";
import {
  changeDataset,
  cityChoices,
  DATASET_NOTICES,
  datasetName,
  localText,
  NO_STORE,
  pageTitle,
  requireFederationConsole,
  serviceName,
  sharingFrom,
  type FederationConsole,
} from "~/components/federation.server";
import type { CityChoice } from "~/components/federation";
import { datasetRecords, declaredDataset, getDataset, localCitySlug, updateDatasetSharing, type DatasetView, type WireRecord } from "~/federation/datasets.server";
import { translator } from "~/i18n/i18n.server";
import type { Locale } from "~/i18n/locales";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string; id?: string } };

const PAGE_SIZE = 25;

const ERRORS = {
  sharing: "federation:publishDataset.errors.sharing",
  cities: "federation:publishDataset.errors.cities",
  unknownCities: "federation:publishDataset.errors.unknownCities",
} as const;

export type SharingResult = { kind: "invalid"; errors: { sharing?: string; cities?: string }; values: { sharing: string; sharedWith: string[] } };

async function dataset(console: FederationConsole, id: string | undefined): Promise<DatasetView> {
  try {
    return await getDataset(console.principal, { datasetId: id ?? "" }, console.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

/** A record's value as a cell shows it: texts per language picked, the rest as written. */
function shownValue(value: unknown, locale: Locale) {
  if (value === null || value === undefined) return { text: "—" };
  if (typeof value === "object" && !Array.isArray(value) && Object.values(value).every((text) => typeof text === "string")) {
    return localText(value as Record<string, string>, locale, "—");
  }
  return { text: typeof value === "object" ? JSON.stringify(value) : String(value) };
}

/**
 * The records' columns: the fields the plugin declares for the dataset, in its order and with its
 * descriptions, then any other field the records hold (a peer's newer plugin version).
 */
function columnsOf(view: DatasetView, records: readonly WireRecord[], locale: Locale) {
  const declared = declaredDataset(view.pluginId, view.dataset)?.declared.fields ?? [];
  const t = translator(locale);
  const columns = declared.map((field) => ({ name: field.name, description: String(t(field.description)) }));
  for (const record of records) {
    for (const name of Object.keys(record.data ?? {})) if (!columns.some((column) => column.name === name)) columns.push({ name, description: "" });
  }
  return columns;
}

/** The cities to choose from, and the ones it is shared with already even when not listed there. */
async function sharingChoices(console: FederationConsole, sharedWith: readonly string[]): Promise<CityChoice[]> {
  const choices = await cityChoices(console);
  const listed = new Set(choices.map((choice) => choice.uri));
  const others = sharedWith
    .filter((uri) => !listed.has(uri))
    .map((uri) => ({ uri, name: localCitySlug(uri) ?? uri.slice(uri.lastIndexOf("/") + 1), instance: localCitySlug(uri) ? null : uri.slice(0, uri.indexOf("/federation/")) }));
  return [...choices, ...others];
}

export async function datasetPage(args: Args) {
  const console = await requireFederationConsole(args);
  const { locale } = console;
  const view = await dataset(console, args.params.id);
  const url = new URL(args.request.url);
  const after = Number(url.searchParams.get("after") ?? "0");
  const readable = view.mine || view.subscription?.state === "active";
  const records = readable
    ? await datasetRecords(console.principal, { datasetId: view.id, after: Number.isSafeInteger(after) && after > 0 ? after : 0, first: PAGE_SIZE }, console.service)
    : null;
  const title = localText(view.title, locale, datasetName(view.pluginId, view.dataset, locale));
  const done = url.searchParams.get("done");
  return json(
    {
      title: pageTitle(console, title.text),
      locale,
      base: console.base,
      id: view.id,
      heading: title,
      description: localText(view.description, locale),
      uri: view.uri,
      service: serviceName(view.pluginId, locale),
      city: localText(view.origin.names, locale, view.origin.slug),
      instance: view.origin.instance,
      local: view.origin.local,
      mine: view.mine,
      sharing: view.sharing,
      sharedWith: view.sharedWith,
      cities: view.mine && !view.withdrawnAt ? await sharingChoices(console, view.sharedWith) : [],
      lastSeq: view.lastSeq,
      refreshedAt: view.refreshedAt?.toISOString() ?? null,
      withdrawn: view.withdrawnAt !== null,
      subscription: view.subscription?.state ?? null,
      done: DATASET_NOTICES.find((notice) => notice === done) ?? null,
      records: records
        ? {
            after: after > 0 ? after : 0,
            columns: columnsOf(view, records.items, locale),
            items: records.items.map((record) => ({
              key: record.key,
              seq: record.seq,
              deleted: record.deleted,
              values: Object.fromEntries(Object.entries(record.data ?? {}).map(([field, value]) => [field, shownValue(value, locale)])),
              city: localCitySlug(record.provenance.city) ?? record.provenance.city,
              instance: record.provenance.instance,
              time: record.provenance.time,
            })),
            nextHref: records.hasNextPage && records.endCursor !== null ? `${console.base}/datasets/${view.id}?after=${records.endCursor}` : null,
          }
        : null,
    },
    { headers: NO_STORE },
  );
}

export async function changeDatasetPage(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const id = args.params.id ?? "";
  const here = `${console.base}/datasets/${id}`;
  const intent = String(form.get("intent") ?? "");
  // Withdrawn, it is gone from the list's view of others: back to the list.
  const answered = await changeDataset(console, id, intent, intent === "withdraw" ? `${console.base}/datasets` : here);
  if (answered) return answered;
  if (intent !== "sharing") return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
  const { sharing, sharedWith } = sharingFrom(form);
  const errors: SharingResult["errors"] = {};
  if (!sharing) errors.sharing = ERRORS.sharing;
  if (sharing === "cities" && sharedWith.length === 0) errors.cities = ERRORS.cities;
  const invalid = () => json<SharingResult>({ kind: "invalid", errors, values: { sharing: sharing ?? "", sharedWith } }, { status: 400, headers: NO_STORE });
  if (!sharing || Object.keys(errors).length > 0) return invalid();
  try {
    await updateDatasetSharing(console.principal, { datasetId: id, sharing, sharedWith }, console.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    if (error instanceof ValidationFailed) {
      if (error.fields.sharing) errors.sharing = ERRORS.sharing;
      else errors.cities = ERRORS.unknownCities;
      return invalid();
    }
    throw error;
  }
  return redirect(`${here}?done=sharing`, { status: 303, headers: NO_STORE });
}
