// GET /{slug}/branding/logo (and /branding/logo on a city's host): the logo its admins uploaded,
// as the type its bytes showed (nosniff), cached for good when asked for by its current hash.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { readCityLogo } from "~/cities/logos.server";
import { notFound, requireCity } from "~/tenancy/guard.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { city } = requireCity(context, params);
  const logo = await readCityLogo(city.id);
  if (!logo) throw notFound();
  const etag = `"${logo.sha256}"`;
  const version = new URL(request.url).searchParams.get("v");
  const headers = {
    "Content-Type": logo.contentType,
    "X-Content-Type-Options": "nosniff",
    // An image, never a document: nothing in it may run or load anything if opened directly.
    "Content-Security-Policy": "default-src 'none'; sandbox",
    ETag: etag,
    // The hashed address never changes its image; the bare one may, after a new upload.
    "Cache-Control": version !== null && logo.sha256.startsWith(version) && version.length >= 16 ? "public, max-age=31536000, immutable" : "public, max-age=300",
  };
  if (request.headers.get("If-None-Match") === etag) return new Response(null, { status: 304, headers });
  return new Response(new Uint8Array(logo.bytes), { status: 200, headers: { ...headers, "Content-Length": String(logo.bytes.length) } });
}
