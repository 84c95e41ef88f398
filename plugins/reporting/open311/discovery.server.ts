// The Open311 service discovery document of a city (wiki.open311.org/Service_Discovery): where
// its GeoReport v2 endpoint is, which formats it speaks, how to get an api_key, and a changeset
// that moves whenever the service list or a service definition changes, so that clients know
// when to refresh what they cache.
import type { Tx } from "../../../app/db/database.server";
import type { ResolvedCity } from "../../../app/tenancy/resolve.server";
import type { Element } from "./format.server";
import { w3Datetime } from "./params.server";
import { translate, type Language } from "./services.server";

export const GEOREPORT_V2 = "http://wiki.open311.org/GeoReport_v2";

/** The XML names of the document's repeated elements. */
export const DISCOVERY_LISTS = { endpoints: "endpoint", formats: "format" };

export async function discoveryDocument(
  tx: Tx,
  options: { city: ResolvedCity; origin: string; basePath: string; language: Language },
): Promise<Element> {
  const { city, origin, basePath } = options;
  const categories = await tx.reportingCategory.aggregate({ where: { tenantId: city.id }, _max: { updatedAt: true } });
  const installation = await tx.pluginInstallation.findFirst({ where: { tenantId: city.id, pluginId: "reporting" }, select: { updatedAt: true } });
  const times = [categories._max.updatedAt, installation?.updatedAt].filter((time): time is Date => time instanceof Date);
  const changeset = w3Datetime(new Date(Math.max(0, ...times.map((time) => time.getTime()))));
  const name = translate(city.names, options.language) ?? city.slug;
  const site = `${origin}${basePath}`;
  return {
    changeset,
    contact: `${name}, on Civitas: questions about this API go to the city through ${site}/ (developer guide: ${site}/developer).`,
    key_service: `An administrator of ${name} creates an API client at ${site}/admin/api-clients; the client's Open311 api_key is shown there. Reading needs no key.`,
    endpoints: [
      {
        specification: GEOREPORT_V2,
        url: `${site}/open311/v2`,
        changeset,
        type: "production",
        formats: ["text/xml", "application/json"],
      },
    ],
  };
}
