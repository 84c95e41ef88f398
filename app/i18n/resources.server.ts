// Every shipped translation, bundled into the server build (so it does not depend on the
// working directory): pages, loaders and the embedded provider read them from here, and the
// browser loads the namespaces it lacks from /locales/{lng}/{ns} (see routes/locales.$lng.$ns).
// A new namespace is a file in every locales/{lng}/ folder, imported and listed here for each locale.
import { createHash } from "node:crypto";
import type { Resource, ResourceLanguage } from "i18next";
import arAccount from "../../locales/ar/account.json";
import arCommon from "../../locales/ar/common.json";
import arIdentity from "../../locales/ar/identity.json";
import arLegal from "../../locales/ar/legal.json";
import arPermissions from "../../locales/ar/permissions.json";
import arServices from "../../locales/ar/services.json";
import deAccount from "../../locales/de/account.json";
import deCommon from "../../locales/de/common.json";
import deIdentity from "../../locales/de/identity.json";
import deLegal from "../../locales/de/legal.json";
import dePermissions from "../../locales/de/permissions.json";
import deServices from "../../locales/de/services.json";
import enAccount from "../../locales/en/account.json";
import enCommon from "../../locales/en/common.json";
import enIdentity from "../../locales/en/identity.json";
import enLegal from "../../locales/en/legal.json";
import enPermissions from "../../locales/en/permissions.json";
import enServices from "../../locales/en/services.json";
import esAccount from "../../locales/es/account.json";
import esCommon from "../../locales/es/common.json";
import esIdentity from "../../locales/es/identity.json";
import esLegal from "../../locales/es/legal.json";
import esPermissions from "../../locales/es/permissions.json";
import esServices from "../../locales/es/services.json";
import frAccount from "../../locales/fr/account.json";
import frCommon from "../../locales/fr/common.json";
import frIdentity from "../../locales/fr/identity.json";
import frLegal from "../../locales/fr/legal.json";
import frPermissions from "../../locales/fr/permissions.json";
import frServices from "../../locales/fr/services.json";
import huAccount from "../../locales/hu/account.json";
import huCommon from "../../locales/hu/common.json";
import huIdentity from "../../locales/hu/identity.json";
import huLegal from "../../locales/hu/legal.json";
import huPermissions from "../../locales/hu/permissions.json";
import huServices from "../../locales/hu/services.json";
import itAccount from "../../locales/it/account.json";
import itCommon from "../../locales/it/common.json";
import itIdentity from "../../locales/it/identity.json";
import itLegal from "../../locales/it/legal.json";
import itPermissions from "../../locales/it/permissions.json";
import itServices from "../../locales/it/services.json";
import nlAccount from "../../locales/nl/account.json";
import nlCommon from "../../locales/nl/common.json";
import nlIdentity from "../../locales/nl/identity.json";
import nlLegal from "../../locales/nl/legal.json";
import nlPermissions from "../../locales/nl/permissions.json";
import nlServices from "../../locales/nl/services.json";
import ptAccount from "../../locales/pt/account.json";
import ptCommon from "../../locales/pt/common.json";
import ptIdentity from "../../locales/pt/identity.json";
import ptLegal from "../../locales/pt/legal.json";
import ptPermissions from "../../locales/pt/permissions.json";
import ptServices from "../../locales/pt/services.json";
import zhAccount from "../../locales/zh/account.json";
import zhCommon from "../../locales/zh/common.json";
import zhIdentity from "../../locales/zh/identity.json";
import zhLegal from "../../locales/zh/legal.json";
import zhPermissions from "../../locales/zh/permissions.json";
import zhServices from "../../locales/zh/services.json";
import { PLUGINS } from "../../plugins/catalogue";
import { DEFAULT_NAMESPACE } from "./i18n";
import type { Locale } from "./locales";

const CORE_NAMESPACES = ["account", "common", "identity", "legal", "permissions", "services"] as const;

const CORE_RESOURCES: Record<Locale, Record<(typeof CORE_NAMESPACES)[number], ResourceLanguage>> = {
  ar: { account: arAccount, common: arCommon, identity: arIdentity, legal: arLegal, permissions: arPermissions, services: arServices },
  de: { account: deAccount, common: deCommon, identity: deIdentity, legal: deLegal, permissions: dePermissions, services: deServices },
  en: { account: enAccount, common: enCommon, identity: enIdentity, legal: enLegal, permissions: enPermissions, services: enServices },
  es: { account: esAccount, common: esCommon, identity: esIdentity, legal: esLegal, permissions: esPermissions, services: esServices },
  fr: { account: frAccount, common: frCommon, identity: frIdentity, legal: frLegal, permissions: frPermissions, services: frServices },
  hu: { account: huAccount, common: huCommon, identity: huIdentity, legal: huLegal, permissions: huPermissions, services: huServices },
  it: { account: itAccount, common: itCommon, identity: itIdentity, legal: itLegal, permissions: itPermissions, services: itServices },
  nl: { account: nlAccount, common: nlCommon, identity: nlIdentity, legal: nlLegal, permissions: nlPermissions, services: nlServices },
  pt: { account: ptAccount, common: ptCommon, identity: ptIdentity, legal: ptLegal, permissions: ptPermissions, services: ptServices },
  zh: { account: zhAccount, common: zhCommon, identity: zhIdentity, legal: zhLegal, permissions: zhPermissions, services: zhServices },
};

/** The core's namespaces, then one per plugin of the catalogue (named after the plugin). */
export const NAMESPACES: readonly string[] = [...CORE_NAMESPACES, ...PLUGINS.map((plugin) => plugin.id)];
export type Namespace = string;

export const RESOURCES: Record<Locale, Record<Namespace, ResourceLanguage>> = Object.fromEntries(
  Object.entries(CORE_RESOURCES).map(([locale, core]) => [
    locale,
    { ...core, ...Object.fromEntries(PLUGINS.map((plugin) => [plugin.id, plugin.translations[locale as Locale] as ResourceLanguage])) },
  ]),
) as unknown as Record<Locale, Record<Namespace, ResourceLanguage>>;

/** Changes whenever a translation does: the browser caches namespaces under it. */
export const TRANSLATIONS_VERSION = createHash("sha256").update(JSON.stringify(RESOURCES)).digest("hex").slice(0, 12);

export function isNamespace(value: string): value is Namespace {
  return (NAMESPACES as readonly string[]).includes(value);
}

/** One language's translations for the given namespaces (unknown ones left out), as i18next takes them. */
export function resourcesFor(locale: Locale, namespaces: readonly string[]): Resource {
  const wanted = [...new Set([DEFAULT_NAMESPACE, ...namespaces])].filter(isNamespace);
  return { [locale]: Object.fromEntries(wanted.map((namespace) => [namespace, RESOURCES[locale][namespace]!])) };
}
