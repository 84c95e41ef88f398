// Staff work on requests (reporting.triage): assignment, status changes along the allowed
// transitions (with reasons), internal notes, public updates, and the history of it all.
// Residents hear about status changes and public updates through the outbox; never about
// internal notes or assignments.
import { z } from "zod";
import { recordAudit } from "../../app/audit/audit.server";
import { Conflict, NotFound, ValidationFailed, parseInput } from "../../app/auth/errors";
import { requireCityPermission, type Principal } from "../../app/auth/permissions";
import { auditActor, type ServiceContext } from "../../app/auth/principal.server";
import { UUID_PATTERN, withTenant, type Tx } from "../../app/db/database.server";
import type { ReportingEvent } from "../../app/db/generated/client.ts";
import { readerCity } from "./categories.server";
import { queueNotifications } from "./notifications.server";
import { addEvent, findRequest, isStaff, REQUEST_STATUSES, type RequestStatus, type ServiceRequestDetail } from "./requests.server";
import { reportingSettings } from "./settings.server";

export const CLOSE_REASONS = ["fixed", "duplicate", "not_city_responsibility", "not_found", "wont_fix"] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/**
 * Where a request may go from each status. Forward steps may be skipped (a fix made on the
 * first visit goes straight to closed); a closed request may be reopened; nothing goes back
 * from in progress to merely acknowledged.
 */
export const TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  open: ["acknowledged", "in_progress", "closed"],
  acknowledged: ["in_progress", "closed"],
  in_progress: ["closed"],
  closed: ["open"],
};

export function canMove(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

const trackingIdSchema = z.string({ error: "must be a tracking id" }).trim().min(1, { error: "is required" });
const noteSchema = (name: string) =>
  z
    .string({ error: `must be the ${name}` })
    .trim()
    .min(1, { error: `write the ${name}` })
    .max(4000, { error: "must be at most 4000 characters" });

function staffOf(principal: Principal, context: ServiceContext) {
  const staff = requireCityPermission(principal, context.tenantId, "reporting.triage");
  return { staff, tenantId: staff.tenantId, actor: auditActor(staff), actorUserId: staff.kind === "user" ? staff.userId : null };
}

// --- Assignment ---------------------------------------------------------------------------

const assignSchema = z.strictObject({
  trackingId: trackingIdSchema,
  assigneeUserId: z
    .string({ error: "must be a person's id" })
    .refine((value) => UUID_PATTERN.test(value), { error: "must be a person's id" })
    .nullish(),
});

/** Assigns a request to a staff member of the city, or unassigns it (null). Internal. */
export async function assignServiceRequest(
  principal: Principal,
  input: { trackingId: string; assigneeUserId?: string | null },
  context: ServiceContext = {},
): Promise<ServiceRequestDetail> {
  const { tenantId, actor } = staffOf(principal, context);
  const { trackingId, assigneeUserId } = parseInput(assignSchema, input);
  const assignee = assigneeUserId ? assigneeUserId.toLowerCase() : null;
  return onRequest(tenantId, trackingId, context, async (tx, request) => {
    if (assignee) {
      const [member] = UUID_PATTERN.test(assignee) ? await staffUserIds(tx, tenantId, assignee) : [];
      if (!member) throw new ValidationFailed({ assigneeUserId: ["is not a staff member of this city"] });
    }
    if (request.assigneeUserId === assignee) return request;
    const { count } = await tx.reportingRequest.updateMany({ where: { tenantId, id: request.id }, data: { assigneeUserId: assignee } });
    if (count === 0) throw new NotFound("service request");
    await addEvent(tx, tenantId, request.id, actor, { kind: "assigned", public: false, assigneeUserId: assignee });
    await recordAudit(tx, tenantId, {
      actor,
      action: "reporting.request_assigned",
      subject: { type: "reporting_request", id: request.id },
      before: { assigneeUserId: request.assigneeUserId },
      after: { assigneeUserId: assignee },
      requestId: context.requestId,
    });
    return (await findRequest(tx, tenantId, request.trackingId))!;
  });
}

// --- Status -------------------------------------------------------------------------------

export type StatusChange = {
  trackingId: string;
  status: RequestStatus;
  /** Required to close (one of CLOSE_REASONS); not taken otherwise. */
  reason?: string | null;
  /** A message to the reporter and followers, shown publicly. */
  note?: string | null;
  /** When the city expects it done (Open311 expected_datetime). */
  expectedAt?: Date | null;
};

const statusSchema = z
  .strictObject({
    trackingId: trackingIdSchema,
    status: z.enum(REQUEST_STATUSES, { error: `must be one of ${REQUEST_STATUSES.join(", ")}` }),
    reason: z.enum(CLOSE_REASONS, { error: `must be one of ${CLOSE_REASONS.join(", ")}` }).nullish(),
    note: noteSchema("message").nullish(),
    expectedAt: z.date({ error: "must be a date" }).nullish(),
  })
  .superRefine((input, ctx) => {
    if (input.status === "closed" && !input.reason) ctx.addIssue({ code: "custom", path: ["reason"], message: "say why it is closed" });
    if (input.status !== "closed" && input.reason) ctx.addIssue({ code: "custom", path: ["reason"], message: "only a closing takes a reason" });
    if (input.status === "closed" && input.reason === "duplicate") {
      ctx.addIssue({ code: "custom", path: ["reason"], message: "merge a duplicate into the request it repeats instead" });
    }
  });

/**
 * Moves a request to another status along TRANSITIONS: its reporter and followers are told (in
 * their language, through the outbox). The first move out of "open" is its acknowledgement;
 * reopening clears the closing. A merged duplicate stays closed.
 */
export async function changeServiceRequestStatus(principal: Principal, input: StatusChange, context: ServiceContext = {}): Promise<ServiceRequestDetail> {
  const { tenantId, actor, actorUserId } = staffOf(principal, context);
  const { trackingId, status, reason, note, expectedAt } = parseInput(statusSchema, input);
  return onRequest(tenantId, trackingId, context, async (tx, request) => {
    const from = request.status;
    if (from === status) throw new Conflict("same_status", `The request is ${status.replace("_", " ")} already.`);
    if (request.mergedIntoId) throw new Conflict("merged", `The request is merged into ${request.mergedIntoTrackingId}: change that one.`);
    if (!canMove(from, status)) {
      throw new Conflict("transition_not_allowed", `A request cannot go from ${from.replace("_", " ")} to ${status.replace("_", " ")}.`);
    }
    const now = new Date();
    const { count } = await tx.reportingRequest.updateMany({
      // The status read is the one moved from: a concurrent change makes this one fail.
      where: { tenantId, id: request.id, status: from },
      data: {
        status,
        closeReason: status === "closed" ? reason! : null,
        closedAt: status === "closed" ? now : null,
        acknowledgedAt: request.acknowledgedAt ?? now,
        ...(expectedAt !== undefined && { expectedAt }),
      },
    });
    if (count === 0) throw new Conflict("changed_meanwhile", "The request changed meanwhile: reload it and try again.");
    const event = await addEvent(tx, tenantId, request.id, actor, {
      kind: "status_changed",
      public: true,
      fromStatus: from,
      toStatus: status,
      reason: status === "closed" ? reason : from === "closed" ? "reopened" : null,
      body: note ?? null,
    });
    await recordAudit(tx, tenantId, {
      actor,
      action: "reporting.request_status_changed",
      subject: { type: "reporting_request", id: request.id },
      before: { status: from, closeReason: request.closeReason },
      after: { status, closeReason: status === "closed" ? reason! : null, note: note ?? null },
      requestId: context.requestId,
    });
    await queueNotifications(tx, tenantId, { requestId: request.id, eventId: event.id, kind: "status_changed", exceptUserId: actorUserId });
    return (await findRequest(tx, tenantId, request.trackingId))!;
  });
}

/**
 * One unit of work on a request of a city that runs reporting: the request by its tracking id
 * (another city's, or none: NotFound), then `work` with it.
 */
async function onRequest<T>(
  tenantId: string,
  trackingId: string,
  context: ServiceContext,
  work: (tx: Tx, request: ServiceRequestDetail) => Promise<T>,
): Promise<T> {
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const request = await findRequest(tx, tenantId, trackingId);
      if (!request) throw new NotFound("service request");
      return work(tx, request);
    },
    context.database,
  );
}

// --- Notes and updates ----------------------------------------------------------------------

export type RequestEvent = ReportingEvent;

const internalNoteSchema = z.strictObject({ trackingId: trackingIdSchema, body: noteSchema("note") });

/** A note for staff only: residents, followers and Open311 never see it. */
export async function addInternalNote(principal: Principal, input: { trackingId: string; body: string }, context: ServiceContext = {}): Promise<RequestEvent> {
  const { tenantId, actor } = staffOf(principal, context);
  const { trackingId, body } = parseInput(internalNoteSchema, input);
  return onRequest(tenantId, trackingId, context, async (tx, request) => {
    const event = await addEvent(tx, tenantId, request.id, actor, { kind: "internal_note", public: false, body });
    await recordAudit(tx, tenantId, {
      actor,
      action: "reporting.internal_note_added",
      subject: { type: "reporting_request", id: request.id },
      after: { eventId: event.id },
      requestId: context.requestId,
    });
    return tx.reportingEvent.findFirstOrThrow({ where: { tenantId, id: event.id } });
  });
}

const publicUpdateSchema = z.strictObject({ trackingId: trackingIdSchema, body: noteSchema("update") });

/** A message to the public about a request: shown on its page and sent to reporter and followers. */
export async function postPublicUpdate(principal: Principal, input: { trackingId: string; body: string }, context: ServiceContext = {}): Promise<RequestEvent> {
  const { tenantId, actor, actorUserId } = staffOf(principal, context);
  const { trackingId, body } = parseInput(publicUpdateSchema, input);
  return onRequest(tenantId, trackingId, context, async (tx, request) => {
    const event = await addEvent(tx, tenantId, request.id, actor, { kind: "public_update", public: true, body });
    // The public page and Open311 show the request as updated.
    await tx.reportingRequest.updateMany({ where: { tenantId, id: request.id }, data: { updatedAt: new Date() } });
    await recordAudit(tx, tenantId, {
      actor,
      action: "reporting.public_update_posted",
      subject: { type: "reporting_request", id: request.id },
      after: { eventId: event.id, body },
      requestId: context.requestId,
    });
    await queueNotifications(tx, tenantId, { requestId: request.id, eventId: event.id, kind: "public_update", exceptUserId: actorUserId });
    return tx.reportingEvent.findFirstOrThrow({ where: { tenantId, id: event.id } });
  });
}

// --- History ------------------------------------------------------------------------------

/**
 * A request's history, oldest first: its public events for anyone; internal notes and
 * assignments too for staff.
 */
export async function serviceRequestHistory(principal: Principal, input: { trackingId: string }, context: ServiceContext = {}): Promise<RequestEvent[]> {
  const tenantId = readerCity(principal, context);
  const staff = isStaff(principal, tenantId);
  return onRequest(tenantId, String(input.trackingId ?? ""), context, (tx, request) =>
    tx.reportingEvent.findMany({
      where: { tenantId, requestId: request.id, ...(staff ? {} : { public: true }) },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  );
}

/** Staff members of the city a request can be assigned to (people with staff or admin). */
/**
 * People who may be assigned a request: staff or admins of the city, by a membership granted in
 * Civitas or by the roles their identity provider gave them at their last sign-in. (SQL: the
 * embedded database's driver cannot compare an enum array through Prisma's filters.)
 */
async function staffUserIds(tx: Tx, tenantId: string, only?: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT u.id::text AS id FROM users u
     WHERE u.tenant_id = ${tenantId}::uuid
       AND (${only ?? null}::text IS NULL OR u.id = ${only ?? null}::uuid)
       AND (u.provider_roles && ARRAY['staff', 'admin']::member_role[]
            OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.role IN ('staff', 'admin')))`;
  return rows.map((row) => row.id);
}

export async function assignableStaff(principal: Principal, context: ServiceContext = {}): Promise<{ userId: string; displayName: string | null; email: string | null }[]> {
  const { tenantId } = staffOf(principal, context);
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const users = await tx.user.findMany({
        where: { tenantId, id: { in: await staffUserIds(tx, tenantId) } },
        select: { id: true, displayName: true, email: true },
        orderBy: [{ displayName: "asc" }, { email: "asc" }],
      });
      return users.map((user) => ({ userId: user.id, displayName: user.displayName, email: user.email }));
    },
    context.database,
  );
}
