// Invitations to join a city as staff or admin. An admin invites an address and gets a token,
// shown once (Civitas keeps its SHA-256); the invitee signs in at the city and accepts with it.
// The token is the proof, not the address: whoever accepts is recorded next to whom it was for.
// An invitation is pending until it is accepted, revoked or past its 14 days.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { emailSchema } from "../auth/users.server";
import { DEFAULT_PAGE_SIZE, pageArguments, pageOf, timeCursor } from "../db/pages.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { Conflict, Forbidden, NotFound, parseInput } from "../auth/errors";
import { CITY_ROLES, requireCityPermission, type CityRole, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { UUID_PATTERN, withTenant, type Tx } from "../db/database.server";
import type { Invitation, Prisma } from "../db/generated/client.ts";

export const INVITATION_LIFETIME_DAYS = 14;
const DAY_MS = 86_400_000;

export type InvitationRole = "staff" | "admin";
export type InvitationStatus = "pending" | "accepted" | "revoked" | "expired";

/** An invitation as lists show it: never its token's hash. */
export type InvitationRow = Omit<Invitation, "tokenHash"> & { status: InvitationStatus };

/** What creating one answers; `token` is shown this once. */
export type CreatedInvitation = { id: string; email: string; role: InvitationRole; expiresAt: Date; token: string };

export type InvitationPage = {
  invitations: InvitationRow[];
  hasNextPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

export type RevokedInvitation = { id: string; revokedAt: Date; changed: boolean };

export type AcceptedInvitation = {
  id: string;
  role: InvitationRole;
  acceptedAt: Date;
  /** The person's roles at the city now (memberships). */
  roles: CityRole[];
  /** False when the person held the role already. */
  granted: boolean;
};

/** The Prisma selection GraphQL passes (Pothos plugin-prisma's `query`). */
export type InvitationQuery = { select?: Prisma.InvitationSelect } | { include?: Prisma.InvitationInclude };


const roleSchema = z.enum(["staff", "admin"], { error: "must be staff or admin" });

/** A token's stored form. */
export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

/** An invitation's state at `now`. */
export function invitationStatus(
  invitation: { acceptedAt: Date | null; revokedAt: Date | null; expiresAt: Date },
  now = new Date(),
): InvitationStatus {
  if (invitation.acceptedAt) return "accepted";
  if (invitation.revokedAt) return "revoked";
  return invitation.expiresAt <= now ? "expired" : "pending";
}

/** The cursor of an invitation (a connection edge's cursor). */
export const invitationCursor = (invitation: { id: string; createdAt: Date }): string =>
  timeCursor(invitation, invitation.createdAt);

/**
 * Writes an invitation and its `invitation.created` event inside the caller's unit of work (a
 * city's, or onboarding's platform one). Email and role are checked by the caller.
 */
export async function insertInvitation(
  tx: Tx,
  tenantId: string,
  { email, role, actor, requestId }: { email: string; role: InvitationRole; actor: AuditActor; requestId?: string | null },
): Promise<CreatedInvitation> {
  const id = randomUUID();
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + INVITATION_LIFETIME_DAYS * DAY_MS);
  await tx.invitation.create({
    data: {
      tenantId,
      id,
      email,
      role,
      tokenHash: hashToken(token),
      invitedByType: actor.type,
      invitedBy: actor.id ?? null,
      expiresAt,
    },
  });
  await recordAudit(tx, tenantId, {
    actor,
    action: "invitation.created",
    subject: { type: "invitation", id },
    after: { email, role, expiresAt: expiresAt.toISOString() },
    requestId,
  });
  return { id, email, role, expiresAt, token };
}

const createSchema = z.strictObject({ email: emailSchema, role: roleSchema });

/** Invites an address to the city as staff or admin (admins: members.manage). Returns the token, once. */
export async function createInvitation(
  principal: Principal,
  input: { email: string; role: InvitationRole },
  context: ServiceContext = {},
): Promise<CreatedInvitation> {
  const actor = requireCityPermission(principal, context.tenantId, "members.manage");
  const { tenantId } = actor;
  const { email, role } = parseInput(createSchema, input);
  return withTenant(
    tenantId,
    (tx) => insertInvitation(tx, tenantId, { email, role, actor: auditActor(actor), requestId: context.requestId }),
    context.database,
  );
}

const listSchema = z.strictObject({
  ...pageArguments,
  status: z
    .enum(["pending", "accepted", "revoked", "expired"], { error: "must be pending, accepted, revoked or expired" })
    .nullish(),
});

function statusWhere(status: InvitationStatus | null | undefined, now: Date): Prisma.InvitationWhereInput {
  switch (status) {
    case "pending":
      return { acceptedAt: null, revokedAt: null, expiresAt: { gt: now } };
    case "expired":
      return { acceptedAt: null, revokedAt: null, expiresAt: { lte: now } };
    case "accepted":
      return { acceptedAt: { not: null } };
    case "revoked":
      return { revokedAt: { not: null } };
    default:
      return {};
  }
}

// What the status and the cursors need, whatever the caller selects; the hash never leaves.
const NEEDED = { id: true, createdAt: true, expiresAt: true, acceptedAt: true, revokedAt: true } as const;

function selection(query: InvitationQuery | undefined) {
  if (query && "select" in query && query.select) {
    const { tokenHash: _hash, ...select } = query.select;
    return { select: { ...select, ...NEEDED } };
  }
  const include = query && "include" in query ? query.include : undefined;
  return { ...(include && { include }), omit: { tokenHash: true } } as const;
}

/** The city's invitations, newest first, optionally of one status (admins: members.manage). */
export async function listInvitations(
  principal: Principal,
  input: { status?: InvitationStatus | null; first?: number | null; after?: string | null } = {},
  context: ServiceContext = {},
  query?: InvitationQuery,
): Promise<InvitationPage> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "members.manage");
  const { status, first, after } = parseInput(listSchema, input);
  const size = first ?? DEFAULT_PAGE_SIZE;
  const now = new Date();
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.invitation.findMany({
        ...selection(query),
        where: { tenantId, ...statusWhere(status, now) },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: size + 1,
        ...(after && { cursor: { tenantId_id: { tenantId, id: after.id } }, skip: 1 }),
      } satisfies Prisma.InvitationFindManyArgs as Prisma.InvitationFindManyArgs),
    context.database,
  );
  const { rows: page, ...info } = pageOf(rows as Omit<Invitation, "tokenHash">[], size, invitationCursor);
  return { invitations: page.map((row) => ({ ...row, status: invitationStatus(row, now) })), ...info };
}

const idSchema = z.strictObject({ id: z.string({ error: "must be an invitation id" }) });

/**
 * Revokes a pending invitation (admins: members.manage): its token stops working. Revoking twice
 * changes nothing; an accepted one is a Conflict (revoke the role instead), an expired one is
 * revoked all the same (it shows as revoked).
 */
export async function revokeInvitation(
  principal: Principal,
  input: { id: string },
  context: ServiceContext = {},
): Promise<RevokedInvitation> {
  const actor = requireCityPermission(principal, context.tenantId, "members.manage");
  const { tenantId } = actor;
  const { id } = parseInput(idSchema, input);
  if (!UUID_PATTERN.test(id)) throw new NotFound("invitation");
  return withTenant(
    tenantId,
    async (tx) => {
      const row = await tx.invitation.findFirst({
        where: { tenantId, id },
        select: { email: true, role: true, acceptedAt: true, revokedAt: true },
      });
      if (!row) throw new NotFound("invitation");
      if (row.revokedAt) return { id, revokedAt: row.revokedAt, changed: false };
      if (row.acceptedAt) throw notRevocable();
      const revokedAt = new Date();
      const { count } = await tx.invitation.updateMany({
        where: { tenantId, id, acceptedAt: null, revokedAt: null },
        data: { revokedAt },
      });
      if (count === 0) {
        // Accepted or revoked by someone else a moment ago.
        const current = await tx.invitation.findFirstOrThrow({ where: { tenantId, id }, select: { revokedAt: true } });
        if (!current.revokedAt) throw notRevocable();
        return { id, revokedAt: current.revokedAt, changed: false };
      }
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "invitation.revoked",
        subject: { type: "invitation", id },
        before: { email: row.email, role: row.role, revokedAt: null },
        after: { email: row.email, role: row.role, revokedAt: revokedAt.toISOString() },
        requestId: context.requestId,
      });
      return { id, revokedAt, changed: true };
    },
    context.database,
  );
}

const notRevocable = () =>
  new Conflict("invitation_accepted", "This invitation has been accepted already: revoke the role instead.");
const usedAlready = () => new Conflict("invitation_accepted", "This invitation has been used already.");

const acceptSchema = z.strictObject({
  token: z
    .string({ error: "must be the invitation's token" })
    .trim()
    .regex(/^[A-Za-z0-9_-]{43}$/, { error: "is not an invitation token (43 letters, digits, - and _)" }),
});

const sortRoles = (roles: Iterable<string>): CityRole[] => CITY_ROLES.filter((role) => [...roles].includes(role));

/**
 * Accepts an invitation of the person's own city with its token: grants its role, and marks it
 * accepted (by them, whatever address it was sent to; the audit event says whether it matched).
 * A token of another city is not found; a used, revoked or expired one is a Conflict whose
 * reason says which (invitation_accepted, invitation_revoked, invitation_expired).
 */
export async function acceptInvitation(
  principal: Principal,
  input: { token: string },
  context: ServiceContext = {},
): Promise<AcceptedInvitation> {
  // Any person of the city (residents included); API clients cannot join a city.
  const actor = requireCityPermission(principal, context.tenantId, "profile.edit_own");
  if (actor.kind !== "user") throw new Forbidden("profile.edit_own");
  const { tenantId, userId } = actor;
  const { token } = parseInput(acceptSchema, input);
  return withTenant(
    tenantId,
    async (tx) => {
      const invitation = await tx.invitation.findUnique({
        where: { tenantId_tokenHash: { tenantId, tokenHash: hashToken(token) } },
        select: { id: true, email: true, role: true, expiresAt: true, acceptedAt: true, revokedAt: true },
      });
      if (!invitation) throw new NotFound("invitation");
      const now = new Date();
      const status = invitationStatus(invitation, now);
      if (status === "accepted") throw usedAlready();
      if (status === "revoked") {
        throw new Conflict("invitation_revoked", "This invitation was revoked: ask the city's administrators for a new one.");
      }
      if (status === "expired") {
        throw new Conflict("invitation_expired", "This invitation has expired: ask the city's administrators for a new one.");
      }
      const { id } = invitation;
      const role = invitation.role as InvitationRole;
      const { count } = await tx.invitation.updateMany({
        where: { tenantId, id, acceptedAt: null, revokedAt: null },
        data: { acceptedAt: now, acceptedBy: userId },
      });
      // Accepted or revoked by someone else between the read and now.
      if (count === 0) throw usedAlready();

      const person = await tx.user.findFirstOrThrow({
        where: { tenantId, id: userId },
        select: { email: true, memberships: { select: { role: true } } },
      });
      const before = sortRoles(["resident", ...person.memberships.map((m) => m.role)]);
      const inserted = await tx.membership.createMany({ data: [{ tenantId, userId, role }], skipDuplicates: true });
      const granted = inserted.count > 0;
      const roles = granted ? sortRoles([...before, role]) : before;
      const who = auditActor(actor);
      await recordAudit(tx, tenantId, {
        actor: who,
        action: "invitation.accepted",
        subject: { type: "invitation", id },
        before: { acceptedAt: null },
        after: {
          acceptedAt: now.toISOString(),
          acceptedBy: userId,
          email: invitation.email,
          acceptedByEmail: person.email,
          emailMatches: person.email?.toLowerCase() === invitation.email,
          role,
        },
        requestId: context.requestId,
      });
      if (granted) {
        await recordAudit(tx, tenantId, {
          actor: who,
          action: "membership.role_granted",
          subject: { type: "user", id: userId },
          before: { roles: before },
          after: { roles, via: "invitation", invitationId: id },
          requestId: context.requestId,
        });
      }
      return { id, role, acceptedAt: now, roles, granted };
    },
    context.database,
  );
}
