// Components (docs/federation.md §6): a city publishes a declarative bundle from what one of its
// plugins runs (a settings preset and the plugin's definitions, signed by the instance); every
// city of this instance browses the federated catalogue (its cities' components and its peers')
// and imports one in one step. No code travels: the plugin checks and applies the definitions,
// and nothing a city has made is overwritten silently.
import { randomUUID, sign } from "node:crypto";
import semver from "semver";
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { Conflict, NotFound, parseInput, ServiceError, ValidationFailed } from "../auth/errors";
import { requireCityPermission, type CityPrincipal, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { UUID_PATTERN, withPlatformAdmin, withTenant, type Database, type Tx } from "../db/database.server";
import type { FederationPeer, Prisma } from "../db/generated/client.ts";
import { DEFAULT_PAGE_SIZE, pageArguments, pageOf, timeCursor } from "../db/pages.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { pluginById } from "../plugins/catalogue.server";
import { installPlugin, validateSettings } from "../plugins/lifecycle.server";
import type { ComponentHandler, ComponentItem, Plugin } from "../plugins/sdk.server";
import { canonicalJson } from "./canonical";
import { InboxRefusal, type InboxContext } from "./inbox.server";
import { cityUri, componentUri, instanceId, isFederationIdOf, keyIdOf, PROOF_TYPE, signDocument, verifyDocument, type DocumentProof, type PinnedKey } from "./instance.server";
import { createActivity, enqueue, enqueueToPeers } from "./outbox.server";
import { importPrivateKey } from "./signatures.server";

// --- Shapes -------------------------------------------------------------------------------------

/** Texts per language (BCP 47): { "fr": "Voirie", "en": "Roads" }. */
export type LanguageMap = Record<string, string>;

/** A component version as its origin instance signed it (docs/federation.md §6). */
export type ComponentDocument = {
  type: "civitas:Component";
  id: string;
  version: number;
  plugin: { id: string; versionRange: string };
  kind: string;
  title: LanguageMap;
  summary: LanguageMap;
  locales: string[];
  settings: Record<string, unknown>;
  definitions: unknown;
  origin: {
    instance: string;
    city: { id: string; slug: string; names: LanguageMap };
    author: string;
    published: string;
  };
  proof?: DocumentProof;
};

/** The plugin a component needs, as this instance has it. */
export type ComponentPlugin = {
  /** The plugin is in this instance's catalogue and declares the component's kind. */
  available: boolean;
  /** The catalogue's version, when available. */
  version: string | null;
  /** Available, and its version satisfies the component's range: it can be imported. */
  compatible: boolean;
};

/** One component of the federated catalogue, as a city sees it. */
export type ComponentEntry = {
  id: string;
  uri: string;
  pluginId: string;
  kind: string;
  title: LanguageMap;
  summary: LanguageMap;
  locales: string[];
  latestVersion: number;
  /** The semver range of the plugin the latest version needs. */
  pluginVersionRange: string;
  origin: {
    city: { uri: string; slug: string; names: LanguageMap };
    instance: string;
    /** Published by a city of this instance (not a peer's). */
    local: boolean;
    /** Published by the asking city: it may publish new versions and withdraw it. */
    ownCity: boolean;
    /** Who published the latest version, and when. */
    author: string;
    published: Date;
  };
  plugin: ComponentPlugin;
  /** The asking city's import of it, if any. */
  imported: { version: number; following: boolean; updateAvailable: boolean } | null;
  /** Withdrawn by its origin (still shown to the cities that imported it). */
  withdrawnAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

export type ComponentVersionEntry = { version: number; pluginVersionRange: string; author: string; published: Date };

export type ComponentDetails = ComponentEntry & {
  /** Newest first. */
  versions: ComponentVersionEntry[];
  /** The items (categories...) of the latest version; null when this instance cannot read them (plugin missing). */
  items: { key: string; name: LanguageMap }[] | null;
};

export type ComponentPage = {
  components: ComponentEntry[];
  hasNextPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

export type SettingAction = "set" | "same" | "conflict" | "dropped";
export type ItemAction = "create" | "unchanged" | "update" | "conflict";
/**
 * Why an item is a conflict: the city has its own, different one (`differs`), or it imported it
 * from this component and has changed it since (`changed_since_import`).
 */
export type ItemConflictReason = "differs" | "changed_since_import";

export type ImportPreview = {
  componentId: string;
  version: number;
  plugin: ComponentPlugin & { installed: boolean; enabled: boolean };
  /**
   * Each preset field: `set` when the import installs the plugin with it, `dropped` when it
   * cannot be used here (`reason` says why), `same` / `conflict` when the city runs the plugin
   * already (a conflict is reported, never overwritten).
   */
  settings: { field: string; action: SettingAction; reason?: string }[];
  items: { key: string; name: LanguageMap; action: ItemAction; reason?: ItemConflictReason }[];
};

export type ImportReport = ImportPreview & {
  following: boolean;
  applied: {
    /** The import installed the plugin (with the preset's `set` fields). */
    installed: boolean;
    created: number;
    updated: number;
  };
  /** Something changed (false: this version was imported already, nothing to do). */
  changed: boolean;
};

export type ImportEntry = { component: ComponentEntry; version: number; following: boolean; updateAvailable: boolean; importedAt: Date };

export type PublishInput = {
  pluginId: string;
  kind: string;
  title: Record<string, string>;
  summary?: Record<string, string> | null;
  /** A component of this city: publish its next version. */
  componentId?: string | null;
};

export type ComponentFilter = {
  pluginId?: string | null;
  /** Components offered in this language. */
  locale?: string | null;
  /** A city's URI, or the slug of a city of this instance. */
  city?: string | null;
  first?: number | null;
  after?: string | null;
};

/** A document over this many bytes is not published (a peer's inbox takes 1 MB with the envelope). */
export const MAX_COMPONENT_BYTES = 900 * 1024;

const COMPONENT_TYPE = "civitas:Component";

// --- Input ----------------------------------------------------------------------------------

const supportedLocale = z.enum(SUPPORTED_LOCALES, { error: "is not a supported language" });

/** Texts per supported language; empty texts are left out, and one at least is required. */
const languageTexts = (max: number, required: boolean) =>
  z
    .partialRecord(supportedLocale, z.string({ error: "must be text" }).trim().max(max, { error: `must be at most ${max} characters` }), {
      error: "must map languages to texts",
    })
    .transform((texts) => Object.fromEntries(Object.entries(texts).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== "")))
    .refine((texts) => !required || Object.keys(texts).length > 0, { error: "needs a text in at least one language" });

const identifier = z.string({ error: "is required" }).trim().min(1, { error: "is required" }).max(60, { error: "is too long" });
/** An id given by a client: a malformed one names nothing (not found), as elsewhere. */
const componentIdSchema = z.string({ error: "is required" }).max(200, { error: "is too long" });
const versionSchema = z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" });

const publishSchema = z.strictObject({
  pluginId: identifier,
  kind: identifier,
  title: languageTexts(120, true),
  summary: languageTexts(1000, false).nullish(),
  componentId: componentIdSchema.nullish(),
});

const filterSchema = z.strictObject({
  ...pageArguments,
  pluginId: identifier.nullish(),
  locale: z.string({ error: "must be a language" }).trim().max(35, { error: "is too long" }).nullish(),
  city: z.string({ error: "must be a city" }).trim().max(2048, { error: "is too long" }).nullish(),
});

const componentSchema = z.strictObject({ componentId: componentIdSchema });
const importSchema = z.strictObject({ componentId: componentIdSchema, version: versionSchema.nullish(), follow: z.boolean({ error: "must be true or false" }).nullish() });
const previewSchema = z.strictObject({ componentId: componentIdSchema, version: versionSchema.nullish() });
const followingSchema = z.strictObject({ componentId: componentIdSchema, following: z.boolean({ error: "must be true or false" }) });

const rowId = (value: string): string | null => (UUID_PATTERN.test(value) ? value.toLowerCase() : null);

// --- Small pieces ---------------------------------------------------------------------------

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const asRecord = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});

function textsOf(value: unknown): LanguageMap {
  return Object.fromEntries(Object.entries(asRecord(value)).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== ""));
}

const sameJson = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function deletePath(value: Record<string, unknown>, path: string): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = value;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isRecord(next)) return;
    node = next;
  }
  delete node[keys[keys.length - 1]!];
}

/** The plugin's settings without its secrets (removed, not masked: a mask would be a value). */
function withoutSecrets(plugin: Plugin, settings: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(settings);
  for (const path of plugin.settings?.secrets ?? []) deletePath(copy, path);
  return copy;
}

/** Whether the plugin lets a component carry this settings field to another city. */
const isPortable = (plugin: Plugin, field: string): boolean => plugin.settings?.portable?.includes(field) ?? false;

/**
 * The plugin's settings as a preset: only the fields it declares portable. Mail servers,
 * addresses, secrets and the city's own texts stay with the city (definePlugin keeps secrets
 * out of `portable`; they are removed again here all the same).
 */
function portablePreset(plugin: Plugin, settings: Record<string, unknown>): Record<string, unknown> {
  const fields = (plugin.settings?.portable ?? []).filter((field) => Object.hasOwn(settings, field));
  return withoutSecrets(plugin, Object.fromEntries(fields.map((field) => [field, settings[field]])));
}

async function handlerFor(plugin: Plugin | undefined, kind: string): Promise<ComponentHandler | null> {
  const declared = plugin?.federation?.components?.find((component) => component.kind === kind);
  return declared ? declared.handler() : null;
}

function pluginState(pluginId: string, kind: string, range: string): ComponentPlugin {
  const plugin = pluginById(pluginId);
  const declares = plugin?.federation?.components?.some((component) => component.kind === kind) ?? false;
  if (!plugin || !declares) return { available: false, version: plugin?.version ?? null, compatible: false };
  const compatible = semver.validRange(range) !== null && semver.satisfies(plugin.version, range);
  return { available: true, version: plugin.version, compatible };
}

/**
 * The languages a component is written in: those of its title and summary and of every text of
 * its definitions (objects whose keys are all languages and whose values are texts), in the
 * city's order first; the city's languages when none is found.
 */
function languagesOf(title: LanguageMap, summary: LanguageMap, definitions: unknown, cityLocales: readonly string[]): string[] {
  const found = new Set<string>([...Object.keys(title), ...Object.keys(summary)]);
  const supported = new Set<string>(SUPPORTED_LOCALES);
  const visit = (node: unknown, depth: number): void => {
    if (depth > 32) return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, depth + 1);
      return;
    }
    if (!isRecord(node)) return;
    const entries = Object.entries(node);
    if (entries.length > 0 && entries.every(([key, value]) => supported.has(key) && typeof value === "string")) {
      for (const [key, value] of entries) if ((value as string).trim() !== "") found.add(key);
      return;
    }
    for (const [, value] of entries) visit(value, depth + 1);
  };
  visit(definitions, 0);
  if (found.size === 0) return [...cityLocales];
  const ordered = cityLocales.filter((locale) => found.has(locale));
  return [...ordered, ...[...found].filter((locale) => !ordered.includes(locale)).sort()];
}

/** ValidationFailed from the city's own data: the fields named under `definitions`. */
function asDefinitionsProblem(error: unknown): never {
  if (error instanceof ValidationFailed) {
    throw new ValidationFailed(Object.fromEntries(Object.entries(error.fields).map(([field, messages]) => [field ? `definitions.${field}` : "definitions", messages])));
  }
  throw error;
}

// --- Reading the catalogue -------------------------------------------------------------------

const COMPONENT_COLUMNS = {
  id: true,
  uri: true,
  peerId: true,
  originTenantId: true,
  originCity: true,
  pluginId: true,
  kind: true,
  title: true,
  summary: true,
  locales: true,
  latestVersion: true,
  withdrawnAt: true,
  createdAt: true,
  updatedAt: true,
  versions: { orderBy: { version: "desc" }, take: 1, select: { version: true, pluginVersionRange: true, author: true, publishedAt: true } },
  peer: { select: { localAccepted: true, remoteAccepted: true, suspended: true } },
} satisfies Prisma.FederationComponentSelect;

const ACTIVE_PEER = { localAccepted: true, remoteAccepted: true, suspended: false } as const;

/**
 * Components a city may browse and import: this instance's, and those of peers whose peering is
 * active (a suspended or unfinished peering hides its components, as datasets do).
 */
const REACHABLE: Prisma.FederationComponentWhereInput = { OR: [{ peerId: null }, { peer: { is: ACTIVE_PEER } }] };

const isReachable = (row: Pick<ComponentRow, "peerId" | "peer">): boolean =>
  row.peerId === null || (row.peer !== null && row.peer.localAccepted && row.peer.remoteAccepted && !row.peer.suspended);

type ComponentRow = Prisma.FederationComponentGetPayload<{ select: typeof COMPONENT_COLUMNS }>;
type ImportRow = { componentId: string; version: number; following: boolean; items: unknown; importedAt: Date };

function originCityOf(row: { originCity: unknown }): { uri: string; slug: string; names: LanguageMap; instance: string } {
  const city = asRecord(row.originCity);
  return {
    uri: typeof city.uri === "string" ? city.uri : "",
    slug: typeof city.slug === "string" ? city.slug : "",
    names: textsOf(city.names),
    instance: typeof city.instance === "string" ? city.instance : "",
  };
}

function entryOf(row: ComponentRow, tenantId: string, imported: ImportRow | undefined): ComponentEntry {
  const latest = row.versions[0];
  const city = originCityOf(row);
  const range = latest?.pluginVersionRange ?? "";
  return {
    id: row.id,
    uri: row.uri,
    pluginId: row.pluginId,
    kind: row.kind,
    title: textsOf(row.title),
    summary: textsOf(row.summary),
    locales: [...row.locales],
    latestVersion: row.latestVersion,
    pluginVersionRange: range,
    origin: {
      city: { uri: city.uri, slug: city.slug, names: city.names },
      instance: city.instance,
      local: row.originTenantId !== null,
      ownCity: row.originTenantId === tenantId,
      author: latest?.author ?? "",
      published: latest?.publishedAt ?? row.updatedAt,
    },
    plugin: pluginState(row.pluginId, row.kind, range),
    imported: imported
      ? { version: imported.version, following: imported.following, updateAvailable: row.withdrawnAt === null && isReachable(row) && row.latestVersion > imported.version }
      : null,
    withdrawnAt: row.withdrawnAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The city's imports of these components (its own rows, under row-level security). */
async function importsOf(tenantId: string, componentIds: readonly string[], database?: Database): Promise<Map<string, ImportRow>> {
  if (componentIds.length === 0) return new Map();
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.federationImport.findMany({
        where: { tenantId, componentId: { in: [...componentIds] } },
        select: { componentId: true, version: true, following: true, items: true, importedAt: true },
      }),
    database,
  );
  return new Map(rows.map((row) => [row.componentId, row]));
}

async function componentRow(componentId: string, database?: Database): Promise<ComponentRow | null> {
  const id = rowId(componentId);
  if (!id) return null;
  return withPlatformAdmin((tx) => tx.federationComponent.findUnique({ where: { id }, select: COMPONENT_COLUMNS }), database);
}

async function entryFor(tenantId: string, componentId: string, database?: Database): Promise<ComponentEntry> {
  const row = await componentRow(componentId, database);
  if (!row) throw new NotFound("component");
  const imports = await importsOf(tenantId, [row.id], database);
  return entryOf(row, tenantId, imports.get(row.id));
}

/**
 * The federated catalogue (this instance's cities' components and its peers'), withdrawn ones
 * left out, newest first (by first publication, so that pages stay stable as versions come).
 */
export async function listComponents(principal: Principal, input: ComponentFilter = {}, context: ServiceContext = {}): Promise<ComponentPage> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "federation.manage");
  const filter = parseInput(filterSchema, input ?? {});
  const first = filter.first ?? DEFAULT_PAGE_SIZE;
  const city = filter.city ? (/^[a-z0-9-]{1,63}$/.test(filter.city) ? cityUri(filter.city) : filter.city) : null;
  const where: Prisma.FederationComponentWhereInput = {
    ...REACHABLE,
    withdrawnAt: null,
    ...(filter.pluginId && { pluginId: filter.pluginId }),
    ...(filter.locale && { locales: { has: filter.locale } }),
    ...(city && { originCity: { path: ["uri"], equals: city } }),
  };
  const rows = await withPlatformAdmin(
    (tx) =>
      tx.federationComponent.findMany({
        where,
        select: COMPONENT_COLUMNS,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: first + 1,
        ...(filter.after && { cursor: { id: filter.after.id }, skip: 1 }),
      }),
    context.database,
  );
  const { rows: page, ...cursors } = pageOf(rows, first, (row) => timeCursor(row, row.createdAt));
  const imports = await importsOf(tenantId, page.map((row) => row.id), context.database);
  return { components: page.map((row) => entryOf(row, tenantId, imports.get(row.id))), ...cursors };
}

/** One component: its entry, its versions, and the items of its latest version. */
export async function getComponent(principal: Principal, input: { componentId: string }, context: ServiceContext = {}): Promise<ComponentDetails> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "federation.manage");
  const { componentId } = parseInput(componentSchema, input);
  const id = rowId(componentId);
  if (!id) throw new NotFound("component");
  const found = await withPlatformAdmin(async (tx) => {
    const row = await tx.federationComponent.findFirst({ where: { id, ...REACHABLE }, select: COMPONENT_COLUMNS });
    if (!row) return null;
    const versions = await tx.federationComponentVersion.findMany({
      where: { componentId: id },
      orderBy: { version: "desc" },
      select: { version: true, pluginVersionRange: true, author: true, publishedAt: true, document: true },
    });
    return { row, versions };
  }, context.database);
  if (!found) throw new NotFound("component");
  const { row, versions } = found;
  const imports = await importsOf(tenantId, [row.id], context.database);
  const entry = entryOf(row, tenantId, imports.get(row.id));
  let items: ComponentDetails["items"] = null;
  const handler = entry.plugin.available ? await handlerFor(pluginById(row.pluginId), row.kind) : null;
  const latest = versions[0];
  if (handler && latest) {
    try {
      const definitions = handler.parse(asRecord(latest.document).definitions);
      items = handler.items(definitions).map((item) => ({ key: item.key, name: item.name }));
    } catch (error) {
      // Definitions this plugin version does not accept: nothing to preview (importing refuses too).
      if (!(error instanceof ServiceError)) throw error;
    }
  }
  return {
    ...entry,
    versions: versions.map((version) => ({ version: version.version, pluginVersionRange: version.pluginVersionRange, author: version.author, published: version.publishedAt })),
    items,
  };
}

// --- Publishing --------------------------------------------------------------------------------

/** Who signs as author: the person's display name, an API client's name, else the city's name. */
async function authorName(tx: Tx, principal: CityPrincipal, cityName: string): Promise<string> {
  if (principal.kind === "user") {
    const user = await tx.user.findFirst({ where: { tenantId: principal.tenantId, id: principal.userId }, select: { displayName: true } });
    const name = user?.displayName?.trim();
    if (name) return name.slice(0, 200);
  } else {
    const client = await tx.apiClient.findFirst({ where: { tenantId: principal.tenantId, id: principal.apiClientId }, select: { name: true } });
    if (client?.name.trim()) return client.name.trim().slice(0, 200);
  }
  return cityName;
}

/**
 * Publishes a component from what the city runs: a new one (version 1), or the next version of
 * one of the city's components (`componentId`). The document is signed by the instance, stored,
 * and sent to every active peer (Create, or Update) in the same transaction.
 */
export async function publishComponent(principal: Principal, input: PublishInput, context: ServiceContext = {}): Promise<ComponentEntry> {
  const actor = requireCityPermission(principal, context.tenantId, "federation.manage");
  const tenantId = actor.tenantId;
  const given = parseInput(publishSchema, input);
  const plugin = pluginById(given.pluginId);
  if (!plugin) throw new NotFound("service");
  const handler = await handlerFor(plugin, given.kind);
  if (!handler) throw new ValidationFailed({ kind: [`the service ${plugin.id} has no component kind ${given.kind}`] });
  const existingId = given.componentId === undefined || given.componentId === null ? null : rowId(given.componentId);
  if (given.componentId && !existingId) throw new NotFound("component");
  const summary = given.summary ?? {};

  const draft = await withTenant(
    tenantId,
    async (tx) => {
      const installation = await tx.pluginInstallation.findFirst({ where: { tenantId, pluginId: plugin.id, enabled: true }, select: { settings: true } });
      if (!installation) throw new NotFound("service");
      const city = await tx.city.findUniqueOrThrow({ where: { id: tenantId }, select: { slug: true, names: true, defaultLocale: true, enabledLocales: true } });
      const settings = asRecord(installation.settings);
      const exported = await handler.export({ tx, tenantId, settings });
      let definitions: unknown;
      let items: ComponentItem[];
      try {
        definitions = handler.parse(exported);
        items = handler.items(definitions);
      } catch (error) {
        asDefinitionsProblem(error);
      }
      const names = textsOf(city.names);
      const author = await authorName(tx, actor, names[city.defaultLocale] ?? Object.values(names)[0] ?? city.slug);
      return { city: { slug: city.slug, names, locales: city.enabledLocales }, preset: portablePreset(plugin, settings), definitions, items, author };
    },
    context.database,
  );
  if (draft.items.length === 0) throw new ValidationFailed({ definitions: ["the city has nothing of this kind to share"] });

  const origin = { uri: cityUri(draft.city.slug), slug: draft.city.slug, names: draft.city.names, instance: instanceId() };
  const locales = languagesOf(given.title, summary, draft.definitions, draft.city.locales);
  const published = new Date();

  const componentId = await withPlatformAdmin(async (tx) => {
    let id: string;
    let version: number;
    if (existingId) {
      // The increment locks the row: two publications at once get two successive versions.
      const { count } = await tx.federationComponent.updateMany({
        where: { id: existingId, originTenantId: tenantId, withdrawnAt: null },
        data: { latestVersion: { increment: 1 } },
      });
      const row = await tx.federationComponent.findFirst({
        where: { id: existingId, originTenantId: tenantId },
        select: { latestVersion: true, withdrawnAt: true, pluginId: true, kind: true },
      });
      if (!row) throw new NotFound("component");
      if (count === 0) throw new Conflict("withdrawn", "This component was withdrawn: publish a new one.");
      if (row.pluginId !== plugin.id || row.kind !== given.kind) {
        throw new ValidationFailed({ componentId: [`is a component of ${row.pluginId} (${row.kind}), not of ${plugin.id} (${given.kind})`] });
      }
      id = existingId;
      version = row.latestVersion;
    } else {
      id = randomUUID();
      version = 1;
    }
    const document: ComponentDocument = {
      type: COMPONENT_TYPE,
      id: componentUri(id),
      version,
      plugin: { id: plugin.id, versionRange: `^${plugin.version}` },
      kind: given.kind,
      title: given.title,
      summary,
      locales,
      settings: draft.preset,
      definitions: draft.definitions,
      origin: {
        instance: origin.instance,
        city: { id: origin.uri, slug: origin.slug, names: origin.names },
        author: draft.author,
        published: published.toISOString(),
      },
    };
    if (Buffer.byteLength(canonicalJson(document)) > MAX_COMPONENT_BYTES) {
      throw new ValidationFailed({ definitions: [`are too large to share (more than ${MAX_COMPONENT_BYTES} bytes)`] });
    }
    const signed = await signDocument(document, context.database);
    const common = {
      originCity: origin,
      title: given.title,
      summary,
      locales,
      latestVersion: version,
      updatedAt: published,
    };
    if (version === 1) {
      await tx.federationComponent.create({
        data: { id, uri: document.id, originTenantId: tenantId, pluginId: plugin.id, kind: given.kind, createdAt: published, ...common },
      });
    } else {
      await tx.federationComponent.update({ where: { id }, data: common });
    }
    await tx.federationComponentVersion.create({
      data: {
        componentId: id,
        version,
        pluginVersionRange: document.plugin.versionRange,
        document: signed as unknown as Prisma.InputJsonValue,
        signature: signed.proof.signature,
        keyId: signed.proof.keyId,
        author: draft.author,
        publishedAt: published,
      },
    });
    await enqueueToPeers(tx, createActivity(version === 1 ? "Create" : "Update", signed, { actor: origin.uri }));
    await recordAudit(tx, tenantId, {
      actor: auditActor(actor),
      action: "federation.component.published",
      subject: { type: "federation_component", id },
      after: { uri: document.id, pluginId: plugin.id, kind: given.kind, version, title: given.title, items: draft.items.map((item) => item.key) },
      requestId: context.requestId,
    });
    return id;
  }, context.database);
  return entryFor(tenantId, componentId, context.database);
}

/** Withdraws one of the city's components: gone from the catalogue, Delete sent to the peers. */
export async function withdrawComponent(principal: Principal, input: { componentId: string }, context: ServiceContext = {}): Promise<ComponentEntry> {
  const actor = requireCityPermission(principal, context.tenantId, "federation.manage");
  const tenantId = actor.tenantId;
  const { componentId } = parseInput(componentSchema, input);
  const id = rowId(componentId);
  if (!id) throw new NotFound("component");
  await withPlatformAdmin(async (tx) => {
    const row = await tx.federationComponent.findFirst({ where: { id, originTenantId: tenantId }, select: { uri: true, originCity: true, latestVersion: true } });
    if (!row) throw new NotFound("component");
    const { count } = await tx.federationComponent.updateMany({ where: { id, originTenantId: tenantId, withdrawnAt: null }, data: { withdrawnAt: new Date() } });
    if (count === 0) throw new Conflict("withdrawn", "This component is withdrawn already.");
    await enqueueToPeers(tx, createActivity("Delete", row.uri, { actor: originCityOf(row).uri }));
    await recordAudit(tx, tenantId, {
      actor: auditActor(actor),
      action: "federation.component.withdrawn",
      subject: { type: "federation_component", id },
      before: { uri: row.uri, version: row.latestVersion },
      requestId: context.requestId,
    });
  }, context.database);
  return entryFor(tenantId, id, context.database);
}

// --- Importing -----------------------------------------------------------------------------

type Offer = {
  component: ComponentRow;
  version: number;
  document: ComponentDocument;
  plugin: Plugin | undefined;
  handler: ComponentHandler | null;
  state: ComponentPlugin;
  /** The key that verified the version when it was stored (its proof's), and its signature. */
  proof: { keyId: string; signature: string };
  /**
   * The keys that may verify it again: this instance's own (all of them, kept after rotation),
   * or the keys pinned for the peer now (a rotated-out one is no longer among them).
   */
  keys: () => Promise<{ id: string; publicKeyPem: string }[]>;
};

/**
 * Every key this instance has signed with, retired ones however long ago: a version the city
 * published a year ago is still this instance's, while peers only accept recently retired keys.
 */
async function ownKeys(database?: Database): Promise<{ id: string; publicKeyPem: string }[]> {
  const rows = await withPlatformAdmin((tx) => tx.federationKey.findMany({ select: { kid: true, publicKey: true } }), database);
  return rows.map((row) => ({ id: keyIdOf(row.kid), publicKeyPem: row.publicKey }));
}

/** A stored version ready to compare: refused when withdrawn, the city's own, or absent. */
async function loadOffer(tenantId: string, componentId: string, version: number | null | undefined, database?: Database): Promise<Offer> {
  const id = rowId(componentId);
  if (!id) throw new NotFound("component");
  const found = await withPlatformAdmin(async (tx) => {
    const component = await tx.federationComponent.findFirst({
      where: { id, ...REACHABLE },
      select: { ...COMPONENT_COLUMNS, peer: { select: { ...COMPONENT_COLUMNS.peer.select, keys: true } } },
    });
    if (!component) return null;
    const stored = await tx.federationComponentVersion.findUnique({
      where: { componentId_version: { componentId: id, version: version ?? component.latestVersion } },
      select: { version: true, document: true, pluginVersionRange: true, keyId: true, signature: true },
    });
    return { component, stored };
  }, database);
  if (!found) throw new NotFound("component");
  const { component, stored } = found;
  if (component.withdrawnAt) throw new Conflict("withdrawn", "This component was withdrawn by its city.");
  if (component.originTenantId === tenantId) throw new Conflict("own_component", "This city published this component.");
  if (!stored) throw new NotFound("component version");
  const plugin = pluginById(component.pluginId);
  const state = pluginState(component.pluginId, component.kind, stored.pluginVersionRange);
  const { peer } = component;
  return {
    component,
    version: stored.version,
    document: stored.document as unknown as ComponentDocument,
    plugin,
    handler: state.available ? await handlerFor(plugin, component.kind) : null,
    state,
    proof: { keyId: stored.keyId, signature: stored.signature },
    keys: peer ? async () => pinnedKeys(peer) : () => ownKeys(database),
  };
}

/**
 * The document is the one its origin signed, and is the stored version it claims to be: a row
 * changed in the database refuses the import. It is verified again with the key that verified
 * it on receipt while that key is known here (any of this instance's; one still pinned for the
 * peer). A peer's key rotated out since is no reason to refuse: the receipt verified the
 * version, and the stored row is this instance's own.
 */
async function requireAuthentic(offer: Offer): Promise<void> {
  const { document, component } = offer;
  const proof = isRecord(document) ? document.proof : undefined;
  const consistent =
    isRecord(document) &&
    document.type === COMPONENT_TYPE &&
    document.id === component.uri &&
    document.version === offer.version &&
    document.plugin?.id === component.pluginId &&
    document.kind === component.kind &&
    isRecord(proof) &&
    proof.keyId === offer.proof.keyId &&
    proof.signature === offer.proof.signature;
  const refuse = () => new Conflict("proof_invalid", "This component's signature does not verify: it cannot be imported.");
  if (!consistent) throw refuse();
  const key = (await offer.keys()).find((candidate) => candidate.id === offer.proof.keyId);
  if (key) {
    if (!verifyDocument(document, [key])) throw refuse();
    return;
  }
  // This instance keeps every key it signed with: one of its versions without its key was changed.
  if (component.peerId === null) throw refuse();
}

type Installed = { enabled: boolean; settings: Record<string, unknown> } | null;

type PresetForCity = { settings: Record<string, unknown>; notes: Map<string, { action: "set" | "dropped"; reason?: string }> };

/**
 * The preset as the city can install it: fields the plugin does not know or does not let travel
 * (not `portable`: whatever a peer put in its document) are dropped, texts in languages the city
 * does not offer are left out (the field dropped when none is left), and a field the settings
 * rules refuse here is dropped rather than failing the import.
 */
function presetForCity(plugin: Plugin, preset: Record<string, unknown>, cityLocales: readonly string[]): PresetForCity {
  const notes: PresetForCity["notes"] = new Map();
  const settings: Record<string, unknown> = {};
  const spec = plugin.settings;
  const translatable = new Set(spec?.translatable ?? []);
  for (const [field, value] of Object.entries(preset)) {
    if (!spec || !Object.hasOwn(spec.schema.shape, field)) {
      notes.set(field, { action: "dropped", reason: "not a setting of this service's version" });
      continue;
    }
    if (!isPortable(plugin, field)) {
      notes.set(field, { action: "dropped", reason: "a setting each city keeps its own: a component does not carry it" });
      continue;
    }
    if (translatable.has(field) && isRecord(value)) {
      const kept = Object.fromEntries(Object.entries(value).filter(([locale]) => cityLocales.includes(locale)));
      const left = Object.keys(value).filter((locale) => !cityLocales.includes(locale));
      if (left.length > 0 && Object.keys(kept).length === 0 && Object.keys(value).length > 0) {
        notes.set(field, { action: "dropped", reason: `only in languages the city does not offer (${left.join(", ")})` });
        continue;
      }
      settings[field] = kept;
      notes.set(field, left.length > 0 ? { action: "set", reason: `texts in ${left.join(", ")} left out: not the city's languages` } : { action: "set" });
      continue;
    }
    settings[field] = value;
    notes.set(field, { action: "set" });
  }
  if (!spec) return { settings, notes };
  // Each pass drops the fields the rules name; a refusal naming none of them drops what is left.
  for (let pass = 0; pass <= Object.keys(preset).length; pass += 1) {
    try {
      validateSettings(plugin, { ...spec.defaults, ...settings }, cityLocales);
      return { settings, notes };
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const named = new Map<string, string[]>();
      for (const [path, messages] of Object.entries(error.fields)) {
        const field = path.split(".")[0] ?? "";
        if (field in settings) named.set(field, [...(named.get(field) ?? []), ...messages]);
      }
      const dropping = named.size > 0 ? [...named] : Object.keys(settings).map((field) => [field, Object.values(error.fields).flat()] as [string, string[]]);
      if (dropping.length === 0) throw error;
      for (const [field, messages] of dropping) {
        delete settings[field];
        notes.set(field, { action: "dropped", reason: messages.join("; ") });
      }
    }
  }
  return { settings, notes };
}

type Plan = {
  preview: ImportPreview;
  definitions: unknown;
  installed: Installed;
  cityLocales: string[];
  /** Hash of each item the city has now. */
  current: Map<string, string>;
  previous: { version: number; following: boolean; items: Record<string, string> } | null;
};

async function currentItems(tx: Tx, tenantId: string, handler: ComponentHandler, settings: Record<string, unknown>): Promise<Map<string, string>> {
  const items = await handler.current({ tx, tenantId, settings });
  return new Map(items.map((item) => [item.key, item.hash]));
}

/** What importing `offer` would do in the city now (docs/federation.md §6), in its unit of work. */
async function planImport(tx: Tx, tenantId: string, offer: Offer): Promise<Plan> {
  const installation = await tx.pluginInstallation.findFirst({ where: { tenantId, pluginId: offer.component.pluginId }, select: { enabled: true, settings: true } });
  const installed: Installed = installation ? { enabled: installation.enabled, settings: asRecord(installation.settings) } : null;
  const city = await tx.city.findUniqueOrThrow({ where: { id: tenantId }, select: { enabledLocales: true } });
  const imported = await tx.federationImport.findUnique({
    where: { tenantId_componentId: { tenantId, componentId: offer.component.id } },
    select: { version: true, following: true, items: true },
  });
  const previous = imported ? { version: imported.version, following: imported.following, items: textsOf(imported.items) } : null;
  const preset = asRecord(offer.document.settings);

  // The preset as it would apply here; a city running the plugin already compares it with its own.
  let settings: ImportPreview["settings"] = [];
  if (offer.plugin) {
    const applicable = presetForCity(offer.plugin, preset, city.enabledLocales);
    const mine = installed ? withoutSecrets(offer.plugin, installed.settings) : null;
    settings = [...applicable.notes].map(([field, note]) => {
      if (!mine || note.action === "dropped") return { field, ...note };
      return { field, ...note, action: sameJson(applicable.settings[field], mine[field]) ? "same" : "conflict" };
    });
  }

  let definitions: unknown = null;
  let items: ImportPreview["items"] = [];
  let current = new Map<string, string>();
  if (offer.handler && offer.state.compatible) {
    try {
      definitions = offer.handler.parse(offer.document.definitions);
    } catch (error) {
      if (error instanceof ValidationFailed) throw new Conflict("definitions_refused", `This service refuses the component's definitions: ${error.message}`);
      throw error;
    }
    current = await currentItems(tx, tenantId, offer.handler, installed?.settings ?? {});
    items = offer.handler.items(definitions).map((item) => {
      const held = current.get(item.key);
      const base = { key: item.key, name: item.name };
      if (held === undefined) return { ...base, action: "create" as const };
      if (held === item.hash) return { ...base, action: "unchanged" as const };
      const recorded = previous?.items[item.key];
      if (recorded !== undefined && recorded === held) return { ...base, action: "update" as const };
      return { ...base, action: "conflict" as const, reason: recorded !== undefined ? ("changed_since_import" as const) : ("differs" as const) };
    });
  }
  return {
    preview: {
      componentId: offer.component.id,
      version: offer.version,
      plugin: { ...offer.state, installed: installed !== null, enabled: installed?.enabled ?? false },
      settings,
      items,
    },
    definitions,
    installed,
    cityLocales: city.enabledLocales,
    current,
    previous,
  };
}

/** What importing a version (the latest by default) would do in the asking city; changes nothing. */
export async function previewImport(
  principal: Principal,
  input: { componentId: string; version?: number | null },
  context: ServiceContext = {},
): Promise<ImportPreview> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "federation.manage");
  const given = parseInput(previewSchema, input);
  const offer = await loadOffer(tenantId, given.componentId, given.version, context.database);
  const plan = await withTenant(tenantId, (tx) => planImport(tx, tenantId, offer), context.database);
  return plan.preview;
}

/**
 * Imports a version (the latest by default) in one step: the signature checked again, the
 * plugin installed with the preset when the city lacks it, then the missing items created and
 * those imported from this component and untouched since updated; settings and items that
 * differ are reported as conflicts and left as they are. Importing the same version again
 * changes nothing.
 */
export async function importComponent(
  principal: Principal,
  input: { componentId: string; version?: number | null; follow?: boolean | null },
  context: ServiceContext = {},
): Promise<ImportReport> {
  const actor = requireCityPermission(principal, context.tenantId, "federation.manage");
  const tenantId = actor.tenantId;
  const given = parseInput(importSchema, input);
  const offer = await loadOffer(tenantId, given.componentId, given.version, context.database);
  await requireAuthentic(offer);
  if (!offer.plugin || !offer.handler || !offer.state.available) {
    throw new Conflict("plugin_unavailable", `This instance has no service ${offer.component.pluginId} that reads ${offer.component.kind}.`);
  }
  if (!offer.state.compatible) {
    throw new Conflict("plugin_incompatible", `The component needs ${offer.component.pluginId} ${offer.document.plugin.versionRange}; this instance has ${offer.state.version}.`);
  }
  const { plugin, handler } = offer;

  const afterCommit: (() => Promise<void> | void)[] = [];
  const report = await withTenant(
    tenantId,
    async (tx): Promise<ImportReport> => {
      // One import at a time per city: a second one waits and then finds the first one's work.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`federation-import:${tenantId}`}, 0))`;
      const plan = await planImport(tx, tenantId, offer);
      const { preview } = plan;
      if (plan.installed && !plan.installed.enabled) {
        throw new Conflict("plugin_disabled", `The service ${plugin.id} is disabled in this city: enable it before importing.`);
      }

      let installedNow = false;
      let settings = plan.installed?.settings ?? {};
      let current = plan.current;
      if (!plan.installed) {
        const preset = presetForCity(plugin, asRecord(offer.document.settings), plan.cityLocales);
        const installation = await installPlugin(principal, { pluginId: plugin.id, settings: preset.settings }, {
          ...context,
          tenantId,
          afterCommit: (work) => afterCommit.push(work),
        });
        installedNow = true;
        const row = await tx.pluginInstallation.findFirst({ where: { tenantId, pluginId: plugin.id }, select: { settings: true } });
        settings = asRecord(row?.settings ?? installation.settings);
        current = await currentItems(tx, tenantId, handler, settings);
      }

      // Items the install itself just seeded (absent before) give way to the component's.
      const offered = new Map(handler.items(plan.definitions).map((item) => [item.key, item.hash]));
      const create: string[] = [];
      const replace: string[] = [];
      for (const item of preview.items) {
        if (item.action === "update") replace.push(item.key);
        if (item.action !== "create") continue;
        const seeded = current.get(item.key);
        if (seeded === undefined) create.push(item.key);
        else if (seeded !== offered.get(item.key)) replace.push(item.key);
      }
      if (create.length > 0 || replace.length > 0) {
        await handler.apply({ tx, tenantId, settings }, plan.definitions, { create, replace });
        current = await currentItems(tx, tenantId, handler, settings);
      }

      // The hash of each item the city holds from this component: a later version may update it
      // while it stays so. Recorded: what this import brought (absent before) or replaced, and
      // what an earlier import recorded (refreshed when the city's copy equals this version's).
      // An item the city made itself is never recorded, even when it happens to equal the
      // component's ("unchanged"): a later version must not take it over as an update.
      const items: Record<string, string> = { ...(plan.previous?.items ?? {}) };
      for (const item of preview.items) {
        const held = current.get(item.key);
        if (held === undefined) continue;
        const brought = item.action === "create" || item.action === "update";
        const recordedBefore = item.action === "unchanged" && plan.previous?.items[item.key] !== undefined;
        if (brought || recordedBefore) items[item.key] = held;
      }
      const following = given.follow ?? plan.previous?.following ?? false;
      const unchanged =
        plan.previous !== null &&
        !installedNow &&
        create.length === 0 &&
        replace.length === 0 &&
        plan.previous.version === offer.version &&
        plan.previous.following === following &&
        sameJson(plan.previous.items, items);
      const keysWith = (action: ItemAction) => preview.items.filter((item) => item.action === action).map((item) => item.key);
      if (!unchanged) {
        const now = new Date();
        const importedBy = actor.kind === "user" ? actor.userId : null;
        await tx.federationImport.upsert({
          where: { tenantId_componentId: { tenantId, componentId: offer.component.id } },
          create: { tenantId, componentId: offer.component.id, version: offer.version, following, items, importedBy, importedAt: now },
          update: { version: offer.version, following, items, importedBy, importedAt: now },
        });
        await recordAudit(tx, tenantId, {
          actor: auditActor(actor),
          action: "federation.component.imported",
          subject: { type: "federation_component", id: offer.component.id },
          before: plan.previous ? { version: plan.previous.version, following: plan.previous.following } : null,
          after: {
            uri: offer.component.uri,
            version: offer.version,
            following,
            installed: installedNow,
            created: keysWith("create"),
            updated: keysWith("update"),
            conflicts: keysWith("conflict"),
            settingConflicts: preview.settings.filter((setting) => setting.action === "conflict").map((setting) => setting.field),
          },
          requestId: context.requestId,
        });
      }
      return {
        ...preview,
        following,
        applied: { installed: installedNow, created: keysWith("create").length, updated: keysWith("update").length },
        changed: !unchanged,
      };
    },
    context.database,
  );
  for (const work of afterCommit) {
    if (context.afterCommit) context.afterCommit(work);
    else await work();
  }
  return report;
}

/** Follows (is offered each newer version of) or stops following a component the city imported. */
export async function setComponentFollowing(
  principal: Principal,
  input: { componentId: string; following: boolean },
  context: ServiceContext = {},
): Promise<ImportEntry> {
  const actor = requireCityPermission(principal, context.tenantId, "federation.manage");
  const tenantId = actor.tenantId;
  const given = parseInput(followingSchema, input);
  const id = rowId(given.componentId);
  if (!id) throw new NotFound("import");
  await withTenant(
    tenantId,
    async (tx) => {
      const row = await tx.federationImport.findUnique({ where: { tenantId_componentId: { tenantId, componentId: id } }, select: { following: true } });
      if (!row) throw new NotFound("import");
      if (row.following === given.following) return;
      await tx.federationImport.updateMany({ where: { tenantId, componentId: id }, data: { following: given.following } });
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: given.following ? "federation.component.followed" : "federation.component.unfollowed",
        subject: { type: "federation_component", id },
        before: { following: row.following },
        after: { following: given.following },
        requestId: context.requestId,
      });
    },
    context.database,
  );
  const [entry] = await importEntries(tenantId, [id], context.database);
  if (!entry) throw new NotFound("import");
  return entry;
}

async function importEntries(tenantId: string, only: readonly string[] | null, database?: Database): Promise<ImportEntry[]> {
  const imports = await withTenant(
    tenantId,
    (tx) =>
      tx.federationImport.findMany({
        where: { tenantId, ...(only && { componentId: { in: [...only] } }) },
        select: { componentId: true, version: true, following: true, items: true, importedAt: true },
        orderBy: [{ importedAt: "desc" }, { componentId: "asc" }],
      }),
    database,
  );
  if (imports.length === 0) return [];
  const rows = await withPlatformAdmin(
    (tx) => tx.federationComponent.findMany({ where: { id: { in: imports.map((row) => row.componentId) } }, select: COMPONENT_COLUMNS }),
    database,
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return imports.flatMap((imported) => {
    const row = byId.get(imported.componentId);
    if (!row) return [];
    const component = entryOf(row, tenantId, imported);
    return [{ component, version: imported.version, following: imported.following, updateAvailable: component.imported?.updateAvailable ?? false, importedAt: imported.importedAt }];
  });
}

/** The city's imports, latest first, each with whether a newer version is offered. */
export async function listImports(principal: Principal, context: ServiceContext = {}): Promise<ImportEntry[]> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "federation.manage");
  return importEntries(tenantId, null, context.database);
}

// --- From peers -----------------------------------------------------------------------------

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$/;
const PLUGIN_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const wireUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }, "must be an absolute URL");

const wireTexts = (max: number) =>
  z
    .record(z.string().max(35).regex(LANGUAGE_TAG), z.string().max(max))
    .refine((texts) => Object.keys(texts).length <= 50, "has too many languages");

/** A component document from a peer: untrusted, checked for shape and sizes before anything is kept. */
const wireComponentSchema = z.looseObject({
  type: z.literal(COMPONENT_TYPE),
  id: wireUrl,
  version: z.number().int().min(1).max(1_000_000),
  plugin: z.looseObject({
    id: z.string().max(60).regex(PLUGIN_ID),
    versionRange: z
      .string()
      .max(100)
      .refine((range) => semver.validRange(range) !== null, "is not a semver range"),
  }),
  kind: z.string().max(60).regex(PLUGIN_ID),
  title: wireTexts(200).refine((texts) => Object.keys(texts).length > 0, "needs a text"),
  summary: wireTexts(2000).optional(),
  locales: z.array(z.string().max(35).regex(LANGUAGE_TAG)).max(50),
  settings: z.record(z.string().max(100), z.unknown()).optional(),
  definitions: z.unknown().refine((value) => value !== undefined && value !== null, "is required"),
  origin: z.looseObject({
    instance: wireUrl,
    city: z.looseObject({ id: wireUrl, slug: z.string().max(63).regex(/^[a-z0-9]+(-[a-z0-9]+)*$/), names: wireTexts(200) }),
    author: z.string().max(200),
    published: z.iso.datetime({ offset: true }),
  }),
  proof: z.looseObject({
    type: z.literal(PROOF_TYPE),
    keyId: z.string().max(2048),
    created: z.string().max(64),
    signature: z.string().max(256),
  }),
});

function objectId(object: unknown): string | null {
  if (typeof object === "string") return object;
  if (isRecord(object) && typeof object.id === "string") return object.id;
  return null;
}

/**
 * A peer's component activity (docs/federation.md §6), inside the inbox's transaction: Create,
 * Update or Announce of a signed component version (kept exactly as signed, with the key that
 * verified it; an older or equal version than the one held is ignored, but for a copy signed
 * again with another key), Delete of one of its components (withdrawn).
 */
export async function onComponentActivity(context: InboxContext): Promise<void> {
  const { tx, peer, activity: received } = context;
  const type = (received as { type?: unknown }).type;
  const object = (received as { object?: unknown }).object;
  if (type === "Delete") {
    const uri = objectId(object);
    if (!uri || uri.length > 2048) throw new InboxRefusal(400, "malformed", "Delete needs the component's id as its object.");
    if (!isFederationIdOf(peer.instanceId, uri, "components")) throw new InboxRefusal(403, "actor_mismatch", "The component is not one of the sending instance's.");
    await tx.federationComponent.updateMany({ where: { uri, peerId: peer.id, withdrawnAt: null }, data: { withdrawnAt: new Date() } });
    return;
  }
  if (type !== "Create" && type !== "Update" && type !== "Announce") {
    throw new InboxRefusal(400, "malformed", `A component activity is Create, Update, Announce or Delete, not ${String(type)}.`);
  }
  const size = (() => {
    try {
      return Buffer.byteLength(canonicalJson(object));
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  })();
  if (size === Number.POSITIVE_INFINITY) throw new InboxRefusal(400, "malformed", "The component is not JSON.");
  if (size > MAX_COMPONENT_BYTES) throw new InboxRefusal(413, "too_large", `A component is at most ${MAX_COMPONENT_BYTES} bytes.`);
  const parsed = wireComponentSchema.safeParse(object);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.map(String).join(".") || "object"}: ${issue.message}`);
    throw new InboxRefusal(400, "malformed", `Not a component: ${problems.join("; ")}.`);
  }
  const document = parsed.data;
  if (
    !isFederationIdOf(peer.instanceId, document.id, "components") ||
    document.origin.instance !== peer.instanceId ||
    !isFederationIdOf(peer.instanceId, document.origin.city.id, "cities")
  ) {
    throw new InboxRefusal(403, "actor_mismatch", "The component's id and origin must be the sending instance's.");
  }
  // A key pinned as retired signs nothing new once its grace period is over.
  const now = Date.now();
  const keys = pinnedKeys(peer).filter((key) => key.expires === undefined || Date.parse(key.expires) > now);
  if (!keys.some((key) => key.id === document.proof.keyId)) {
    throw new InboxRefusal(401, "unknown_key", "The component is signed with a key this instance has not pinned for the peer.");
  }
  // The raw object, not the parsed one: unknown fields are part of what was signed.
  if (!verifyDocument(object as { proof?: DocumentProof }, keys)) {
    throw new InboxRefusal(401, "bad_signature", "The component's proof does not verify.");
  }
  await storePeerComponent(tx, peer, object as ComponentDocument & { proof: DocumentProof }, document.summary ?? {});
}

async function storePeerComponent(tx: Tx, peer: FederationPeer, document: ComponentDocument & { proof: DocumentProof }, summary: LanguageMap): Promise<void> {
  const origin = { uri: document.origin.city.id, slug: document.origin.city.slug, names: document.origin.city.names, instance: peer.instanceId };
  const now = new Date();
  const existing = await tx.federationComponent.findUnique({
    where: { uri: document.id },
    select: { id: true, peerId: true, pluginId: true, kind: true, latestVersion: true, withdrawnAt: true },
  });
  if (existing && existing.peerId !== peer.id) throw new InboxRefusal(403, "actor_mismatch", "This component belongs to another instance.");
  // Withdrawal is final; an older (or the same) version changes nothing (delivery is at least
  // once), except that a copy signed again (after the peer rotated its key) replaces the proof.
  if (existing && existing.withdrawnAt !== null) return;
  if (existing && document.version <= existing.latestVersion) {
    await keepNewProof(tx, existing.id, document, pinnedKeys(peer));
    return;
  }
  if (existing && (existing.pluginId !== document.plugin.id || existing.kind !== document.kind)) {
    throw new InboxRefusal(422, "refused", "A new version cannot change the component's plugin or kind.");
  }
  const fields = {
    originCity: origin,
    title: document.title,
    summary,
    locales: document.locales,
    latestVersion: document.version,
    updatedAt: now,
  };
  let id: string;
  if (existing) {
    // Guarded by the version read above: a concurrent newer version is never replaced by an older one.
    const { count } = await tx.federationComponent.updateMany({ where: { id: existing.id, latestVersion: { lt: document.version } }, data: fields });
    if (count === 0) return;
    id = existing.id;
  } else {
    id = randomUUID();
    await tx.federationComponent.create({ data: { id, uri: document.id, peerId: peer.id, pluginId: document.plugin.id, kind: document.kind, createdAt: now, ...fields } });
  }
  await tx.federationComponentVersion.createMany({
    data: [
      {
        componentId: id,
        version: document.version,
        pluginVersionRange: document.plugin.versionRange,
        document: document as unknown as Prisma.InputJsonValue,
        signature: document.proof.signature,
        keyId: document.proof.keyId,
        author: document.origin.author,
        publishedAt: new Date(document.origin.published),
      },
    ],
    skipDuplicates: true,
  });
}

const withoutProof = (document: unknown): unknown => {
  const { proof: _proof, ...rest } = asRecord(document);
  return rest;
};

const pinnedKeys = (peer: Pick<FederationPeer, "keys">): PinnedKey[] => (Array.isArray(peer.keys) ? (peer.keys as unknown as PinnedKey[]).filter(isRecord) : []);

/**
 * A version held already, received again with another proof (the peer re-signed it with its
 * new key, e.g. announcing its catalogue after a rotation): the new proof and key are kept when
 * the content, all but the proof, is the same, unless the held proof is by the peer's current
 * key and the new one is not (an older copy arriving late). A different content under a held
 * version number is ignored, as any repeat is.
 */
async function keepNewProof(tx: Tx, componentId: string, document: ComponentDocument & { proof: DocumentProof }, keys: readonly PinnedKey[]): Promise<void> {
  const stored = await tx.federationComponentVersion.findUnique({
    where: { componentId_version: { componentId, version: document.version } },
    select: { document: true, signature: true, keyId: true },
  });
  if (!stored || stored.signature === document.proof.signature) return;
  const current = new Set(keys.filter((key) => key.status === "current").map((key) => key.id));
  if (current.has(stored.keyId) && !current.has(document.proof.keyId)) return;
  if (!sameJson(withoutProof(stored.document), withoutProof(document))) return;
  await tx.federationComponentVersion.updateMany({
    where: { componentId, version: document.version, signature: stored.signature },
    data: { document: document as unknown as Prisma.InputJsonValue, signature: document.proof.signature, keyId: document.proof.keyId },
  });
}

/**
 * One of this instance's stored documents with a proof by its current key, signed again when an
 * earlier key signed it: a peer pins the keys published when it peers, and a key retired long
 * ago is no longer among them. In the caller's unit of work (signDocument would open its own).
 */
async function signedWithCurrentKey(tx: Tx, document: unknown): Promise<unknown> {
  const key = await tx.federationKey.findFirst({ where: { status: "current" }, select: { kid: true, privateKey: true } });
  const proof = asRecord(asRecord(document).proof);
  if (!key || proof.keyId === keyIdOf(key.kid)) return document;
  const unsigned = withoutProof(document);
  const signature = sign(null, Buffer.from(canonicalJson(unsigned), "utf8"), importPrivateKey(key.privateKey)).toString("base64url");
  const renewed: DocumentProof = { type: PROOF_TYPE, keyId: keyIdOf(key.kid), created: new Date().toISOString(), signature };
  return { ...asRecord(unsigned), proof: renewed };
}

/**
 * A peering just became active: the peer gets this instance's catalogue, one Announce of each
 * component's latest version (signed again with the current key if an earlier one signed it),
 * unless its discovery document lists capabilities without "components" (docs §2: nothing is
 * sent for a capability the other side lacks).
 */
export async function onPeerActivated(tx: Tx, peer: Pick<FederationPeer, "id"> & { discovery?: unknown }): Promise<void> {
  const capabilities = asRecord(peer.discovery).capabilities;
  if (Array.isArray(capabilities) && !capabilities.includes("components")) return;
  const components = await tx.federationComponent.findMany({
    where: { originTenantId: { not: null }, withdrawnAt: null },
    select: { originCity: true, versions: { orderBy: { version: "desc" }, take: 1, select: { document: true } } },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  for (const component of components) {
    const latest = component.versions[0];
    if (latest) await enqueue(tx, peer.id, createActivity("Announce", await signedWithCurrentKey(tx, latest.document), { actor: originCityOf(component).uri }));
  }
}
