// Invitations to join a city as staff or admin: admins create and revoke them; the invited person,
// signed in at the city, accepts with the token from their invitation.
import {
  acceptInvitation,
  createInvitation,
  invitationCursor,
  listInvitations,
  revokeInvitation,
} from "../../app/cities/invitations.server";
import { builder, MUTATION_ERRORS } from "../builder";
import { City } from "../city/city";
import { atomically } from "../context";
import { connectionOf, forwardOnly, nodeSelection } from "../pagination";
import { cityKey, CityRoleEnum } from "./members";

const InvitationStatus = builder.enumType("InvitationStatus", { values: ["pending", "accepted", "revoked", "expired"] as const });
const InvitationRole = builder.enumType("InvitationRole", { values: ["staff", "admin"] as const });

const statusOf = (invitation: { acceptedAt: Date | null; revokedAt: Date | null; expiresAt: Date }) =>
  invitation.acceptedAt ? "accepted" : invitation.revokedAt ? "revoked" : invitation.expiresAt <= new Date() ? "expired" : "pending";

export const Invitation = builder.prismaNode("Invitation", {
  id: { resolve: (invitation) => invitation.id },
  findUnique: (id, context) => cityKey(context, id),
  authScopes: { cityPermission: "members.manage" },
  select: { id: true },
  fields: (t) => ({
    email: t.exposeString("email"),
    role: t.field({ type: InvitationRole, select: { role: true }, resolve: (invitation) => invitation.role as "staff" | "admin" }),
    status: t.field({
      type: InvitationStatus,
      select: { acceptedAt: true, revokedAt: true, expiresAt: true },
      resolve: statusOf,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    acceptedAt: t.expose("acceptedAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.objectField(City, "invitations", (t) =>
  t.connection({
    type: Invitation,
    description: "Invitations to join the city, newest first (admins).",
    authScopes: { cityPermission: "members.manage" },
    args: { status: t.arg({ type: InvitationStatus, required: false }) },
    resolve: async (_city, args, context, info) => {
      forwardOnly(args);
      const page = await listInvitations(context.principal, args, context.service, nodeSelection(context, info));
      return connectionOf(page.invitations, page, invitationCursor);
    },
  }),
);

const CreatedInvitation = builder.objectRef<{ id: string; token: string }>("CreatedInvitation").implement({
  fields: (t) => ({
    token: t.exposeString("token", { description: "Shown once: send it to the person (only its hash is kept)." }),
    invitation: t.prismaField({
      type: Invitation,
      resolve: (query, created, _args, context) => context.db().invitation.findUniqueOrThrow({ ...query, where: cityKey(context, created.id) }),
    }),
  }),
});

const RevokedInvitation = builder.objectRef<{ id: string; changed: boolean }>("RevokedInvitation").implement({
  fields: (t) => ({
    changed: t.exposeBoolean("changed"),
    invitation: t.prismaField({
      type: Invitation,
      resolve: (query, revoked, _args, context) => context.db().invitation.findUniqueOrThrow({ ...query, where: cityKey(context, revoked.id) }),
    }),
  }),
});

const AcceptedInvitation = builder
  .objectRef<{ role: "staff" | "admin"; roles: ("resident" | "staff" | "admin")[]; granted: boolean }>("AcceptedInvitation")
  .implement({
    fields: (t) => ({
      role: t.field({ type: InvitationRole, resolve: (accepted) => accepted.role }),
      roles: t.field({ type: [CityRoleEnum], description: "The person's roles at the city now.", resolve: (accepted) => accepted.roles }),
      granted: t.exposeBoolean("granted", { description: "False when the person held the role already." }),
    }),
  });

builder.mutationFields((t) => ({
  createInvitation: t.field({
    type: CreatedInvitation,
    description: "Invites someone by email to become staff or admin; the token is in the answer, once.",
    authScopes: { cityPermission: "members.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { email: t.arg.string({ required: true }), role: t.arg({ type: InvitationRole, required: true }) },
    resolve: (_root, args, context) => atomically(context, () => createInvitation(context.principal, args, context.service)),
  }),
  revokeInvitation: t.field({
    type: RevokedInvitation,
    authScopes: { cityPermission: "members.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.globalID({ required: true, for: Invitation }) },
    resolve: (_root, { id }, context) => atomically(context, () => revokeInvitation(context.principal, { id: id.id }, context.service)),
  }),
  acceptInvitation: t.field({
    type: AcceptedInvitation,
    description: "The signed-in person takes the role their invitation offers.",
    authScopes: { signedIn: true },
    errors: { types: MUTATION_ERRORS },
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => atomically(context, () => acceptInvitation(context.principal, args, context.service)),
  }),
}));
