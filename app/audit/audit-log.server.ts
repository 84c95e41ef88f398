// Reading the audit log: a city's admins read their city's events, operators the platform's.
// Newest first, a page at a time, filtered by action, actor, subject and time. GraphQL passes
// its Prisma selection (Pothos) so that relations come in the same statement.
import { z } from "zod";
import { parseInput } from "../auth/errors";
import { requireCityPermission, requirePermission, type Principal } from "../auth/permissions";
import type { ServiceContext } from "../auth/principal.server";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { DEFAULT_PAGE_SIZE, pageArguments, pageOf, timeCursor } from "../db/pages.server";
import type { AuditEvent, PlatformAuditEvent, Prisma } from "../db/generated/client.ts";

// --- Events ----------------------------------------------------------------------------------

export type AuditEventFilter = {
  /** 1 to 100 events; 25 when absent. */
  first?: number | null;
  /** The endCursor of the previous page. */
  after?: string | null;
  /** Exactly this action ("membership.role_granted"). */
  action?: string | null;
  /** Any of these actions. */
  actions?: readonly string[] | null;
  actorType?: "user" | "operator" | "client" | "system" | null;
  actorId?: string | null;
  subjectType?: string | null;
  subjectId?: string | null;
  /** From this time (included); a Date or an ISO 8601 text with its offset. */
  since?: Date | string | null;
  /** Until this time (excluded). */
  until?: Date | string | null;
};

/** A page of events, newest first. With a `select` query, events hold only what it selects (plus id and occurredAt). */
export type AuditEventPage<Event> = {
  events: Event[];
  hasNextPage: boolean;
  /** Cursor of the first event of the page; null when the page is empty. */
  startCursor: string | null;
  /** Cursor of the last event: pass it as `after` for the next page. */
  endCursor: string | null;
};

/** The Prisma selection GraphQL passes (Pothos plugin-prisma's `query`). */
export type AuditEventQuery = { select?: Prisma.AuditEventSelect } | { include?: Prisma.AuditEventInclude };
export type PlatformAuditEventQuery = { select?: Prisma.PlatformAuditEventSelect };

/** The cursor of an event (a connection edge's cursor). */
export const auditEventCursor = (event: { id: string; occurredAt: Date }): string => timeCursor(event, event.occurredAt);

const text = (max: number) =>
  z
    .string({ error: "must be text" })
    .trim()
    .min(1, { error: "must not be empty" })
    .max(max, { error: `must be at most ${max} characters` });

const INSTANT = "must be a date and time (ISO 8601, with its offset)";
const instant = z
  .union([z.date({ error: INSTANT }), z.iso.datetime({ offset: true, error: INSTANT })], { error: INSTANT })
  .transform((value) => new Date(value))
  .refine((value) => !Number.isNaN(value.getTime()), { error: "must be a valid date" });

const filterSchema = z
  .strictObject({
    ...pageArguments,
    action: text(100).nullish(),
    actions: z.array(text(100), { error: "must be a list of actions" }).max(50, { error: "must list at most 50 actions" }).nullish(),
    actorType: z.enum(["user", "operator", "client", "system"], { error: "must be user, operator, client or system" }).nullish(),
    actorId: text(200).nullish(),
    subjectType: text(100).nullish(),
    subjectId: text(200).nullish(),
    since: instant.nullish(),
    until: instant.nullish(),
  })
  .superRefine((filter, ctx) => {
    if (filter.since && filter.until && filter.until <= filter.since) {
      ctx.addIssue({ code: "custom", path: ["until"], message: "must be later than since" });
    }
  });

function parseFilter(input: AuditEventFilter) {
  const filter = parseInput(filterSchema, input);
  const where = {
    ...(filter.action && { action: filter.action }),
    ...(filter.actions && { AND: [{ action: { in: filter.actions } }] }),
    ...(filter.actorType && { actorType: filter.actorType }),
    ...(filter.actorId && { actorId: filter.actorId }),
    ...(filter.subjectType && { subjectType: filter.subjectType }),
    ...(filter.subjectId && { subjectId: filter.subjectId }),
    ...((filter.since || filter.until) && {
      occurredAt: { ...(filter.since && { gte: filter.since }), ...(filter.until && { lt: filter.until }) },
    }),
  };
  return { where, first: filter.first ?? DEFAULT_PAGE_SIZE, after: filter.after };
}

const ORDER = [{ occurredAt: "desc" }, { id: "desc" }] as const;

/**
 * The caller's selection, with what the cursors need; every column when there is none. The
 * findMany arguments below are checked (`satisfies`) and then widened (`as`): the rows' shape is
 * the caller's selection, known only at run time, and is declared by the function's return type.
 */
function selection<S extends object, I extends object>(
  query: { select?: S } | { include?: I } | undefined,
): { select: S & { id: true; occurredAt: true } } | { include: I } | Record<string, never> {
  if (query && "select" in query && query.select) return { select: { ...query.select, id: true, occurredAt: true } };
  if (query && "include" in query && query.include) return { include: query.include };
  return {};
}

/**
 * The city's audit log, newest first (admins: audit.read). Filters combine (all must match);
 * `query` is GraphQL's Prisma selection.
 */
export async function listAuditEvents(
  principal: Principal,
  input: AuditEventFilter = {},
  context: ServiceContext = {},
  query?: AuditEventQuery,
): Promise<AuditEventPage<AuditEvent>> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "audit.read");
  const { where, first, after } = parseFilter(input);
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.auditEvent.findMany({
        ...selection(query),
        where: { tenantId, ...where },
        orderBy: [...ORDER],
        take: first + 1,
        ...(after && { cursor: { tenantId_id: { tenantId, id: after.id } }, skip: 1 }),
      } satisfies Prisma.AuditEventFindManyArgs as Prisma.AuditEventFindManyArgs),
    context.database,
  );
  const { rows: events, ...page } = pageOf(rows as AuditEvent[], first, auditEventCursor);
  return { events, ...page };
}

/** The platform's audit log (onboarding, suspensions, operators), newest first (operators: platform.audit.read). */
export async function listPlatformAuditEvents(
  principal: Principal,
  input: AuditEventFilter = {},
  context: Pick<ServiceContext, "database"> = {},
  query?: PlatformAuditEventQuery,
): Promise<AuditEventPage<PlatformAuditEvent>> {
  requirePermission(principal, "platform.audit.read");
  const { where, first, after } = parseFilter(input);
  const rows = await withPlatformAdmin(
    (tx) =>
      tx.platformAuditEvent.findMany({
        ...selection(query),
        where,
        orderBy: [...ORDER],
        take: first + 1,
        ...(after && { cursor: { id: after.id }, skip: 1 }),
      } satisfies Prisma.PlatformAuditEventFindManyArgs as Prisma.PlatformAuditEventFindManyArgs),
    context.database,
  );
  const { rows: events, ...page } = pageOf(rows as PlatformAuditEvent[], first, auditEventCursor);
  return { events, ...page };
}
