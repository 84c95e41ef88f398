// The city's people and their roles: staff read the list, admins grant and revoke staff and
// admin (the services in app/auth/members.server.ts decide; these fields only call them).
import { NIL_UUID, UUID_PATTERN } from "../../app/db/database.server";
import { grantRole, memberRoles, queryMembers, revokeRole } from "../../app/auth/members.server";
import { builder, MUTATION_ERRORS, PAGE_SIZES } from "../builder";
import { City } from "../city/city";
import { atomically, type GraphQLContext } from "../context";

export const CityRoleEnum = builder.enumType("CityRole", {
  description: "Roles at a city: everyone is a resident; staff and admin come on top.",
  values: ["resident", "staff", "admin"] as const,
});

const GrantableRole = builder.enumType("GrantableRole", { values: ["staff", "admin"] as const });

/** Lookups by id: scoped to the request's city in the statement itself (RLS is the backstop). */
export function cityKey(context: GraphQLContext, id: string) {
  // A made-up id is simply not found (and never reaches PostgreSQL's uuid parser).
  const valid = context.city !== null && UUID_PATTERN.test(id);
  return { tenantId_id: { tenantId: valid ? context.city!.id : NIL_UUID, id: valid ? id : NIL_UUID } };
}

const isSelf = (context: GraphQLContext, userId: string) =>
  context.principal.kind === "user" && context.principal.userId === userId && context.principal.tenantId === context.city?.id;

export const Member = builder.prismaNode("User", {
  variant: "Member",
  id: { resolve: (user) => user.id },
  findUnique: (id, context) => cityKey(context, id),
  description: "A person known to the city (signed in at least once).",
  // People see themselves; the city's staff see everyone.
  authScopes: (user, context) => (isSelf(context, user.id) ? true : { cityPermission: "members.read" }),
  select: { id: true },
  fields: (t) => ({
    displayName: t.exposeString("displayName", { nullable: true }),
    email: t.exposeString("email", { nullable: true }),
    locale: t.exposeString("locale", { nullable: true, description: "The language the person chose for the city's pages." }),
    roles: t.field({
      type: [CityRoleEnum],
      select: { memberships: { select: { role: true } }, providerRoles: true },
      resolve: (user) => memberRoles(user),
    }),
    providerRoles: t.field({
      type: [CityRoleEnum],
      description: "The roles that come from the identity provider's realm roles (managed there).",
      select: { providerRoles: true },
      resolve: (user) => user.providerRoles,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.prismaObjectField(City, "members", (t) =>
  t.prismaConnection({
    type: Member,
    cursor: "tenantId_id",
    ...PAGE_SIZES,
    description: "The city's people, by id; `role` keeps those holding it through a membership.",
    authScopes: { cityPermission: "members.read" },
    args: { role: t.arg({ type: CityRoleEnum, required: false }) },
    resolve: (query, _city, { role }, context) => queryMembers(context.principal, { role }, context.service, query),
  }),
);

const RoleChange = builder.objectRef<{ userId: string; role: "staff" | "admin"; changed: boolean }>("RoleChange").implement({
  fields: (t) => ({
    role: t.field({ type: GrantableRole, resolve: (change) => change.role }),
    changed: t.exposeBoolean("changed", { description: "False when the person already had (or did not have) the role." }),
    member: t.prismaField({
      type: Member,
      resolve: (query, change, _args, context) => context.db().user.findUniqueOrThrow({ ...query, where: cityKey(context, change.userId) }),
    }),
  }),
});


builder.mutationFields((t) => ({
  grantRole: t.field({
    type: RoleChange,
    description: "Gives a person of this city the staff or admin role.",
    authScopes: { cityPermission: "members.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { memberId: t.arg.globalID({ required: true, for: Member }), role: t.arg({ type: GrantableRole, required: true }) },
    resolve: (_root, { memberId, role }, context) =>
      atomically(context, () => grantRole(context.principal, { userId: memberId.id, role }, context.service)),
  }),
  revokeRole: t.field({
    type: RoleChange,
    description: "Takes the staff or admin role from a person of this city; the last admin keeps theirs (CONFLICT).",
    authScopes: { cityPermission: "members.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { memberId: t.arg.globalID({ required: true, for: Member }), role: t.arg({ type: GrantableRole, required: true }) },
    resolve: (_root, { memberId, role }, context) =>
      atomically(context, () => revokeRole(context.principal, { userId: memberId.id, role }, context.service)),
  }),
}));
