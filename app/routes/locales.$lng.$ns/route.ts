// GET /locales/{lng}/{ns}: one namespace of one shipped language, for the browser's i18next
// (pages bring their own translations; later pages and language switches load the rest here).
import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { isSupportedLocale } from "~/i18n/locales";
import { isNamespace, RESOURCES, TRANSLATIONS_VERSION } from "~/i18n/resources.server";
import { notFound } from "~/tenancy/guard.server";

export function loader({ request, params }: LoaderFunctionArgs) {
  const { lng = "", ns = "" } = params;
  if (!isSupportedLocale(lng) || !isNamespace(ns)) throw notFound();
  // The current version's address never changes content; any other is answered, briefly cached.
  const current = new URL(request.url).searchParams.get("v") === TRANSLATIONS_VERSION;
  return json(RESOURCES[lng][ns], {
    headers: { "Cache-Control": current ? "public, max-age=31536000, immutable" : "public, max-age=300" },
  });
}
