// Whether a city runs a plugin: the one question every plugin page, GraphQL field and endpoint
// asks before answering. A plugin that is not installed, or installed but disabled, does not
// exist for that city (not found), while other cities keep using it.
import { NotFound } from "../auth/errors";
import { withTenant, type Database } from "../db/database.server";

export type Installation = {
  pluginId: string;
  version: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  installedAt: Date;
  updatedAt: Date;
};

/** The city's installations, enabled or not (inside the caller's unit of work when there is one). */
export function installationsOf(tenantId: string, database?: Database): Promise<Installation[]> {
  return withTenant(
    tenantId,
    async (tx) => {
      const rows = await tx.pluginInstallation.findMany({
        where: { tenantId },
        select: { pluginId: true, version: true, enabled: true, settings: true, installedAt: true, updatedAt: true },
        orderBy: { pluginId: "asc" },
      });
      return rows.map((row) => ({ ...row, settings: (row.settings ?? {}) as Record<string, unknown> }));
    },
    database,
  );
}

export async function enabledPluginIds(tenantId: string, database?: Database): Promise<Set<string>> {
  const installations = await installationsOf(tenantId, database);
  return new Set(installations.filter((installation) => installation.enabled).map((installation) => installation.pluginId));
}

/**
 * The city's enabled installation of the plugin, with its settings; NotFound("service") when the
 * city does not run it.
 */
export async function requireEnabledPlugin(tenantId: string, pluginId: string, database?: Database): Promise<Installation> {
  const installation = await withTenant(
    tenantId,
    (tx) =>
      tx.pluginInstallation.findFirst({
        where: { tenantId, pluginId, enabled: true },
        select: { pluginId: true, version: true, enabled: true, settings: true, installedAt: true, updatedAt: true },
      }),
    database,
  );
  if (!installation) throw new NotFound("service");
  return { ...installation, settings: (installation.settings ?? {}) as Record<string, unknown> };
}
