// "My account" at a city: the signed-in resident's profile (their name and language; the email
// comes from their sign-in account). Anyone else is sent to sign in first.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { principalOf } from "~/auth/account.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { ValidationFailed } from "~/auth/errors";
import { webScope } from "~/auth/sign-in.server";
import { MAX_DISPLAY_NAME, ownProfile, updateOwnProfile } from "~/auth/users.server";
import { secureCookies } from "~/auth/web-session.server";
import { languageCookie, translator } from "~/i18n/i18n.server";
import type { Locale } from "~/i18n/locales";
import { pageLocale, siteLocales, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";
import { allPlugins } from "~/plugins/catalogue.server";
import { enabledPluginIds } from "~/plugins/enablement.server";
import type { AccountSection } from "~/plugins/sdk.server";

type AccountArgs = { request: Request; context: AppLoadContext; params: { city?: string } };

/** The form's messages, by rule: translation keys spelt out for the translation check. */
const PROFILE_ERRORS = {
  displayNameMissing: "account:errors.displayNameMissing",
  displayNameTooLong: "account:errors.displayNameTooLong",
  languageUnavailable: "account:errors.languageUnavailable",
} as const;

/** Translation keys of the refused fields. */
export type ProfileErrors = { displayName?: string; locale?: string };

export type ProfileFormResult = { errors: ProfileErrors; values: { displayName: string; locale: string } };

const NO_STORE = { "Cache-Control": "no-store" };

async function signedInResident({ request, context, params }: AccountArgs) {
  const scope = webScope(context, params);
  if (scope.kind !== "city") throw notFound();
  const principal = await principalOf(request, context);
  if (principal.kind !== "user") {
    const { pathname } = new URL(request.url);
    throw redirect(`${scope.basePath}/auth/login?returnTo=${encodeURIComponent(pathname)}`, { headers: NO_STORE });
  }
  return { principal, tenantId: scope.tenantId, basePath: scope.basePath };
}

/** What each service the city runs shows the resident of their own (their reports, bookings). */
async function accountSections(
  context: AccountArgs["context"],
  who: { tenantId: string; userId: string; basePath: string },
  locale: Locale,
): Promise<AccountSection[]> {
  const city = context.tenant.kind === "city" ? context.tenant.city : null;
  if (!city) return [];
  const running = await enabledPluginIds(who.tenantId);
  const plugins = allPlugins().filter((plugin) => plugin.account && running.has(plugin.id));
  return Promise.all(
    plugins.map((plugin) =>
      plugin.account!({
        tenantId: who.tenantId,
        userId: who.userId,
        locale,
        cityDefaultLocale: city.defaultLocale,
        timeZone: city.timeZone,
        servicePath: `${who.basePath}/services/${plugin.id}`,
      }),
    ),
  );
}

export async function accountPage(args: AccountArgs) {
  const { principal, tenantId, basePath } = await signedInResident(args);
  const { request, context } = args;
  const [profile, locale] = await Promise.all([ownProfile(principal, { tenantId }), pageLocale(request, context)]);
  const sections = await accountSections(context, { tenantId, userId: principal.userId, basePath }, locale);
  const languages = siteLocales(context).available;
  const city = siteName(context, locale);
  return json(
    {
      title: `${translator(locale, "account")("title")} – ${city.text}`,
      cityName: city.text,
      profile: {
        displayName: profile.displayName ?? "",
        email: profile.email,
        // "" is "automatic": a language the city no longer offers counts as no choice.
        locale: languages.find((code) => code === profile.locale) ?? "",
      },
      languages,
      maxDisplayName: MAX_DISPLAY_NAME,
      saved: new URL(request.url).searchParams.has("saved"),
      sections,
    },
    { headers: NO_STORE },
  );
}

export async function saveProfile(args: AccountArgs) {
  const { principal, tenantId, basePath } = await signedInResident(args);
  const { request, context } = args;
  const form = await readCheckedForm(request);
  const displayName = String(form.get("displayName") ?? "").trim();
  const chosen = String(form.get("locale") ?? "");
  const locale: Locale | null | undefined = chosen === "" ? null : siteLocales(context).available.find((code) => code === chosen);

  const errors: ProfileErrors = {};
  if (displayName === "") errors.displayName = PROFILE_ERRORS.displayNameMissing;
  else if (displayName.length > MAX_DISPLAY_NAME) errors.displayName = PROFILE_ERRORS.displayNameTooLong;
  if (locale === undefined) errors.locale = PROFILE_ERRORS.languageUnavailable;
  const refused = (found: ProfileErrors) =>
    json<ProfileFormResult>({ errors: found, values: { displayName, locale: chosen } }, { status: 400, headers: NO_STORE });
  if (locale === undefined || Object.keys(errors).length > 0) return refused(errors);

  try {
    await updateOwnProfile(principal, { displayName, locale }, { tenantId, requestId: context.requestId });
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    return refused({
      ...(error.fields.displayName && { displayName: PROFILE_ERRORS.displayNameTooLong }),
      ...(error.fields.locale && { locale: PROFILE_ERRORS.languageUnavailable }),
    });
  }
  // The browser follows the profile: a language remembered, or "automatic" forgetting it.
  const secure = secureCookies(request);
  const cookie = locale ? await languageCookie.serialize(locale, { secure }) : await languageCookie.serialize("", { secure, maxAge: 0 });
  return redirect(`${basePath}/account?saved=1`, { status: 303, headers: { ...NO_STORE, "Set-Cookie": cookie } });
}
