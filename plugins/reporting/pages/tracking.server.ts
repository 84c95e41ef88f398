// A report's public page, found by its tracking id: its category, status, place, photos and
// public history (never who reported it, never internal notes), and following it: by account
// when signed in, by email otherwise (where the city takes reports from anyone).
import { limitAction } from "../../../app/auth/rate-limits.server";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "../../../app/auth/csrf.server";
import { Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../../../app/auth/errors";
import { ANONYMOUS } from "../../../app/auth/permissions";
import { notFound } from "../../../app/tenancy/guard.server";
import { followServiceRequest, getServiceRequest, isFollowing, isStaff, unfollowServiceRequest } from "../requests.server";
import { serviceRequestHistory } from "../triage.server";
import type { FieldError } from "./index.server";
import { displayOf, forbidden, historyOf, localText, NO_STORE, pageTitle, reportingPage, signInPath, text, trackingIdParam } from "./page.server";

type TrackingArgs = Pick<LoaderFunctionArgs, "request" | "context" | "params">;


export async function trackingPage(args: TrackingArgs) {
  const page = await reportingPage(args);
  const trackingId = trackingIdParam(args.params);
  const url = new URL(args.request.url);
  // One address per report: "k7m2q9xh" goes to "K7M2-Q9XH".
  if (args.params.trackingId !== trackingId) throw redirect(`${page.servicePath}/requests/${trackingId}${url.search}`, { headers: NO_STORE });
  let request;
  try {
    request = await getServiceRequest(page.principal, { trackingId }, page.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
  // The public history, whoever looks (staff see the rest on the staff page).
  const [events, following] = await Promise.all([
    serviceRequestHistory(ANONYMOUS, { trackingId }, page.service),
    isFollowing(page.principal, request.id, page.service),
  ]);
  const anonymous = page.principal.kind === "anonymous";
  return json(
    {
      title: pageTitle(page, "reporting:page.tracking.title", { trackingId }),
      display: displayOf(page),
      servicePath: page.servicePath,
      request: {
        trackingId: request.trackingId,
        category: localText(page, request.category.names),
        status: request.status,
        closeReason: request.closeReason,
        description: request.description,
        address: request.address,
        latitude: request.latitude,
        longitude: request.longitude,
        createdAt: request.createdAt.toISOString(),
        updatedAt: request.updatedAt.toISOString(),
        expectedAt: request.expectedAt?.toISOString() ?? null,
        mergedInto: request.mergedIntoTrackingId,
        photos: request.photoIds.map((id) => `${page.servicePath}/photos/${id}`),
      },
      history: await historyOf(page, events, { staff: false }),
      following,
      // Who may follow here: a person of the city by account, anyone else by email if the city allows.
      follow: page.principal.kind === "user" ? "account" : anonymous && page.settings.anonymousReports ? "email" : null,
      signInHref: signInPath(page.basePath, args.request),
      staffHref: isStaff(page.principal, page.tenantId) ? `${page.servicePath}/staff/requests/${request.trackingId}` : null,
      notice: url.searchParams.has("reported") ? "reported" : url.searchParams.has("following") ? "following" : url.searchParams.has("unfollowed") ? "unfollowed" : null,
    },
    { headers: NO_STORE },
  );
}

export type FollowResult = { errors: Record<string, FieldError>; email: string };

export async function followAction(args: ActionFunctionArgs) {
  const page = await reportingPage(args);
  const trackingId = trackingIdParam(args.params);
  const form = await readCheckedForm(args.request);
  const intent = text(form, "intent");
  const email = text(form, "email").trim();
  const back = `${page.servicePath}/requests/${trackingId}`;
  try {
    if (intent === "follow") {
      // Following by email sends mail to that address: at most 30 from one address in 10 minutes.
      await limitAction(args.context, "reporting.follow", 30, 600);
      await followServiceRequest(page.principal, { trackingId, email: page.principal.kind === "anonymous" ? email || null : null }, page.service);
      return redirect(`${back}?following=1`, { status: 303, headers: NO_STORE });
    }
    if (intent === "unfollow") {
      await unfollowServiceRequest(page.principal, { trackingId }, page.service);
      return redirect(`${back}?unfollowed=1`, { status: 303, headers: NO_STORE });
    }
  } catch (error) {
    if (error instanceof ValidationFailed) {
      return json<FollowResult>({ errors: { email: { key: "reporting:form.errors.followEmail" } }, email }, { status: 400, headers: NO_STORE });
    }
    if (error instanceof NotFound) throw notFound();
    if (error instanceof Unauthenticated) throw redirect(signInPath(page.basePath, args.request), { headers: NO_STORE });
    if (error instanceof Forbidden) throw forbidden();
    throw error;
  }
  return new Response("Bad Request: unknown intent\n", { status: 400, headers: { "Content-Type": "text/plain", ...NO_STORE } });
}
