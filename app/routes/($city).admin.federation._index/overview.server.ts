// The federation section's overview for a city's admins: how much the city shares and reuses,
// and the imported components that have a newer version.
import type { AppLoadContext } from "@remix-run/node";
import { json } from "@remix-run/node";
import { listComponents, listImports } from "~/federation/components.server";
import { listDatasets, listSubscriptions } from "~/federation/datasets.server";
import { localText, NO_STORE, pageTitle, requireFederationConsole } from "~/components/federation.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

export async function overviewPage(args: Args) {
  const console = await requireFederationConsole(args);
  const { principal, service, locale } = console;
  const [published, imports, datasets, subscriptions] = await Promise.all([
    listComponents(principal, { city: console.city.uri, first: 100 }, service),
    listImports(principal, service),
    listDatasets(principal, { city: console.city.uri, first: 100 }, service),
    listSubscriptions(principal, service),
  ]);
  return json(
    {
      title: pageTitle(console, null),
      base: console.base,
      cityName: console.city.name,
      counts: {
        published: published.components.length,
        imports: imports.length,
        datasets: datasets.items.filter((dataset) => dataset.withdrawnAt === null).length,
        subscriptions: subscriptions.length,
      },
      updates: imports
        .filter((entry) => entry.updateAvailable)
        .map((entry) => ({
          id: entry.component.id,
          title: localText(entry.component.title, locale),
          version: entry.version,
          latest: entry.component.latestVersion,
        })),
    },
    { headers: NO_STORE },
  );
}
