// Datasets in the API, for a city's admins: the datasets the city may see (its own publications,
// this instance's others' and its peers' by their sharing policy), their records with provenance,
// publishing with a policy, and subscribing. The services are app/federation/datasets.server.ts.
import { timeCursor } from "../../app/db/pages.server";
import {
  datasetRecords,
  getDataset,
  listDatasets,
  listSubscriptions,
  publishDataset,
  shareableCities,
  subscribeDataset,
  unsubscribeDataset,
  updateDatasetSharing,
  withdrawDataset,
  type DatasetView,
  type RecordPage,
  type ShareableCity,
  type WireRecord,
} from "../../app/federation/datasets.server";
import { ValidationFailed } from "../../app/auth/errors";
import { builder, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MUTATION_ERRORS } from "../builder";
import { TranslatedText } from "../city/translated-text";
import { TranslationInput } from "../city/settings";
import { atomically } from "../context";
import { connectionOf, forwardOnly } from "../pagination";
import { CITY_ADMIN, federationService, FederationProvenance, languageMap, OWN_UNITS_OF_WORK, readSeq, seqText, texts } from "./federation";

const DatasetSharing = builder.enumType("DatasetSharing", {
  description:
    "public: anyone (this instance's cities, its peers', open-data portals); federation: the cities of this instance and of its active peers; cities: only those in `sharedWith`.",
  values: ["public", "federation", "cities"] as const,
});

const SubscriptionState = builder.enumType("DatasetSubscriptionState", {
  description: "pending: a peer's dataset, waiting for its origin's answer; active: records arrive; refused: the origin said no.",
  values: ["pending", "active", "refused"] as const,
});

type SubscriptionShape = { dataset: DatasetView; subscription: NonNullable<DatasetView["subscription"]> };

export const FederatedDataset = builder.objectRef<DatasetView>("FederatedDataset");
const DatasetSubscription = builder.objectRef<SubscriptionShape>("DatasetSubscription");

DatasetSubscription.implement({
  description: "The city's subscription to a dataset.",
  fields: (t) => ({
    dataset: t.field({ type: FederatedDataset, resolve: ({ dataset }) => dataset }),
    state: t.field({ type: SubscriptionState, resolve: ({ subscription }) => subscription.state }),
    cursor: t.string({ description: "The last sequence number received (a peer's dataset).", resolve: ({ subscription }) => seqText(subscription.cursor) }),
    createdAt: t.field({ type: "DateTime", resolve: ({ subscription }) => subscription.createdAt }),
    updatedAt: t.field({ type: "DateTime", resolve: ({ subscription }) => subscription.updatedAt }),
  }),
});

FederatedDataset.implement({
  description: "Records a service computes (statistics, …) that a city shares, here or at a peer.",
  fields: (t) => ({
    id: t.globalID({ resolve: (dataset) => ({ type: "FederatedDataset", id: dataset.id }) }),
    uri: t.exposeString("uri", { description: "Its id in the protocol." }),
    pluginId: t.exposeString("pluginId"),
    dataset: t.exposeString("dataset", { description: "The service's dataset, e.g. request-statistics." }),
    title: t.field({ type: TranslatedText, resolve: (dataset, _args, context) => texts(dataset.title, context) }),
    description: t.field({ type: TranslatedText, resolve: (dataset, _args, context) => texts(dataset.description, context) }),
    sharing: t.field({ type: DatasetSharing, resolve: (dataset) => dataset.sharing }),
    sharedWith: t.exposeStringList("sharedWith", { description: "The cities (URIs) it is shared with: shown to its own city only, empty for others." }),
    provenance: t.field({
      type: FederationProvenance,
      resolve: ({ origin, mine }) => ({ city: { uri: origin.city, slug: origin.slug, names: origin.names }, instance: origin.instance, local: origin.local, ownCity: mine }),
    }),
    lastSeq: t.string({ description: "Its last sequence number (as held here, for a peer's).", resolve: (dataset) => seqText(dataset.lastSeq) }),
    refreshedAt: t.expose("refreshedAt", {
      type: "DateTime",
      nullable: true,
      description: "This instance's datasets: the last refresh. A peer's: when the copy here was last up to date with its origin (null before that).",
    }),
    withdrawnAt: t.expose("withdrawnAt", { type: "DateTime", nullable: true, description: "Withdrawn by its city (only that city still sees it)." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    subscription: t.field({
      type: DatasetSubscription,
      nullable: true,
      description: "The city's subscription; null when it has none.",
      resolve: (dataset) => (dataset.subscription ? { dataset, subscription: dataset.subscription } : null),
    }),
  }),
});

const RecordProvenance = builder.objectRef<WireRecord["provenance"]>("DatasetRecordProvenance").implement({
  description: "Where a record comes from, as it travels with it.",
  fields: (t) => ({
    city: t.exposeString("city", { description: "The publishing city's URI." }),
    instance: t.exposeString("instance"),
    dataset: t.exposeString("dataset", { description: "The dataset's URI." }),
    seq: t.string({ resolve: (provenance) => seqText(provenance.seq) }),
    time: t.field({ type: "DateTime", description: "When its city computed it.", resolve: (provenance) => new Date(provenance.time) }),
  }),
});

const DatasetRecord = builder.objectRef<WireRecord>("DatasetRecord").implement({
  description: "The latest record of one key of a dataset.",
  fields: (t) => ({
    key: t.exposeString("key", { description: "Stable across refreshes, e.g. pothole/2026-11." }),
    seq: t.string({ description: "The dataset's sequence number of its last change.", resolve: (record) => seqText(record.seq) }),
    deleted: t.exposeBoolean("deleted", { description: "The key is gone (a tombstone: data is null)." }),
    hash: t.exposeString("hash", { description: "SHA-256 of the canonical data." }),
    data: t.field({ type: "JSON", nullable: true, resolve: (record) => record.data }),
    provenance: t.field({ type: RecordProvenance, resolve: (record) => record.provenance }),
  }),
});

const DatasetFilter = builder.inputType("FederatedDatasetFilter", {
  description: "All given conditions must hold.",
  fields: (t) => ({
    pluginId: t.string({ required: false }),
    city: t.string({ required: false, description: "Published by this city (its URI)." }),
  }),
});

const datasetCursor = (dataset: DatasetView) => timeCursor(dataset, dataset.createdAt);

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (first < 1) throw new ValidationFailed({ first: ["must be at least 1"] });
  if (first > MAX_PAGE_SIZE) throw new ValidationFailed({ first: [`must be at most ${MAX_PAGE_SIZE}`] });
  return first;
}

const ShareableCityRef = builder.objectRef<ShareableCity>("ShareableCity").implement({
  description: "A city a dataset can be shared with: another city of this instance, or one an active peer lists.",
  fields: (t) => ({
    uri: t.exposeString("uri", { description: "The city's URI, as `sharedWith` names it." }),
    slug: t.exposeString("slug"),
    names: t.field({ type: TranslatedText, resolve: (city, _args, context) => texts(city.names, context) }),
    instance: t.exposeString("instance", { description: "The id of the instance that hosts it." }),
    local: t.exposeBoolean("local", { description: "Whether it is a city of this instance." }),
  }),
});

builder.queryFields((t) => ({
  shareableCities: t.field({
    type: [ShareableCityRef],
    description: "The cities the city may name in a dataset's `sharedWith`: this instance's others, then its active peers' (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    resolve: (_root, _args, context) => shareableCities(context.principal, federationService(context)),
  }),
  federatedDatasets: t.connection({
    type: FederatedDataset,
    description: "The datasets the city may see, newest first: its own (withdrawn ones too), and others' by their sharing policy (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    args: { filter: t.arg({ type: DatasetFilter, required: false }) },
    resolve: async (_root, args, context) => {
      const service = federationService(context);
      forwardOnly(args);
      const page = await listDatasets(context.principal, { ...args.filter, first: args.first, after: args.after }, service);
      return connectionOf(page.items, page, datasetCursor);
    },
  }),
  federatedDataset: t.field({
    type: FederatedDataset,
    description: "One dataset the city may see (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    args: { id: t.arg.globalID({ required: true, for: FederatedDataset }) },
    resolve: (_root, { id }, context) => getDataset(context.principal, { datasetId: id.id }, federationService(context)),
  }),
  datasetSubscriptions: t.field({
    type: [DatasetSubscription],
    description: "The city's subscriptions, newest first (city admins).",
    authScopes: CITY_ADMIN,
    extensions: OWN_UNITS_OF_WORK,
    resolve: async (_root, _args, context) =>
      (await listSubscriptions(context.principal, federationService(context))).flatMap((dataset) =>
        dataset.subscription ? [{ dataset, subscription: dataset.subscription }] : [],
      ),
  }),
  datasetRecords: t.connection(
    {
      type: DatasetRecord,
      description:
        "A dataset's current records in sequence order, each with its provenance (city admins of a city it is shared with). Page on with `after: endCursor`; a later call with the last endCursor gives what changed since.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      args: {
        datasetId: t.arg.globalID({ required: true, for: FederatedDataset }),
        includeDeleted: t.arg.boolean({ required: false, description: "Tombstones of removed keys too (to keep a copy in step)." }),
      },
      resolve: async (_root, args, context) => {
        const service = federationService(context);
        forwardOnly(args);
        const page: RecordPage = await datasetRecords(
          context.principal,
          { datasetId: args.datasetId.id, after: readSeq("after", args.after), first: pageSize(args.first), includeDeleted: args.includeDeleted },
          service,
        );
        const cursor = (record: WireRecord) => seqText(record.seq);
        const first = page.items[0];
        return {
          ...connectionOf(page.items, { hasNextPage: page.hasNextPage, startCursor: first ? cursor(first) : null, endCursor: page.endCursor === null ? null : seqText(page.endCursor) }, cursor),
          dataset: page.dataset,
          last: page.last,
        };
      },
    },
    {
      name: "DatasetRecordsConnection",
      fields: (tc) => ({
        datasetUri: tc.string({ resolve: (connection) => (connection as unknown as { dataset: string }).dataset }),
        lastSeq: tc.string({
          description: "The dataset's last sequence number: the list is complete up to it once hasNextPage is false.",
          resolve: (connection) => seqText((connection as unknown as { last: number }).last),
        }),
      }),
    },
    { name: "DatasetRecordsEdge" },
  ),
}));

// --- Publishing and subscribing ---------------------------------------------------------------

const PublishDatasetInput = builder.inputType("PublishDatasetInput", {
  fields: (t) => ({
    pluginId: t.string({ required: true, description: "The service that computes it; the city must run it." }),
    dataset: t.string({ required: true, description: "One of the service's datasets (`Service.federationExports`)." }),
    sharing: t.field({ type: DatasetSharing, required: true }),
    sharedWith: t.stringList({ required: false, description: "City URIs (`{instance id}/federation/cities/{slug}`), with sharing: cities only." }),
    title: t.field({ type: [TranslationInput], required: false, description: "Default: the service's name for the dataset." }),
    description: t.field({ type: [TranslationInput], required: false }),
  }),
});

builder.mutationFields((t) => {
  const datasetId = () => t.arg.globalID({ required: true, for: FederatedDataset });
  return {
    publishDataset: t.field({
      type: FederatedDataset,
      description:
        "Shares one of a service's datasets from the city with a policy (publishing it again sets the policy, and brings it back if withdrawn); its first records follow at once.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { input: t.arg({ type: PublishDatasetInput, required: true }) },
      resolve: (_root, { input }, context) =>
        atomically(context, () =>
          publishDataset(
            context.principal,
            {
              pluginId: input.pluginId,
              dataset: input.dataset,
              sharing: input.sharing,
              sharedWith: input.sharedWith,
              title: languageMap("title", input.title),
              description: languageMap("description", input.description),
            },
            federationService(context),
          ),
        ),
    }),
    updateDatasetSharing: t.field({
      type: FederatedDataset,
      description: "Changes who may see one of the city's datasets; peers and subscribers follow the change.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: datasetId(), sharing: t.arg({ type: DatasetSharing, required: true }), sharedWith: t.arg.stringList({ required: false }) },
      resolve: (_root, { id, sharing, sharedWith }, context) =>
        atomically(context, () => updateDatasetSharing(context.principal, { datasetId: id.id, sharing, sharedWith }, federationService(context))),
    }),
    withdrawDataset: t.field({
      type: FederatedDataset,
      description: "Stops sharing one of the city's datasets: nobody else sees or reads it any more.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: datasetId() },
      resolve: (_root, { id }, context) => atomically(context, () => withdrawDataset(context.principal, { datasetId: id.id }, federationService(context))),
    }),
    subscribeDataset: t.field({
      type: FederatedDataset,
      description: "Subscribes the city to a dataset it may see: at once for this instance's, pending its origin's answer for a peer's.",
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: datasetId() },
      resolve: (_root, { id }, context) => atomically(context, () => subscribeDataset(context.principal, { datasetId: id.id }, federationService(context))),
    }),
    unsubscribeDataset: t.field({
      type: FederatedDataset,
      authScopes: CITY_ADMIN,
      extensions: OWN_UNITS_OF_WORK,
      errors: { types: MUTATION_ERRORS },
      args: { id: datasetId() },
      resolve: (_root, { id }, context) => atomically(context, () => unsubscribeDataset(context.principal, { datasetId: id.id }, federationService(context))),
    }),
  };
});
