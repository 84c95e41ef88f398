// Onboarding a city from the platform console (operators): one form with everything a city needs
// to open (slug, languages and names, time zone, first admin), checked field by field with
// translated messages, then the onboarding service (which checks it all again, creates the
// realm and invites the first admin). The answer shows the city's addresses and the first
// admin's invitation link, once.
import type { AppLoadContext } from "@remix-run/node";
import { json } from "@remix-run/node";
import { requireOperatorConsole } from "~/auth/console.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, ValidationFailed } from "~/auth/errors";
import { cityAddresses } from "~/cities/addresses.server";
import { onboardCity } from "~/cities/platform.server";
import { publicUrl } from "~/config.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale, SUPPORTED_LOCALES } from "~/i18n/locales";
import { identity } from "~/identity/identity.server";
import { PLATFORM_NAME } from "~/site";
import { pageLocale } from "~/site.server";
import { RESERVED_REALMS, RESERVED_SLUGS, SLUG_PATTERN, timeZoneProblem } from "~/tenancy/city-file.server";
import { DEFAULT_BRANDING } from "~/tenancy/resolve.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const NO_STORE = { "Cache-Control": "no-store" };
const MAX_NAME = 100;

const ERRORS = {
  slug: "platform:onboard.errors.slug",
  slugReserved: "platform:onboard.errors.slugReserved",
  slugTaken: "platform:onboard.errors.slugTaken",
  locales: "platform:onboard.errors.locales",
  defaultLocale: "platform:onboard.errors.defaultLocale",
  name: "platform:onboard.errors.name",
  nameTooLong: "platform:onboard.errors.nameTooLong",
  timeZone: "platform:onboard.errors.timeZone",
  email: "platform:onboard.errors.email",
  adminName: "platform:onboard.errors.adminName",
  invalid: "platform:onboard.errors.invalid",
} as const;

export type OnboardingValues = {
  slug: string;
  enabledLocales: string[];
  defaultLocale: string;
  names: Record<string, string>;
  timeZone: string;
  adminEmail: string;
  adminName: string;
};

export type FieldError = { key: string; params?: Record<string, string | number> };

export type OnboardingResult =
  | { kind: "invalid"; errors: Record<string, FieldError>; values: OnboardingValues }
  | { kind: "onboarded"; slug: string; name: string; addresses: string[]; invitationLink: string; adminEmail: string; expiresAt: string };

export async function onboardingPage(args: Args) {
  await requireOperatorConsole(args);
  const locale = await pageLocale(args.request, args.context);
  return json(
    {
      title: `${translator(locale, "platform")("onboard.title")} – ${PLATFORM_NAME}`,
      locale,
      locales: [...SUPPORTED_LOCALES],
      timeZones: [...new Set(["UTC", ...Intl.supportedValuesOf("timeZone")])].sort(),
    },
    { headers: NO_STORE },
  );
}

function readValues(form: FormData): OnboardingValues {
  const checked = form.getAll("enabledLocales").map(String);
  const names: Record<string, string> = {};
  for (const locale of SUPPORTED_LOCALES) {
    const value = String(form.get(`name.${locale}`) ?? "").trim();
    if (value) names[locale] = value;
  }
  const defaultLocale = String(form.get("defaultLocale") ?? "");
  // The default language first in the switcher, then the others in the list's order.
  const enabled = SUPPORTED_LOCALES.filter((locale) => checked.includes(locale));
  return {
    slug: String(form.get("slug") ?? "").trim().toLowerCase(),
    enabledLocales: enabled.includes(defaultLocale as (typeof enabled)[number]) ? [defaultLocale, ...enabled.filter((locale) => locale !== defaultLocale)] : enabled,
    defaultLocale,
    names,
    timeZone: String(form.get("timeZone") ?? ""),
    adminEmail: String(form.get("adminEmail") ?? "").trim(),
    adminName: String(form.get("adminName") ?? "").trim(),
  };
}

function check(values: OnboardingValues): Record<string, FieldError> {
  const errors: Record<string, FieldError> = {};
  const reserved = (RESERVED_SLUGS as readonly string[]).includes(values.slug) || (RESERVED_REALMS as readonly string[]).includes(values.slug);
  if (!SLUG_PATTERN.test(values.slug)) errors.slug = { key: ERRORS.slug };
  else if (reserved) errors.slug = { key: ERRORS.slugReserved };
  if (values.enabledLocales.length === 0) errors.locales = { key: ERRORS.locales };
  else if (!isSupportedLocale(values.defaultLocale) || !values.enabledLocales.includes(values.defaultLocale)) errors["default-locale"] = { key: ERRORS.defaultLocale };
  for (const locale of values.enabledLocales) {
    const name = values.names[locale] ?? "";
    if (name === "") errors[`name-${locale}`] = { key: ERRORS.name };
    else if (name.length > MAX_NAME) errors[`name-${locale}`] = { key: ERRORS.nameTooLong, params: { max: MAX_NAME } };
  }
  if (values.timeZone === "" || timeZoneProblem(values.timeZone)) errors["time-zone"] = { key: ERRORS.timeZone };
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.adminEmail) || values.adminEmail.length > 254) errors["admin-email"] = { key: ERRORS.email };
  if (values.adminName.length > MAX_NAME) errors["admin-name"] = { key: ERRORS.adminName, params: { max: MAX_NAME } };
  return errors;
}

export async function onboard(args: Args) {
  const { principal } = await requireOperatorConsole(args);
  const form = await readCheckedForm(args.request);
  const values = readValues(form);
  const invalid = (errors: Record<string, FieldError>) =>
    json<OnboardingResult>({ kind: "invalid", errors, values }, { status: 400, headers: NO_STORE });
  const errors = check(values);
  if (Object.keys(errors).length > 0) return invalid(errors);

  const { backend, issuers } = identity();
  try {
    const onboarded = await onboardCity(
      principal,
      {
        slug: values.slug,
        // Only the enabled languages' names: the city-file schema refuses others.
        names: Object.fromEntries(values.enabledLocales.map((locale) => [locale, values.names[locale] ?? ""])),
        locales: { default: values.defaultLocale as (typeof SUPPORTED_LOCALES)[number], enabled: values.enabledLocales as (typeof SUPPORTED_LOCALES)[number][] },
        timeZone: values.timeZone,
        branding: { primaryColor: DEFAULT_BRANDING.primaryColor, accentColor: DEFAULT_BRANDING.accentColor },
        firstAdmin: { email: values.adminEmail, ...(values.adminName && { displayName: values.adminName }) },
      },
      { backend, issuers, requestId: args.context.requestId },
    );
    const slug = onboarded.city.slug;
    return json<OnboardingResult>(
      {
        kind: "onboarded",
        slug,
        name: values.names[values.defaultLocale] ?? slug,
        addresses: cityAddresses(slug, []),
        invitationLink: `${publicUrl()}/${slug}/invitations/${onboarded.invitation.token}`,
        adminEmail: onboarded.invitation.email,
        expiresAt: onboarded.invitation.expiresAt.toISOString(),
      },
      { headers: NO_STORE },
    );
  } catch (error) {
    if (error instanceof Conflict) return invalid({ slug: { key: ERRORS.slugTaken } });
    if (error instanceof ValidationFailed) {
      // Rules the form does not know (a host name under the platform's...): on the field they name.
      const fieldOf: Record<string, string> = {
        slug: "slug",
        names: `name-${values.defaultLocale}`,
        locales: "locales",
        timeZone: "time-zone",
        firstAdmin: "admin-email",
      };
      return invalid(Object.fromEntries(Object.keys(error.fields).map((field) => [fieldOf[field] ?? "slug", { key: ERRORS.invalid }])));
    }
    throw error;
  }
}
