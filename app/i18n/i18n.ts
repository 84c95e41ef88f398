// One i18next configuration for server render, browser and server-side text. A page loads
// `common` plus the namespaces its route modules declare in `handle.i18n`; the server renders
// with them and hands them to the browser in the page, so hydration needs no request.
import { createInstance, type i18n, type InitOptions, type Resource } from "i18next";
import { SUPPORTED_LOCALES } from "./locales";

export const DEFAULT_NAMESPACE = "common";

/** A route module's `handle`: the namespaces its page needs besides `common`. */
export type I18nHandle = { i18n: string | readonly string[] };

export const I18N_OPTIONS = {
  supportedLngs: [...SUPPORTED_LOCALES],
  // Every shipped locale has every key (npm run i18n:check): nothing to fall back to, and the
  // browser never loads a second language.
  fallbackLng: false,
  defaultNS: DEFAULT_NAMESPACE,
  fallbackNS: DEFAULT_NAMESPACE,
  // React escapes what it renders; escaping here too would show &amp; in city names.
  interpolation: { escapeValue: false },
} satisfies InitOptions;

/** An instance ready at once, from translations at hand (server render, hydration, loaders). */
export function createI18n(locale: string, resources: Resource): i18n {
  const instance = createInstance();
  // initImmediate false + inline resources: init completes synchronously, as rendering needs.
  void instance.init({
    ...I18N_OPTIONS,
    lng: locale,
    ns: Object.keys(resources[locale] ?? {}),
    resources,
    initImmediate: false,
  });
  return instance;
}

/** The namespaces a page needs: `common` and those its matched route modules declare. */
export function pageNamespaces(handles: readonly unknown[]): string[] {
  const declared = handles.flatMap((handle) => {
    const value = (handle as Partial<I18nHandle> | undefined)?.i18n;
    if (typeof value === "string") return [value];
    return Array.isArray(value) ? value.filter((name): name is string => typeof name === "string") : [];
  });
  return [...new Set([DEFAULT_NAMESPACE, ...declared])];
}

/** The page's translations as the server sends them inside the page, for the browser to start from. */
export type TranslationsPayload = { locale: string; version: string; resources: Resource };

export const TRANSLATIONS_ELEMENT_ID = "civitas-translations";

/** JSON that is safe inside a <script> element: no "</script>", no "<!--". */
export function payloadJson(payload: TranslationsPayload): string {
  return JSON.stringify(payload).replace(/</g, "\\u003c");
}

/** Where the browser loads a namespace it does not have yet (see routes/locales.$lng.$ns). */
export function translationsUrl(locale: string, namespace: string, version: string): string {
  return `/locales/${encodeURIComponent(locale)}/${encodeURIComponent(namespace)}?v=${encodeURIComponent(version)}`;
}
