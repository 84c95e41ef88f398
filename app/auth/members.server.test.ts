// Granting and revoking staff and admin at two cities: who may, what is audited, and the last
// admin who stays. Runs on PGlite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson } from "../../tests/support/identity";
import { withTenant } from "../db/database.server";
import { Conflict, Forbidden, NotFound, ValidationFailed } from "./errors";
import { grantRole, listMembers, revokeRole } from "./members.server";
import { userPrincipal, type UserPrincipal } from "./principal.server";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
let parisAdmin: UserPrincipal;

function principal(city: TestCity, person: { userId: string; subject: string }, memberships: string[]): UserPrincipal {
  return userPrincipal({ tenantId: city.id, userId: person.userId, subject: person.subject, memberships });
}

const adminOf = (city: TestCity) => principal(city, { userId: city.userId, subject: `subject-${city.userId}` }, ["admin"]);

async function rolesOf(city: TestCity, userId: string) {
  const rows = await withTenant(city.id, (tx) => tx.membership.findMany({ where: { userId }, select: { role: true } }), database);
  return rows.map((row) => row.role).sort();
}

async function auditOf(city: TestCity, userId: string) {
  return withTenant(
    city.id,
    (tx) =>
      tx.auditEvent.findMany({
        where: { subjectType: "user", subjectId: userId, action: { startsWith: "membership." } },
        orderBy: { occurredAt: "asc" },
      }),
    database,
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
  parisAdmin = adminOf(paris);
});

afterAll(async () => {
  await database?.drop();
});

describe("granting and revoking", () => {
  it("grants staff, audited with the roles before and after and the request id; granting again changes nothing", async () => {
    const person = await addPerson(database, paris);
    const granted = await grantRole(parisAdmin, { userId: person.userId, role: "staff" }, { requestId: "req-1", database });
    expect(granted).toEqual({ userId: person.userId, role: "staff", roles: ["resident", "staff"], changed: true });
    expect(await rolesOf(paris, person.userId)).toEqual(["resident", "staff"]);
    const again = await grantRole(parisAdmin, { userId: person.userId, role: "staff" }, { database });
    expect(again.changed).toBe(false);

    const audit = await auditOf(paris, person.userId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorType: "user",
      actorId: paris.userId,
      action: "membership.role_granted",
      before: { roles: ["resident"] },
      after: { roles: ["resident", "staff"] },
      requestId: "req-1",
    });
  });

  it("revokes staff, audited likewise; revoking a role not held changes nothing", async () => {
    const person = await addPerson(database, paris, { roles: ["staff"] });
    const revoked = await revokeRole(parisAdmin, { userId: person.userId, role: "staff" }, { requestId: "req-2", database });
    expect(revoked).toEqual({ userId: person.userId, role: "staff", roles: ["resident"], changed: true });
    expect(await rolesOf(paris, person.userId)).toEqual(["resident"]);
    expect((await revokeRole(parisAdmin, { userId: person.userId, role: "admin" }, { database })).changed).toBe(false);
    const audit = await auditOf(paris, person.userId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "membership.role_revoked",
      before: { roles: ["resident", "staff"] },
      after: { roles: ["resident"] },
      requestId: "req-2",
    });
  });

  it("never removes the last admin, but lets one of two go", async () => {
    const city = await createCity(database);
    const admin = adminOf(city);
    await expect(revokeRole(admin, { userId: city.userId, role: "admin" }, { database })).rejects.toBeInstanceOf(Conflict);
    expect(await rolesOf(city, city.userId)).toContain("admin");

    const second = await addPerson(database, city);
    await grantRole(admin, { userId: second.userId, role: "admin" }, { database });
    await expect(revokeRole(admin, { userId: city.userId, role: "admin" }, { database })).resolves.toMatchObject({ changed: true });
    // Now the second admin is the last one.
    const secondAdmin = principal(city, second, ["admin"]);
    await expect(revokeRole(secondAdmin, { userId: second.userId, role: "admin" }, { database })).rejects.toMatchObject({
      code: "CONFLICT",
      reason: "last_admin",
    });
  });

  it("keeps one admin when two admins remove each other at the same time", async () => {
    const city = await createCity(database);
    const first = adminOf(city);
    const person = await addPerson(database, city, { roles: ["admin"] });
    const second = principal(city, person, ["admin"]);
    const results = await Promise.allSettled([
      revokeRole(first, { userId: person.userId, role: "admin" }, { database }),
      revokeRole(second, { userId: city.userId, role: "admin" }, { database }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(Conflict);
    const admins = await withTenant(city.id, (tx) => tx.membership.count({ where: { role: "admin" } }), database);
    expect(admins).toBe(1);
  });

  it("refuses the resident role and unknown roles, and answers not found for ids that name nobody", async () => {
    const person = await addPerson(database, paris);
    for (const role of ["resident", "owner", ""]) {
      const error = await grantRole(parisAdmin, { userId: person.userId, role: role as "staff" }, { database }).catch((e: unknown) => e);
      expect(error, role).toBeInstanceOf(ValidationFailed);
      expect((error as ValidationFailed).fields.role).toEqual(["must be staff or admin"]);
    }
    await expect(grantRole(parisAdmin, { userId: "not-a-uuid", role: "staff" }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(
      grantRole(parisAdmin, { userId: "6f1a0c7e-0000-4000-8000-000000000000", role: "staff" }, { database }),
    ).rejects.toBeInstanceOf(NotFound);
  });
});

describe("who may", () => {
  it("refuses staff and residents", async () => {
    const staffPerson = await addPerson(database, paris, { roles: ["staff"] });
    const resident = await addPerson(database, paris);
    const staff = principal(paris, staffPerson, ["staff"]);
    await expect(grantRole(staff, { userId: resident.userId, role: "staff" }, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(revokeRole(staff, { userId: staffPerson.userId, role: "staff" }, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(listMembers(principal(paris, resident, []), {}, { database })).rejects.toBeInstanceOf(Forbidden);
    expect(await rolesOf(paris, resident.userId)).toEqual(["resident"]);
  });

  it("cannot grant at another city: its people are not found, and a request for that city is refused", async () => {
    const budapestPerson = await addPerson(database, budapest);
    await expect(grantRole(parisAdmin, { userId: budapestPerson.userId, role: "admin" }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(
      grantRole(parisAdmin, { userId: budapestPerson.userId, role: "admin" }, { tenantId: budapest.id, database }),
    ).rejects.toBeInstanceOf(Forbidden);
    await expect(revokeRole(parisAdmin, { userId: budapest.userId, role: "admin" }, { database })).rejects.toBeInstanceOf(NotFound);
    expect(await rolesOf(budapest, budapestPerson.userId)).toEqual(["resident"]);
    expect(await rolesOf(budapest, budapest.userId)).toEqual(["admin"]);
  });
});

describe("listing", () => {
  it("lists the city's people with their roles, a page at a time, and only the city's", async () => {
    const city = await createCity(database);
    const admin = adminOf(city);
    const people = [await addPerson(database, city, { roles: ["staff"] }), await addPerson(database, city), await addPerson(database, city)];
    const all = [city.userId, ...people.map((p) => p.userId)].sort();

    const first = await listMembers(admin, { limit: 3 }, { database });
    expect(first.members.map((m) => m.userId)).toEqual(all.slice(0, 3));
    expect(first.nextCursor).toBe(all[2]);
    const second = await listMembers(admin, { limit: 3, cursor: first.nextCursor! }, { database });
    expect(second.members.map((m) => m.userId)).toEqual(all.slice(3));
    expect(second.nextCursor).toBeNull();

    const staff = await listMembers(admin, { role: "staff" }, { database });
    expect(staff.members).toEqual([expect.objectContaining({ userId: people[0]!.userId, roles: ["resident", "staff"] })]);
    const admins = await listMembers(admin, { role: "admin" }, { database });
    expect(admins.members.map((m) => [m.userId, m.roles])).toEqual([[city.userId, ["resident", "admin"]]]);

    await expect(listMembers(admin, { limit: 0 }, { database })).rejects.toBeInstanceOf(ValidationFailed);
    await expect(listMembers(admin, { cursor: "x" }, { database })).rejects.toBeInstanceOf(ValidationFailed);
  });
});
