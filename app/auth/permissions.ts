// What people and machine clients may do. Authorization is decided in Civitas, not in the
// identity provider: named permissions (Lutece's admin rights) are bundled into roles, per city
// resident ⊂ staff ⊂ admin and on the platform `operator`; plugins add their own permissions
// next to the core's. Machine clients hold only the permissions that declare a client scope.
// Isomorphic and plain data: pages use `can` to show actions, services use the `require*`
// checks to enforce them.
import type { ApiScope } from "../identity/realm";
import { API_SCOPES } from "../identity/realm";
import { Forbidden, Unauthenticated } from "./errors";

// --- Roles ------------------------------------------------------------------------------------

export const CITY_ROLES = ["resident", "staff", "admin"] as const;
export type CityRole = (typeof CITY_ROLES)[number];
export type Role = CityRole | "operator";
export const ROLES: readonly Role[] = [...CITY_ROLES, "operator"];

/** A role holds everything granted to the roles it includes. */
const INCLUDED_ROLES: Record<Role, readonly Role[]> = {
  resident: ["resident"],
  staff: ["resident", "staff"],
  admin: ["resident", "staff", "admin"],
  operator: ["operator"],
};

export function isCityRole(value: unknown): value is CityRole {
  return typeof value === "string" && (CITY_ROLES as readonly string[]).includes(value);
}

// --- Permissions --------------------------------------------------------------------------------

export type PermissionSpec = {
  /** Dotted, lower case, scoped by its area: "members.manage", "notice_board.publish". */
  id: string;
  /** Translation key of the sentence that explains it in the admin console ("ns:key"). */
  description: string;
  /** The roles that hold it; a city role also grants it to the roles above it. */
  grantedTo: readonly Role[];
  /** Machine clients holding this scope hold the permission; without it, no client does. */
  clientScope?: ApiScope;
};

export type Permission = Readonly<{
  id: string;
  /** "core", or the plugin that defined it. */
  owner: string;
  description: string;
  grantedTo: readonly Role[];
  clientScope: ApiScope | null;
}>;

export class PermissionDefinitionError extends Error {
  override name = "PermissionDefinitionError";
}

const PERMISSION_ID = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const OWNER = /^[a-z][a-z0-9-]{0,62}$/;

const registry = new Map<string, Permission>();
// permissionsFor is asked on every request; the answer only changes when permissions are defined.
const byRoles = new Map<string, readonly string[]>();
const byScopes = new Map<string, readonly string[]>();

/**
 * Definitions made on first use: the plugin catalogue hands in how to define its plugins'
 * permissions when it loads (it cannot run that at import time: plugin modules import services
 * that import the catalogue back). Every read of the registry runs it first.
 */
let deferred: (() => void) | null = null;

export function definePermissionsOnFirstUse(define: () => void): void {
  deferred = define;
}

function defined(): Map<string, Permission> {
  if (deferred) {
    const define = deferred;
    deferred = null;
    define();
  }
  return registry;
}

function checkSpec(owner: string, spec: PermissionSpec, seen: Set<string>): Permission {
  const where = `Permission ${JSON.stringify(spec?.id)} of ${owner}`;
  if (typeof spec?.id !== "string" || !PERMISSION_ID.test(spec.id)) {
    throw new PermissionDefinitionError(`${where}: the id must be dotted lower-case words, such as "members.manage".`);
  }
  if (registry.has(spec.id) || seen.has(spec.id)) {
    const by = registry.get(spec.id)?.owner ?? owner;
    throw new PermissionDefinitionError(`${where}: already defined by ${by}.`);
  }
  if (typeof spec.description !== "string" || spec.description.trim() === "") {
    throw new PermissionDefinitionError(`${where}: a description (translation key) is required.`);
  }
  if (!Array.isArray(spec.grantedTo) || spec.grantedTo.some((role) => !ROLES.includes(role))) {
    throw new PermissionDefinitionError(`${where}: grantedTo must list roles among ${ROLES.join(", ")}.`);
  }
  if (new Set(spec.grantedTo).size !== spec.grantedTo.length) {
    throw new PermissionDefinitionError(`${where}: grantedTo lists a role twice.`);
  }
  const clientScope = spec.clientScope ?? null;
  if (clientScope !== null && !API_SCOPES.includes(clientScope)) {
    throw new PermissionDefinitionError(`${where}: clientScope must be one of ${API_SCOPES.join(", ")}.`);
  }
  if (spec.grantedTo.length === 0 && clientScope === null) {
    throw new PermissionDefinitionError(`${where}: granted to no role and no client scope, nobody could hold it.`);
  }
  seen.add(spec.id);
  return Object.freeze({
    id: spec.id,
    owner,
    description: spec.description,
    grantedTo: Object.freeze([...spec.grantedTo]),
    clientScope,
  });
}

/**
 * Adds permissions (the core's, a plugin's). All or nothing: one bad or duplicate definition
 * refuses the whole list, whoever defined the id first.
 */
export function definePermissions(owner: string, specs: readonly PermissionSpec[]): readonly Permission[] {
  if (typeof owner !== "string" || !OWNER.test(owner)) {
    throw new PermissionDefinitionError(`Permission owner ${JSON.stringify(owner)} must be a plugin id or "core".`);
  }
  const seen = new Set<string>();
  const permissions = specs.map((spec) => checkSpec(owner, spec, seen));
  for (const permission of permissions) registry.set(permission.id, permission);
  byRoles.clear();
  byScopes.clear();
  return permissions;
}

export const CORE_PERMISSIONS = definePermissions("core", [
  { id: "profile.edit_own", description: "permissions:profile.edit_own", grantedTo: ["resident"] },
  { id: "members.read", description: "permissions:members.read", grantedTo: ["staff"] },
  { id: "members.manage", description: "permissions:members.manage", grantedTo: ["admin"] },
  { id: "api_clients.manage", description: "permissions:api_clients.manage", grantedTo: ["admin"] },
  { id: "audit.read", description: "permissions:audit.read", grantedTo: ["admin"] },
  { id: "city.settings.update", description: "permissions:city.settings.update", grantedTo: ["admin"] },
  { id: "plugins.manage", description: "permissions:plugins.manage", grantedTo: ["admin"] },
  // Publishing, importing and subscribing for a city; peering is the operators' (below).
  { id: "federation.manage", description: "permissions:federation.manage", grantedTo: ["admin"] },
  { id: "platform.cities.manage", description: "permissions:platform.cities.manage", grantedTo: ["operator"] },
  { id: "platform.operators.manage", description: "permissions:platform.operators.manage", grantedTo: ["operator"] },
  { id: "platform.audit.read", description: "permissions:platform.audit.read", grantedTo: ["operator"] },
  { id: "platform.federation.manage", description: "permissions:platform.federation.manage", grantedTo: ["operator"] },
]);

export function getPermission(id: string): Permission | undefined {
  return defined().get(id);
}

/** Every permission, core first then in the order plugins defined them (the admin console lists them). */
export function listPermissions(): readonly Permission[] {
  return [...defined().values()];
}

/** The permissions a set of roles holds, sorted. */
export function permissionsFor(roles: Iterable<Role>): readonly string[] {
  defined();
  const held = new Set<Role>();
  for (const role of roles) {
    const included = INCLUDED_ROLES[role];
    if (!included) throw new PermissionDefinitionError(`Unknown role ${JSON.stringify(role)}.`);
    for (const r of included) held.add(r);
  }
  const key = [...held].sort().join(" ");
  let answer = byRoles.get(key);
  if (!answer) {
    answer = [...registry.values()]
      .filter((permission) => permission.grantedTo.some((role) => held.has(role)))
      .map((permission) => permission.id)
      .sort();
    byRoles.set(key, answer);
  }
  return answer;
}

/**
 * The permissions a machine client with these scopes holds: only those declaring a client
 * scope it has. `read` and `write` are independent (a write-only client reads nothing).
 * Unknown scopes (openid, profile...) hold nothing.
 */
export function permissionsForClientScopes(scopes: Iterable<string>): readonly string[] {
  defined();
  const held = new Set<string>([...scopes].filter((scope) => (API_SCOPES as readonly string[]).includes(scope)));
  const key = [...held].sort().join(" ");
  let answer = byScopes.get(key);
  if (!answer) {
    answer = [...registry.values()]
      .filter((permission) => permission.clientScope !== null && held.has(permission.clientScope))
      .map((permission) => permission.id)
      .sort();
    byScopes.set(key, answer);
  }
  return answer;
}

// --- Principals: who is asking ---------------------------------------------------------------------

export type AnonymousPrincipal = { kind: "anonymous" };

/** A person of one city (its realm). Always a resident; staff and admin come on top. */
export type UserPrincipal = {
  kind: "user";
  tenantId: string;
  userId: string;
  subject: string;
  roles: readonly CityRole[];
  permissions: readonly string[];
};

/** A city's API client (client credentials). */
export type ClientPrincipal = {
  kind: "client";
  tenantId: string;
  /** The api_clients row. */
  apiClientId: string;
  /** The OAuth client id (the token's azp). */
  clientId: string;
  scopes: readonly ApiScope[];
  permissions: readonly string[];
};

/** An operator of this instance (platform realm); holds no city's permissions. */
export type OperatorPrincipal = {
  kind: "operator";
  operatorId: string;
  subject: string;
  permissions: readonly string[];
};

export type Principal = AnonymousPrincipal | UserPrincipal | ClientPrincipal | OperatorPrincipal;
export type CityPrincipal = UserPrincipal | ClientPrincipal;

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: "anonymous" });

// A misspelt permission would silently deny (or, in a negated check, allow): refuse it loudly.
function known(permission: string): string {
  if (!defined().has(permission)) throw new PermissionDefinitionError(`Unknown permission ${JSON.stringify(permission)}.`);
  return permission;
}

export function can(principal: Principal, permission: string): boolean {
  known(permission);
  return principal.kind !== "anonymous" && principal.permissions.includes(permission);
}

/** Throws Unauthenticated for nobody, Forbidden for someone without the permission. */
export function requirePermission<P extends Principal>(
  principal: P,
  permission: string,
): asserts principal is Exclude<P, AnonymousPrincipal> {
  known(permission);
  if (principal.kind === "anonymous") throw new Unauthenticated();
  if (!principal.permissions.includes(permission)) throw new Forbidden(permission);
}

/**
 * The check every city service starts with: someone of this city (a person or one of its API
 * clients) holding `permission`. `tenantId` is the city of the request; without it, the
 * principal's own. A principal of another city, or an operator, is refused whatever it holds
 * elsewhere.
 */
export function requireCityPermission(principal: Principal, tenantId: string | undefined, permission: string): CityPrincipal {
  known(permission);
  if (principal.kind === "anonymous") throw new Unauthenticated();
  if (principal.kind === "operator") throw new Forbidden(permission);
  if (tenantId !== undefined && principal.tenantId !== tenantId) throw new Forbidden(permission);
  if (!principal.permissions.includes(permission)) throw new Forbidden(permission);
  return principal;
}
