// The frame every page shares (language, direction, site name, home link, colours), computed
// from the city the server resolved. A city's pages speak the resident's language among the
// city's; the platform's pages speak the visitor's among all that Civitas ships.
import type { AppLoadContext } from "@remix-run/node";
import { sessionOf } from "./auth/account.server";
import { cityLocales, cityUiLocale, detectLocale, translator } from "./i18n/i18n.server";
import { SUPPORTED_LOCALES, textDirection, type Locale } from "./i18n/locales";
import { pickTranslation } from "./i18n/translated";
import { PLATFORM_NAME, type ErrorTitles, type Site } from "./site";

const PLATFORM_BRANDING = { primaryColor: "#1f4e79", accentColor: "#e0a526", logoUrl: null };

/** The languages this request's site offers, and the one it falls back to. */
export function siteLocales(context: AppLoadContext): { available: Locale[]; fallback: Locale } {
  const { tenant } = context;
  if (tenant.kind === "city") return { available: cityLocales(tenant.city), fallback: cityUiLocale(tenant.city) };
  return { available: [...SUPPORTED_LOCALES], fallback: "en" };
}

// The root loader and the page's loader both ask: one answer per request.
const locales = new WeakMap<AppLoadContext, Promise<Locale>>();

/**
 * The language of this request's pages: the signed-in person's choice, else this browser's
 * (the language switcher's cookie), else Accept-Language, else the site's default; always one
 * the site offers.
 */
export function pageLocale(request: Request, context: AppLoadContext): Promise<Locale> {
  const known = locales.get(context);
  if (known) return known;
  const choice = (async () => {
    const session = await sessionOf(request, context);
    return detectLocale(request, { ...siteLocales(context), chosen: session?.locale });
  })();
  locales.set(context, choice);
  return choice;
}

// WCAG relative luminance; white text when it contrasts better than near-black.
function readableOn(hex: string): string {
  const channel = (offset: number) => {
    const value = parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#0b0c0c";
}

/** The site's name in `locale` if it has one (the city's, through the fallback chain; else the platform's). */
export function siteName(context: AppLoadContext, locale: Locale): { text: string; locale: string } {
  const { tenant } = context;
  if (tenant.kind !== "city") return { text: PLATFORM_NAME, locale };
  const { city } = tenant;
  return pickTranslation(city.names, locale, city.defaultLocale) ?? { text: city.slug, locale: "" };
}

function errorTitles(locale: Locale): ErrorTitles {
  const t = translator(locale);
  return {
    missing: t("error.missing.title"),
    forbidden: t("error.forbidden.title"),
    unavailable: t("error.unavailable.title"),
    unexpected: t("error.unexpected.title"),
  };
}

export async function siteFor(request: Request, context: AppLoadContext): Promise<Site> {
  const locale = await pageLocale(request, context);
  const { tenant } = context;
  const base = {
    locale,
    dir: textDirection(locale),
    languages: siteLocales(context).available,
    requestId: context.requestId,
    errorTitles: errorTitles(locale),
  };
  if (tenant.kind !== "city") {
    // An unknown city's 404 page has no site to switch languages on, nor a statement.
    const platform = tenant.kind === "platform";
    return {
      ...base,
      languageAction: platform ? "/language" : null,
      statementHref: platform ? "/accessibility" : null,
      name: PLATFORM_NAME,
      nameLocale: locale,
      homeHref: "/",
      branding: { ...PLATFORM_BRANDING, onPrimaryColor: readableOn(PLATFORM_BRANDING.primaryColor) },
      citySlug: null,
    };
  }
  const { city, basePath } = tenant;
  const name = siteName(context, locale);
  const open = city.status === "active";
  return {
    ...base,
    languageAction: open ? `${basePath}/language` : null,
    statementHref: open ? `${basePath}/accessibility` : null,
    name: name.text,
    nameLocale: name.locale,
    homeHref: basePath || "/",
    branding: { ...city.branding, onPrimaryColor: readableOn(city.branding.primaryColor) },
    citySlug: city.slug,
  };
}
