// The permission model on its own: roles bundle permissions, plugins add theirs, machine clients
// hold only what declares a client scope, and the checks answer 401 / 403 as they should.
import { describe, expect, it } from "vitest";
import { Forbidden, Unauthenticated } from "./errors";
import {
  ANONYMOUS,
  can,
  CORE_PERMISSIONS,
  definePermissions,
  getPermission,
  listPermissions,
  PermissionDefinitionError,
  permissionsFor,
  permissionsForClientScopes,
  requireCityPermission,
  requirePermission,
  type ClientPrincipal,
  type OperatorPrincipal,
  type UserPrincipal,
} from "./permissions";

const PARIS = "6f1a0c7e-0000-4000-8000-000000000001";
const BUDAPEST = "6f1a0c7e-0000-4000-8000-000000000002";

const person = (tenantId: string, roles: UserPrincipal["roles"]): UserPrincipal => ({
  kind: "user",
  tenantId,
  userId: "6f1a0c7e-0000-4000-8000-0000000000aa",
  subject: "subject",
  roles,
  permissions: permissionsFor(roles),
});

describe("roles", () => {
  it("gives residents only what residents do", () => {
    expect(permissionsFor(["resident"])).toEqual(["profile.edit_own"]);
  });

  it("nests resident ⊂ staff ⊂ admin", () => {
    const resident = permissionsFor(["resident"]);
    const staff = permissionsFor(["staff"]);
    const admin = permissionsFor(["admin"]);
    expect(staff).toEqual(expect.arrayContaining([...resident, "members.read"]));
    expect(staff).not.toContain("members.manage");
    expect(admin).toEqual(expect.arrayContaining([...staff, "members.manage", "api_clients.manage", "audit.read", "city.settings.update"]));
  });

  it("keeps platform and city permissions apart", () => {
    expect(permissionsFor(["admin"]).filter((id) => id.startsWith("platform."))).toEqual([]);
    const operator = permissionsFor(["operator"]);
    expect(operator).toContain("platform.cities.manage");
    expect(operator).not.toContain("members.manage");
    expect(operator).not.toContain("profile.edit_own");
  });

  it("refuses a role it does not know", () => {
    expect(() => permissionsFor(["owner" as never])).toThrow(PermissionDefinitionError);
  });
});

describe("definePermissions", () => {
  it("adds a plugin's permissions to the roles that hold them, and to the list", () => {
    definePermissions("notice-board", [
      { id: "notice_board.publish", description: "notice-board:permissions.publish", grantedTo: ["staff"] },
      { id: "notice_board.read_drafts", description: "notice-board:permissions.read_drafts", grantedTo: ["staff"], clientScope: "read" },
    ]);
    expect(permissionsFor(["resident"])).not.toContain("notice_board.publish");
    expect(permissionsFor(["staff"])).toContain("notice_board.publish");
    expect(permissionsFor(["admin"])).toContain("notice_board.publish");
    expect(getPermission("notice_board.publish")).toEqual({
      id: "notice_board.publish",
      owner: "notice-board",
      description: "notice-board:permissions.publish",
      grantedTo: ["staff"],
      clientScope: null,
    });
    expect(listPermissions().map((p) => p.id)).toEqual([...CORE_PERMISSIONS.map((p) => p.id), "notice_board.publish", "notice_board.read_drafts"]);
  });

  it("refuses a duplicate, whoever defined it first, and adds nothing of the list", () => {
    expect(() =>
      definePermissions("other-plugin", [
        { id: "other_plugin.fine", description: "other-plugin:fine", grantedTo: ["admin"] },
        { id: "members.manage", description: "other-plugin:members", grantedTo: ["resident"] },
      ]),
    ).toThrow(/already defined by core/);
    expect(getPermission("other_plugin.fine")).toBeUndefined();
    expect(getPermission("members.manage")?.grantedTo).toEqual(["admin"]);
    expect(() =>
      definePermissions("other-plugin", [
        { id: "other_plugin.twice", description: "k", grantedTo: ["admin"] },
        { id: "other_plugin.twice", description: "k", grantedTo: ["admin"] },
      ]),
    ).toThrow(PermissionDefinitionError);
  });

  it("refuses definitions nobody could use or that are not well formed", () => {
    const bad = [
      { id: "NoDots", description: "k", grantedTo: ["admin"] },
      { id: "plugin.ok", description: "", grantedTo: ["admin"] },
      { id: "plugin.ok", description: "k", grantedTo: ["owner"] },
      { id: "plugin.ok", description: "k", grantedTo: ["admin", "admin"] },
      { id: "plugin.ok", description: "k", grantedTo: [] },
      { id: "plugin.ok", description: "k", grantedTo: ["admin"], clientScope: "admin" },
    ];
    for (const spec of bad) {
      expect(() => definePermissions("plugin", [spec as never]), JSON.stringify(spec)).toThrow(PermissionDefinitionError);
    }
    expect(() => definePermissions("Not A Plugin", [])).toThrow(PermissionDefinitionError);
    expect(getPermission("plugin.ok")).toBeUndefined();
  });
});

describe("machine clients", () => {
  it("hold only permissions that declare a client scope they have", () => {
    definePermissions("requests", [
      { id: "requests.read", description: "requests:permissions.read", grantedTo: ["resident"], clientScope: "read" },
      { id: "requests.update", description: "requests:permissions.update", grantedTo: ["staff"], clientScope: "write" },
    ]);
    expect(permissionsForClientScopes(["read"])).toContain("requests.read");
    expect(permissionsForClientScopes(["read"])).not.toContain("requests.update");
    expect(permissionsForClientScopes(["write"])).toEqual(expect.arrayContaining(["requests.update"]));
    expect(permissionsForClientScopes(["write"])).not.toContain("requests.read");
    expect(permissionsForClientScopes(["openid", "profile"])).toEqual([]);
    // No core permission is a client's: managing members or API clients takes a person.
    const all = permissionsForClientScopes(["read", "write"]);
    for (const core of CORE_PERMISSIONS) expect(all).not.toContain(core.id);
  });
});

describe("checks", () => {
  it("answers Unauthenticated (401) for nobody and Forbidden (403) for someone without the permission", () => {
    expect(can(ANONYMOUS, "profile.edit_own")).toBe(false);
    expect(() => requirePermission(ANONYMOUS, "profile.edit_own")).toThrow(Unauthenticated);
    const resident = person(PARIS, ["resident"]);
    for (const permission of ["members.read", "members.manage", "api_clients.manage", "audit.read"]) {
      expect(can(resident, permission)).toBe(false);
      expect(() => requirePermission(resident, permission)).toThrow(Forbidden);
    }
    expect(new Unauthenticated().status).toBe(401);
    expect(new Forbidden().status).toBe(403);
    expect(can(person(PARIS, ["resident", "staff", "admin"]), "members.manage")).toBe(true);
  });

  it("refuses at a city a principal of another city, or an operator, whatever it holds", () => {
    const admin = person(PARIS, ["resident", "staff", "admin"]);
    expect(requireCityPermission(admin, PARIS, "members.manage")).toBe(admin);
    expect(requireCityPermission(admin, undefined, "members.manage")).toBe(admin);
    expect(() => requireCityPermission(admin, BUDAPEST, "members.manage")).toThrow(Forbidden);
    const operator: OperatorPrincipal = { kind: "operator", operatorId: "o", subject: "s", permissions: permissionsFor(["operator"]) };
    expect(() => requireCityPermission(operator, PARIS, "members.read")).toThrow(Forbidden);
    expect(() => requireCityPermission(ANONYMOUS, PARIS, "members.read")).toThrow(Unauthenticated);
    const client: ClientPrincipal = {
      kind: "client",
      tenantId: PARIS,
      apiClientId: "c",
      clientId: "paris-1",
      scopes: ["read", "write"],
      permissions: permissionsForClientScopes(["read", "write"]),
    };
    expect(() => requireCityPermission(client, PARIS, "api_clients.manage")).toThrow(Forbidden);
  });

  it("refuses to check a permission nobody defined (a typo must not pass silently)", () => {
    expect(() => can(person(PARIS, ["admin"]), "members.mange")).toThrow(PermissionDefinitionError);
    expect(() => requirePermission(ANONYMOUS, "members.mange")).toThrow(PermissionDefinitionError);
  });
});
