// The plugin contract: what one folder under plugins/ declares with `definePlugin`, and what the
// core does with it (catalogue, per-city lifecycle, GraphQL, pages, translations, migrations,
// jobs, KPIs, federation). docs/plugins.md walks through it with the notice board.
import type { RequestHandler } from "express";
import semver from "semver";
import { z } from "zod";
import type { PermissionSpec } from "../auth/permissions";
import type { Database, Tx } from "../db/database.server";
import { SUPPORTED_LOCALES, type Locale } from "../i18n/locales";

export const PLUGIN_CATEGORIES = ["reporting", "information", "booking", "participation", "housing", "other"] as const;
export type PluginCategory = (typeof PLUGIN_CATEGORIES)[number];

/** A plugin's translations: one namespace (named after the plugin) per shipped locale. */
export type PluginTranslations = Record<Locale, Record<string, unknown>>;

/** What a plugin's lifecycle hooks and jobs work with: one city, inside its unit of work. */
export type PluginCityContext = {
  tx: Tx;
  tenantId: string;
  settings: Record<string, unknown>;
};

export type SettingsMigration = {
  /** The version whose settings this step produces (steps run in version order). */
  to: string;
  migrate: (settings: Record<string, unknown>) => Record<string, unknown>;
};

export type PluginSettings = {
  /** Validates the whole settings object on every change (install, configure, upgrade). */
  schema: z.ZodObject;
  /** Applied on install; must pass the schema. */
  defaults: Record<string, unknown>;
  /** Fields holding city-written text per locale ({ "fr": "…", "en": "…" }). */
  translatable?: readonly string[];
  /**
   * Paths of values never shown back or audited in clear ("smtp.password"): answers and audit
   * events carry "********" instead; a configure that sends "********" keeps the stored value.
   */
  secrets?: readonly string[];
  /**
   * Top-level settings fields a component may carry to another city as its preset (limits,
   * switches: how the service works); everything else (mail servers, addresses, secrets,
   * city-specific texts) stays with the city. Default: none. Each must be a schema field holding
   * no secret.
   */
  portable?: readonly string[];
  /** How settings written by an older version become this version's. */
  migrations?: readonly SettingsMigration[];
};

/** What a resident's "my account" page shows of a service: their reports, their bookings. */
export type AccountSection = {
  title: string;
  /** Shown when `items` is empty. */
  empty: string;
  items: readonly { label: string; detail: string; href: string }[];
  /** A link to everything, when `items` shows only the latest. */
  more?: { label: string; href: string };
};

export type AccountContext = {
  tenantId: string;
  userId: string;
  locale: Locale;
  cityDefaultLocale: string;
  timeZone: string;
  /** The service's pages start here (`${basePath}/services/${id}`). */
  servicePath: string;
  database?: Database;
};

/**
 * A job runs outside any transaction (it may send mail): it opens its own units of work, and
 * must be safe when two instances run it at once (claim rows with FOR UPDATE SKIP LOCKED).
 */
export type PluginJobContext = { tenantId: string; settings: Record<string, unknown>; database?: Database };

export type PluginJob = {
  name: string;
  /** How often it runs for each city that has the plugin enabled. */
  everySeconds: number;
  run: (context: PluginJobContext) => Promise<void>;
};

export type PluginKpi = {
  id: string;
  /** Translation key in the plugin's namespace. */
  name: string;
  compute: (context: PluginCityContext) => Promise<unknown>;
};

/**
 * One item of a component as a city has it or would get it (a category): compared by `hash`,
 * a digest of its content that the handler computes the same way for both sides.
 */
export type ComponentItem = { key: string; name: Record<string, string>; hash: string };

/**
 * What the federation layer asks of a plugin for one kind of component. Definitions are plain
 * JSON (no code ever travels): `export` builds them from what the city runs, `parse` checks
 * definitions that came from elsewhere (another city, another instance: untrusted), `items`
 * lists what definitions hold and `current` what the city has, and `apply` writes the chosen
 * items in the city's unit of work: creating the missing ones and replacing exactly those in
 * `replace`, nothing else.
 */
export type ComponentHandler = {
  export(context: PluginCityContext): Promise<unknown>;
  parse(definitions: unknown): unknown;
  items(definitions: unknown): ComponentItem[];
  current(context: PluginCityContext): Promise<ComponentItem[]>;
  apply(context: PluginCityContext, definitions: unknown, choice: { create: readonly string[]; replace: readonly string[] }): Promise<void>;
};

/** One record of a dataset: `key` is stable across refreshes (e.g. "pothole/2026-11"). */
export type DatasetRecord = { key: string; data: Record<string, unknown> };

export type DatasetHandler = {
  /** Every record the city would share now; the layer diffs it against what it last published. */
  snapshot(context: PluginCityContext): Promise<DatasetRecord[]>;
};

export type FederationExports = {
  /** Kinds of component a city can publish from what it runs (e.g. "categories"). */
  components?: readonly { kind: string; name: string; handler: () => Promise<ComponentHandler> }[];
  /** Datasets a city can share (e.g. "request-statistics"), described for DCAT-AP by `keywords` and `fields`. */
  datasets?: readonly {
    id: string;
    name: string;
    description: string;
    keywords?: readonly string[];
    /** Each record's `data` fields, described: the dataset's columns in its DCAT description. */
    fields: readonly { name: string; type: "string" | "integer" | "number" | "date" | "translated"; description: string }[];
    handler: () => Promise<DatasetHandler>;
  }[];
};

export type PluginManifest = {
  /** Lower-case, dashes: the folder name, the translation namespace and the page prefix. */
  id: string;
  version: string;
  /** Translation keys in the plugin's namespace, spelt "<id>:<key>". */
  name: string;
  description: string;
  category: PluginCategory;
  /** A name from the portal's icon set (app/components/icons.tsx). */
  icon: string;
  requires?: {
    /** A semver range the core's version must satisfy. */
    core?: string;
    /** Plugin id → semver range; each must be installed and enabled in the city first. */
    plugins?: Readonly<Record<string, string>>;
  };
  settings?: PluginSettings;
  permissions?: readonly PermissionSpec[];
  translations: PluginTranslations;
  /**
   * Loads the module that adds its GraphQL types and fields (`() => import("./graphql")`), when
   * the schema is built; graphql/plugins.ts checks every field it adds is gated by enablement.
   * Lazy, so the catalogue can be read without the API's modules.
   */
  graphql?: () => Promise<unknown>;
  /**
   * HTTP endpoints besides pages and GraphQL (Open311): Express handlers that match their own
   * paths, pass others on, and answer not found where the city does not run the plugin.
   */
  endpoints?: readonly { name: string; handler: () => Promise<RequestHandler> }[];
  /** Pages under /services/<id>/ (plugins/<id>/pages/, mounted by remix.config.js). */
  pages?: readonly { path: string; title: string }[];
  /** Work at install time (seed default content) and purge time (delete the city's rows). */
  install?: (context: PluginCityContext) => Promise<void>;
  purge?: (context: Omit<PluginCityContext, "settings">) => Promise<void>;
  jobs?: readonly PluginJob[];
  /** The resident's own items of this service on "my account" (lazily loaded by the manifest). */
  account?: (context: AccountContext) => Promise<AccountSection>;
  /**
   * Demo data for evaluation instances (never production unless asked for), run once the plugin
   * is installed in a demo city (tenants/demo/services.yaml): e.g. Open311's demo API client.
   */
  demo?: (context: { tenantId: string; slug: string; database?: Database; log: (line: string) => void }) => Promise<void>;
  kpis?: readonly PluginKpi[];
  federation?: FederationExports;
};

export type Plugin = Readonly<PluginManifest>;

export class PluginDefinitionError extends Error {
  override name = "PluginDefinitionError";
}

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** A plugin's id is its translation namespace: it cannot be one of the core's. */
const CORE_NAMESPACE_NAMES = new Set(["account", "common", "identity", "legal", "permissions", "admin", "platform", "core"]);

/**
 * Checks a manifest once, when the catalogue loads: a bad plugin stops the instance from
 * starting rather than failing for one city at run time.
 */
export function definePlugin(manifest: PluginManifest): Plugin {
  const problems: string[] = [];
  const where = `Plugin ${JSON.stringify(manifest.id)}`;
  if (!ID.test(manifest.id) || manifest.id.length > 40 || CORE_NAMESPACE_NAMES.has(manifest.id)) problems.push("id must be lower-case words joined by dashes (at most 40 characters)");
  if (!semver.valid(manifest.version)) problems.push(`version ${JSON.stringify(manifest.version)} is not semver`);
  if (!(PLUGIN_CATEGORIES as readonly string[]).includes(manifest.category)) problems.push(`category must be one of ${PLUGIN_CATEGORIES.join(", ")}`);
  if (manifest.requires?.core && !semver.validRange(manifest.requires.core)) problems.push("requires.core is not a semver range");
  for (const [id, range] of Object.entries(manifest.requires?.plugins ?? {})) {
    if (!semver.validRange(range)) problems.push(`requires.plugins.${id} is not a semver range`);
    if (id === manifest.id) problems.push("a plugin cannot require itself");
  }
  for (const locale of SUPPORTED_LOCALES) {
    const messages = manifest.translations[locale];
    if (!messages) {
      problems.push(`translations for ${locale} are missing`);
      continue;
    }
    for (const key of [manifest.name, manifest.description]) {
      if (lookup(messages, ownKey(manifest.id, key)) === undefined) problems.push(`translation ${locale} of ${key} is missing`);
    }
  }
  const settings = manifest.settings;
  if (settings) {
    const parsed = settings.schema.safeParse(settings.defaults);
    if (!parsed.success) problems.push(`settings.defaults do not pass the settings schema: ${parsed.error.message}`);
    for (const field of settings.translatable ?? []) {
      if (!(field in settings.schema.shape)) problems.push(`translatable field ${field} is not in the settings schema`);
    }
    for (const field of settings.portable ?? []) {
      if (!Object.hasOwn(settings.schema.shape, field)) problems.push(`portable field ${field} is not in the settings schema`);
      // A secret, or a field holding one ("smtp" of "smtp.password"), never leaves the city.
      const secret = (settings.secrets ?? []).find((path) => path === field || path.startsWith(`${field}.`));
      if (secret) problems.push(`portable field ${field} holds the secret ${secret}`);
    }
    let previous = "0.0.0";
    for (const step of settings.migrations ?? []) {
      if (!semver.valid(step.to) || !semver.gt(step.to, previous) || semver.gt(step.to, manifest.version)) {
        problems.push(`settings migration to ${step.to} must be a version after ${previous} and not after ${manifest.version}`);
      }
      previous = step.to;
    }
  }
  for (const permission of manifest.permissions ?? []) {
    const area = manifest.id.replace(/-/g, "_");
    if (!permission.id.startsWith(`${area}.`)) problems.push(`permission ${permission.id} must start with "${area}."`);
  }
  if (problems.length > 0) throw new PluginDefinitionError(`${where}: ${problems.join("; ")}.`);
  return Object.freeze({ ...manifest });
}

/** A manifest names its texts "<plugin id>:<key>", as the i18n check finds them. */
export function ownKey(pluginId: string, key: string): string {
  const prefix = `${pluginId}:`;
  if (!key.startsWith(prefix)) throw new PluginDefinitionError(`Plugin "${pluginId}": the text key ${JSON.stringify(key)} must start with "${prefix}".`);
  return key.slice(prefix.length);
}

function lookup(messages: Record<string, unknown>, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), messages);
}

/**
 * A settings field written by the city per locale. Within the shipped locales; the city's
 * enabled ones are checked by the lifecycle, which knows the city.
 */
export function translatedSetting(options: { maxLength?: number; required?: boolean } = {}) {
  const text = z.string().trim().max(options.maxLength ?? 2000, { error: `must be at most ${options.maxLength ?? 2000} characters` });
  const record = z.partialRecord(z.enum(SUPPORTED_LOCALES, { error: "is not a supported language" }), text);
  return options.required ? record.refine((value) => Object.values(value).some((entry) => entry), { error: "needs a text in at least one language" }) : record;
}
