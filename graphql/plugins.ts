// Plugins' GraphQL: each plugin's `graphql()` adds its types and fields to the one builder. A
// field a plugin adds to Query, Mutation or a core type must carry the plugin's gate, so that a
// city that does not run the plugin gets NOT_FOUND from it; the schema refuses to build otherwise.
import { isObjectType, type GraphQLSchema } from "graphql";
import type { Plugin } from "../app/plugins/sdk.server";
import { builder, pluginOwners } from "./builder";
import type { GraphQLContext } from "./context";

const running = new WeakMap<GraphQLContext, Promise<Set<string>>>();

/** The plugins the request's city runs, read once per request from its unit of work. */
export function pluginsRunning(context: GraphQLContext): Promise<Set<string>> {
  let known = running.get(context);
  if (!known) {
    const city = context.city;
    known = city
      ? context
          .db()
          .pluginInstallation.findMany({ where: { tenantId: city.id, enabled: true }, select: { pluginId: true } })
          .then((rows) => new Set(rows.map((row) => row.pluginId)))
      : Promise.resolve(new Set<string>());
    running.set(context, known);
  }
  return known;
}

type Gate = ((parent: unknown, args: unknown, context: GraphQLContext) => Promise<Record<string, unknown>>) & { pluginGate: string };

/**
 * The auth scopes of a plugin's field: where the city does not run the plugin, the field fails
 * on the `plugin` scope (NOT_FOUND, for everyone); where it does, the caller must pass `scopes`
 * (any of them, as a field's own authScopes would read). Checked before the caller's scopes, so
 * a disabled service is not found rather than forbidden.
 */
export function gated<const S extends Record<string, unknown>>(pluginId: string, scopes: S): S {
  const gate = (async (_parent: unknown, _args: unknown, context: GraphQLContext) =>
    (await pluginsRunning(context)).has(pluginId) ? scopes : { plugin: pluginId }) as Gate;
  gate.pluginGate = pluginId;
  // Pothos takes a function where it takes a scope map; typed as the map for the field's options.
  return gate as unknown as S;
}

type Contribution = { pluginId: string; type: string; field: string };
const contributions: Contribution[] = [];
/** The object types a plugin defines (node(id) checks the plugin for them). */
const ownedTypes = pluginOwners;

type FieldsCallback = (t: unknown) => Record<string, unknown>;

/** Loads each plugin's GraphQL module and notes which fields it adds to types it does not own. */
export async function addPluginGraphQL(plugins: readonly Plugin[]): Promise<void> {
  for (const plugin of plugins) {
    if (!plugin.graphql) continue;
    const note = (type: string, field: string) => contributions.push({ pluginId: plugin.id, type, field });
    const original = {
      queryField: builder.queryField,
      queryFields: builder.queryFields,
      mutationField: builder.mutationField,
      mutationFields: builder.mutationFields,
      objectField: builder.objectField,
      objectFields: builder.objectFields,
      objectType: builder.objectType,
      prismaObject: builder.prismaObject,
      prismaNode: builder.prismaNode,
    };
    const b = builder as unknown as Record<string, (...args: unknown[]) => unknown>;
    const typeName = (ref: unknown) => (typeof ref === "string" ? ref : String((ref as { name?: string }).name ?? ref));
    b.queryField = (name, field) => (note("Query", String(name)), original.queryField.call(builder, name as never, field as never));
    b.mutationField = (name, field) => (note("Mutation", String(name)), original.mutationField.call(builder, name as never, field as never));
    b.objectField = (ref, name, field) => (note(typeName(ref), String(name)), original.objectField.call(builder, ref as never, name as never, field as never));
    const noting = (type: string, fields: FieldsCallback) => (t: unknown) => {
      const made = fields(t);
      for (const name of Object.keys(made)) note(type, name);
      return made;
    };
    b.queryFields = (fields) => original.queryFields.call(builder, noting("Query", fields as FieldsCallback) as never);
    b.mutationFields = (fields) => original.mutationFields.call(builder, noting("Mutation", fields as FieldsCallback) as never);
    b.objectFields = (ref, fields) => original.objectFields.call(builder, ref as never, noting(typeName(ref), fields as FieldsCallback) as never);
    const own = (name: unknown) => {
      if (typeof name === "string") pluginOwners.set(name, plugin.id);
    };
    b.objectType = (ref, options) => (own(typeof ref === "string" ? ref : (options as { name?: string }).name), original.objectType.call(builder, ref as never, options as never));
    b.prismaObject = (model, options) => (own((options as { name?: string }).name ?? model), original.prismaObject.call(builder, model as never, options as never));
    b.prismaNode = (model, options) => (own((options as { name?: string }).name ?? model), original.prismaNode.call(builder, model as never, options as never));
    try {
      await plugin.graphql();
    } finally {
      Object.assign(builder, original);
    }
  }
}

export class UngatedPluginFieldError extends Error {
  override name = "UngatedPluginFieldError";
}

function mentionsPlugin(scopes: unknown, pluginId: string): boolean {
  if (typeof scopes === "function") return (scopes as Partial<Gate>).pluginGate === pluginId;
  if (!scopes || typeof scopes !== "object") return false;
  const record = scopes as Record<string, unknown>;
  if (record.plugin === pluginId) return true;
  // Only an $all can make a scope mandatory.
  return mentionsPlugin(record.$all, pluginId);
}

/** Every field a plugin added to Query, Mutation or a core type requires the plugin. */
export function checkPluginGates(schema: GraphQLSchema): void {
  const ungated: string[] = [];
  for (const { pluginId, type, field } of contributions) {
    const object = schema.getType(type);
    if (!isObjectType(object)) continue;
    const config = object.getFields()[field];
    const options = config?.extensions?.pothosOptions as { authScopes?: unknown } | undefined;
    if (!config || !mentionsPlugin(options?.authScopes, pluginId)) ungated.push(`${type}.${field} (${pluginId})`);
  }
  if (ungated.length > 0) {
    throw new UngatedPluginFieldError(
      `Plugin fields without their plugin's gate: ${ungated.join(", ")}. Give them authScopes: gated(pluginId, { … }).`,
    );
  }
}

/** The plugin that defines a type, if a plugin does. */
export function pluginOwning(typeName: string): string | undefined {
  return ownedTypes.get(typeName);
}

/** The fields each plugin added to shared types (for tests and the developer guide). */
export function pluginContributions(): readonly Contribution[] {
  return contributions;
}
