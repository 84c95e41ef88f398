// Who is asking, from a verified token: a person of the token's city (their memberships plus what
// the realm's roles add), one of the city's API clients, or an operator of the instance. Every
// entry point (pages, GraphQL, Open311, /api/me) turns a token into a principal here, once per
// request, outside any unit of work; services then check its permissions.
import { randomUUID } from "node:crypto";
import { recordPlatformAudit, type AuditActor } from "../audit/audit.server";
import { literalSql, withPlatformAdmin, withTenant, type Database, type LiteralSql } from "../db/database.server";
import type { SqlRow } from "../db/sql.server";
import { API_SCOPES, PLATFORM_REALM, REALM_ROLES, type ApiScope } from "../identity/realm";
import {
  ANONYMOUS,
  CITY_ROLES,
  isCityRole,
  permissionsFor,
  permissionsForClientScopes,
  type CityRole,
  type ClientPrincipal,
  type OperatorPrincipal,
  type Principal,
  type UserPrincipal,
} from "./permissions";
import { signInUser } from "./users.server";
import type { VerifiedToken } from "./verify.server";
// Loaded for its plugins' permissions: every permission check then knows them (see there).
import "../plugins/catalogue.server";

export {
  ANONYMOUS,
  can,
  requireCityPermission,
  requirePermission,
  type AnonymousPrincipal,
  type CityPrincipal,
  type ClientPrincipal,
  type OperatorPrincipal,
  type Principal,
  type UserPrincipal,
} from "./permissions";

type Options = {
  database?: Database;
  /** The rows of `principalOpening(verified)`, read with the unit of work's opening. */
  opened?: SqlRow[];
};

/** What every service of this folder takes besides the principal and its input. */
export type ServiceContext = {
  /** The city of the request; when given, a principal of another city is refused. */
  tenantId?: string;
  /** Recorded with the audit events. */
  requestId?: string;
  /** Defaults to the process database. */
  database?: Database;
  /**
   * Given when the caller's unit of work is still open (GraphQL runs each operation in one):
   * work that must see the committed change (cache resets, the identity provider) is handed
   * here to run after the commit, instead of running at once.
   */
  afterCommit?: (work: () => Promise<void> | void) => void;
};

/** The city roles a realm's roles add (a realm role can only add; resident is everyone's). */
export function cityRolesFromRealmRoles(realmRoles: readonly string[]): CityRole[] {
  const roles: CityRole[] = ["resident"];
  if (realmRoles.includes(REALM_ROLES.staff)) roles.push("staff");
  if (realmRoles.includes(REALM_ROLES.admin)) roles.push("admin");
  return roles;
}

/** A person's principal from their roles (memberships ∪ realm roles; resident always). */
export function userPrincipal(user: {
  tenantId: string;
  userId: string;
  subject: string;
  memberships: readonly string[];
  realmRoles?: readonly string[];
}): UserPrincipal {
  const held = new Set<CityRole>(cityRolesFromRealmRoles(user.realmRoles ?? []));
  for (const role of user.memberships) if (isCityRole(role)) held.add(role);
  const roles = CITY_ROLES.filter((role) => held.has(role));
  return {
    kind: "user",
    tenantId: user.tenantId,
    userId: user.userId,
    subject: user.subject,
    roles,
    permissions: permissionsFor(roles),
  };
}

/**
 * The principal a verified token stands for.
 * - A person of a city: their users row (created on first use, as on first sign-in, so a bearer
 *   token from keycloak-js works for someone who never signed in on the site) and memberships.
 * - An API client of a city: its scopes as registered, narrowed to those the token carries
 *   (anonymous if it was revoked since the token was verified).
 * - The platform realm: an operator if listed in platform_operators, or if the realm gives the
 *   platform-operator role (then listed from now on); anyone else there is anonymous.
 */
export async function principalFromToken(verified: VerifiedToken, { database, opened }: Options = {}): Promise<Principal> {
  if (verified.tenantId === null) {
    if (verified.realm !== PLATFORM_REALM || verified.kind !== "user") return ANONYMOUS;
    return (await operatorFromToken(verified, database)) ?? ANONYMOUS;
  }
  const tenantId = verified.tenantId;
  if (verified.kind === "client") {
    const client = opened ? (opened[0] as { id: string; scopes: string[] } | undefined) ?? null : await registeredClient(tenantId, verified, database);
    return clientPrincipal(tenantId, verified, client);
  }
  const known = opened?.[0];
  if (known) {
    return userPrincipal({
      tenantId,
      userId: String(known.id),
      subject: verified.subject,
      memberships: known.roles as string[],
      realmRoles: verified.realmRoles,
    });
  }

  return withTenant(
    tenantId,
    async (tx) => {
      const where = { tenantId_realm_subject: { tenantId, realm: verified.realm, subject: verified.subject } };
      const select = { id: true, memberships: { select: { role: true } } } as const;
      let user = await tx.user.findUnique({ where, select });
      if (!user) {
        await signInUser(tx, tenantId, verified);
        user = await tx.user.findUniqueOrThrow({ where, select });
      }
      return userPrincipal({
        tenantId,
        userId: user.id,
        subject: verified.subject,
        memberships: user.memberships.map((membership) => membership.role),
        realmRoles: verified.realmRoles,
      });
    },
    database,
  );
}

/**
 * What a city's token stands for, in one statement, for a unit of work to read with its opening
 * (withTenant) and hand back as `opened`: the principal then costs no round trip of its own.
 * A person: their user id and membership roles (no row before their first request). An API
 * client: its id and registered scopes (no row once revoked). Null for the platform's tokens.
 */
export function principalOpening(verified: VerifiedToken): LiteralSql | null {
  if (verified.tenantId === null) return null;
  if (verified.kind === "client") {
    return literalSql`SELECT id::text AS id, scopes FROM api_clients
     WHERE tenant_id = ${verified.tenantId}::uuid AND client_id = ${verified.clientId} AND revoked_at IS NULL`;
  }
  return literalSql`SELECT u.id::text AS id,
         coalesce(array_agg(m.role::text) FILTER (WHERE m.role IS NOT NULL), '{}')::text[] AS roles
    FROM users u LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
   WHERE u.tenant_id = ${verified.tenantId}::uuid AND u.realm = ${verified.realm} AND u.subject = ${verified.subject}
   GROUP BY u.id`;
}

function registeredClient(tenantId: string, verified: VerifiedToken, database?: Database): Promise<{ id: string; scopes: string[] } | null> {
  return withTenant(
    tenantId,
    (tx) =>
      tx.apiClient.findFirst({
        where: { tenantId, clientId: verified.clientId, revokedAt: null },
        select: { id: true, scopes: true },
      }),
    database,
  );
}

function clientPrincipal(tenantId: string, verified: VerifiedToken, client: { id: string; scopes: string[] } | null): ClientPrincipal | typeof ANONYMOUS {
  // Revoked between verification and now: nobody (the caller answers 401 as for any token).
  if (!client) return ANONYMOUS;
  const scopes = API_SCOPES.filter(
    (scope): scope is ApiScope => client.scopes.includes(scope) && verified.scopes.includes(scope),
  );
  return {
    kind: "client",
    tenantId,
    apiClientId: client.id,
    clientId: verified.clientId,
    scopes,
    permissions: permissionsForClientScopes(scopes),
  };
}

async function operatorFromToken(verified: VerifiedToken, database?: Database): Promise<OperatorPrincipal | null> {
  // The platform realm decides who operates the instance, on every request: removing the role
  // there withdraws it here at the next token. The row is the operator's record, not a grant.
  if (!verified.realmRoles.includes(REALM_ROLES.operator)) return null;
  const operator = await withPlatformAdmin(async (tx) => {
    const existing = await tx.platformOperator.findUnique({
      where: { subject: verified.subject },
      select: { id: true, email: true, displayName: true },
    });
    const email = verified.email ?? null;
    const displayName = verified.name ?? verified.username ?? null;
    if (existing) {
      if (existing.email !== email || existing.displayName !== displayName) {
        await tx.platformOperator.update({ where: { id: existing.id }, data: { email, displayName } });
      }
      return existing;
    }
    // Two first requests at once: one creates (and records it), the other finds it.
    const inserted = await tx.platformOperator.createMany({
      data: [{ id: randomUUID(), subject: verified.subject, email, displayName }],
      skipDuplicates: true,
    });
    const created = await tx.platformOperator.findUniqueOrThrow({ where: { subject: verified.subject }, select: { id: true } });
    if (inserted.count === 1) {
      // Joins this unit of work (same platform-admin scope).
      await recordPlatformAudit({
        actor: { type: "operator", id: created.id },
        action: "operator.registered",
        subject: { type: "operator", id: created.id },
        after: { subject: verified.subject, email, displayName, via: REALM_ROLES.operator },
      });
    }
    return created;
  }, database);
  if (!operator) return null;
  return {
    kind: "operator",
    operatorId: operator.id,
    subject: verified.subject,
    permissions: permissionsFor(["operator"]),
  };
}

/** The audit log's actor for a principal. */
export function auditActor(principal: Principal): AuditActor {
  switch (principal.kind) {
    case "user":
      return { type: "user", id: principal.userId };
    case "client":
      return { type: "client", id: principal.clientId };
    case "operator":
      return { type: "operator", id: principal.operatorId };
    default:
      return { type: "system", id: null };
  }
}
