// Any path no other route claims: the translated 404 page, in the city's frame when a city
// was resolved (or its 503 page when that city is suspended).
import type { LoaderFunctionArgs } from "@remix-run/node";
import { notFound, requireCity } from "~/tenancy/guard.server";

export async function loader({ context }: LoaderFunctionArgs) {
  // Only the city's state matters here: the path itself names nothing.
  if (context.tenant.kind === "city") requireCity(context, {});
  throw notFound();
}

// A component makes this a page route: without one Remix would answer the bare 404 response
// instead of rendering the root error boundary.
export default function NotFoundRoute() {
  return null;
}
