// Every shipped translation, bundled into the server build (so it does not depend on the
// working directory): pages, loaders and the embedded provider read them from here, and the
// browser loads the namespaces it lacks from /locales/{lng}/{ns} (see routes/locales.$lng.$ns).
// A new namespace is a file in every locales/{lng}/ folder, imported and listed here for each locale.
import { createHash } from "node:crypto";
import type { Resource, ResourceLanguage } from "i18next";
import arAccount from "../../locales/ar/account.json";
import arAdmin from "../../locales/ar/admin.json";
import arCommon from "../../locales/ar/common.json";
import arFederation from "../../locales/ar/federation.json";
import arIdentity from "../../locales/ar/identity.json";
import arInvitation from "../../locales/ar/invitation.json";
import arLegal from "../../locales/ar/legal.json";
import arPermissions from "../../locales/ar/permissions.json";
import arPlatform from "../../locales/ar/platform.json";
import arServices from "../../locales/ar/services.json";
import deAccount from "../../locales/de/account.json";
import deAdmin from "../../locales/de/admin.json";
import deCommon from "../../locales/de/common.json";
import deFederation from "../../locales/de/federation.json";
import deIdentity from "../../locales/de/identity.json";
import deInvitation from "../../locales/de/invitation.json";
import deLegal from "../../locales/de/legal.json";
import dePermissions from "../../locales/de/permissions.json";
import dePlatform from "../../locales/de/platform.json";
import deServices from "../../locales/de/services.json";
import enAccount from "../../locales/en/account.json";
import enAdmin from "../../locales/en/admin.json";
import enCommon from "../../locales/en/common.json";
import enFederation from "../../locales/en/federation.json";
import enIdentity from "../../locales/en/identity.json";
import enInvitation from "../../locales/en/invitation.json";
import enLegal from "../../locales/en/legal.json";
import enPermissions from "../../locales/en/permissions.json";
import enPlatform from "../../locales/en/platform.json";
import enServices from "../../locales/en/services.json";
import esAccount from "../../locales/es/account.json";
import esAdmin from "../../locales/es/admin.json";
import esCommon from "../../locales/es/common.json";
import esFederation from "../../locales/es/federation.json";
import esIdentity from "../../locales/es/identity.json";
import esInvitation from "../../locales/es/invitation.json";
import esLegal from "../../locales/es/legal.json";
import esPermissions from "../../locales/es/permissions.json";
import esPlatform from "../../locales/es/platform.json";
import esServices from "../../locales/es/services.json";
import frAccount from "../../locales/fr/account.json";
import frAdmin from "../../locales/fr/admin.json";
import frCommon from "../../locales/fr/common.json";
import frFederation from "../../locales/fr/federation.json";
import frIdentity from "../../locales/fr/identity.json";
import frInvitation from "../../locales/fr/invitation.json";
import frLegal from "../../locales/fr/legal.json";
import frPermissions from "../../locales/fr/permissions.json";
import frPlatform from "../../locales/fr/platform.json";
import frServices from "../../locales/fr/services.json";
import huAccount from "../../locales/hu/account.json";
import huAdmin from "../../locales/hu/admin.json";
import huCommon from "../../locales/hu/common.json";
import huFederation from "../../locales/hu/federation.json";
import huIdentity from "../../locales/hu/identity.json";
import huInvitation from "../../locales/hu/invitation.json";
import huLegal from "../../locales/hu/legal.json";
import huPermissions from "../../locales/hu/permissions.json";
import huPlatform from "../../locales/hu/platform.json";
import huServices from "../../locales/hu/services.json";
import itAccount from "../../locales/it/account.json";
import itAdmin from "../../locales/it/admin.json";
import itCommon from "../../locales/it/common.json";
import itFederation from "../../locales/it/federation.json";
import itIdentity from "../../locales/it/identity.json";
import itInvitation from "../../locales/it/invitation.json";
import itLegal from "../../locales/it/legal.json";
import itPermissions from "../../locales/it/permissions.json";
import itPlatform from "../../locales/it/platform.json";
import itServices from "../../locales/it/services.json";
import nlAccount from "../../locales/nl/account.json";
import nlAdmin from "../../locales/nl/admin.json";
import nlCommon from "../../locales/nl/common.json";
import nlFederation from "../../locales/nl/federation.json";
import nlIdentity from "../../locales/nl/identity.json";
import nlInvitation from "../../locales/nl/invitation.json";
import nlLegal from "../../locales/nl/legal.json";
import nlPermissions from "../../locales/nl/permissions.json";
import nlPlatform from "../../locales/nl/platform.json";
import nlServices from "../../locales/nl/services.json";
import ptAccount from "../../locales/pt/account.json";
import ptAdmin from "../../locales/pt/admin.json";
import ptCommon from "../../locales/pt/common.json";
import ptFederation from "../../locales/pt/federation.json";
import ptIdentity from "../../locales/pt/identity.json";
import ptInvitation from "../../locales/pt/invitation.json";
import ptLegal from "../../locales/pt/legal.json";
import ptPermissions from "../../locales/pt/permissions.json";
import ptPlatform from "../../locales/pt/platform.json";
import ptServices from "../../locales/pt/services.json";
import zhAccount from "../../locales/zh/account.json";
import zhAdmin from "../../locales/zh/admin.json";
import zhCommon from "../../locales/zh/common.json";
import zhFederation from "../../locales/zh/federation.json";
import zhIdentity from "../../locales/zh/identity.json";
import zhInvitation from "../../locales/zh/invitation.json";
import zhLegal from "../../locales/zh/legal.json";
import zhPermissions from "../../locales/zh/permissions.json";
import zhPlatform from "../../locales/zh/platform.json";
import zhServices from "../../locales/zh/services.json";
import { PLUGINS } from "../../plugins/catalogue";
import { DEFAULT_NAMESPACE } from "./i18n";
import type { Locale } from "./locales";

const CORE_NAMESPACES = ["account", "admin", "common", "federation", "identity", "invitation", "legal", "permissions", "platform", "services"] as const;

const CORE_RESOURCES: Record<Locale, Record<(typeof CORE_NAMESPACES)[number], ResourceLanguage>> = {
  ar: { account: arAccount, admin: arAdmin, common: arCommon, federation: arFederation, identity: arIdentity, invitation: arInvitation, legal: arLegal, permissions: arPermissions, platform: arPlatform, services: arServices },
  de: { account: deAccount, admin: deAdmin, common: deCommon, federation: deFederation, identity: deIdentity, invitation: deInvitation, legal: deLegal, permissions: dePermissions, platform: dePlatform, services: deServices },
  en: { account: enAccount, admin: enAdmin, common: enCommon, federation: enFederation, identity: enIdentity, invitation: enInvitation, legal: enLegal, permissions: enPermissions, platform: enPlatform, services: enServices },
  es: { account: esAccount, admin: esAdmin, common: esCommon, federation: esFederation, identity: esIdentity, invitation: esInvitation, legal: esLegal, permissions: esPermissions, platform: esPlatform, services: esServices },
  fr: { account: frAccount, admin: frAdmin, common: frCommon, federation: frFederation, identity: frIdentity, invitation: frInvitation, legal: frLegal, permissions: frPermissions, platform: frPlatform, services: frServices },
  hu: { account: huAccount, admin: huAdmin, common: huCommon, federation: huFederation, identity: huIdentity, invitation: huInvitation, legal: huLegal, permissions: huPermissions, platform: huPlatform, services: huServices },
  it: { account: itAccount, admin: itAdmin, common: itCommon, federation: itFederation, identity: itIdentity, invitation: itInvitation, legal: itLegal, permissions: itPermissions, platform: itPlatform, services: itServices },
  nl: { account: nlAccount, admin: nlAdmin, common: nlCommon, federation: nlFederation, identity: nlIdentity, invitation: nlInvitation, legal: nlLegal, permissions: nlPermissions, platform: nlPlatform, services: nlServices },
  pt: { account: ptAccount, admin: ptAdmin, common: ptCommon, federation: ptFederation, identity: ptIdentity, invitation: ptInvitation, legal: ptLegal, permissions: ptPermissions, platform: ptPlatform, services: ptServices },
  zh: { account: zhAccount, admin: zhAdmin, common: zhCommon, federation: zhFederation, identity: zhIdentity, invitation: zhInvitation, legal: zhLegal, permissions: zhPermissions, platform: zhPlatform, services: zhServices },
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
