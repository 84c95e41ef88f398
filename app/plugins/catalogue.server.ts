// The shared plugin catalogue as the rest of Civitas reads it: which services exist on this
// instance, and which of them a city runs. Plugins add themselves with `addToCatalogue`; the
// plugin contract (manifest, settings, lifecycle) comes with the issue "Shared plugin catalogue
// and SDK", which fills this registry from the plugins/ folder.

export type CatalogueEntry = {
  id: string;
  version: string;
  category: string;
  /** Name and description per locale. */
  names: Record<string, string>;
  descriptions: Record<string, string>;
};

const catalogue = new Map<string, CatalogueEntry>();

export function addToCatalogue(entry: CatalogueEntry): void {
  if (catalogue.has(entry.id)) throw new Error(`Plugin ${entry.id} is already in the catalogue.`);
  catalogue.set(entry.id, Object.freeze({ ...entry }));
}

/** Test clean-up. */
export function removeFromCatalogue(id: string): void {
  catalogue.delete(id);
}

export function serviceCatalogue(): CatalogueEntry[] {
  return [...catalogue.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * A city's enabled installations as catalogue entries, at the version the city installed. An
 * installation whose plugin left the catalogue is not offered.
 */
export function enabledServices(installations: readonly { pluginId: string; version: string }[]): CatalogueEntry[] {
  return installations.flatMap(({ pluginId, version }) => {
    const entry = catalogue.get(pluginId);
    return entry ? [{ ...entry, version }] : [];
  });
}
