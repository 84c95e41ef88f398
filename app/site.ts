// The frame every page shares, as the root loader sends it to server render and browser.
import type { CommonTranslations } from "./i18n/i18n";
import type { Locale } from "./i18n/locales";

/** The platform's own name: a brand, the same in every language. */
export const PLATFORM_NAME = "Civitas";

export type SiteBranding = {
  /** #rrggbb */
  primaryColor: string;
  /** #rrggbb */
  accentColor: string;
  /** Text colour readable on primaryColor (white or near-black). */
  onPrimaryColor: string;
  logoUrl: string | null;
};

export type Site = {
  locale: Locale;
  dir: "ltr" | "rtl";
  translations: CommonTranslations;
  /** The city's name (or the platform's), and the language it is written in ("" if unknown). */
  name: string;
  nameLocale: string;
  homeHref: string;
  branding: SiteBranding;
  citySlug: string | null;
  requestId: string;
};
