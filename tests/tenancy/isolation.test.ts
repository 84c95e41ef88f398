// The promise Civitas makes to every city: another city's data is never visible or writable.
// Runs on embedded PGlite and on PostgreSQL (see vitest.config.ts).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  literalSql,
  openDatabase,
  readInTenant,
  TenantScopeError,
  writeInTenant,
  withPlatformAdmin,
  withTenant,
  type Tx,
} from "../../app/db/database.server";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createCity, type TestCity } from "../support/factories";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;

/** Every table with a tenant column, read from the database itself so new tables are covered. */
let tenantTables: { table: string; column: string }[];

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database, { pluginRows: true });
  budapest = await createCity(database, { pluginRows: true });
  tenantTables = await database.owner.query<{ table: string; column: string }>(
    `SELECT c.table_name AS "table", c.column_name AS "column"
       FROM information_schema.columns c
      WHERE c.table_schema = 'public'
        AND (c.column_name = 'tenant_id' OR (c.table_name = 'cities' AND c.column_name = 'id'))
      ORDER BY 1`,
  );
});

afterAll(async () => {
  await database?.drop();
});

/** A transaction as app_rw with no tenant set, exactly as a forgotten withTenant would be. */
function asAppWithoutTenant<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
  return database.unscopedPrisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe("SET LOCAL ROLE app_rw");
    return work(tx);
  });
}

const countRows = (tx: Tx, table: string) =>
  tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`).then((rows) => rows[0]?.n);

describe("row-level security", () => {
  it("is enabled and forced on every tenant table, with one policy and no OR-bypass", async () => {
    expect(tenantTables.map((t) => t.table)).toEqual(
      expect.arrayContaining(["audit_events", "cities", "city_domains", "memberships", "plugin_installations", "users"]),
    );
    const tables = await database.owner.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname = ANY($1)`,
      [tenantTables.map((t) => t.table)],
    );
    expect(tables).toHaveLength(tenantTables.length);
    for (const table of tables) expect(table, table.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });

    const policies = await database.owner.query<{ tablename: string; qual: string; with_check: string }>(
      `SELECT tablename, qual, with_check FROM pg_policies WHERE schemaname = 'public'`,
    );
    for (const { table, column } of tenantTables) {
      const own = policies.filter((p) => p.tablename === table);
      expect(own, table).toHaveLength(1);
      for (const expression of [own[0]?.qual, own[0]?.with_check]) {
        expect(expression).toContain(`${column} = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid`);
        expect(expression).not.toMatch(/\bOR\b/i);
      }
    }
  });

  it("gives zero rows from every tenant table when no tenant is set", async () => {
    await asAppWithoutTenant(async (tx) => {
      for (const { table } of tenantTables) expect(await countRows(tx, table), table).toBe(0);
    });
    // ...and the rows do exist.
    await withPlatformAdmin(async (tx) => {
      for (const { table } of tenantTables) expect(await countRows(tx, table), table).toBeGreaterThanOrEqual(2);
    }, database);
  });

  it("never lets one city's unit of work read another city's rows", async () => {
    await withTenant(paris.id, async (tx) => {
      for (const { table, column } of tenantTables) {
        const rows = await tx.$queryRawUnsafe<{ tenant: string }[]>(`SELECT "${column}"::text AS tenant FROM "${table}"`);
        expect(rows.length, table).toBeGreaterThan(0);
        expect(new Set(rows.map((row) => row.tenant)), table).toEqual(new Set([paris.id]));
      }
      // Asking explicitly for the other city's rows finds nothing.
      expect(await tx.user.findMany({ where: { tenantId: budapest.id } })).toEqual([]);
      expect(await tx.city.findUnique({ where: { slug: budapest.slug } })).toBeNull();
      expect(await tx.membership.count({ where: { tenantId: budapest.id } })).toBe(0);
      expect(await tx.auditEvent.count({ where: { tenantId: budapest.id } })).toBe(0);
    }, database);
  });

  it("refuses, in the database, writes for another city inside a city's unit of work", async () => {
    const rlsViolation = /row-level security|row level security/i;
    await expect(
      withTenant(paris.id, (tx) =>
        tx.user.create({ data: { tenantId: budapest.id, id: randomUUID(), realm: "x", subject: "intruder" } }),
      database),
    ).rejects.toThrow(rlsViolation);
    await expect(
      withTenant(paris.id, (tx) =>
        tx.$executeRawUnsafe(
          `INSERT INTO "audit_events" (tenant_id, id, actor_type, action, subject_type) VALUES ($1::uuid, $2::uuid, 'system', 'forged', 'city')`,
          budapest.id,
          randomUUID(),
        ),
      database),
    ).rejects.toThrow(rlsViolation);
    // Moving a row of one's own into another city is refused too.
    await expect(
      withTenant(paris.id, (tx) => tx.$executeRawUnsafe(`UPDATE "users" SET tenant_id = $1::uuid`, budapest.id), database),
    ).rejects.toThrow(/row-level security|row level security|violates foreign key/i);
    // Updates and deletes aimed at another city touch nothing.
    const touched = await withTenant(paris.id, async (tx) => ({
      updated: await tx.user.updateMany({ where: { tenantId: budapest.id }, data: { displayName: "hacked" } }),
      deleted: await tx.membership.deleteMany({ where: { tenantId: budapest.id } }),
      city: await tx.city.updateMany({ where: { id: budapest.id }, data: { timeZone: "UTC" } }),
    }), database);
    expect(touched).toEqual({ updated: { count: 0 }, deleted: { count: 0 }, city: { count: 0 } });
    const intact = await withTenant(budapest.id, async (tx) => ({
      users: await tx.user.findMany({ select: { displayName: true } }),
      memberships: await tx.membership.count(),
      city: await tx.city.findFirstOrThrow({ select: { timeZone: true } }),
    }), database);
    expect(intact).toEqual({ users: [{ displayName: null }], memberships: 1, city: { timeZone: "Europe/Paris" } });
  });

  it("leaves no tenant and no role on a pooled connection after a unit of work", async () => {
    // One connection, so the next statement necessarily reuses the one the city used.
    const single = database.url ? await openDatabase({ url: database.url, poolSize: 1 }) : database;
    try {
      const [session] = await single.unscopedPrisma.$queryRawUnsafe<{ role: string }[]>(`SELECT current_user AS role`);
      await withTenant(paris.id, (tx) => tx.user.count(), single);
      const [after] = await single.unscopedPrisma.$queryRawUnsafe<{ tenant: string | null; role: string }[]>(
        `SELECT current_setting('app.tenant_id', true) AS tenant, current_user AS role`,
      );
      expect(after?.tenant ?? "").toBe("");
      expect(after?.role).toBe(session?.role);
      expect(after?.role).not.toBe("app_rw");
    } finally {
      if (single !== database) await single.close();
    }
  });

  it("gives the app role no way around row-level security", async () => {
    const [role] = await database.owner.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      `SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'app_rw'`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false });

    // Turning row security off makes queries fail instead of returning everything.
    await expect(
      withTenant(paris.id, async (tx) => {
        await tx.$executeRawUnsafe("SET LOCAL row_security = off");
        return tx.user.findMany();
      }, database),
    ).rejects.toThrow(/row-level security|row level security/i);
    // Disabling the policy or rewriting the audit trail needs rights the role does not have.
    await expect(
      withTenant(paris.id, (tx) => tx.$executeRawUnsafe(`ALTER TABLE "users" DISABLE ROW LEVEL SECURITY`), database),
    ).rejects.toThrow(/must be owner|permission denied/i);
    await expect(
      withTenant(paris.id, (tx) => tx.$executeRawUnsafe(`DELETE FROM "audit_events"`), database),
    ).rejects.toThrow(/permission denied/i);
    await expect(
      withTenant(paris.id, (tx) => tx.$executeRawUnsafe(`SELECT count(*) FROM "platform_operators"`), database),
    ).rejects.toThrow(/permission denied/i);
    await expect(
      withTenant(paris.id, (tx) => tx.city.create({
        data: { id: randomUUID(), slug: "rogue", names: {}, defaultLocale: "en", enabledLocales: ["en"], timeZone: "UTC", identityRealm: "rogue" },
      }), database),
    ).rejects.toThrow(/permission denied|row-level security/i);
  });

  it("rolls a failing unit of work back completely", async () => {
    const userId = randomUUID();
    const failure = new Error("payment service down");
    await expect(
      withTenant(paris.id, async (tx) => {
        await tx.user.create({ data: { tenantId: paris.id, id: userId, realm: paris.slug, subject: `s-${userId}` } });
        await tx.membership.create({ data: { tenantId: paris.id, userId, role: "staff" } });
        await tx.city.update({ where: { id: paris.id }, data: { timeZone: "America/New_York" } });
        throw failure;
      }, database),
    ).rejects.toBe(failure);
    // A database error midway rolls back the earlier statements as well.
    await expect(
      withTenant(paris.id, async (tx) => {
        await tx.user.create({ data: { tenantId: paris.id, id: userId, realm: paris.slug, subject: `s-${userId}` } });
        await tx.user.create({ data: { tenantId: paris.id, id: userId, realm: paris.slug, subject: "duplicate id" } });
      }, database),
    ).rejects.toThrow();

    const state = await withTenant(paris.id, async (tx) => ({
      user: await tx.user.findUnique({ where: { tenantId_id: { tenantId: paris.id, id: userId } } }),
      memberships: await tx.membership.count({ where: { userId } }),
      timeZone: (await tx.city.findFirstOrThrow()).timeZone,
    }), database);
    expect(state).toEqual({ user: null, memberships: 0, timeZone: "Europe/Paris" });
  });

  it("joins a nested unit of work for the same city and refuses one for another city", async () => {
    const nested = await withTenant(paris.id, (outer) =>
      withTenant(paris.id, async (inner) => inner === outer, database),
    database);
    expect(nested).toBe(true);
    await expect(
      withTenant(paris.id, () => withTenant(budapest.id, (tx) => tx.user.count(), database), database),
    ).rejects.toBeInstanceOf(TenantScopeError);
    await expect(
      withTenant(paris.id, () => withPlatformAdmin((tx) => tx.city.count(), database), database),
    ).rejects.toBeInstanceOf(TenantScopeError);
    await expect(withTenant("paris' OR 1=1 --", (tx) => tx.user.count(), database)).rejects.toBeInstanceOf(TenantScopeError);
  });

  it("keeps concurrent units of work of different cities apart", async () => {
    const cities = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? paris : budapest));
    const seen = await Promise.all(
      cities.map((city) =>
        withTenant(city.id, async (tx) => {
          const users = await tx.user.findMany({ select: { tenantId: true } });
          const [setting] = await tx.$queryRawUnsafe<{ tenant: string }[]>(`SELECT current_setting('app.tenant_id') AS tenant`);
          return { expected: city.id, users: users.map((u) => u.tenantId), setting: setting?.tenant };
        }, database),
      ),
    );
    for (const unit of seen) {
      expect(unit.setting).toBe(unit.expected);
      expect(new Set(unit.users)).toEqual(new Set([unit.expected]));
    }
  });
});

describe("city settings and city identity", () => {
  it("lets a city's unit of work change its settings but not its identity or status", async () => {
    await withTenant(paris.id, (tx) => tx.city.update({ where: { id: paris.id }, data: { names: { en: "Paris" } } }), database);
    for (const data of [{ status: "suspended" as const }, { slug: "renamed" }, { identityRealm: "master" }]) {
      await expect(
        withTenant(paris.id, (tx) => tx.city.update({ where: { id: paris.id }, data }), database),
        JSON.stringify(data),
      ).rejects.toThrow(/permission denied/i);
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("with the production logins (PostgreSQL)", () => {
  // The README's recipe: the request login can only become app_rw, the platform login app_admin.
  let production: Awaited<ReturnType<typeof openDatabase>>;

  beforeAll(async () => {
    await database.owner.query(`DO $$
      BEGIN
        CREATE ROLE civitas_test_app LOGIN NOINHERIT;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    await database.owner.query(`GRANT app_rw TO civitas_test_app`);
    const url = new URL(database.url ?? "");
    url.username = "civitas_test_app";
    production = await openDatabase({ url: url.toString(), adminUrl: database.url, poolSize: 2 });
  });

  afterAll(async () => {
    await production?.close();
  });

  it("serves a city's unit of work and platform operations", async () => {
    expect(await withTenant(paris.id, (tx) => tx.user.count(), production)).toBe(1);
    expect(await withPlatformAdmin((tx) => tx.city.count(), production)).toBeGreaterThanOrEqual(2);
  });

  it("gives raw SQL inside a city's unit of work no way to another role", async () => {
    await expect(
      withTenant(paris.id, async (tx) => {
        await tx.$executeRawUnsafe("RESET ROLE");
        return tx.$queryRawUnsafe(`SELECT count(*) FROM "users"`);
      }, production),
    ).rejects.toThrow(/permission denied/i);
    await expect(
      withTenant(paris.id, (tx) => tx.$executeRawUnsafe("SET LOCAL ROLE app_admin"), production),
    ).rejects.toThrow(/permission denied/i);
    await expect(production.unscopedPrisma.$queryRawUnsafe(`SELECT count(*) FROM "users"`)).rejects.toThrow(
      /permission denied/i,
    );
  });
});

describe("reads in one round trip (readInTenant)", () => {
  it("sees only the city's rows, under row-level security, read-only", async () => {
    const [cities, members] = await readInTenant(
      paris.id,
      [literalSql`SELECT id::text FROM cities`, literalSql`SELECT count(*)::int AS n FROM users WHERE tenant_id = ${budapest.id}::uuid`],
      database,
    );
    expect(cities).toEqual([{ id: paris.id }]);
    expect(members).toEqual([{ n: 0 }]);
    await expect(readInTenant(paris.id, [literalSql`DELETE FROM users`], database)).rejects.toThrow(/read-only/);
    // The failed script left nothing behind: the next read works.
    expect((await readInTenant(budapest.id, [literalSql`SELECT id::text FROM cities`], database))[0]).toEqual([{ id: budapest.id }]);
  });

  it("escapes every value: quotes, backslashes and statement breaks stay data", async () => {
    const nasty = `x'); DELETE FROM users; SELECT ('\\`;
    const [rows] = await readInTenant(paris.id, [literalSql`SELECT ${nasty} AS v, ${["a'b", "c"]} AS list, ${null} AS nothing`], database);
    expect(rows?.[0]).toEqual({ v: nasty, list: ["a'b", "c"], nothing: null });
    // A negative number cannot turn "-" into a comment; an object that looks like SQL is refused.
    const [[difference]] = (await readInTenant(paris.id, [literalSql`SELECT 10 -${-5} AS v`], database)) as [[{ v: number }]];
    expect(difference.v).toBe(15);
    expect(() => literalSql`SELECT ${{ text: "1; DROP TABLE users" } as unknown as string}`).toThrow(TypeError);
  });

  it("joins the city's unit of work when one is open, and refuses another city's", async () => {
    await withTenant(
      paris.id,
      async () => {
        expect((await readInTenant(paris.id, [literalSql`SELECT id::text FROM cities`], database))[0]).toEqual([{ id: paris.id }]);
        await expect(readInTenant(budapest.id, [literalSql`SELECT 1`], database)).rejects.toBeInstanceOf(TenantScopeError);
      },
      database,
    );
    await expect(readInTenant("not-a-uuid", [literalSql`SELECT 1`], database)).rejects.toBeInstanceOf(TenantScopeError);
  });
});

describe("writes in one round trip (writeInTenant)", () => {
  const audit = (tenantId: string, action: string) =>
    literalSql`INSERT INTO audit_events (tenant_id, id, actor_type, action, subject_type) VALUES (${tenantId}::uuid, ${randomUUID()}::uuid, 'system', ${action}, 'test')`;
  const written = (tenantId: string, action: string) =>
    withPlatformAdmin((tx) => tx.auditEvent.count({ where: { tenantId, action } }), database);

  it("writes the city's rows, never another city's, and all of the script or nothing", async () => {
    await writeInTenant(paris.id, [audit(paris.id, "test.written")], database);
    expect(await written(paris.id, "test.written")).toBe(1);
    // Row-level security refuses a row of Budapest's, and the statement before it goes too.
    await expect(writeInTenant(paris.id, [audit(paris.id, "test.half"), audit(budapest.id, "test.half")], database)).rejects.toThrow(/row-level security/);
    expect(await written(paris.id, "test.half")).toBe(0);
    expect(await written(budapest.id, "test.half")).toBe(0);
    // The failed script left nothing behind: the next one works.
    await writeInTenant(budapest.id, [audit(budapest.id, "test.after")], database);
    expect(await written(budapest.id, "test.after")).toBe(1);
  });

  it("joins the city's unit of work when one is open, and rolls back with it", async () => {
    await expect(
      withTenant(
        paris.id,
        async () => {
          await writeInTenant(paris.id, [audit(paris.id, "test.joined")], database);
          await expect(writeInTenant(budapest.id, [audit(budapest.id, "test.joined")], database)).rejects.toBeInstanceOf(TenantScopeError);
          throw new Error("the unit of work fails");
        },
        database,
      ),
    ).rejects.toThrow("the unit of work fails");
    expect(await written(paris.id, "test.joined")).toBe(0);
  });
});
