// What every plugin page's loader and action start with: the city of the request, which must
// run the plugin. A city that does not (never installed, uninstalled, disabled) gets the same
// 404 as for a page that does not exist; other cities keep the page.
import type { AppLoadContext, LoaderFunctionArgs } from "@remix-run/node";
import { NotFound } from "../auth/errors";
import { notFound, requireCity, type CityRequest } from "../tenancy/guard.server";
import { requireEnabledPlugin, type Installation } from "./enablement.server";

export type PluginPage = CityRequest & {
  tenantId: string;
  installation: Installation;
  /** The plugin's pages start here: `${basePath}/services/${pluginId}`. */
  servicePath: string;
};

export async function requirePluginPage(
  args: { context: AppLoadContext; params: LoaderFunctionArgs["params"] },
  pluginId: string,
): Promise<PluginPage> {
  const cityRequest = requireCity(args.context, args.params);
  try {
    const installation = await requireEnabledPlugin(cityRequest.city.id, pluginId);
    return {
      ...cityRequest,
      tenantId: cityRequest.city.id,
      installation,
      servicePath: `${cityRequest.basePath}/services/${pluginId}`,
    };
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}
