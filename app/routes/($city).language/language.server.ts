// The language switcher's form: remembers the choice in this browser (the `lng` cookie) and, for
// a signed-in resident, on their profile, then sends the browser back to the page it was on.
import type { AppLoadContext } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { principalOf } from "~/auth/account.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { ValidationFailed } from "~/auth/errors";
import { safeReturnTo, webScope } from "~/auth/sign-in.server";
import { updateOwnProfile } from "~/auth/users.server";
import { secureCookies } from "~/auth/web-session.server";
import { languageCookie } from "~/i18n/i18n.server";
import { siteLocales } from "~/site.server";

type LanguageArgs = { request: Request; context: AppLoadContext; params: { city?: string } };

export async function changeLanguage({ request, context, params }: LanguageArgs): Promise<Response> {
  const scope = webScope(context, params);
  const form = await readCheckedForm(request);
  const chosen = form.get("lng");
  const locale = siteLocales(context).available.find((candidate) => candidate === chosen);
  if (!locale) {
    throw new Response("Bad Request: this site does not offer that language\n", { status: 400, headers: { "Content-Type": "text/plain" } });
  }
  const principal = await principalOf(request, context);
  if (principal.kind === "user" && scope.kind === "city") {
    try {
      await updateOwnProfile(principal, { locale }, { tenantId: scope.tenantId, requestId: context.requestId });
    } catch (error) {
      // A city whose default language is not among its enabled ones: the cookie still holds it.
      if (!(error instanceof ValidationFailed)) throw error;
    }
  }
  const returnTo = safeReturnTo(String(form.get("returnTo") ?? ""), scope.basePath);
  return redirect(returnTo, {
    status: 303,
    headers: {
      "Set-Cookie": await languageCookie.serialize(locale, { secure: secureCookies(request) }),
      "Cache-Control": "no-store",
    },
  });
}
