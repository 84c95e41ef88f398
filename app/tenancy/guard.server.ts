// The checks a city page makes before it renders: a city was resolved, the URL does not name
// another one, and the city is open. Failures are thrown as responses that the root error
// boundary turns into the translated 404 and 503 pages.
import type { AppLoadContext, LoaderFunctionArgs } from "@remix-run/node";
import type { ResolvedCity } from "./resolve.server";

export type CityRequest = { city: ResolvedCity; basePath: string };

export function notFound(): Response {
  return new Response(null, {
    status: 404,
    statusText: "Not Found",
    headers: { "Cache-Control": "no-store" },
  });
}

export function temporarilyUnavailable(): Response {
  return new Response(null, {
    status: 503,
    statusText: "Service Unavailable",
    // A suspension is an operator's decision, not a blip: tell clients to come back much later.
    headers: { "Cache-Control": "no-store", "Retry-After": "3600" },
  });
}

/**
 * The city of this request, or a thrown 404 (no city, an unknown one, or a path that names a
 * different city than the host) or 503 (the city is suspended). `params.city` is the optional
 * `($city)` segment: on a city host it must be absent or that city's own slug.
 */
export function requireCity(context: AppLoadContext, params: LoaderFunctionArgs["params"]): CityRequest {
  const { tenant } = context;
  if (tenant.kind !== "city") throw notFound();
  if (tenant.city.status !== "active") throw temporarilyUnavailable();
  if (params.city !== undefined && params.city !== tenant.city.slug) throw notFound();
  return { city: tenant.city, basePath: tenant.basePath };
}
