// /services/reporting/staff/open311: where the city's Open311 endpoint is, and the api_key of each
// of its API clients that may file requests (admins: the keys are secrets of the city).
import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { listApiClients } from "../../../app/auth/api-clients.server";
import { can } from "../../../app/auth/permissions";
import { open311ApiKey } from "../open311/api-keys.server";
import { NO_STORE, pageTitle, staffPage } from "./page.server";

export async function open311Page(args: LoaderFunctionArgs) {
  const page = await staffPage(args, "api_clients.manage");
  const clients = await listApiClients(page.principal, page.service);
  const origin = new URL(args.request.url).origin;
  const endpoint = `${origin}${page.basePath}/open311/v2/`;
  const writers = clients.filter((client) => !client.revokedAt && client.scopes.includes("write"));
  return json(
    {
      title: pageTitle(page, "reporting:staff.open311.title"),
      servicePath: page.servicePath,
      canConfigure: can(page.principal, "reporting.configure"),
      consolePath: `${page.basePath}/admin/api-clients`,
      endpoint,
      discovery: `${origin}${page.basePath}/open311/discovery.json`,
      jurisdictionId: page.city.slug,
      clients: await Promise.all(
        writers.map(async (client) => ({ name: client.name, clientId: client.clientId, apiKey: await open311ApiKey({ tenantId: page.tenantId, clientId: client.clientId }) })),
      ),
    },
    { headers: NO_STORE },
  );
}
