// The city's people and their roles (staff read, admins change), and the invitations to join as
// staff or admin: created with a link shown once, listed while pending, revoked.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { requireCityConsole } from "~/auth/console.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import { grantRole, listMembers, revokeRole } from "~/auth/members.server";
import { can } from "~/auth/permissions";
import { createInvitation, listInvitations, revokeInvitation } from "~/cities/invitations.server";
import { UUID_PATTERN } from "~/db/database.server";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const NO_STORE = { "Cache-Control": "no-store" };

const ERRORS = {
  email: "admin:members.errors.email",
  role: "admin:members.errors.role",
  lastAdmin: "admin:members.errors.lastAdmin",
  accepted: "admin:members.errors.accepted",
} as const;

const NOTICES = ["granted", "revoked", "invitationRevoked"] as const;
type Notice = (typeof NOTICES)[number];

export type MembersResult =
  | { kind: "invited"; email: string; role: "staff" | "admin"; link: string; expiresAt: string }
  | { kind: "invalid"; errors: { email?: string; role?: string }; values: { email: string; role: string } }
  | { kind: "refused"; error: string };

export async function membersPage(args: Args) {
  const { principal, tenantId, basePath } = await requireCityConsole(args, "members.read");
  const url = new URL(args.request.url);
  const after = url.searchParams.get("after");
  const cursor = after && UUID_PATTERN.test(after) ? after : undefined;
  const manage = can(principal, "members.manage");
  const [members, invitations, locale] = await Promise.all([
    listMembers(principal, { limit: 50, cursor }, { tenantId }),
    manage ? listInvitations(principal, { status: "pending", first: 100 }, { tenantId }) : null,
    pageLocale(args.request, args.context),
  ]);
  const notice = url.searchParams.get("done");
  return json(
    {
      title: `${translator(locale, "admin")("members.title")} – ${siteName(args.context, locale).text}`,
      basePath,
      locale,
      manage,
      members: members.members.map((member) => ({
        userId: member.userId,
        name: member.displayName,
        email: member.email,
        roles: member.roles,
        providerRoles: member.providerRoles,
        isYou: principal.kind === "user" && principal.userId === member.userId,
      })),
      nextHref: members.nextCursor ? `${basePath}/admin/members?after=${members.nextCursor}` : null,
      invitations: (invitations?.invitations ?? []).map((invitation) => ({
        id: invitation.id,
        email: invitation.email,
        role: invitation.role,
        createdAt: invitation.createdAt.toISOString(),
        expiresAt: invitation.expiresAt.toISOString(),
      })),
      notice: (NOTICES as readonly string[]).includes(notice ?? "") ? (notice as Notice) : null,
    },
    { headers: NO_STORE },
  );
}

export async function changeMembers(args: Args) {
  const { principal, tenantId, basePath } = await requireCityConsole(args, "members.manage");
  const { request, context } = args;
  const form = await readCheckedForm(request);
  const service = { tenantId, requestId: context.requestId };
  const done = (notice: Notice) => redirect(`${basePath}/admin/members?done=${notice}`, { status: 303, headers: NO_STORE });
  const refused = (error: string) => json<MembersResult>({ kind: "refused", error }, { status: 409, headers: NO_STORE });
  const intent = String(form.get("intent") ?? "");

  try {
    if (intent === "grant" || intent === "revoke") {
      const role = String(form.get("role") ?? "");
      if (role !== "staff" && role !== "admin") return json({ error: "unknown role" }, { status: 400, headers: NO_STORE });
      const input = { userId: String(form.get("userId") ?? ""), role } as const;
      if (intent === "grant") await grantRole(principal, input, service);
      else await revokeRole(principal, input, service);
      return done(intent === "grant" ? "granted" : "revoked");
    }
    if (intent === "revokeInvitation") {
      await revokeInvitation(principal, { id: String(form.get("id") ?? "") }, service);
      return done("invitationRevoked");
    }
    if (intent === "invite") {
      const email = String(form.get("email") ?? "").trim();
      const role = String(form.get("role") ?? "");
      const errors: { email?: string; role?: string } = {};
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) errors.email = ERRORS.email;
      if (role !== "staff" && role !== "admin") errors.role = ERRORS.role;
      const invalid = () => json<MembersResult>({ kind: "invalid", errors, values: { email, role } }, { status: 400, headers: NO_STORE });
      if (Object.keys(errors).length > 0 || (role !== "staff" && role !== "admin")) return invalid();
      try {
        const created = await createInvitation(principal, { email, role }, service);
        const link = `${new URL(request.url).origin}${basePath}/invitations/${created.token}`;
        return json<MembersResult>(
          { kind: "invited", email: created.email, role: created.role, link, expiresAt: created.expiresAt.toISOString() },
          { headers: NO_STORE },
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        if (error.fields.email) errors.email = ERRORS.email;
        if (error.fields.role) errors.role = ERRORS.role;
        return invalid();
      }
    }
  } catch (error) {
    // Another city's person or invitation is not found here, as a missing one.
    if (error instanceof NotFound) throw notFound();
    if (error instanceof Conflict) return refused(error.reason === "last_admin" ? ERRORS.lastAdmin : ERRORS.accepted);
    throw error;
  }
  return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
}
