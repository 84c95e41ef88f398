// The city's datasets in the federation (its admins): those it publishes (who may read them,
// withdraw), those other cities share with it (subscribe, unsubscribe), and its subscriptions.
import type { AppLoadContext } from "@remix-run/node";
import { json } from "@remix-run/node";
import { readCheckedForm } from "~/auth/csrf.server";
import { ValidationFailed } from "~/auth/errors";
import { changeDataset, DATASET_NOTICES, datasetRow, NO_STORE, pageTitle, requireFederationConsole } from "~/components/federation.server";
import { listDatasets, listSubscriptions } from "~/federation/datasets.server";
import { translator } from "~/i18n/i18n.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

export async function datasetsPage(args: Args) {
  const console = await requireFederationConsole(args);
  const { principal, service, locale } = console;
  const url = new URL(args.request.url);
  const after = url.searchParams.get("after");
  let visible;
  try {
    visible = await listDatasets(principal, { first: 25, after: after || null }, service);
  } catch (error) {
    // A cursor edited by hand: the first page.
    if (!(error instanceof ValidationFailed)) throw error;
    visible = await listDatasets(principal, { first: 25 }, service);
  }
  const [mine, subscriptions] = await Promise.all([listDatasets(principal, { city: console.city.uri, first: 100 }, service), listSubscriptions(principal, service)]);
  const done = url.searchParams.get("done");
  return json(
    {
      title: pageTitle(console, translator(locale, "federation")("city.datasets")),
      locale,
      base: console.base,
      cityName: console.city.name,
      done: DATASET_NOTICES.find((notice) => notice === done) ?? null,
      mine: mine.items.map((dataset) => datasetRow(console, dataset)),
      visible: visible.items.filter((dataset) => !dataset.mine).map((dataset) => datasetRow(console, dataset)),
      subscriptions: subscriptions.map((dataset) => datasetRow(console, dataset)),
      nextHref: visible.hasNextPage && visible.endCursor ? `${console.base}/datasets?after=${encodeURIComponent(visible.endCursor)}` : null,
    },
    { headers: NO_STORE },
  );
}

export async function changeDatasets(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const answer = await changeDataset(console, String(form.get("datasetId") ?? ""), String(form.get("intent") ?? ""), `${console.base}/datasets`);
  return answer ?? json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
}
