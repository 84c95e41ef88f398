// The frame every page shares (language, direction, site name, home link, colours), computed
// from the city the server resolved: a city's pages speak its language; the platform's pages
// speak the visitor's (Accept-Language among the shipped locales).
import type { AppLoadContext } from "@remix-run/node";
import { cityUiLocale, commonTranslations, negotiateLocale } from "./i18n/i18n.server";
import { SUPPORTED_LOCALES, textDirection, type Locale } from "./i18n/locales";
import { pickTranslation } from "./i18n/translated";
import { PLATFORM_NAME, type Site } from "./site";

const PLATFORM_BRANDING = { primaryColor: "#1f4e79", accentColor: "#e0a526", logoUrl: null };

/** The language of this request's pages. */
export function pageLocale(request: Request, context: AppLoadContext): Locale {
  const { tenant } = context;
  if (tenant.kind === "city") return cityUiLocale(tenant.city);
  return negotiateLocale(request.headers.get("Accept-Language"), SUPPORTED_LOCALES, "en");
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

export function siteFor(request: Request, context: AppLoadContext): Site {
  const locale = pageLocale(request, context);
  const base = { locale, dir: textDirection(locale), translations: commonTranslations(locale), requestId: context.requestId };
  const { tenant } = context;
  if (tenant.kind !== "city") {
    return {
      ...base,
      name: PLATFORM_NAME,
      nameLocale: locale,
      homeHref: "/",
      branding: { ...PLATFORM_BRANDING, onPrimaryColor: readableOn(PLATFORM_BRANDING.primaryColor) },
      citySlug: null,
    };
  }
  const { city, basePath } = tenant;
  const name = pickTranslation(city.names, locale, city.defaultLocale) ?? { text: city.slug, locale: "" };
  return {
    ...base,
    name: name.text,
    nameLocale: name.locale,
    homeHref: basePath || "/",
    branding: { ...city.branding, onPrimaryColor: readableOn(city.branding.primaryColor) },
    citySlug: city.slug,
  };
}
