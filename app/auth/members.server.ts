// A city's members and their roles: staff read the list, admins grant and revoke staff and admin.
// Everyone is a resident (that role is never granted or revoked here), and a city always keeps
// at least one admin. Every change is audited with the roles before and after.
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { UUID_PATTERN, withTenant, type Tx } from "../db/database.server";
import type { Prisma } from "../db/generated/client.ts";
import { auditActor, type ServiceContext } from "./principal.server";
import { Conflict, NotFound, parseInput } from "./errors";
import { CITY_ROLES, requireCityPermission, type CityRole, type Principal } from "./permissions";

export type Member = {
  userId: string;
  email: string | null;
  displayName: string | null;
  locale: string | null;
  /** Roles held through Civitas memberships, and through the identity provider's realm roles. */
  roles: CityRole[];
  /** The part of `roles` that comes from the realm (as of the last sign-in); managed there. */
  providerRoles: CityRole[];
  createdAt: Date;
};

export type MemberPage = { members: Member[]; nextCursor: string | null };

export type RoleChange = { userId: string; role: "staff" | "admin"; roles: CityRole[]; changed: boolean };


const sortRoles = (roles: Iterable<string>): CityRole[] => CITY_ROLES.filter((role) => [...roles].includes(role));

const listSchema = z
  .object({
    role: z.enum(CITY_ROLES, { error: "must be resident, staff or admin" }).optional(),
    limit: z.number({ error: "must be a number" }).int().min(1).max(200, { error: "must be at most 200" }).optional(),
    cursor: z.string().regex(UUID_PATTERN, { error: "is not a cursor of this list" }).optional(),
  })
  .strict();

const queryFilterSchema = z.object({ role: listSchema.shape.role }).strict();

/** A Prisma selection and page window from GraphQL (Pothos' plugin-prisma). */
export type UserQuery = Pick<Prisma.UserFindManyArgs, "select" | "include" | "take" | "skip" | "cursor">;

/**
 * The city's people as rows with the caller's selection and window (GraphQL lists), ordered by
 * id; `role` keeps only those holding it through a membership.
 */
export async function queryMembers<Q extends UserQuery>(
  principal: Principal,
  filter: { role?: CityRole | null; after?: string },
  context: ServiceContext,
  query: Q,
): Promise<Prisma.UserGetPayload<Q>[]> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "members.read");
  const { role } = parseInput(queryFilterSchema, { role: filter.role ?? undefined });
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.user.findMany({
        ...query,
        where: {
          tenantId,
          ...(role && { memberships: { some: { role } } }),
          ...(filter.after && { id: { gt: filter.after } }),
        },
        orderBy: { id: "asc" },
      }),
    context.database,
  );
  // findMany's result type follows its argument's literal type, which a generic spread loses.
  return rows as Prisma.UserGetPayload<Q>[];
}

/**
 * The city's people with their roles, a page at a time (ordered by id; `cursor` is the last id
 * of the previous page). `role` keeps only those holding it.
 */
export async function listMembers(
  principal: Principal,
  input: { role?: CityRole; limit?: number; cursor?: string } = {},
  context: ServiceContext = {},
): Promise<MemberPage> {
  const { role, limit = 50, cursor } = parseInput(listSchema, input);
  const rows = await queryMembers(principal, { role, after: cursor }, context, {
    select: {
      id: true,
      email: true,
      displayName: true,
      locale: true,
      createdAt: true,
      providerRoles: true,
      memberships: { select: { role: true } },
    },
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    members: page.map((row) => ({
      userId: row.id,
      email: row.email,
      displayName: row.displayName,
      locale: row.locale,
      roles: memberRoles(row),
      providerRoles: sortRoles(row.providerRoles),
      createdAt: row.createdAt,
    })),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** A person's roles at the city: everyone's resident, plus memberships, plus the realm's. */
export function memberRoles(row: { memberships: readonly { role: CityRole }[]; providerRoles: readonly CityRole[] }): CityRole[] {
  return sortRoles(["resident", ...row.memberships.map((m) => m.role), ...row.providerRoles]);
}

const changeSchema = z
  .object({
    userId: z.string({ error: "must be a user id" }),
    role: z.enum(["staff", "admin"], { error: "must be staff or admin" }),
  })
  .strict();

type ChangeInput = { userId: string; role: "staff" | "admin" };

async function rolesOf(tx: Tx, tenantId: string, userId: string): Promise<CityRole[] | null> {
  const user = await tx.user.findFirst({
    where: { tenantId, id: userId },
    select: { memberships: { select: { role: true } } },
  });
  return user ? sortRoles(["resident", ...user.memberships.map((m) => m.role)]) : null;
}

/**
 * One role change at this city: the permission, the input and the person are checked, `apply`
 * changes the memberships (returning how many rows it touched), and a real change is audited.
 */
async function changeRole(
  principal: Principal,
  input: ChangeInput,
  context: ServiceContext,
  change: {
    action: "membership.role_granted" | "membership.role_revoked";
    apply(tx: Tx, target: { tenantId: string; userId: string; role: ChangeInput["role"] }): Promise<number>;
    after(before: CityRole[], role: ChangeInput["role"]): CityRole[];
  },
): Promise<RoleChange> {
  const actor = requireCityPermission(principal, context.tenantId, "members.manage");
  const { tenantId } = actor;
  const { userId, role } = parseInput(changeSchema, input);
  // Not a UUID: no such user (and another city's user is not found either, RLS and the where).
  if (!UUID_PATTERN.test(userId)) throw new NotFound("user");
  return withTenant(
    tenantId,
    async (tx) => {
      const before = await rolesOf(tx, tenantId, userId);
      if (!before) throw new NotFound("user");
      const count = await change.apply(tx, { tenantId, userId, role });
      if (count === 0) return { userId, role, roles: before, changed: false };
      const after = change.after(before, role);
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: change.action,
        subject: { type: "user", id: userId },
        before: { roles: before },
        after: { roles: after },
        requestId: context.requestId,
      });
      return { userId, role, roles: after, changed: true };
    },
    context.database,
  );
}

/** Gives a person of this city the staff or admin role (already held: nothing changes). */
export function grantRole(principal: Principal, input: ChangeInput, context: ServiceContext = {}): Promise<RoleChange> {
  return changeRole(principal, input, context, {
    action: "membership.role_granted",
    apply: async (tx, target) => (await tx.membership.createMany({ data: [target], skipDuplicates: true })).count,
    after: (before, role) => sortRoles([...before, role]),
  });
}

/**
 * Takes the staff or admin role from a person of this city (not held: nothing changes). The
 * last admin keeps theirs: a city without an admin could not be administered.
 */
export function revokeRole(principal: Principal, input: ChangeInput, context: ServiceContext = {}): Promise<RoleChange> {
  return changeRole(principal, input, context, {
    action: "membership.role_revoked",
    async apply(tx, { tenantId, userId, role }) {
      if (role === "admin") {
        // Lock the admin rows: of two admins removing each other at once, the second waits for
        // the first, then sees one admin left and is refused.
        const admins = await tx.$queryRaw<{ user_id: string }[]>`
          SELECT user_id::text FROM memberships
           WHERE tenant_id = ${tenantId}::uuid AND role = 'admin'
             FOR UPDATE`;
        const isAdmin = admins.some((admin) => admin.user_id === userId.toLowerCase());
        if (isAdmin && admins.length === 1) {
          throw new Conflict("last_admin", "A city needs at least one admin: grant the role to someone else first.");
        }
      }
      return (await tx.membership.deleteMany({ where: { tenantId, userId, role } })).count;
    },
    after: (before, role) => before.filter((held) => held !== role),
  });
}
