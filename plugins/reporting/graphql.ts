// Reporting in the GraphQL API: categories and requests for anyone (tracking by id, the public
// list), reporting and following for residents (anonymous where the city allows it), triage for
// staff, configuration for admins, figures for staff. Every root field carries the plugin's gate.
// Reporters' contacts and internal notes are for staff only. Loaded by the manifest's `graphql`.
import type { GraphQLResolveInfo } from "graphql";
import { ValidationFailed } from "../../app/auth/errors";
import type { Prisma } from "../../app/db/generated/client.ts";
import { isSupportedLocale } from "../../app/i18n/locales";
import { builder, MUTATION_ERRORS } from "../../graphql/builder";
import { TranslatedText, translated } from "../../graphql/city/translated-text";
import { atomically, type GraphQLContext } from "../../graphql/context";
import { cityKey } from "../../graphql/members/members";
import { connectionOf, forwardOnly, nodeSelection } from "../../graphql/pagination";
import { gated } from "../../graphql/plugins";
import { ATTRIBUTE_DATATYPES, storedAttributes, type CategoryAttribute } from "./attributes";
import {
  archiveServiceCategory,
  defineServiceCategory,
  listServiceCategories,
  updateServiceCategory,
  type CategoryInput,
} from "./categories.server";
import { reportingKpis, type ReportingKpis, type VolumeRow } from "./kpis.server";
import {
  findDuplicateCandidates,
  followServiceRequest,
  getServiceRequest,
  isStaff,
  listServiceRequests,
  mergeServiceRequests,
  photoPath,
  reportIssue,
  REQUEST_STATUSES,
  requestCursor,
  trackingPath,
  unfollowServiceRequest,
  type DuplicateCandidate,
  type ReportIssueInput,
} from "./requests.server";
import { REPORTING_PLUGIN_ID } from "./settings.server";
import { addInternalNote, assignServiceRequest, changeServiceRequestStatus, CLOSE_REASONS, postPublicUpdate } from "./triage.server";

const PUBLIC = gated(REPORTING_PLUGIN_ID, { public: true });
const TRIAGE = gated(REPORTING_PLUGIN_ID, { cityPermission: "reporting.triage" });
const CONFIGURE = gated(REPORTING_PLUGIN_ID, { cityPermission: "reporting.configure" });
const SIGNED_IN = gated(REPORTING_PLUGIN_ID, { signedIn: true });

const cityDefault = (context: GraphQLContext) => context.city?.defaultLocale ?? "en";
const staffHere = (context: GraphQLContext) => context.city !== null && isStaff(context.principal, context.city.id);

/** Photos as uploaded through GraphQL: base64 text (at most 20 MB once decoded). */
function decodePhotos(photos: readonly string[] | null | undefined): Uint8Array[] | null {
  if (!photos) return null;
  const problems: string[] = [];
  const decoded = photos.map((text, index) => {
    const clean = text.replace(/^data:image\/[a-z]+;base64,/, "").replace(/\s/g, "");
    if (clean.length > 28_000_000 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
      problems.push(`photo ${index + 1}: must be a base64-encoded image of at most 20 MB`);
      return new Uint8Array();
    }
    return new Uint8Array(Buffer.from(clean, "base64"));
  });
  if (problems.length > 0) throw new ValidationFailed({ photos: problems });
  return decoded;
}

export function registerReportingGraphQL(): void {
  const RequestStatusEnum = builder.enumType("ServiceRequestStatus", {
    description: "Where a request stands. Open311 shows acknowledged and in progress as open.",
    values: REQUEST_STATUSES,
  });
  const CloseReasonEnum = builder.enumType("ServiceRequestCloseReason", { values: CLOSE_REASONS });
  const AttributeDatatypeEnum = builder.enumType("ServiceAttributeDatatype", { values: ATTRIBUTE_DATATYPES });
  const EventKindEnum = builder.enumType("ServiceRequestEventKind", {
    values: ["created", "status_changed", "assigned", "internal_note", "public_update", "merged", "photo_added"] as const,
  });

  // --- Categories -----------------------------------------------------------------------

  type AttributeShape = CategoryAttribute & { cityDefault: string };
  const AttributeValueOption = builder.objectRef<{ key: string; name: Record<string, string | undefined>; cityDefault: string }>("ServiceAttributeValue").implement({
    fields: (t) => ({
      key: t.exposeString("key"),
      name: t.field({ type: TranslatedText, resolve: (value) => translated(value.name, value.cityDefault) }),
    }),
  });
  const ServiceAttribute = builder.objectRef<AttributeShape>("ServiceAttribute").implement({
    description: "A field a category asks for (Open311 service definition attribute).",
    fields: (t) => ({
      code: t.exposeString("code"),
      datatype: t.field({ type: AttributeDatatypeEnum, resolve: (attribute) => attribute.datatype }),
      required: t.exposeBoolean("required"),
      variable: t.exposeBoolean("variable", { description: "False: information shown to the resident, no input." }),
      order: t.exposeInt("order"),
      description: t.field({ type: TranslatedText, resolve: (attribute) => translated(attribute.description, attribute.cityDefault) }),
      datatypeDescription: t.field({ type: TranslatedText, resolve: (attribute) => translated(attribute.datatypeDescription, attribute.cityDefault) }),
      values: t.field({
        type: [AttributeValueOption],
        resolve: (attribute) => attribute.values.map((value) => ({ ...value, cityDefault: attribute.cityDefault })),
      }),
    }),
  });

  const ServiceCategory = builder.prismaNode("ReportingCategory", {
    name: "ServiceCategory",
    description: "A kind of issue residents can report (Open311 service), written by the city (plugin reporting).",
    id: { resolve: (category) => category.id },
    findUnique: (id, context) => cityKey(context, id),
    authScopes: { public: true },
    select: { id: true },
    fields: (t) => ({
      code: t.exposeString("code", { description: "Open311 service_code." }),
      name: t.field({ type: TranslatedText, select: { names: true }, resolve: (category, _args, context) => translated(category.names, cityDefault(context)) }),
      description: t.field({ type: TranslatedText, select: { descriptions: true }, resolve: (category, _args, context) => translated(category.descriptions, cityDefault(context)) }),
      group: t.field({ type: TranslatedText, select: { groupNames: true }, resolve: (category, _args, context) => translated(category.groupNames, cityDefault(context)) }),
      keywords: t.exposeStringList("keywords"),
      position: t.exposeInt("position"),
      attributes: t.field({
        type: [ServiceAttribute],
        select: { attributes: true },
        resolve: (category, _args, context) => storedAttributes(category.attributes).map((attribute) => ({ ...attribute, cityDefault: cityDefault(context) })),
      }),
      archivedAt: t.expose("archivedAt", { type: "DateTime", nullable: true }),
    }),
  });

  // --- Requests --------------------------------------------------------------------------

  // Reached through ServiceRequest.photos.
  builder.prismaObject("ReportingPhoto", {
    name: "ServiceRequestPhoto",
    description: "A photo of a request, stored without its metadata.",
    select: { id: true },
    fields: (t) => ({
      contentType: t.exposeString("contentType"),
      width: t.exposeInt("width"),
      height: t.exposeInt("height"),
      byteSize: t.exposeInt("byteSize"),
      path: t.string({ description: "Its address on the city's site.", resolve: (photo) => photoPath(photo.id) }),
    }),
  });

  const ServiceRequestEvent = builder.prismaObject("ReportingEvent", {
    name: "ServiceRequestEvent",
    description: "A step in a request's history. Internal notes and assignments are for staff.",
    select: { id: true },
    fields: (t) => ({
      kind: t.field({ type: EventKindEnum, select: { kind: true }, resolve: (event) => event.kind }),
      public: t.exposeBoolean("public"),
      fromStatus: t.field({ type: RequestStatusEnum, nullable: true, select: { fromStatus: true }, resolve: (event) => event.fromStatus }),
      toStatus: t.field({ type: RequestStatusEnum, nullable: true, select: { toStatus: true }, resolve: (event) => event.toStatus }),
      reason: t.exposeString("reason", { nullable: true }),
      body: t.exposeString("body", { nullable: true }),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
    }),
  });

  const ServiceRequest = builder.prismaNode("ReportingRequest", {
    name: "ServiceRequest",
    description: "A report of an issue (Open311 service request), whichever way it came in (plugin reporting).",
    id: { resolve: (request) => request.id },
    findUnique: (id, context) => cityKey(context, id),
    authScopes: { public: true },
    select: { id: true },
    fields: (t) => ({
      trackingId: t.exposeString("trackingId", { description: "The public tracking id (Open311 service_request_id)." }),
      path: t.string({ select: { trackingId: true }, description: "Its page on the city's site.", resolve: (request) => trackingPath(request.trackingId) }),
      status: t.field({ type: RequestStatusEnum, select: { status: true }, resolve: (request) => request.status }),
      closeReason: t.field({
        type: CloseReasonEnum,
        nullable: true,
        select: { closeReason: true },
        resolve: (request) => ((CLOSE_REASONS as readonly string[]).includes(request.closeReason ?? "") ? (request.closeReason as (typeof CLOSE_REASONS)[number]) : null),
      }),
      description: t.exposeString("description"),
      latitude: t.exposeFloat("latitude", { nullable: true }),
      longitude: t.exposeFloat("longitude", { nullable: true }),
      address: t.exposeString("address", { nullable: true }),
      attributeValues: t.field({ type: "JSON", select: { attributeValues: true }, description: "Values by attribute code.", resolve: (request) => request.attributeValues }),
      category: t.relation("category"),
      photos: t.relation("photos", { query: { orderBy: { createdAt: "asc" } } }),
      mergedInto: t.relation("mergedInto", { nullable: true }),
      history: t.relation("events", {
        description: "Oldest first; internal notes and assignments for staff only.",
        query: (_args, context) => ({
          where: staffHere(context) ? {} : { public: true },
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        }),
      }),
      followerCount: t.relationCount("followers"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      updatedAt: t.expose("updatedAt", { type: "DateTime" }),
      acknowledgedAt: t.expose("acknowledgedAt", { type: "DateTime", nullable: true }),
      closedAt: t.expose("closedAt", { type: "DateTime", nullable: true }),
      expectedAt: t.expose("expectedAt", { type: "DateTime", nullable: true }),
      // Staff only: who reported and how to reach them, and who works on it.
      source: t.exposeString("source", { nullable: true, authScopes: { cityPermission: "reporting.triage" } }),
      reporterEmail: t.exposeString("reporterEmail", { nullable: true, authScopes: { cityPermission: "reporting.triage" } }),
      reporterName: t.string({
        nullable: true,
        authScopes: { cityPermission: "reporting.triage" },
        select: { reporterFirstName: true, reporterLastName: true },
        resolve: (request) => [request.reporterFirstName, request.reporterLastName].filter(Boolean).join(" ") || null,
      }),
      reporterPhone: t.exposeString("reporterPhone", { nullable: true, authScopes: { cityPermission: "reporting.triage" } }),
      assigneeUserId: t.exposeID("assigneeUserId", { nullable: true, authScopes: { cityPermission: "reporting.triage" } }),
      followedByMe: t.boolean({
        description: "Whether the signed-in person follows it.",
        select: (_args, context) => (context.principal.kind === "user" ? { followers: { where: { userId: context.principal.userId }, select: { id: true } } } : {}),
        resolve: (request) => ((request as { followers?: unknown[] }).followers?.length ?? 0) > 0,
      }),
    }),
  });

  /** Loads requests chosen by a service with the selection of the query, in the service's order. */
  async function loadRequests(context: GraphQLContext, info: GraphQLResolveInfo, ids: readonly string[]) {
    if (ids.length === 0) return [];
    const query = nodeSelection(context, info) as Prisma.ReportingRequestFindManyArgs;
    const rows = await context.db().reportingRequest.findMany({ ...query, where: { tenantId: context.city!.id, id: { in: [...ids] } } } as Prisma.ReportingRequestFindManyArgs);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  // --- Queries ---------------------------------------------------------------------------

  const StatusFilter = builder.inputType("ServiceRequestArea", {
    description: "A box on the map: south-west and north-east corners.",
    fields: (t) => ({
      south: t.float({ required: true }),
      west: t.float({ required: true }),
      north: t.float({ required: true }),
      east: t.float({ required: true }),
    }),
  });

  builder.queryFields((t) => ({
    serviceCategories: t.prismaField({
      type: [ServiceCategory],
      description: "The categories residents can report in, in display order (archived ones too for admins who ask).",
      authScopes: PUBLIC,
      args: { includeArchived: t.arg.boolean({ required: false }) },
      resolve: async (query, _root, args, context) => {
        const categories = await listServiceCategories(context.principal, args, context.service);
        if (categories.length === 0) return [];
        const rows = await context.db().reportingCategory.findMany({ ...query, where: { tenantId: context.city!.id, id: { in: categories.map((c) => c.id) } } });
        const byId = new Map(rows.map((row) => [row.id, row]));
        return categories.flatMap((category) => byId.get(category.id) ?? []);
      },
    }),
    serviceRequest: t.prismaField({
      type: ServiceRequest,
      description: "A request by its tracking id (anyone may follow a report with it).",
      authScopes: PUBLIC,
      args: { trackingId: t.arg.string({ required: true }) },
      resolve: async (query, _root, { trackingId }, context) => {
        const request = await getServiceRequest(context.principal, { trackingId }, context.service);
        return context.db().reportingRequest.findUniqueOrThrow({ ...query, where: cityKey(context, request.id) });
      },
    }),
    serviceRequests: t.connection({
      type: ServiceRequest,
      description: "The city's requests, newest first. Filtering by assignee or text is for staff.",
      authScopes: PUBLIC,
      args: {
        statuses: t.arg({ type: [RequestStatusEnum], required: false }),
        categoryCodes: t.arg.stringList({ required: false }),
        area: t.arg({ type: StatusFilter, required: false }),
        createdAfter: t.arg({ type: "DateTime", required: false }),
        createdBefore: t.arg({ type: "DateTime", required: false }),
        assigneeUserId: t.arg.string({ required: false, description: "A person's id, or none for unassigned requests." }),
        trackingIds: t.arg.stringList({ required: false }),
        search: t.arg.string({ required: false }),
      },
      resolve: async (_root, args, context, info) => {
        forwardOnly(args);
        const { before: _before, last: _last, ...filters } = args;
        const page = await listServiceRequests(context.principal, filters, context.service);
        const rows = await loadRequests(context, info, page.requests.map((request) => request.id));
        const createdAt = new Map(page.requests.map((request) => [request.id, request.createdAt]));
        return connectionOf(rows, page, (row) => requestCursor({ id: row.id, createdAt: createdAt.get(row.id)! }));
      },
    }),
    serviceRequestDuplicates: t.field({
      type: [DuplicateCandidateRef],
      description: "Open requests of a category near a point: offered to follow before reporting the same issue.",
      authScopes: PUBLIC,
      args: {
        categoryCode: t.arg.string({ required: true }),
        latitude: t.arg.float({ required: true }),
        longitude: t.arg.float({ required: true }),
      },
      resolve: (_root, args, context) => findDuplicateCandidates(context.principal, args, context.service),
    }),
    reportingKpis: t.field({
      type: ReportingKpisRef,
      description: "The city's reporting figures for a period (default: the last 90 days).",
      authScopes: TRIAGE,
      args: { from: t.arg({ type: "DateTime", required: false }), to: t.arg({ type: "DateTime", required: false }) },
      resolve: (_root, args, context) => reportingKpis(context.principal, args, context.service),
    }),
  }));

  // --- Figures -----------------------------------------------------------------------------

  const VolumeRowRef = builder.objectRef<VolumeRow & { cityDefault: string }>("ReportingVolume").implement({
    fields: (t) => ({
      categoryCode: t.exposeString("categoryCode"),
      categoryName: t.field({ type: TranslatedText, resolve: (row) => translated(row.categoryNames, row.cityDefault) }),
      status: t.field({ type: RequestStatusEnum, resolve: (row) => row.status }),
      count: t.exposeInt("count"),
    }),
  });
  const BacklogRef = builder.objectRef<ReportingKpis["backlog"]>("ReportingBacklog").implement({
    fields: (t) => ({
      open: t.exposeInt("open"),
      oldestAgeSeconds: t.exposeInt("oldestAgeSeconds", { nullable: true }),
      medianAgeSeconds: t.exposeInt("medianAgeSeconds", { nullable: true }),
      under7Days: t.exposeInt("under7Days"),
      from7To30Days: t.exposeInt("from7To30Days"),
      over30Days: t.exposeInt("over30Days"),
    }),
  });
  // Declared before use through refs (fields resolve lazily).
  ReportingKpisRef.implement({
    description: "Reporting figures of the city (plugin reporting).",
    fields: (t) => ({
      from: t.expose("from", { type: "DateTime" }),
      to: t.expose("to", { type: "DateTime" }),
      total: t.exposeInt("total"),
      volume: t.field({ type: [VolumeRowRef], resolve: (kpis, _args, context) => kpis.volume.map((row) => ({ ...row, cityDefault: cityDefault(context) })) }),
      medianSecondsToAcknowledge: t.exposeInt("medianSecondsToAcknowledge", { nullable: true }),
      medianSecondsToClose: t.exposeInt("medianSecondsToClose", { nullable: true }),
      backlog: t.field({ type: BacklogRef, resolve: (kpis) => kpis.backlog }),
    }),
  });

  DuplicateCandidateRef.implement({
    description: "An open request near a new report, of the same category: perhaps the same issue.",
    fields: (t) => ({
      trackingId: t.exposeString("trackingId"),
      status: t.field({ type: RequestStatusEnum, resolve: (candidate) => candidate.status }),
      description: t.exposeString("description"),
      latitude: t.exposeFloat("latitude"),
      longitude: t.exposeFloat("longitude"),
      address: t.exposeString("address", { nullable: true }),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      distanceMeters: t.exposeInt("distanceMeters"),
      request: t.prismaField({
        type: ServiceRequest,
        resolve: (query, candidate, _args, context) => context.db().reportingRequest.findUniqueOrThrow({ ...query, where: cityKey(context, candidate.id) }),
      }),
    }),
  });

  // --- Mutations ---------------------------------------------------------------------------

  const AttributeOptionInput = builder.inputType("ServiceAttributeValueInput", {
    fields: (t) => ({ key: t.string({ required: true }), name: t.field({ type: "JSON", required: true, description: "{ locale: text }" }) }),
  });
  const AttributeInput = builder.inputType("ServiceAttributeInput", {
    fields: (t) => ({
      code: t.string({ required: true }),
      datatype: t.field({ type: AttributeDatatypeEnum, required: true }),
      required: t.boolean({ required: false }),
      variable: t.boolean({ required: false }),
      order: t.int({ required: false }),
      description: t.field({ type: "JSON", required: true, description: "The label, { locale: text }." }),
      datatypeDescription: t.field({ type: "JSON", required: false }),
      values: t.field({ type: [AttributeOptionInput], required: false }),
    }),
  });
  const categoryFields = (t: PothosInputFields) => ({
    names: t.field({ type: "JSON", required: false, description: "{ locale: name }, in the city's languages." }),
    descriptions: t.field({ type: "JSON", required: false }),
    groupNames: t.field({ type: "JSON", required: false }),
    keywords: t.stringList({ required: false }),
    attributes: t.field({ type: [AttributeInput], required: false }),
    position: t.int({ required: false }),
  });
  type PothosInputFields = Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0];
  const DefineCategoryInput = builder.inputType("DefineServiceCategoryInput", {
    fields: (t) => ({ code: t.string({ required: true, description: "Open311 service_code; fixed once created." }), ...categoryFields(t) }),
  });
  const UpdateCategoryInput = builder.inputType("UpdateServiceCategoryInput", { fields: (t) => categoryFields(t) });

  const ReportIssueInputRef = builder.inputType("ReportIssueInput", {
    fields: (t) => ({
      categoryCode: t.string({ required: true }),
      description: t.string({ required: true }),
      latitude: t.float({ required: false }),
      longitude: t.float({ required: false }),
      address: t.string({ required: false }),
      attributes: t.field({ type: "JSON", required: false, description: "Values by attribute code (lists as arrays)." }),
      email: t.string({ required: false, description: "To be kept informed; shown to the city's staff only." }),
      firstName: t.string({ required: false }),
      lastName: t.string({ required: false }),
      phone: t.string({ required: false }),
      photos: t.stringList({ required: false, description: "JPEG, PNG or WebP images, base64-encoded." }),
      locale: t.string({ required: false, description: "The reporter's language for notifications." }),
      confirmNotDuplicate: t.boolean({ required: false, description: "File it even when open requests nearby look the same." }),
    }),
  });

  const ReportIssuePayload = builder
    .objectRef<{ requestId: string | null; duplicates: DuplicateCandidate[] }>("ReportIssuePayload")
    .implement({
      description:
        "Either the new request, or (nothing filed) open requests nearby of the same category to follow instead: report again with confirmNotDuplicate to file it anyway.",
      fields: (t) => ({
        request: t.prismaField({
          type: ServiceRequest,
          nullable: true,
          resolve: (query, payload, _args, context) =>
            payload.requestId ? context.db().reportingRequest.findUniqueOrThrow({ ...query, where: cityKey(context, payload.requestId) }) : null,
        }),
        duplicateCandidates: t.field({ type: [DuplicateCandidateRef], resolve: (payload) => payload.duplicates }),
      }),
    });

  const FollowPayload = builder.objectRef<{ trackingId: string; following: boolean; changed: boolean }>("FollowServiceRequestPayload").implement({
    fields: (t) => ({
      trackingId: t.exposeString("trackingId"),
      following: t.exposeBoolean("following"),
      changed: t.exposeBoolean("changed", { description: "False when nothing changed (followed already, or not followed)." }),
    }),
  });

  const MergePayload = builder.objectRef<{ duplicateId: string; intoId: string; followersAdded: number }>("MergeServiceRequestsPayload").implement({
    fields: (t) => ({
      duplicate: t.prismaField({ type: ServiceRequest, resolve: (query, merge, _args, context) => context.db().reportingRequest.findUniqueOrThrow({ ...query, where: cityKey(context, merge.duplicateId) }) }),
      into: t.prismaField({ type: ServiceRequest, resolve: (query, merge, _args, context) => context.db().reportingRequest.findUniqueOrThrow({ ...query, where: cityKey(context, merge.intoId) }) }),
      followersAdded: t.exposeInt("followersAdded", { description: "Followers of the duplicate who now follow the other request." }),
    }),
  });

  const reloadRequest = (context: GraphQLContext, query: object, id: string) =>
    context.db().reportingRequest.findUniqueOrThrow({ ...(query as Prisma.ReportingRequestFindUniqueArgs), where: cityKey(context, id) });
  const reloadCategory = (context: GraphQLContext, query: object, id: string) =>
    context.db().reportingCategory.findUniqueOrThrow({ ...(query as Prisma.ReportingCategoryFindUniqueArgs), where: cityKey(context, id) });
  const reloadEvent = (context: GraphQLContext, query: object, id: string) =>
    context.db().reportingEvent.findUniqueOrThrow({ ...(query as Prisma.ReportingEventFindUniqueArgs), where: cityKey(context, id) });

  builder.mutationFields((t) => ({
    defineServiceCategory: t.prismaField({
      type: ServiceCategory,
      authScopes: CONFIGURE,
      errors: { types: MUTATION_ERRORS },
      args: { input: t.arg({ type: DefineCategoryInput, required: true }) },
      resolve: (query, _root, { input }, context) =>
        atomically(context, async () => {
          const category = await defineServiceCategory(context.principal, input as unknown as CategoryInput, context.service);
          return reloadCategory(context, query, category.id);
        }),
    }),
    updateServiceCategory: t.prismaField({
      type: ServiceCategory,
      authScopes: CONFIGURE,
      errors: { types: MUTATION_ERRORS },
      args: { id: t.arg.globalID({ required: true, for: ServiceCategory }), input: t.arg({ type: UpdateCategoryInput, required: true }) },
      resolve: (query, _root, { id, input }, context) =>
        atomically(context, async () => {
          const category = await updateServiceCategory(context.principal, { ...(input as object), id: id.id } as never, context.service);
          return reloadCategory(context, query, category.id);
        }),
    }),
    archiveServiceCategory: t.prismaField({
      type: ServiceCategory,
      description: "Archives a category (no new reports in it), or brings it back with archived: false.",
      authScopes: CONFIGURE,
      errors: { types: MUTATION_ERRORS },
      args: { id: t.arg.globalID({ required: true, for: ServiceCategory }), archived: t.arg.boolean({ required: false }) },
      resolve: (query, _root, { id, archived }, context) =>
        atomically(context, async () => {
          const category = await archiveServiceCategory(context.principal, { id: id.id, archived }, context.service);
          return reloadCategory(context, query, category.id);
        }),
    }),
    reportIssue: t.field({
      type: ReportIssuePayload,
      description: "Reports an issue (signed in, or anonymously where the city allows it).",
      authScopes: PUBLIC,
      errors: { types: MUTATION_ERRORS },
      args: { input: t.arg({ type: ReportIssueInputRef, required: true }) },
      resolve: (_root, { input }, context) =>
        atomically(context, async () => {
          const { photos, attributes, ...rest } = input;
          const result = await reportIssue(
            context.principal,
            { ...rest, attributes: attributes as ReportIssueInput["attributes"], photos: decodePhotos(photos), locale: input.locale ?? (isSupportedLocale(context.locale) ? context.locale : null) } as ReportIssueInput,
            { ...context.service, source: "graphql" },
          );
          return result.kind === "created" ? { requestId: result.id, duplicates: [] } : { requestId: null, duplicates: result.candidates };
        }),
    }),
    followServiceRequest: t.field({
      type: FollowPayload,
      description: "Follows a request: signed in by account, otherwise by email (where the city takes anonymous reports).",
      authScopes: PUBLIC,
      errors: { types: MUTATION_ERRORS },
      args: { trackingId: t.arg.string({ required: true }), email: t.arg.string({ required: false }) },
      resolve: (_root, args, context) => atomically(context, () => followServiceRequest(context.principal, args, context.service)),
    }),
    unfollowServiceRequest: t.field({
      type: FollowPayload,
      authScopes: SIGNED_IN,
      errors: { types: MUTATION_ERRORS },
      args: { trackingId: t.arg.string({ required: true }) },
      resolve: (_root, args, context) => atomically(context, () => unfollowServiceRequest(context.principal, args, context.service)),
    }),
    assignServiceRequest: t.prismaField({
      type: ServiceRequest,
      description: "Assigns a request to a staff member of the city (or nobody, with null).",
      authScopes: TRIAGE,
      errors: { types: MUTATION_ERRORS },
      args: { trackingId: t.arg.string({ required: true }), assigneeUserId: t.arg.string({ required: false }) },
      resolve: (query, _root, args, context) =>
        atomically(context, async () => reloadRequest(context, query, (await assignServiceRequest(context.principal, args, context.service)).id)),
    }),
    changeServiceRequestStatus: t.prismaField({
      type: ServiceRequest,
      description: "Moves a request along open → acknowledged → in progress → closed (with a reason), or reopens it; reporter and followers are told.",
      authScopes: TRIAGE,
      errors: { types: MUTATION_ERRORS },
      args: {
        trackingId: t.arg.string({ required: true }),
        status: t.arg({ type: RequestStatusEnum, required: true }),
        reason: t.arg({ type: CloseReasonEnum, required: false }),
        note: t.arg.string({ required: false, description: "A public message sent with the change." }),
        expectedAt: t.arg({ type: "DateTime", required: false }),
      },
      resolve: (query, _root, args, context) =>
        atomically(context, async () => reloadRequest(context, query, (await changeServiceRequestStatus(context.principal, args, context.service)).id)),
    }),
    addInternalNote: t.prismaField({
      type: ServiceRequestEvent,
      description: "A note for the city's staff only.",
      authScopes: TRIAGE,
      errors: { types: MUTATION_ERRORS },
      args: { trackingId: t.arg.string({ required: true }), body: t.arg.string({ required: true }) },
      resolve: (query, _root, args, context) =>
        atomically(context, async () => reloadEvent(context, query, (await addInternalNote(context.principal, args, context.service)).id)),
    }),
    postPublicUpdate: t.prismaField({
      type: ServiceRequestEvent,
      description: "A public message on a request, sent to its reporter and followers.",
      authScopes: TRIAGE,
      errors: { types: MUTATION_ERRORS },
      args: { trackingId: t.arg.string({ required: true }), body: t.arg.string({ required: true }) },
      resolve: (query, _root, args, context) =>
        atomically(context, async () => reloadEvent(context, query, (await postPublicUpdate(context.principal, args, context.service)).id)),
    }),
    mergeServiceRequests: t.field({
      type: MergePayload,
      description: "Merges a duplicate into the request it repeats: it closes, and its followers follow the other one.",
      authScopes: TRIAGE,
      errors: { types: MUTATION_ERRORS },
      args: { duplicateTrackingId: t.arg.string({ required: true }), intoTrackingId: t.arg.string({ required: true }), note: t.arg.string({ required: false }) },
      resolve: (_root, args, context) =>
        atomically(context, async () => {
          const merged = await mergeServiceRequests(context.principal, args, context.service);
          return { duplicateId: merged.duplicate.id, intoId: merged.into.id, followersAdded: merged.followersAdded };
        }),
    }),
  }));
}

// Refs used before their implementation (queries above return them).
const DuplicateCandidateRef = builder.objectRef<DuplicateCandidate>("DuplicateCandidate");
const ReportingKpisRef = builder.objectRef<ReportingKpis>("ReportingKpis");

// Loaded once by the manifest's `graphql` when the schema is built.
registerReportingGraphQL();
