// The frame every page shares, as the root loader sends it to server render and browser.
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

/** The titles of the error pages in the page's language (meta functions cannot use hooks). */
export type ErrorTitles = { missing: string; forbidden: string; unavailable: string; unexpected: string };

export type Site = {
  locale: Locale;
  dir: "ltr" | "rtl";
  /** The languages the site offers (the switcher's choices), the default first. */
  languages: Locale[];
  /** Where the language switcher posts; null where there is no site to remember it for. */
  languageAction: string | null;
  /** The legal and accessibility statement; null where there is no site. */
  statementHref: string | null;
  /** The city's name (or the platform's), and the language it is written in ("" if unknown). */
  name: string;
  nameLocale: string;
  homeHref: string;
  branding: SiteBranding;
  citySlug: string | null;
  requestId: string;
  errorTitles: ErrorTitles;
};
