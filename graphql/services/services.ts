// The shared plugin catalogue in the API: every service's metadata for anyone, and for a city's
// admins the city's own installations with the lifecycle (install, enable/disable, configure,
// upgrade, uninstall). The services are app/plugins/lifecycle.server.ts, as in the console.
import { z } from "zod";
import { pluginById } from "../../app/plugins/catalogue.server";
import {
  configurePlugin,
  installPlugin,
  listCityPlugins,
  setPluginEnabled,
  uninstallPlugin,
  upgradePlugin,
  type CityPlugin,
} from "../../app/plugins/lifecycle.server";
import { listPermissions } from "../../app/auth/permissions";
import { builder, MUTATION_ERRORS } from "../builder";
import { Service } from "../city/city";
import { atomically } from "../context";

const Requirement = builder.objectRef<{ pluginId: string; range: string }>("ServiceRequirement").implement({
  fields: (t) => ({ pluginId: t.exposeString("pluginId"), versions: t.exposeString("range") }),
});

const FederationExport = builder.objectRef<{ kind: string; id: string; name: string }>("ServiceFederationExport").implement({
  description: "A component kind or a dataset the service can share with other cities.",
  fields: (t) => ({
    kind: t.exposeString("kind", { description: "component or dataset" }),
    id: t.exposeString("id"),
    name: t.exposeString("name", { description: "Translation key in the service's namespace." }),
  }),
});

builder.objectFields(Service, (t) => ({
  icon: t.exposeString("icon"),
  requiresCore: t.string({ nullable: true, description: "The Civitas versions it runs on (semver range).", resolve: (entry) => entry.requires.core }),
  requires: t.field({
    type: [Requirement],
    description: "Services a city must run first.",
    resolve: (entry) => Object.entries(entry.requires.plugins).map(([pluginId, range]) => ({ pluginId, range })),
  }),
  settingsSchema: t.field({
    type: "JSON",
    nullable: true,
    description: "The JSON Schema of the service's settings (what configureService accepts).",
    resolve: (entry) => {
      const settings = pluginById(entry.id)?.settings;
      return settings ? z.toJSONSchema(settings.schema, { unrepresentable: "any" }) : null;
    },
  }),
  defaultSettings: t.field({ type: "JSON", nullable: true, resolve: (entry) => pluginById(entry.id)?.settings?.defaults ?? null }),
  permissions: t.stringList({
    description: "The permissions the service adds to the roles.",
    resolve: (entry) => listPermissions().filter((permission) => permission.owner === entry.id).map((permission) => permission.id),
  }),
  federationExports: t.field({
    type: [FederationExport],
    resolve: (entry) => {
      const federation = pluginById(entry.id)?.federation;
      return [
        ...(federation?.components ?? []).map((component) => ({ kind: "component", id: component.kind, name: component.name })),
        ...(federation?.datasets ?? []).map((dataset) => ({ kind: "dataset", id: dataset.id, name: dataset.name })),
      ];
    },
  }),
}));

const ServiceState = builder.enumType("ServiceState", {
  description: "available: in the catalogue, not installed here; disabled: installed, invisible to residents.",
  values: ["available", "enabled", "disabled"] as const,
});

const CityService = builder.objectRef<CityPlugin>("CityService").implement({
  description: "A catalogue service as this city runs it.",
  fields: (t) => ({
    pluginId: t.exposeString("id"),
    service: t.field({ type: Service, resolve: (plugin) => plugin }),
    state: t.field({ type: ServiceState, resolve: (plugin) => plugin.state }),
    installedVersion: t.exposeString("installedVersion", { nullable: true }),
    upgradable: t.exposeBoolean("upgradable", { description: "The catalogue has a newer version than the city runs." }),
    settings: t.field({ type: "JSON", nullable: true, description: "Secrets are shown as ********.", resolve: (plugin) => plugin.settings }),
    installedAt: t.expose("installedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.queryField("cityServices", (t) =>
  t.field({
    type: [CityService],
    description: "Every catalogue service with this city's installation state.",
    authScopes: { cityPermission: "plugins.manage" },
    resolve: (_root, _args, context) => listCityPlugins(context.principal, context.service),
  }),
);

builder.mutationFields((t) => {
  return {
    installService: t.field({
      type: CityService,
      description: "Installs and enables a catalogue service: its requirements must be met; settings default where not given.",
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: { pluginId: t.arg.string({ required: true }), settings: t.arg({ type: "JSON", required: false }) },
      resolve: (_root, args, context) =>
        atomically(context, () => installPlugin(context.principal, { pluginId: args.pluginId, settings: args.settings as Record<string, unknown> | undefined }, context.service)),
    }),
    enableService: t.field({
      type: CityService,
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: { pluginId: t.arg.string({ required: true }) },
      resolve: (_root, args, context) => atomically(context, () => setPluginEnabled(context.principal, { pluginId: args.pluginId, enabled: true }, context.service)),
    }),
    disableService: t.field({
      type: CityService,
      description: "Hides the service from the city (pages, API, endpoints answer not found); its data and settings stay.",
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: { pluginId: t.arg.string({ required: true }) },
      resolve: (_root, args, context) => atomically(context, () => setPluginEnabled(context.principal, { pluginId: args.pluginId, enabled: false }, context.service)),
    }),
    configureService: t.field({
      type: CityService,
      description: "Changes settings: the given ones over the current; the whole is validated.",
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: { pluginId: t.arg.string({ required: true }), settings: t.arg({ type: "JSON", required: true }) },
      resolve: (_root, args, context) =>
        atomically(context, () => configurePlugin(context.principal, { pluginId: args.pluginId, settings: args.settings as Record<string, unknown> }, context.service)),
    }),
    upgradeService: t.field({
      type: CityService,
      description: "Moves the city to the catalogue's version; settings migrate with it.",
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: { pluginId: t.arg.string({ required: true }) },
      resolve: (_root, args, context) => atomically(context, () => upgradePlugin(context.principal, { pluginId: args.pluginId }, context.service)),
    }),
    uninstallService: t.field({
      type: CityService,
      description: "Removes the service from the city. Its data stays unless purge is true and confirmPurge repeats the pluginId.",
      authScopes: { cityPermission: "plugins.manage" },
      errors: { types: MUTATION_ERRORS },
      args: {
        pluginId: t.arg.string({ required: true }),
        purge: t.arg.boolean({ required: false }),
        confirmPurge: t.arg.string({ required: false }),
      },
      resolve: (_root, args, context) =>
        atomically(context, () =>
          uninstallPlugin(context.principal, { pluginId: args.pluginId, purge: args.purge ?? false, confirmPurge: args.confirmPurge ?? undefined }, context.service),
        ),
    }),
  };
});
