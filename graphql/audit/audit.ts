// The city's audit log (admins) and the platform's (operators): every change, who made it, when,
// before and after. Actors are not a Prisma relation (an actor may be a person, an API client,
// an operator or the system): people and clients are batch-loaded per request (dataloader).
import { auditEventCursor, listAuditEvents, listPlatformAuditEvents, type AuditEventFilter } from "../../app/audit/audit-log.server";
import { UUID_PATTERN } from "../../app/db/database.server";
import { ApiClient } from "../api/api-clients";
import { builder } from "../builder";
import { City } from "../city/city";
import { Member } from "../members/members";
import { connectionOf, forwardOnly, nodeSelection } from "../pagination";
import { cityKey } from "../members/members";

const ActorType = builder.enumType("ActorType", { values: ["user", "operator", "client", "system"] as const });

const AuditLogFilter = builder.inputType("AuditLogFilter", {
  description: "All given conditions must hold.",
  fields: (t) => ({
    actions: t.stringList({ required: false, description: 'Any of these actions, e.g. ["membership.role_granted"].' }),
    actorType: t.field({ type: ActorType, required: false }),
    actorId: t.string({ required: false }),
    subjectType: t.string({ required: false }),
    subjectId: t.string({ required: false }),
    since: t.field({ type: "DateTime", required: false, description: "From this instant (included)." }),
    until: t.field({ type: "DateTime", required: false, description: "Until this instant (excluded)." }),
  }),
});

const filterOf = (args: { first?: number | null; after?: string | null; filter?: typeof AuditLogFilter.$inferInput | null }): AuditEventFilter => ({
  first: args.first,
  after: args.after,
  ...args.filter,
});

export const AuditEvent = builder.prismaNode("AuditEvent", {
  id: { resolve: (event) => event.id },
  findUnique: (id, context) => cityKey(context, id),
  authScopes: { cityPermission: "audit.read" },
  select: { id: true, actorType: true, actorId: true },
  fields: (t) => ({
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    action: t.exposeString("action"),
    actorType: t.field({ type: ActorType, resolve: (event) => event.actorType }),
    actorId: t.exposeString("actorId", { nullable: true }),
    actorMember: t.loadable({
      type: Member,
      nullable: true,
      description: "The person who acted, when a person did.",
      load: async (ids: string[], context) =>
        context.city
          ? context.db().user.findMany({ where: { tenantId: context.city.id, id: { in: ids.filter((id) => UUID_PATTERN.test(id)) } } })
          : [],
      sort: (user) => user.id,
      resolve: (event) => (event.actorType === "user" ? event.actorId : null),
    }),
    actorApiClient: t.loadable({
      type: ApiClient,
      nullable: true,
      description: "The API client that acted, when one did.",
      load: async (ids: string[], context) =>
        context.city
          ? context.db().apiClient.findMany({ where: { tenantId: context.city.id, id: { in: ids.filter((id) => UUID_PATTERN.test(id)) } } })
          : [],
      sort: (client) => client.id,
      resolve: (event) => (event.actorType === "client" ? event.actorId : null),
    }),
    subjectType: t.exposeString("subjectType"),
    subjectId: t.exposeString("subjectId", { nullable: true }),
    before: t.expose("before", { type: "JSON", nullable: true }),
    after: t.expose("after", { type: "JSON", nullable: true }),
    requestId: t.exposeString("requestId", { nullable: true }),
  }),
});

builder.objectField(City, "auditLog", (t) =>
  t.connection({
    type: AuditEvent,
    description: "Everything that changed at the city, newest first.",
    authScopes: { cityPermission: "audit.read" },
    args: { filter: t.arg({ type: AuditLogFilter, required: false }) },
    resolve: async (_city, args, context, info) => {
      forwardOnly(args);
      const page = await listAuditEvents(context.principal, filterOf(args), context.service, nodeSelection(context, info));
      return connectionOf(page.events, page, auditEventCursor);
    },
  }),
);

const PlatformAuditEvent = builder.prismaObject("PlatformAuditEvent", {
  description: "Something that happened outside any one city (onboarding, suspensions, operators).",
  fields: (t) => ({
    id: t.exposeID("id"),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    action: t.exposeString("action"),
    actorType: t.field({ type: ActorType, resolve: (event) => event.actorType }),
    actorId: t.exposeString("actorId", { nullable: true }),
    subjectType: t.exposeString("subjectType"),
    subjectId: t.exposeString("subjectId", { nullable: true }),
    before: t.expose("before", { type: "JSON", nullable: true }),
    after: t.expose("after", { type: "JSON", nullable: true }),
    requestId: t.exposeString("requestId", { nullable: true }),
  }),
});

builder.queryField("platformAuditLog", (t) =>
  t.connection({
    type: PlatformAuditEvent,
    description: "The platform's own log, newest first (operators).",
    authScopes: { operatorPermission: "platform.audit.read" },
    args: { filter: t.arg({ type: AuditLogFilter, required: false }) },
    resolve: async (_root, args, context, info) => {
      forwardOnly(args);
      const page = await listPlatformAuditEvents(context.principal, filterOf(args), context.service, nodeSelection(context, info) as never);
      return connectionOf(page.events, page, auditEventCursor);
    },
  }),
);
