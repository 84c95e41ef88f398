// The page an invitation link opens: which city and role it is for, and how to accept it. Someone
// signed in at the city accepts at once; someone without a password yet (the embedded provider
// made their account, or none exists) chooses one here, then signs in and accepts. A used,
// revoked, expired or unknown token is said so, and changes nothing.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { recordCityAudit } from "~/audit/audit.server";
import { principalOf } from "~/auth/account.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import { webScope } from "~/auth/sign-in.server";
import { acceptInvitation, hashToken, invitationStatus, type InvitationStatus } from "~/cities/invitations.server";
import { withTenant } from "~/db/database.server";
import { translator } from "~/i18n/i18n.server";
import { identity } from "~/identity/identity.server";
import { pageLocale, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string; token?: string } };

/**
 * The token is in the address: no other site gets it as a referrer, no cache keeps the page.
 * (same-origin, not no-referrer: with no-referrer browsers send "Origin: null" with the page's
 * forms, which the cross-origin check rightly refuses.)
 */
const HEADERS = { "Cache-Control": "no-store", "Referrer-Policy": "same-origin" };
export const MIN_PASSWORD = 10;
const MAX_PASSWORD = 1024;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const ERRORS = {
  passwordShort: "invitation:errors.passwordShort",
  passwordLong: "invitation:errors.passwordLong",
  passwordMismatch: "invitation:errors.passwordMismatch",
} as const;

export type InvitationState = InvitationStatus | "unknown";

export type InvitationResult =
  | { kind: "invalid"; errors: { password?: string; confirmation?: string } }
  | { kind: "hasPassword" }
  | { kind: "closed"; state: InvitationState };

async function cityScope(args: Args) {
  const scope = webScope(args.context, args.params);
  if (scope.kind !== "city" || args.context.tenant.kind !== "city") throw notFound();
  return { scope, realm: args.context.tenant.city.identityRealm };
}

async function findInvitation(tenantId: string, token: string | undefined) {
  if (!token || !TOKEN.test(token)) return null;
  const row = await withTenant(tenantId, (tx) =>
    tx.invitation.findUnique({
      where: { tenantId_tokenHash: { tenantId, tokenHash: hashToken(token) } },
      select: { id: true, email: true, role: true, expiresAt: true, acceptedAt: true, revokedAt: true },
    }),
  );
  return row ? { ...row, state: invitationStatus(row) as InvitationState } : null;
}

export async function invitationPage(args: Args) {
  const { scope } = await cityScope(args);
  const [invitation, principal, locale] = await Promise.all([
    findInvitation(scope.tenantId, args.params.token),
    principalOf(args.request, args.context),
    pageLocale(args.request, args.context),
  ]);
  const city = siteName(args.context, locale);
  const t = translator(locale, "invitation");
  const state: InvitationState = invitation?.state ?? "unknown";
  const { pathname } = new URL(args.request.url);
  return json(
    {
      title: `${t("title")} – ${city.text}`,
      cityName: city.text,
      state,
      // Only while it can be accepted: who it is for and what it brings.
      email: state === "pending" ? (invitation?.email ?? null) : null,
      role: state === "pending" ? (invitation?.role ?? null) : null,
      expiresAt: state === "pending" && invitation ? invitation.expiresAt.toISOString() : null,
      locale,
      signedIn: principal.kind === "user",
      canSetPassword: principal.kind !== "user" && typeof identity().backend.setFirstPassword === "function",
      signInHref: `${scope.basePath}/auth/login?returnTo=${encodeURIComponent(pathname)}`,
      minPassword: MIN_PASSWORD,
      homeHref: scope.basePath || "/",
    },
    { headers: HEADERS },
  );
}

export async function invitationAction(args: Args) {
  const { scope, realm } = await cityScope(args);
  const form = await readCheckedForm(args.request);
  const token = args.params.token ?? "";
  const closed = (state: InvitationState) => json<InvitationResult>({ kind: "closed", state }, { status: 409, headers: HEADERS });
  const intent = form.get("intent");

  if (intent === "accept") {
    const principal = await principalOf(args.request, args.context);
    if (principal.kind !== "user") {
      throw redirect(`${scope.basePath}/auth/login?returnTo=${encodeURIComponent(new URL(args.request.url).pathname)}`, { headers: HEADERS });
    }
    try {
      await acceptInvitation(principal, { token }, { tenantId: scope.tenantId, requestId: args.context.requestId });
    } catch (error) {
      if (error instanceof NotFound || error instanceof ValidationFailed) return closed("unknown");
      if (error instanceof Conflict) {
        return closed(error.reason === "invitation_revoked" ? "revoked" : error.reason === "invitation_expired" ? "expired" : "accepted");
      }
      throw error;
    }
    // Staff and admins both have the console: that is where the new role is used.
    return redirect(`${scope.basePath}/admin`, { status: 303, headers: HEADERS });
  }

  if (intent !== "password") return json({ error: "unknown intent" }, { status: 400, headers: HEADERS });
  const setFirstPassword = identity().backend.setFirstPassword;
  if (!setFirstPassword) return json({ error: "passwords are set at the identity provider" }, { status: 400, headers: HEADERS });
  const invitation = await findInvitation(scope.tenantId, token);
  if (!invitation || invitation.state !== "pending") return closed(invitation?.state ?? "unknown");

  const password = String(form.get("password") ?? "");
  const confirmation = String(form.get("confirmation") ?? "");
  const errors: { password?: string; confirmation?: string } = {};
  if (password.length < MIN_PASSWORD) errors.password = ERRORS.passwordShort;
  else if (password.length > MAX_PASSWORD) errors.password = ERRORS.passwordLong;
  else if (confirmation !== password) errors.confirmation = ERRORS.passwordMismatch;
  if (Object.keys(errors).length > 0) return json<InvitationResult>({ kind: "invalid", errors }, { status: 400, headers: HEADERS });

  const locale = await pageLocale(args.request, args.context);
  const outcome = await setFirstPassword.call(identity().backend, realm, { username: invitation.email, email: invitation.email, password, locale });
  if (outcome === "has_password") return json<InvitationResult>({ kind: "hasPassword" }, { status: 409, headers: HEADERS });
  await recordCityAudit(scope.tenantId, {
    actor: { type: "system" },
    action: "invitation.password_chosen",
    subject: { type: "invitation", id: invitation.id },
    after: { email: invitation.email },
    requestId: args.context.requestId,
  });
  // Signed in with the new password, they come back here to accept.
  return redirect(`${scope.basePath}/auth/login?returnTo=${encodeURIComponent(new URL(args.request.url).pathname)}`, { status: 303, headers: HEADERS });
}
