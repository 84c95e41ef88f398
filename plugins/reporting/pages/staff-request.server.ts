// One report as staff see it (reporting.triage): everything, the reporter's contact and the
// internal notes included, with the forms to move it along: status (with a reason to close and
// a message to the public), assignment, internal note, public update, merge into the report it
// repeats (open reports of the same category nearby are suggested).
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "../../../app/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "../../../app/auth/errors";
import { can } from "../../../app/auth/permissions";
import { notFound } from "../../../app/tenancy/guard.server";
import { getServiceCategory } from "../categories.server";
import { findDuplicateCandidates, getServiceRequest, mergeServiceRequests, normaliseTrackingId, REQUEST_STATUSES, type RequestStatus } from "../requests.server";
import {
  addInternalNote,
  assignableStaff,
  assignServiceRequest,
  changeServiceRequestStatus,
  CLOSE_REASONS,
  postPublicUpdate,
  serviceRequestHistory,
  TRANSITIONS,
} from "../triage.server";
import { attributeFields, type FieldError } from "./index.server";
import { displayOf, historyOf, localText, NO_STORE, pageTitle, staffPage, text, trackingIdParam } from "./page.server";

type Args = Pick<LoaderFunctionArgs, "request" | "context" | "params">;

/** The forms of the page; each answers its own errors. */
export type StaffForm = "status" | "assign" | "note" | "update" | "merge";

export type StaffActionResult = { form: StaffForm; errors: Record<string, FieldError>; values: Record<string, string> };

const DONE = ["status", "assign", "note", "update", "merge"] as const;


async function staffRequest(args: Args) {
  const page = await staffPage(args, "reporting.triage");
  const trackingId = trackingIdParam(args.params);
  try {
    return { page, trackingId, request: await getServiceRequest(page.principal, { trackingId }, page.service) };
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

export async function staffRequestPage(args: LoaderFunctionArgs) {
  const { page, trackingId, request } = await staffRequest(args);
  const url = new URL(args.request.url);
  if (args.params.trackingId !== trackingId) throw redirect(`${page.servicePath}/staff/requests/${trackingId}`, { headers: NO_STORE });
  const [events, staff, category, nearby] = await Promise.all([
    serviceRequestHistory(page.principal, { trackingId }, page.service),
    assignableStaff(page.principal, page.service),
    // An archived category is only shown to those who configure: its questions are then unknown.
    getServiceCategory(page.principal, { id: request.category.id }, page.service).catch((error: unknown) => {
      if (error instanceof NotFound) return null;
      throw error;
    }),
    request.latitude !== null && request.longitude !== null && !request.mergedIntoId
      ? findDuplicateCandidates(page.principal, { categoryId: request.category.id, latitude: request.latitude, longitude: request.longitude }, page.service)
      : Promise.resolve([]),
  ]);
  const names = new Map(staff.map((member) => [member.userId, member.displayName ?? member.email ?? member.userId]));
  const fields = category ? attributeFields(page, category.attributes) : [];
  const done = url.searchParams.get("done");
  return json(
    {
      title: pageTitle(page, "reporting:staff.request.title", { trackingId }),
      display: displayOf(page),
      servicePath: page.servicePath,
      canConfigure: can(page.principal, "reporting.configure"),
      done: (DONE as readonly string[]).includes(done ?? "") ? (done as StaffForm) : null,
      request: {
        trackingId: request.trackingId,
        category: localText(page, request.category.names),
        status: request.status,
        closeReason: request.closeReason,
        description: request.description,
        address: request.address,
        latitude: request.latitude,
        longitude: request.longitude,
        source: request.source,
        createdAt: request.createdAt.toISOString(),
        acknowledgedAt: request.acknowledgedAt?.toISOString() ?? null,
        closedAt: request.closedAt?.toISOString() ?? null,
        mergedInto: request.mergedIntoTrackingId,
        assigneeUserId: request.assigneeUserId,
        assignee: request.assigneeUserId ? (names.get(request.assigneeUserId) ?? null) : null,
        reporter: {
          name: [request.reporterFirstName, request.reporterLastName].filter(Boolean).join(" ") || null,
          email: request.reporterEmail,
          phone: request.reporterPhone,
          account: request.reporterUserId !== null,
        },
        attributes: fields.flatMap((field) => {
          const value = (request.attributeValues as Record<string, unknown>)[field.code];
          if (value === undefined || value === null || !field.variable) return [];
          const shown = (Array.isArray(value) ? value : [value]).map((entry) => {
            const choice = field.choices.find((candidate) => candidate.key === String(entry));
            return choice ? choice.label.text : String(entry);
          });
          return [{ code: field.code, label: field.label, value: shown.join(", "), datatype: field.datatype }];
        }),
        photos: request.photoIds.map((id) => `${page.servicePath}/photos/${id}`),
        mediaUrl: request.mediaUrl,
      },
      history: await historyOf(page, events, { staff: true, names }),
      nextStatuses: request.mergedIntoId ? [] : TRANSITIONS[request.status],
      closeReasons: CLOSE_REASONS.filter((reason) => reason !== "duplicate"),
      staff: staff.map((member) => ({ userId: member.userId, name: names.get(member.userId)! })),
      duplicates: nearby
        .filter((candidate) => candidate.id !== request.id)
        .map((candidate) => ({ trackingId: candidate.trackingId, status: candidate.status, distanceMeters: candidate.distanceMeters, description: candidate.description.slice(0, 140), createdAt: candidate.createdAt.toISOString() })),
    },
    { headers: NO_STORE },
  );
}

/** The refusals of the services as messages on the form that was sent. */
const CONFLICTS: Record<string, string> = {
  same_status: "reporting:staff.errors.sameStatus",
  merged: "reporting:staff.errors.merged",
  transition_not_allowed: "reporting:staff.errors.transition",
  changed_meanwhile: "reporting:staff.errors.changedMeanwhile",
  already_merged: "reporting:staff.errors.alreadyMerged",
  target_merged: "reporting:staff.errors.targetMerged",
};

export async function staffRequestAction(args: ActionFunctionArgs) {
  const { page, trackingId } = await staffRequest(args);
  const form = await readCheckedForm(args.request);
  const intent = text(form, "intent") as StaffForm;
  const values = Object.fromEntries([...form.entries()].filter(([name, value]) => name !== "csrf" && typeof value === "string")) as Record<string, string>;
  const refuse = (errors: Record<string, FieldError>, status = 400) => json<StaffActionResult>({ form: intent, errors, values }, { status, headers: NO_STORE });
  const done = (form: StaffForm, target = trackingId) => redirect(`${page.servicePath}/staff/requests/${target}?done=${form}`, { status: 303, headers: NO_STORE });
  try {
    switch (intent) {
      case "status": {
        const status = text(form, "status");
        if (!(REQUEST_STATUSES as readonly string[]).includes(status)) return refuse({ status: { key: "reporting:staff.errors.status" } });
        await changeServiceRequestStatus(
          page.principal,
          { trackingId, status: status as RequestStatus, reason: status === "closed" ? text(form, "reason") || null : null, note: text(form, "note").trim() || null },
          page.service,
        );
        return done("status");
      }
      case "assign":
        await assignServiceRequest(page.principal, { trackingId, assigneeUserId: text(form, "assignee") || null }, page.service);
        return done("assign");
      case "note":
        await addInternalNote(page.principal, { trackingId, body: text(form, "body") }, page.service);
        return done("note");
      case "update":
        await postPublicUpdate(page.principal, { trackingId, body: text(form, "body") }, page.service);
        return done("update");
      case "merge": {
        const into = normaliseTrackingId(text(form, "into"));
        if (!into) return refuse({ into: { key: "reporting:staff.errors.mergeTarget" } });
        await mergeServiceRequests(page.principal, { duplicateTrackingId: trackingId, intoTrackingId: into, note: text(form, "note").trim() || null }, page.service);
        return done("merge");
      }
      default:
        return new Response("Bad Request: unknown intent\n", { status: 400, headers: { "Content-Type": "text/plain", ...NO_STORE } });
    }
  } catch (error) {
    if (error instanceof ValidationFailed) {
      const errors: Record<string, FieldError> = {};
      for (const field of Object.keys(error.fields)) {
        if (field === "reason") errors.reason = { key: "reporting:staff.errors.reason" };
        else if (field === "note" || field === "body") errors[field] = { key: text(form, field).trim() === "" ? "reporting:staff.errors.textMissing" : "reporting:staff.errors.textTooLong", values: { max: 4000 } };
        else if (field === "assigneeUserId") errors.assignee = { key: "reporting:staff.errors.assignee" };
        else if (field === "intoTrackingId") errors.into = { key: "reporting:staff.errors.mergeSelf" };
        else errors.form = { key: "reporting:form.errors.generic" };
      }
      return refuse(errors);
    }
    if (error instanceof Conflict) return refuse({ form: { key: CONFLICTS[error.reason] ?? "reporting:form.errors.generic" } }, 409);
    // The other request of a merge does not exist (this one does: it was found above).
    if (error instanceof NotFound && intent === "merge") return refuse({ into: { key: "reporting:staff.errors.mergeTargetMissing" } });
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}
