// Components in the API, for a city's admins: the federated catalogue (this instance's cities'
// components and its peers'), each with its versions, origin and what importing it would do
// here; publishing and withdrawing the city's own; importing and following others'. The services
// are app/federation/components.server.ts, as in the admin console.
import {
  getComponent,
  importComponent,
  listComponents,
  listImports,
  previewImport,
  publishComponent,
  setComponentFollowing,
  withdrawComponent,
  type ComponentDetails,
  type ComponentEntry,
  type ImportEntry,
  type ImportPreview,
  type ImportReport,
} from "../../app/federation/components.server";
import { timeCursor } from "../../app/db/pages.server";
import { builder, MUTATION_ERRORS } from "../builder";
import { TranslatedText } from "../city/translated-text";
import { TranslationInput } from "../city/settings";
import { atomically, type GraphQLContext } from "../context";
import { connectionOf, forwardOnly } from "../pagination";
import { CITY_ADMIN, federationService, FederationProvenance, languageMap, OWN_UNITS_OF_WORK, texts } from "./federation";

type ComponentShape = ComponentEntry & Partial<Pick<ComponentDetails, "versions" | "items">>;

export const FederatedComponent = builder.objectRef<ComponentShape>("FederatedComponent");

/** Each component's details once per request, however many fields ask for them. */
const details = new WeakMap<GraphQLContext, Map<string, Promise<ComponentDetails>>>();

function detailsOf(context: GraphQLContext, componentId: string): Promise<ComponentDetails> {
  let known = details.get(context);
  if (!known) details.set(context, (known = new Map()));
  let found = known.get(componentId);
  if (!found) {
    found = getComponent(context.principal, { componentId }, federationService(context));
    known.set(componentId, found);
  }
  return found;
}

const ImportSettingAction = builder.enumType("ImportSettingAction", {
  description:
    "set: installed with the preset's value; same: the city's value is the preset's; conflict: the city's differs (kept, never overwritten); dropped: not usable here.",
  values: ["set", "same", "conflict", "dropped"] as const,
});

const ImportItemAction = builder.enumType("ImportItemAction", {
  description:
    "create: the city lacks it; unchanged: the city has the same; update: imported from this component earlier and untouched since, replaced; conflict: the city's differs (kept).",
  values: ["create", "unchanged", "update", "conflict"] as const,
});

const ImportConflictReason = builder.enumType("ImportConflictReason", {
  description: "differs: the city has its own, different item; changed_since_import: the city changed what it imported.",
  values: ["differs", "changed_since_import"] as const,
});

const ComponentService = builder.objectRef<ComponentEntry["plugin"] & { pluginId: string }>("FederatedComponentService").implement({
  description: "The service a component needs, as this instance has it.",
  fields: (t) => ({
    pluginId: t.exposeString("pluginId"),
    available: t.exposeBoolean("available", { description: "In this instance's catalogue, and it reads this kind of component." }),
    version: t.exposeString("version", { nullable: true, description: "The catalogue's version." }),
    compatible: t.exposeBoolean("compatible", { description: "Available in a version the component accepts: it can be imported." }),
  }),
});

const ImportStatus = builder.objectRef<NonNullable<ComponentEntry["imported"]>>("ComponentImportStatus").implement({
  fields: (t) => ({
    version: t.exposeInt("version", { description: "The version the city imported." }),
    following: t.exposeBoolean("following"),
    updateAvailable: t.exposeBoolean("updateAvailable", { description: "A newer version is offered." }),
  }),
});

const ComponentVersion = builder.objectRef<ComponentDetails["versions"][number]>("FederatedComponentVersion").implement({
  fields: (t) => ({
    version: t.exposeInt("version"),
    pluginVersionRange: t.exposeString("pluginVersionRange", { description: "The service versions it needs (semver range)." }),
    author: t.exposeString("author", { description: "Who published it, at its city." }),
    publishedAt: t.expose("published", { type: "DateTime" }),
  }),
});

const ComponentItem = builder.objectRef<{ key: string; name: Record<string, string> }>("FederatedComponentItem").implement({
  description: "What a component holds (a category, …).",
  fields: (t) => ({
    key: t.exposeString("key"),
    name: t.field({ type: TranslatedText, resolve: (item, _args, context) => texts(item.name, context) }),
  }),
});

// --- What importing does ----------------------------------------------------------------------

const ImportServiceState = builder.objectRef<ImportPreview["plugin"]>("ImportServiceState").implement({
  fields: (t) => ({
    available: t.exposeBoolean("available"),
    version: t.exposeString("version", { nullable: true }),
    compatible: t.exposeBoolean("compatible"),
    installed: t.exposeBoolean("installed", { description: "The city has it installed (else the import installs it with the preset)." }),
    enabled: t.exposeBoolean("enabled"),
  }),
});

const ImportSetting = builder.objectRef<ImportPreview["settings"][number]>("ImportSettingChange").implement({
  description: "One setting of the component's preset, as it would apply here.",
  fields: (t) => ({
    field: t.exposeString("field"),
    action: t.field({ type: ImportSettingAction, resolve: (setting) => setting.action }),
    reason: t.exposeString("reason", { nullable: true }),
  }),
});

const ImportItem = builder.objectRef<ImportPreview["items"][number]>("ImportItemChange").implement({
  description: "One item of the component, as it would apply here.",
  fields: (t) => ({
    key: t.exposeString("key"),
    name: t.field({ type: TranslatedText, resolve: (item, _args, context) => texts(item.name, context) }),
    action: t.field({ type: ImportItemAction, resolve: (item) => item.action }),
    reason: t.field({ type: ImportConflictReason, nullable: true, resolve: (item) => item.reason ?? null }),
  }),
});

const ImportPlan = builder.interfaceRef<ImportPreview>("ComponentImportPlan").implement({
  description: "What importing a version of a component does in the city.",
  fields: (t) => ({
    componentId: t.globalID({ resolve: (plan) => ({ type: "FederatedComponent", id: plan.componentId }) }),
    version: t.exposeInt("version"),
    service: t.field({ type: ImportServiceState, resolve: (plan) => plan.plugin }),
    settings: t.field({ type: [ImportSetting], resolve: (plan) => plan.settings }),
    items: t.field({ type: [ImportItem], resolve: (plan) => plan.items }),
    conflicts: t.field({
      type: [ImportItem],
      description: "The items the city keeps as they are because they differ (also among `items`).",
      resolve: (plan) => plan.items.filter((item) => item.action === "conflict"),
    }),
  }),
});

const ImportPreviewRef = builder.objectRef<ImportPreview>("ComponentImportPreview").implement({
  description: "What importing would do now; nothing is changed.",
  interfaces: [ImportPlan],
  isTypeOf: (value) => typeof value === "object" && value !== null && !("applied" in value),
});

const ImportApplied = builder.objectRef<ImportReport["applied"]>("ComponentImportApplied").implement({
  fields: (t) => ({
    installed: t.exposeBoolean("installed", { description: "The import installed the service (with the preset's settings)." }),
    created: t.exposeInt("created"),
    updated: t.exposeInt("updated"),
  }),
});

const ImportReportRef = builder.objectRef<ImportReport>("ComponentImportReport").implement({
  description: "What an import did. Conflicts are reported, never overwritten.",
  interfaces: [ImportPlan],
  isTypeOf: (value) => typeof value === "object" && value !== null && "applied" in value,
  fields: (t) => ({
    following: t.exposeBoolean("following"),
    applied: t.field({ type: ImportApplied, resolve: (report) => report.applied }),
    changed: t.exposeBoolean("changed", { description: "False when this version was imported already: nothing was done." }),
    component: t.field({ type: FederatedComponent, resolve: (report, _args, context) => detailsOf(context, report.componentId) }),
  }),
});

// --- The catalogue ------------------------------------------------------------------------------

FederatedComponent.implement({
  description: "A reusable set-up a city published (a service's definitions and settings preset), here or at a peer.",
  fields: (t) => ({
    id: t.globalID({ resolve: (component) => ({ type: "FederatedComponent", id: component.id }) }),
    uri: t.exposeString("uri", { description: "Its id in the protocol." }),
    pluginId: t.exposeString("pluginId"),
    kind: t.exposeString("kind", { description: "The service's kind of component, e.g. categories." }),
    title: t.field({ type: TranslatedText, resolve: (component, _args, context) => texts(component.title, context) }),
    summary: t.field({ type: TranslatedText, resolve: (component, _args, context) => texts(component.summary, context) }),
    locales: t.exposeStringList("locales", { description: "The languages it is written in." }),
    latestVersion: t.exposeInt("latestVersion"),
    pluginVersionRange: t.exposeString("pluginVersionRange", { description: "The service versions the latest version needs." }),
    provenance: t.field({
      type: FederationProvenance,
      resolve: ({ origin }) => ({ city: origin.city, instance: origin.instance, local: origin.local, ownCity: origin.ownCity }),
    }),
    author: t.string({ description: "Who published the latest version, at its city.", resolve: (component) => component.origin.author }),
    publishedAt: t.field({ type: "DateTime", description: "When the latest version was published.", resolve: (component) => component.origin.published }),
    service: t.field({ type: ComponentService, resolve: (component) => ({ ...component.plugin, pluginId: component.pluginId }) }),
    imported: t.field({
      type: ImportStatus,
      nullable: true,
      description: "The city's import of it; null when it has none.",
      resolve: (component) => component.imported,
    }),
    withdrawnAt: t.expose("withdrawnAt", { type: "DateTime", nullable: true, description: "Withdrawn by its city (still shown to the cities that imported it)." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    versions: t.field({
      type: [ComponentVersion],
      description: "Newest first.",
      resolve: async (component, _args, context) => component.versions ?? (await detailsOf(context, component.id)).versions,
    }),
    items: t.field({
      type: [ComponentItem],
      nullable: true,
      description: "What the latest version holds; null when this instance cannot read it (its service is missing).",
      resolve: async (component, _args, context) => (component.versions ? (component.items ?? null) : (await detailsOf(context, component.id)).items),
    }),
    importPreview: t.field({
      type: ImportPreviewRef,
      nullable: true,
      description:
        "What importing a version (the latest by default) would do in the city now. Null, with an error, when it cannot be imported here (CONFLICT: own_component, withdrawn).",
      args: { version: t.arg.int({ required: false }) },
      resolve: (component, { version }, context) =>
        previewImport(context.principal, { componentId: component.id, version }, federationService(context)),
    }),
  }),
});

const ComponentFilter = builder.inputType("FederatedComponentFilter", {
  description: "All given conditions must hold.",
  fields: (t) => ({
    pluginId: t.string({ required: false }),
    locale: t.string({ required: false, description: "Offered in this language." }),
    city: t.string({ required: false, description: "Published by this city: its URI, or the slug of a city of this instance." }),
  }),
});

const ComponentImport = builder.objectRef<ImportEntry>("ComponentImport").implement({
  description: "A component the city imported.",
  fields: (t) => ({
    component: t.field({ type: FederatedComponent, resolve: (entry) => entry.component }),
    version: t.exposeInt("version"),
    following: t.exposeBoolean("following", { description: "The city is offered each newer version." }),
    updateAvailable: t.exposeBoolean("updateAvailable"),
    importedAt: t.expose("importedAt", { type: "DateTime" }),
  }),
});

const componentCursor = (component: ComponentEntry) => timeCursor(component, component.createdAt);

builder.queryFields((t) => ({
  federatedComponents: t.connection({
    type: FederatedComponent,
    description: "The federated catalogue: this instance's cities' components and its peers', newest first, withdrawn ones left out (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    args: { filter: t.arg({ type: ComponentFilter, required: false }) },
    resolve: async (_root, args, context) => {
      const service = federationService(context);
      forwardOnly(args);
      const page = await listComponents(context.principal, { ...args.filter, first: args.first, after: args.after }, service);
      return connectionOf(page.components, page, componentCursor);
    },
  }),
  federatedComponent: t.field({
    type: FederatedComponent,
    description: "One component of the catalogue, with its versions (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    args: { id: t.arg.globalID({ required: true, for: FederatedComponent }) },
    resolve: (_root, { id }, context) => detailsOf(context, id.id),
  }),
  componentImports: t.field({
    type: [ComponentImport],
    description: "The components the city imported, latest first (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    resolve: (_root, _args, context) => listImports(context.principal, federationService(context)),
  }),
}));

// --- Publishing and importing ------------------------------------------------------------------

const PublishComponentInput = builder.inputType("PublishComponentInput", {
  fields: (t) => ({
    pluginId: t.string({ required: true, description: "The service it is made from; the city must run it." }),
    kind: t.string({ required: true, description: "One of the service's component kinds (`Service.federationExports`)." }),
    title: t.field({ type: [TranslationInput], required: true, description: "In one language at least." }),
    summary: t.field({ type: [TranslationInput], required: false }),
    componentId: t.globalID({ required: false, for: FederatedComponent, description: "One of the city's components: publish its next version." }),
  }),
});

builder.mutationFields((t) => {
  const componentId = () => t.arg.globalID({ required: true, for: FederatedComponent });
  return {
    publishComponent: t.field({
      type: FederatedComponent,
      description:
        "Publishes what the city runs of a service as a component (a new one, or the next version of `componentId`), signed by the instance and offered to every city here and at the peers.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { input: t.arg({ type: PublishComponentInput, required: true }) },
      resolve: (_root, { input }, context) =>
        atomically(context, () =>
          publishComponent(
            context.principal,
            {
              pluginId: input.pluginId,
              kind: input.kind,
              title: languageMap("title", input.title) ?? {},
              summary: languageMap("summary", input.summary),
              componentId: input.componentId?.id ?? null,
            },
            federationService(context),
          ),
        ),
    }),
    withdrawComponent: t.field({
      type: FederatedComponent,
      description: "Takes one of the city's components out of the catalogue (the cities that imported it keep what they have).",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: componentId() },
      resolve: (_root, { id }, context) => atomically(context, () => withdrawComponent(context.principal, { componentId: id.id }, federationService(context))),
    }),
    importComponent: t.field({
      type: ImportReportRef,
      description:
        "Imports a version (the latest by default) in one step: the service installed with the preset if the city lacks it, missing items created, items imported earlier and untouched updated; what differs is reported, never overwritten.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: {
        id: componentId(),
        version: t.arg.int({ required: false }),
        follow: t.arg.boolean({ required: false, description: "Be offered each newer version (default: as before, else no)." }),
      },
      resolve: (_root, { id, version, follow }, context) =>
        atomically(context, () => importComponent(context.principal, { componentId: id.id, version, follow }, federationService(context))),
    }),
    setComponentFollowing: t.field({
      type: ComponentImport,
      description: "Follows (is offered each newer version of) or stops following a component the city imported.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: componentId(), following: t.arg.boolean({ required: true }) },
      resolve: (_root, { id, following }, context) =>
        atomically(context, () => setComponentFollowing(context.principal, { componentId: id.id, following }, federationService(context))),
    }),
  };
});
