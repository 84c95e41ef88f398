// The city's settings page: names per language, languages and default, time zone, colours (with
// the contrast check as the primary colour's error) and the logo upload. Input is checked here
// first, field by field with translated messages; the settings service checks it again.
import type { AppLoadContext } from "@remix-run/node";
import {
  json,
  MaxPartSizeExceededError,
  redirect,
  unstable_createMemoryUploadHandler,
  unstable_parseMultipartFormData,
} from "@remix-run/node";
import { requireCityConsole } from "~/auth/console.server";
import { CsrfError, readCheckedForm, verifyCsrf } from "~/auth/csrf.server";
import { ValidationFailed } from "~/auth/errors";
import { contrastRatio, formatContrast, MIN_TEXT_CONTRAST } from "~/cities/contrast";
import { logoProblem, MAX_LOGO_BYTES, removeCityLogo, saveCityLogo, type LogoProblem } from "~/cities/logos.server";
import { getCitySettings, updateCitySettings, type CitySettingsInput } from "~/cities/settings.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale, SUPPORTED_LOCALES } from "~/i18n/locales";
import { identity } from "~/identity/identity.server";
import { pageLocale, siteName } from "~/site.server";
import { timeZoneProblem } from "~/tenancy/city-file.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const NO_STORE = { "Cache-Control": "no-store" };
const PERMISSION = "city.settings.update";
const MAX_NAME = 100;
const MAX_WELCOME = 2000;
const COLOUR = /^#[0-9a-f]{6}$/i;

/** The messages, spelt out for the translation check. */
const ERRORS = {
  nameTooLong: "admin:settings.errors.nameTooLong",
  nameMissing: "admin:settings.errors.nameMissing",
  localesEmpty: "admin:settings.errors.localesEmpty",
  defaultNotEnabled: "admin:settings.errors.defaultNotEnabled",
  timeZone: "admin:settings.errors.timeZone",
  colour: "admin:settings.errors.colour",
  contrast: "admin:settings.errors.contrast",
  invalid: "admin:settings.errors.invalid",
  welcomeTooLong: "admin:settings.errors.welcomeTooLong",
} as const;

const LOGO_ERRORS: Record<LogoProblem | "notMultipart", string> = {
  empty: "admin:settings.logo.errors.empty",
  too_large: "admin:settings.logo.errors.tooLarge",
  unsupported_type: "admin:settings.logo.errors.unsupportedType",
  notMultipart: "admin:settings.logo.errors.empty",
};

/** A refused field: its message's key and what the message says about it. */
export type FieldError = { key: string; params?: Record<string, string | number> };

export type SettingsValues = {
  names: Record<string, string>;
  welcome: Record<string, string>;
  enabledLocales: string[];
  defaultLocale: string;
  timeZone: string;
  primaryColor: string;
  accentColor: string;
};

export type SettingsResult =
  | { form: "settings"; errors: Record<string, FieldError>; values: SettingsValues }
  | { form: "logo"; errors: Record<string, FieldError> };

const NOTICES = ["settings", "logo", "logoRemoved", "unchanged"] as const;
type Notice = (typeof NOTICES)[number];

let timeZones: string[] | undefined;

/** Every IANA zone this runtime knows, for the select (UTC included, which Intl lists apart). */
function allTimeZones(): string[] {
  timeZones ??= [...new Set(["UTC", ...Intl.supportedValuesOf("timeZone")])].sort();
  return timeZones;
}

export async function settingsPage(args: Args) {
  const { principal, tenantId, basePath } = await requireCityConsole(args, PERMISSION);
  const [settings, locale] = await Promise.all([getCitySettings(principal, { tenantId }), pageLocale(args.request, args.context)]);
  const notice = new URL(args.request.url).searchParams.get("saved");
  const zones = allTimeZones();
  return json(
    {
      title: `${translator(locale, "admin")("settings.title")} – ${siteName(args.context, locale).text}`,
      basePath,
      settings: {
        names: settings.names,
        welcome: settings.welcome,
        enabledLocales: settings.enabledLocales,
        defaultLocale: settings.defaultLocale,
        timeZone: settings.timeZone,
        primaryColor: settings.branding.primaryColor,
        accentColor: settings.branding.accentColor,
        logoUrl: settings.branding.logoUrl,
      },
      locales: [...SUPPORTED_LOCALES],
      timeZones: zones.includes(settings.timeZone) ? zones : [settings.timeZone, ...zones],
      maxLogoKb: MAX_LOGO_BYTES / 1024,
      minContrast: MIN_TEXT_CONTRAST,
      notice: (NOTICES as readonly string[]).includes(notice ?? "") ? (notice as Notice) : null,
    },
    { headers: NO_STORE },
  );
}

/** The form's values, as typed (trimmed), languages in the city's order then the list's. */
function readSettings(form: FormData, current: string[]): SettingsValues {
  const checked = form.getAll("enabledLocales").map(String);
  const enabledLocales = [
    ...current.filter((locale) => checked.includes(locale)),
    ...SUPPORTED_LOCALES.filter((locale) => checked.includes(locale) && !current.includes(locale)),
  ];
  const names: Record<string, string> = {};
  const welcome: Record<string, string> = {};
  for (const locale of SUPPORTED_LOCALES) {
    const value = String(form.get(`name.${locale}`) ?? "").trim();
    if (value !== "") names[locale] = value;
    const text = String(form.get(`welcome.${locale}`) ?? "").trim();
    if (text !== "") welcome[locale] = text;
  }
  return {
    names,
    welcome,
    enabledLocales,
    defaultLocale: String(form.get("defaultLocale") ?? ""),
    timeZone: String(form.get("timeZone") ?? ""),
    primaryColor: String(form.get("primaryColor") ?? "").trim().toLowerCase(),
    accentColor: String(form.get("accentColor") ?? "").trim().toLowerCase(),
  };
}

/** Field id → message, in the order the form shows them. */
function checkSettings(values: SettingsValues): Record<string, FieldError> {
  const errors: Record<string, FieldError> = {};
  for (const locale of values.enabledLocales) {
    if ((values.names[locale]?.length ?? 0) > MAX_NAME) errors[`name-${locale}`] = { key: ERRORS.nameTooLong, params: { max: MAX_NAME } };
    if ((values.welcome[locale]?.length ?? 0) > MAX_WELCOME) errors[`welcome-${locale}`] = { key: ERRORS.welcomeTooLong, params: { max: MAX_WELCOME } };
  }
  if (values.enabledLocales.length === 0) errors.locales = { key: ERRORS.localesEmpty };
  else if (!isSupportedLocale(values.defaultLocale) || !values.enabledLocales.includes(values.defaultLocale)) {
    errors["default-locale"] = { key: ERRORS.defaultNotEnabled };
  } else if (!values.names[values.defaultLocale] && !errors[`name-${values.defaultLocale}`]) {
    errors[`name-${values.defaultLocale}`] = { key: ERRORS.nameMissing };
  }
  if (values.timeZone === "" || timeZoneProblem(values.timeZone)) errors["time-zone"] = { key: ERRORS.timeZone };
  if (!COLOUR.test(values.primaryColor)) errors["primary-color"] = { key: ERRORS.colour };
  else {
    const ratio = contrastRatio(values.primaryColor, "#ffffff");
    if (ratio < MIN_TEXT_CONTRAST) {
      errors["primary-color"] = { key: ERRORS.contrast, params: { ratio: formatContrast(ratio), min: `${MIN_TEXT_CONTRAST}:1` } };
    }
  }
  if (!COLOUR.test(values.accentColor)) errors["accent-color"] = { key: ERRORS.colour };
  return errors;
}

/** The service's refusal, on the fields it names (its messages are for the API: ours are translated). */
function serviceErrors(error: ValidationFailed, values: SettingsValues): Record<string, FieldError> {
  const fieldOf: Record<string, string> = {
    names: `name-${values.defaultLocale}`,
    enabledLocales: "locales",
    defaultLocale: "default-locale",
    timeZone: "time-zone",
    branding: "primary-color",
    welcome: `welcome-${values.defaultLocale}`,
  };
  const errors: Record<string, FieldError> = {};
  for (const field of Object.keys(error.fields)) errors[fieldOf[field] ?? "locales"] = { key: ERRORS.invalid };
  return errors;
}

function refused(result: SettingsResult) {
  return json<SettingsResult>(result, { status: 400, headers: NO_STORE });
}

async function readLogoForm(request: Request): Promise<FormData | "too_large"> {
  try {
    return await unstable_parseMultipartFormData(request, unstable_createMemoryUploadHandler({ maxPartSize: MAX_LOGO_BYTES }));
  } catch (error) {
    if (error instanceof MaxPartSizeExceededError) return "too_large";
    throw new Response("Bad Request: expected a form\n", { status: 400, headers: { "Content-Type": "text/plain" } });
  }
}

export async function saveSettings(args: Args) {
  const { principal, tenantId, basePath } = await requireCityConsole(args, PERMISSION);
  const { request, context } = args;
  const deps = { tenantId, requestId: context.requestId, identity: { backend: identity().backend } };
  const done = (notice: Notice) => redirect(`${basePath}/admin/settings?saved=${notice}`, { status: 303, headers: NO_STORE });
  const maxKb = MAX_LOGO_BYTES / 1024;

  if ((request.headers.get("Content-Type") ?? "").toLowerCase().startsWith("multipart/form-data")) {
    const form = await readLogoForm(request);
    // Too large: the form was not read to its end, nor its token; nothing is written either way.
    if (form === "too_large") return refused({ form: "logo", errors: { logo: { key: LOGO_ERRORS.too_large, params: { max: maxKb } } } });
    try {
      await verifyCsrf(request, form);
    } catch (error) {
      if (error instanceof CsrfError) throw new Response(`Forbidden: ${error.message}\n`, { status: 403, headers: { "Content-Type": "text/plain" } });
      throw error;
    }
    const file = form.get("logo");
    if (!(file instanceof File)) return refused({ form: "logo", errors: { logo: { key: LOGO_ERRORS.notMultipart } } });
    const bytes = new Uint8Array(await file.arrayBuffer());
    const problem = logoProblem(bytes);
    if (problem) return refused({ form: "logo", errors: { logo: { key: LOGO_ERRORS[problem], params: { max: maxKb } } } });
    await saveCityLogo(principal, { bytes }, deps);
    return done("logo");
  }

  const form = await readCheckedForm(request);
  const intent = form.get("intent");
  if (intent === "removeLogo") {
    await removeCityLogo(principal, deps);
    return done("logoRemoved");
  }
  if (intent !== "settings") return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });

  const current = await getCitySettings(principal, { tenantId });
  const values = readSettings(form, current.enabledLocales);
  const errors = checkSettings(values);
  if (Object.keys(errors).length > 0) return refused({ form: "settings", errors, values });

  const input: CitySettingsInput = {
    names: Object.fromEntries(values.enabledLocales.filter((locale) => values.names[locale]).map((locale) => [locale, values.names[locale] ?? ""])),
    welcome: Object.fromEntries(values.enabledLocales.filter((locale) => values.welcome[locale]).map((locale) => [locale, values.welcome[locale] ?? ""])),
    enabledLocales: values.enabledLocales,
    defaultLocale: values.defaultLocale,
    timeZone: values.timeZone,
    // Colours only when changed: a colour chosen before the contrast rule does not block the rest.
    branding: {
      ...(values.primaryColor !== current.branding.primaryColor && { primaryColor: values.primaryColor }),
      ...(values.accentColor !== current.branding.accentColor && { accentColor: values.accentColor }),
    },
  };
  try {
    const change = await updateCitySettings(principal, input, deps);
    return done(change.changed ? "settings" : "unchanged");
  } catch (error) {
    if (error instanceof ValidationFailed) return refused({ form: "settings", errors: serviceErrors(error, values), values });
    throw error;
  }
}

