// Reading the audit log: a city's admins their city's events, operators the platform's; newest
// first, page by page, filtered. Runs on PGlite and on PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson } from "../../tests/support/identity";
import { Forbidden, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS, permissionsFor, type OperatorPrincipal } from "../auth/permissions";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import { withPlatformAdmin } from "../db/database.server";
import { timeCursor } from "../db/pages.server";
import { auditEventCursor, listAuditEvents, listPlatformAuditEvents, type AuditEventFilter } from "./audit-log.server";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
let parisAdmin: UserPrincipal;

const adminOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });

const operator: OperatorPrincipal = { kind: "operator", operatorId: randomUUID(), subject: "op", permissions: permissionsFor(["operator"]) };

type Seed = { action: string; at: string; actorType?: "user" | "system" | "client"; actorId?: string; subjectType?: string; subjectId?: string };

/**
 * Events at exact times, written as a platform operation. Times carry microseconds, as the
 * column does (a JavaScript Date would keep only milliseconds).
 */
async function seed(city: TestCity, events: Seed[]): Promise<string[]> {
  const ids = events.map(() => randomUUID());
  await withPlatformAdmin(async (tx) => {
    for (const [index, event] of events.entries()) {
      await tx.$executeRawUnsafe(
        `INSERT INTO audit_events (tenant_id, id, occurred_at, actor_type, actor_id, action, subject_type, subject_id)
         VALUES ($1::uuid, $2::uuid, $3::timestamptz, $4::actor_type, $5, $6, $7, $8)`,
        city.id,
        ids[index],
        event.at,
        event.actorType ?? "system",
        event.actorId ?? null,
        event.action,
        event.subjectType ?? "thing",
        event.subjectId ?? null,
      );
    }
  }, database);
  return ids;
}

const actionsOf = async (filter: AuditEventFilter, principal = parisAdmin) =>
  (await listAuditEvents(principal, filter, { database })).events.map((event) => event.action);

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
  parisAdmin = adminOf(paris);
  await seed(paris, [
    { action: "test.first", at: "2031-01-01T10:00:00.000001Z", actorType: "user", actorId: "alice", subjectType: "request", subjectId: "r1" },
    { action: "test.second", at: "2031-01-02T10:00:00Z", actorType: "client", actorId: "crm", subjectType: "request", subjectId: "r2" },
    { action: "test.third", at: "2031-01-03T10:00:00Z", actorType: "user", actorId: "bob", subjectType: "user", subjectId: "u1" },
  ]);
  await seed(budapest, [{ action: "test.first", at: "2031-01-01T12:00:00Z" }]);
});

afterAll(async () => {
  await database?.drop();
});

describe("listAuditEvents", () => {
  it("lists the city's events newest first, with cursors", async () => {
    const page = await listAuditEvents(parisAdmin, {}, { database });
    // Three seeded in 2031, then the factory's city.created.
    expect(page.events.map((event) => event.action)).toEqual(["test.third", "test.second", "test.first", "city.created"]);
    expect(page.events.every((event) => event.tenantId === paris.id)).toBe(true);
    expect(page.hasNextPage).toBe(false);
    expect(page.startCursor).toBe(auditEventCursor(page.events[0]!));
    expect(page.endCursor).toBe(auditEventCursor(page.events.at(-1)!));
  });

  it("pages through events of the same millisecond without losing or repeating one", async () => {
    const city = await createCity(database);
    // Seven events within one millisecond, two of them at the very same microsecond.
    const micros = ["999", "900", "800", "800", "500", "100", "000"];
    const ids = await seed(
      city,
      micros.map((micro, index) => ({ action: `burst.${index}`, at: `2032-05-05T05:05:05.123${micro}Z` })),
    );
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await listAuditEvents(adminOf(city), { first: 2, after, actions: ids.map((_, i) => `burst.${i}`) }, { database });
      seen.push(...page.events.map((event) => event.id));
      pages += 1;
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(7);
    // Newest first; the two of the same microsecond by id, descending.
    const [tieA, tieB] = [ids[2]!, ids[3]!].sort().reverse();
    expect(seen).toEqual([ids[0], ids[1], tieA, tieB, ids[4], ids[5], ids[6]]);
  });

  it("takes 25 by default and at most 100", async () => {
    const city = await createCity(database);
    await seed(
      city,
      Array.from({ length: 30 }, (_, index) => ({ action: "many", at: new Date(Date.UTC(2033, 0, 1, 0, 0, index)).toISOString() })),
    );
    const page = await listAuditEvents(adminOf(city), { action: "many" }, { database });
    expect(page.events).toHaveLength(25);
    expect(page.hasNextPage).toBe(true);
    const rest = await listAuditEvents(adminOf(city), { action: "many", first: 100, after: page.endCursor }, { database });
    expect(rest.events).toHaveLength(5);
    expect(rest.hasNextPage).toBe(false);
    for (const first of [0, 101, 2.5]) {
      const error = await listAuditEvents(adminOf(city), { first }, { database }).catch((e: unknown) => e);
      expect(error, String(first)).toBeInstanceOf(ValidationFailed);
      expect(Object.keys((error as ValidationFailed).fields)).toEqual(["first"]);
    }
  });

  it("filters by action, actions, actor, subject and time", async () => {
    expect(await actionsOf({ action: "test.second" })).toEqual(["test.second"]);
    expect(await actionsOf({ actions: ["test.first", "test.third", "nothing"] })).toEqual(["test.third", "test.first"]);
    expect(await actionsOf({ actorType: "user" })).toEqual(["test.third", "test.first"]);
    expect(await actionsOf({ actorType: "user", actorId: "alice" })).toEqual(["test.first"]);
    expect(await actionsOf({ subjectType: "request" })).toEqual(["test.second", "test.first"]);
    expect(await actionsOf({ subjectType: "request", subjectId: "r2" })).toEqual(["test.second"]);
    expect(await actionsOf({ since: "2031-01-02T10:00:00Z" })).toEqual(["test.third", "test.second"]);
    expect(await actionsOf({ since: new Date("2031-01-01T00:00:00Z"), until: "2031-01-03T10:00:00Z" })).toEqual([
      "test.second",
      "test.first",
    ]);
    expect(await actionsOf({ action: null, actions: null, actorType: null, since: null, first: null, after: null })).toHaveLength(4);
  });

  it("explains filters it cannot use", async () => {
    const problems = async (filter: AuditEventFilter) => {
      const error = await listAuditEvents(parisAdmin, filter, { database }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationFailed);
      return (error as ValidationFailed).fields;
    };
    expect(await problems({ after: "not-a-cursor" })).toEqual({ after: ["is not a cursor of this list"] });
    expect(await problems({ after: timeCursor({ id: "nope" }, new Date()) })).toEqual({ after: ["is not a cursor of this list"] });
    expect(await problems({ since: "yesterday" })).toEqual({ since: ["must be a date and time (ISO 8601, with its offset)"] });
    expect(await problems({ since: "2031-01-02T00:00:00Z", until: "2031-01-01T00:00:00Z" })).toEqual({ until: ["must be later than since"] });
    expect(await problems({ actorType: "robot" as "user" })).toEqual({ actorType: ["must be user, operator, client or system"] });
    expect((await problems({ evil: 1 } as AuditEventFilter))[""]).toBeDefined();
  });

  it("fetches what GraphQL selects, relations included", async () => {
    const selected = await listAuditEvents(parisAdmin, { action: "test.third" }, { database }, { select: { action: true } });
    expect(selected.events).toHaveLength(1);
    expect(Object.keys(selected.events[0]!).sort()).toEqual(["action", "id", "occurredAt"]);
    const included = await listAuditEvents(parisAdmin, { action: "test.third" }, { database }, { include: { city: true } });
    expect((included.events[0] as unknown as { city: { slug: string } }).city.slug).toBe(paris.slug);
    expect(included.events[0]?.actorId).toBe("bob");
  });

  it("never shows another city's events, even given one of its cursors", async () => {
    const budapestPage = await listAuditEvents(adminOf(budapest), {}, { database });
    expect(budapestPage.events.map((event) => event.action)).toEqual(["test.first", "city.created"]);
    expect(budapestPage.events.every((event) => event.tenantId === budapest.id)).toBe(true);
    const foreign = await listAuditEvents(parisAdmin, { after: budapestPage.startCursor }, { database });
    expect(foreign.events).toEqual([]);
  });

  it("is for the city's admins", async () => {
    const staff = await addPerson(database, paris, { roles: ["staff"] });
    const staffPrincipal = userPrincipal({ tenantId: paris.id, userId: staff.userId, subject: staff.subject, memberships: ["staff"] });
    await expect(listAuditEvents(ANONYMOUS, {}, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(listAuditEvents(staffPrincipal, {}, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(listAuditEvents(operator, {}, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(listAuditEvents(adminOf(budapest), {}, { tenantId: paris.id, database })).rejects.toBeInstanceOf(Forbidden);
  });
});

describe("listPlatformAuditEvents", () => {
  it("lists the platform's events newest first for operators, filtered and paged", async () => {
    await withPlatformAdmin(async (tx) => {
      for (const [index, action] of ["platform.a", "platform.b", "platform.c"].entries()) {
        await tx.platformAuditEvent.create({
          data: {
            id: randomUUID(),
            occurredAt: new Date(Date.UTC(2034, 0, 1 + index)),
            actorType: "operator",
            actorId: operator.operatorId,
            action,
            subjectType: "city",
          },
        });
      }
    }, database);
    const first = await listPlatformAuditEvents(operator, { actorId: operator.operatorId, first: 2 }, { database });
    expect(first.events.map((event) => event.action)).toEqual(["platform.c", "platform.b"]);
    expect(first.hasNextPage).toBe(true);
    const second = await listPlatformAuditEvents(operator, { actorId: operator.operatorId, first: 2, after: first.endCursor }, { database });
    expect(second.events.map((event) => event.action)).toEqual(["platform.a"]);
    expect(second.hasNextPage).toBe(false);
    const selected = await listPlatformAuditEvents(operator, { action: "platform.b" }, { database }, { select: { subjectType: true } });
    expect(selected.events).toEqual([{ id: expect.any(String), occurredAt: new Date(Date.UTC(2034, 0, 2)), subjectType: "city" }]);
  });

  it("is for operators only", async () => {
    await expect(listPlatformAuditEvents(ANONYMOUS, {}, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(listPlatformAuditEvents(parisAdmin, {}, { database })).rejects.toBeInstanceOf(Forbidden);
  });
});
