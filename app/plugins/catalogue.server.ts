// The shared plugin catalogue as the rest of Civitas reads it: which services exist on this
// instance (plugins/catalogue.ts), their metadata in every language, and which of them a city runs.
import semver from "semver";
import packageJson from "../../package.json";
import { PLUGINS } from "../../plugins/catalogue";
import { definePermissions, definePermissionsOnFirstUse, type Permission } from "../auth/permissions";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { ownKey, type Plugin, type PluginCategory } from "./sdk.server";

export type CatalogueEntry = {
  id: string;
  version: string;
  category: PluginCategory;
  icon: string;
  /** Name and description per locale. */
  names: Record<string, string>;
  descriptions: Record<string, string>;
  requires: { core: string | null; plugins: Record<string, string> };
};

/** The core's version, which plugins' `requires.core` ranges are checked against. */
export const CORE_VERSION: string = packageJson.version;

const plugins = new Map<string, Plugin>();
const entries = new Map<string, CatalogueEntry>();
const permissions = new Map<string, readonly Permission[]>();

function message(plugin: Plugin, locale: string, spelt: string): string {
  const key = ownKey(plugin.id, spelt);
  const messages = plugin.translations[locale as keyof typeof plugin.translations] as Record<string, unknown> | undefined;
  const value = key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), messages);
  return typeof value === "string" ? value : key;
}

/**
 * Adds a plugin to the catalogue: its permissions join the core's. Refuses a second plugin with
 * the same id and a plugin whose required plugins' ids are unknown.
 */
export function addToCatalogue(plugin: Plugin): void {
  if (!loaded && !PLUGINS.includes(plugin)) loadCatalogue();
  if (plugins.has(plugin.id)) throw new Error(`Plugin ${plugin.id} is already in the catalogue.`);
  plugins.set(plugin.id, plugin);
  entries.set(
    plugin.id,
    Object.freeze({
      id: plugin.id,
      version: plugin.version,
      category: plugin.category,
      icon: plugin.icon,
      names: Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, message(plugin, locale, plugin.name)])),
      descriptions: Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, message(plugin, locale, plugin.description)])),
      requires: { core: plugin.requires?.core ?? null, plugins: { ...(plugin.requires?.plugins ?? {}) } },
    }),
  );
  if (plugin.permissions?.length) permissions.set(plugin.id, definePermissions(plugin.id, plugin.permissions));
}

/** Test clean-up. */
export function removeFromCatalogue(id: string): void {
  plugins.delete(id);
  entries.delete(id);
}

let loaded = false;
// Permission checks load the catalogue first, whatever was loaded before (an anonymous visitor's
// first request builds no principal): the plugins' permissions are always known.
definePermissionsOnFirstUse(() => loadCatalogue());

/**
 * Fills the catalogue from plugins/catalogue.ts, once; every reader calls it first. Not at import
 * time: plugin modules import the services that import this one, and a bundle may evaluate this
 * module before the plugin list is initialised.
 */
export function loadCatalogue(): void {
  if (loaded) return;
  loaded = true;
  for (const plugin of PLUGINS) addToCatalogue(plugin);
}

export function pluginById(id: string): Plugin | undefined {
  loadCatalogue();
  return plugins.get(id);
}

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  loadCatalogue();
  return entries.get(id);
}

export function allPlugins(): Plugin[] {
  loadCatalogue();
  return [...plugins.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export function serviceCatalogue(): CatalogueEntry[] {
  loadCatalogue();
  return [...entries.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Whether this core satisfies a plugin's `requires.core` range. */
export function coreSatisfies(range: string | null): boolean {
  return range === null || semver.satisfies(CORE_VERSION, range, { includePrerelease: true });
}

/**
 * A city's enabled installations as catalogue entries, at the version the city installed. An
 * installation whose plugin left the catalogue is not offered.
 */
export function enabledServices(installations: readonly { pluginId: string; version: string }[]): CatalogueEntry[] {
  loadCatalogue();
  return installations.flatMap(({ pluginId, version }) => {
    const entry = entries.get(pluginId);
    return entry ? [{ ...entry, version }] : [];
  });
}
