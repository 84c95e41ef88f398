// Publishing a dataset (a city's admins): one that a service the city runs declares, and who may
// read it: anyone, the federation's cities, or cities named among this instance's and the peers'.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import {
  cityChoices,
  datasetName,
  NO_STORE,
  pageTitle,
  requireFederationConsole,
  serviceName,
  sharingFrom,
  type FederationConsole,
} from "~/components/federation.server";
import { publishDataset } from "~/federation/datasets.server";
import { translator } from "~/i18n/i18n.server";
import { pluginById } from "~/plugins/catalogue.server";
import { listCityPlugins } from "~/plugins/lifecycle.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const ERRORS = {
  dataset: "federation:publishDataset.errors.dataset",
  sharing: "federation:publishDataset.errors.sharing",
  cities: "federation:publishDataset.errors.cities",
  unknownCities: "federation:publishDataset.errors.unknownCities",
} as const;

export type PublishDatasetResult = {
  kind: "invalid";
  errors: { dataset?: string; sharing?: string; cities?: string };
  values: { dataset: string; sharing: string; sharedWith: string[] };
};

/** The datasets the city can publish: each one a service it runs declares, as "plugin:dataset". */
async function choices(console: FederationConsole) {
  const running = (await listCityPlugins(console.principal, console.service)).filter((plugin) => plugin.state === "enabled");
  const t = translator(console.locale);
  return running.flatMap((plugin) =>
    (pluginById(plugin.id)?.federation?.datasets ?? []).map((dataset) => ({
      value: `${plugin.id}:${dataset.id}`,
      pluginId: plugin.id,
      dataset: dataset.id,
      label: `${datasetName(plugin.id, dataset.id, console.locale)} — ${serviceName(plugin.id, console.locale)}`,
      description: String(t(dataset.description)),
    })),
  );
}

export async function publishDatasetPage(args: Args) {
  const console = await requireFederationConsole(args);
  const [datasets, cities] = await Promise.all([choices(console), cityChoices(console)]);
  return json(
    {
      title: pageTitle(console, translator(console.locale, "federation")("publishDataset.title")),
      base: console.base,
      datasets,
      cities,
    },
    { headers: NO_STORE },
  );
}

export async function publishDatasetAction(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const wanted = String(form.get("dataset") ?? "");
  const chosen = (await choices(console)).find((candidate) => candidate.value === wanted);
  const { sharing, sharedWith } = sharingFrom(form);
  const errors: PublishDatasetResult["errors"] = {};
  if (!chosen) errors.dataset = ERRORS.dataset;
  if (!sharing) errors.sharing = ERRORS.sharing;
  if (sharing === "cities" && sharedWith.length === 0) errors.cities = ERRORS.cities;
  const invalid = () =>
    json<PublishDatasetResult>({ kind: "invalid", errors, values: { dataset: wanted, sharing: sharing ?? "", sharedWith } }, { status: 400, headers: NO_STORE });
  if (!chosen || !sharing || Object.keys(errors).length > 0) return invalid();
  try {
    const dataset = await publishDataset(console.principal, { pluginId: chosen.pluginId, dataset: chosen.dataset, sharing, sharedWith }, console.service);
    return redirect(`${console.base}/datasets/${dataset.id}?done=published`, { status: 303, headers: NO_STORE });
  } catch (error) {
    if (error instanceof ValidationFailed) {
      if (error.fields.sharedWith) errors.cities = ERRORS.unknownCities;
      else if (error.fields.sharing) errors.sharing = ERRORS.sharing;
      else errors.dataset = ERRORS.dataset;
      return invalid();
    }
    // The service stopped running (or left the catalogue) meanwhile.
    if (error instanceof NotFound || error instanceof Conflict) {
      errors.dataset = ERRORS.dataset;
      return invalid();
    }
    throw error;
  }
}
