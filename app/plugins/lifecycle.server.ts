// A city's plugins over their life: install (requirements, settings, seed), enable/disable,
// configure, upgrade (settings migrate with the version), uninstall (keep or purge the data,
// explicitly). Every step needs `plugins.manage` at that city and writes an audit event.
import semver from "semver";
import { z } from "zod";
import type { Prisma } from "../db/generated/client.ts";
import { Conflict, NotFound, ValidationFailed } from "../auth/errors";
import type { Principal } from "../auth/permissions";
import { requireCityPermission } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { withTenant, type Tx } from "../db/database.server";
import { forgetTenantLookups } from "../tenancy/resolve.server";
import { allPlugins, catalogueEntry, coreSatisfies, CORE_VERSION, pluginById, type CatalogueEntry } from "./catalogue.server";
import type { Plugin } from "./sdk.server";

export const MASK = "********";

export type PluginState = "available" | "enabled" | "disabled";

export type CityPlugin = CatalogueEntry & {
  state: PluginState;
  /** The version this city runs (it may be behind the catalogue's). */
  installedVersion: string | null;
  upgradable: boolean;
  /** Secrets masked. */
  settings: Record<string, unknown> | null;
  installedAt: Date | null;
};

type Row = { pluginId: string; version: string; enabled: boolean; settings: unknown; installedAt: Date };

const pluginIdSchema = z.string({ error: "is required" }).trim().min(1, { error: "is required" }).max(60, { error: "is too long" });
const settingsSchema = z.record(z.string(), z.unknown(), { error: "must be an object" });

// --- Settings -----------------------------------------------------------------------------------

function pathGet(value: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), value);
}

function pathSet(value: Record<string, unknown>, path: string, replacement: unknown): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = value;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== "object") return;
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (node[last] !== undefined && node[last] !== null && node[last] !== "") node[last] = replacement;
}

/** The settings as they may be shown or audited: secrets replaced by the mask. */
export function maskedSettings(plugin: Plugin, settings: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(settings);
  for (const path of plugin.settings?.secrets ?? []) pathSet(copy, path, MASK);
  return copy;
}

/**
 * A configure that sends the mask back for a secret keeps the stored secret, unless what the
 * secret belongs with changed (another mail server: the old password must not be sent to it).
 */
function keepMaskedSecrets(plugin: Plugin, next: Record<string, unknown>, current: Record<string, unknown>): void {
  for (const path of plugin.settings?.secrets ?? []) {
    if (pathGet(next, path) !== MASK) continue;
    const parent = path.split(".").slice(0, -1).join(".");
    const key = path.split(".").at(-1)!;
    const siblings = (value: unknown) => JSON.stringify(Object.entries((value ?? {}) as Record<string, unknown>).filter(([name]) => name !== key).sort());
    if (parent && siblings(pathGet(next, parent)) !== siblings(pathGet(current, parent))) {
      throw new ValidationFailed({ [path]: ["type the password again: it belongs to the settings changed next to it"] });
    }
    pathSet(next, path, pathGet(current, path));
  }
}

/**
 * The whole settings object checked against the plugin's schema, and its translated fields
 * against the city's languages. Field messages are keyed by the top-level setting.
 */
export function validateSettings(plugin: Plugin, settings: Record<string, unknown>, cityLocales: readonly string[]): Record<string, unknown> {
  const spec = plugin.settings;
  if (!spec) {
    if (Object.keys(settings).length > 0) throw new ValidationFailed({ settings: ["this service has no settings"] });
    return {};
  }
  const result = spec.schema.safeParse(settings);
  if (!result.success) {
    const fields: Record<string, string[]> = {};
    for (const issue of result.error.issues) {
      const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "settings";
      (fields[field] ??= []).push(issue.message);
    }
    throw new ValidationFailed(fields);
  }
  const parsed = result.data as Record<string, unknown>;
  const fields: Record<string, string[]> = {};
  for (const field of spec.translatable ?? []) {
    const texts = parsed[field];
    if (!texts || typeof texts !== "object") continue;
    for (const locale of Object.keys(texts)) {
      if (!cityLocales.includes(locale)) (fields[field] ??= []).push(`${locale} is not one of the city's languages`);
    }
  }
  if (Object.keys(fields).length > 0) throw new ValidationFailed(fields);
  return parsed;
}

/** Runs the plugin's settings migrations after `from`, up to its current version, in order. */
export function migrateSettings(plugin: Plugin, from: string, settings: Record<string, unknown>): Record<string, unknown> {
  let current = structuredClone(settings);
  for (const step of plugin.settings?.migrations ?? []) {
    if (semver.gt(step.to, from) && semver.lte(step.to, plugin.version)) current = step.migrate(current);
  }
  // A setting added since: its default fills the gap.
  return { ...(plugin.settings?.defaults ?? {}), ...current };
}

// --- Requirements -----------------------------------------------------------------------------

function requirementProblems(plugin: Plugin, installed: ReadonlyMap<string, Row>): string[] {
  const problems: string[] = [];
  if (!coreSatisfies(plugin.requires?.core ?? null)) {
    problems.push(`needs Civitas ${plugin.requires?.core}, this instance runs ${CORE_VERSION}`);
  }
  for (const [id, range] of Object.entries(plugin.requires?.plugins ?? {})) {
    const row = installed.get(id);
    if (!row || !row.enabled) problems.push(`needs the service ${id} (${range}) installed and enabled first`);
    else if (!semver.satisfies(row.version, range)) problems.push(`needs ${id} ${range}, the city runs ${row.version}`);
  }
  return problems;
}

/** Installed plugins of the city that require `pluginId` (and, when `enabledOnly`, are enabled). */
function dependents(pluginId: string, installed: ReadonlyMap<string, Row>, enabledOnly: boolean): string[] {
  return [...installed.values()]
    .filter((row) => row.pluginId !== pluginId && (!enabledOnly || row.enabled))
    .filter((row) => pluginById(row.pluginId)?.requires?.plugins?.[pluginId] !== undefined)
    .map((row) => row.pluginId);
}

// --- Reads ------------------------------------------------------------------------------------

async function installedRows(tx: Tx, tenantId: string): Promise<Map<string, Row>> {
  const rows = await tx.pluginInstallation.findMany({
    where: { tenantId },
    select: { pluginId: true, version: true, enabled: true, settings: true, installedAt: true },
  });
  return new Map(rows.map((row) => [row.pluginId, row]));
}

function cityPlugin(plugin: Plugin, row: Row | undefined): CityPlugin {
  const entry = catalogueEntry(plugin.id)!;
  return {
    ...entry,
    state: row ? (row.enabled ? "enabled" : "disabled") : "available",
    installedVersion: row?.version ?? null,
    upgradable: row ? semver.lt(row.version, plugin.version) : false,
    settings: row ? maskedSettings(plugin, (row.settings ?? {}) as Record<string, unknown>) : null,
    installedAt: row?.installedAt ?? null,
  };
}

/** The whole catalogue as this city sees it: what it runs, at which version, with which settings. */
export async function listCityPlugins(principal: Principal, context: ServiceContext = {}): Promise<CityPlugin[]> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "plugins.manage");
  const installed = await withTenant(tenantId, (tx) => installedRows(tx, tenantId), context.database);
  return allPlugins().map((plugin) => cityPlugin(plugin, installed.get(plugin.id)));
}

/** The same list for the system (demo data, jobs): no principal. */
export async function listCityPluginsAsSystem(tenantId: string, database?: ServiceContext["database"]): Promise<CityPlugin[]> {
  const installed = await withTenant(tenantId, (tx) => installedRows(tx, tenantId), database);
  return allPlugins().map((plugin) => cityPlugin(plugin, installed.get(plugin.id)));
}

export async function getCityPlugin(principal: Principal, pluginId: string, context: ServiceContext = {}): Promise<CityPlugin> {
  const plugins = await listCityPlugins(principal, context);
  const found = plugins.find((plugin) => plugin.id === pluginId);
  if (!found) throw new NotFound("service");
  return found;
}

// --- Changes ----------------------------------------------------------------------------------

type Step = {
  tx: Tx;
  tenantId: string;
  plugin: Plugin;
  installed: Map<string, Row>;
  row: Row | undefined;
  cityLocales: readonly string[];
};

/** Who takes a lifecycle step: a principal holding `plugins.manage` there, or the system (demo data). */
type Caller = Principal | { kind: "system"; tenantId: string; actorId: string };

function authorize(caller: Caller, context: ServiceContext): { tenantId: string; actor: AuditActor } {
  if (caller.kind === "system") return { tenantId: caller.tenantId, actor: { type: "system", id: caller.actorId } };
  const principal = requireCityPermission(caller, context.tenantId, "plugins.manage");
  return { tenantId: principal.tenantId, actor: auditActor(principal) };
}

/** One lifecycle step: permission, plugin lookup, the city's installations, then `work`; audited. */
async function lifecycleStep(
  caller: Caller,
  rawPluginId: unknown,
  context: ServiceContext,
  action: string,
  work: (step: Step) => Promise<{ before: Prisma.InputJsonValue | null; after: Prisma.InputJsonValue | null }>,
): Promise<CityPlugin> {
  const { tenantId, actor } = authorize(caller, context);
  const pluginId = parsePluginId(rawPluginId);
  const plugin = pluginById(pluginId);
  if (!plugin) throw new NotFound("service");
  const row = await withTenant(
    tenantId,
    async (tx) => {
      const installed = await installedRows(tx, tenantId);
      const city = await tx.city.findUnique({ where: { id: tenantId }, select: { enabledLocales: true } });
      const change = await work({ tx, tenantId, plugin, installed, row: installed.get(pluginId), cityLocales: city?.enabledLocales ?? [] });
      await recordAudit(tx, tenantId, {
        actor,
        action,
        subject: { type: "plugin", id: pluginId },
        before: change.before,
        after: change.after,
        requestId: context.requestId,
      });
      return (await installedRows(tx, tenantId)).get(pluginId);
    },
    context.database,
  );
  // The portal's service list is cached with the city.
  if (context.afterCommit) context.afterCommit(forgetTenantLookups);
  else forgetTenantLookups();
  return cityPlugin(plugin, row);
}

function parsePluginId(value: unknown): string {
  const result = pluginIdSchema.safeParse(value);
  if (!result.success) throw new ValidationFailed({ pluginId: result.error.issues.map((issue) => issue.message) });
  return result.data;
}

function parseSettings(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  const result = settingsSchema.safeParse(value);
  if (!result.success) throw new ValidationFailed({ settings: ["must be an object of settings"] });
  return result.data;
}

function requireInstalled(step: Step): Row {
  if (!step.row) throw new Conflict("not_installed", `The service ${step.plugin.id} is not installed in this city.`);
  return step.row;
}

function stateOf(plugin: Plugin, row: Row): Prisma.InputJsonValue {
  return {
    version: row.version,
    enabled: row.enabled,
    settings: maskedSettings(plugin, (row.settings ?? {}) as Record<string, unknown>),
  } as Prisma.InputJsonValue;
}

export type InstallInput = { pluginId: string; settings?: Record<string, unknown> };

/** Installs and enables a plugin: requirements met, settings (defaults + given) valid, defaults seeded. */
export async function installPlugin(principal: Caller, input: InstallInput, context: ServiceContext = {}): Promise<CityPlugin> {
  const given = parseSettings(input?.settings);
  return lifecycleStep(principal, input?.pluginId, context, "plugin.installed", async (step) => {
    const { tx, tenantId, plugin, installed } = step;
    if (step.row) throw new Conflict("already_installed", `The service ${plugin.id} is already installed in this city.`);
    const problems = requirementProblems(plugin, installed);
    if (problems.length > 0) throw new Conflict("requirements_not_met", `The service ${plugin.id} ${problems.join("; ")}.`);
    const settings = validateSettings(plugin, { ...(plugin.settings?.defaults ?? {}), ...given }, step.cityLocales);
    const row = await tx.pluginInstallation.create({
      data: { tenantId, pluginId: plugin.id, version: plugin.version, enabled: true, settings: settings as Prisma.InputJsonValue },
      select: { pluginId: true, version: true, enabled: true, settings: true, installedAt: true },
    });
    await plugin.install?.({ tx, tenantId, settings });
    return { before: null, after: stateOf(plugin, row) };
  });
}

/** Enables or disables an installed plugin; disabling keeps its data and settings. */
export async function setPluginEnabled(
  principal: Principal,
  input: { pluginId: string; enabled: boolean },
  context: ServiceContext = {},
): Promise<CityPlugin> {
  const enabled = input?.enabled === true;
  return lifecycleStep(principal, input?.pluginId, context, enabled ? "plugin.enabled" : "plugin.disabled", async (step) => {
    const { tx, tenantId, plugin, installed } = step;
    const row = requireInstalled(step);
    if (row.enabled === enabled) {
      throw new Conflict(enabled ? "already_enabled" : "already_disabled", `The service ${plugin.id} is already ${enabled ? "enabled" : "disabled"}.`);
    }
    if (enabled) {
      const problems = requirementProblems(plugin, installed);
      if (problems.length > 0) throw new Conflict("requirements_not_met", `The service ${plugin.id} ${problems.join("; ")}.`);
    } else {
      const needing = dependents(plugin.id, installed, true);
      if (needing.length > 0) throw new Conflict("required_by_others", `Disable ${needing.join(", ")} first: they need ${plugin.id}.`);
    }
    await tx.pluginInstallation.updateMany({ where: { tenantId, pluginId: plugin.id }, data: { enabled } });
    return { before: stateOf(plugin, row), after: stateOf(plugin, { ...row, enabled }) };
  });
}

/** Changes settings: the given ones over the current, the whole checked again. */
export async function configurePlugin(
  principal: Principal,
  input: { pluginId: string; settings: Record<string, unknown> },
  context: ServiceContext = {},
): Promise<CityPlugin> {
  const given = parseSettings(input?.settings);
  return lifecycleStep(principal, input?.pluginId, context, "plugin.configured", async (step) => {
    const { tx, tenantId, plugin } = step;
    const row = requireInstalled(step);
    const current = (row.settings ?? {}) as Record<string, unknown>;
    const next = { ...current, ...structuredClone(given) };
    keepMaskedSecrets(plugin, next, current);
    const settings = validateSettings(plugin, next, step.cityLocales);
    await tx.pluginInstallation.updateMany({
      where: { tenantId, pluginId: plugin.id },
      data: { settings: settings as Prisma.InputJsonValue, updatedAt: new Date() },
    });
    return { before: stateOf(plugin, row), after: stateOf(plugin, { ...row, settings }) };
  });
}

/** Moves the city to the catalogue's version of the plugin, migrating its settings. */
export async function upgradePlugin(principal: Principal, input: { pluginId: string }, context: ServiceContext = {}): Promise<CityPlugin> {
  return lifecycleStep(principal, input?.pluginId, context, "plugin.upgraded", async (step) => {
    const { tx, tenantId, plugin, installed } = step;
    const row = requireInstalled(step);
    if (!semver.lt(row.version, plugin.version)) {
      throw new Conflict("up_to_date", `The city already runs ${plugin.id} ${row.version}.`);
    }
    const problems = requirementProblems(plugin, installed);
    if (problems.length > 0) throw new Conflict("requirements_not_met", `The service ${plugin.id} ${plugin.version} ${problems.join("; ")}.`);
    const settings = validateSettings(plugin, migrateSettings(plugin, row.version, (row.settings ?? {}) as Record<string, unknown>), step.cityLocales);
    await tx.pluginInstallation.updateMany({
      where: { tenantId, pluginId: plugin.id },
      data: { version: plugin.version, settings: settings as Prisma.InputJsonValue, updatedAt: new Date() },
    });
    return { before: stateOf(plugin, row), after: stateOf(plugin, { ...row, version: plugin.version, settings }) };
  });
}

export type UninstallInput = {
  pluginId: string;
  /** Delete the city's data of this service too. */
  purge?: boolean;
  /** Required with purge: the plugin's id typed again, so data is never deleted by a slip. */
  confirmPurge?: string;
};

/** Removes the plugin from the city; its data stays unless a confirmed purge asks otherwise. */
export async function uninstallPlugin(principal: Principal, input: UninstallInput, context: ServiceContext = {}): Promise<CityPlugin> {
  const purge = input?.purge === true;
  if (purge && input?.confirmPurge !== input?.pluginId) {
    throw new ValidationFailed({ confirmPurge: ["type the service's id to confirm deleting its data"] });
  }
  return lifecycleStep(principal, input?.pluginId, context, purge ? "plugin.purged" : "plugin.uninstalled", async (step) => {
    const { tx, tenantId, plugin, installed } = step;
    const row = requireInstalled(step);
    const needing = dependents(plugin.id, installed, false);
    if (needing.length > 0) throw new Conflict("required_by_others", `Uninstall ${needing.join(", ")} first: they need ${plugin.id}.`);
    await tx.pluginInstallation.deleteMany({ where: { tenantId, pluginId: plugin.id } });
    if (purge) await plugin.purge?.({ tx, tenantId });
    return { before: stateOf(plugin, row), after: { purged: purge } };
  });
}
