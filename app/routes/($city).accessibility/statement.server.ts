// The legal and accessibility statement of a city's site (or of the platform's).
import type { AppLoadContext } from "@remix-run/node";
import { webScope } from "~/auth/sign-in.server";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";

type StatementArgs = { request: Request; context: AppLoadContext; params: { city?: string } };

export async function statementPage({ request, context, params }: StatementArgs) {
  // An unknown city is a 404, a suspended one a 503, like its other pages.
  webScope(context, params);
  const locale = await pageLocale(request, context);
  const site = siteName(context, locale);
  return {
    title: `${translator(locale, "legal")("title")} – ${site.text}`,
    siteName: site.text,
  };
}
