// A unit of work's opening: the reads it needs first travel with BEGIN and the city's settings.
// On PostgreSQL that is one round trip; on PGlite the same statements run one by one. Either way
// they are read as the city, under row-level security, and a failure loses nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { literalSql, withPlatformAdmin, withTenant } from "./database.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
const sent: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql) => sent.push(sql) });
  paris = await createCity(database);
  budapest = await createCity(database);
});
afterAll(async () => database?.drop());

const whoAmI = literalSql`SELECT current_user::text AS role, current_setting('app.tenant_id', true) AS tenant`;

describe("a unit of work's opening", () => {
  it("is read as the city, under row-level security, and handed to the work in order", async () => {
    const opened = await withTenant(
      paris.id,
      async (_tx, rows) => rows,
      database,
      [whoAmI, literalSql`SELECT id::text FROM cities`, literalSql`SELECT count(*)::int AS n FROM users WHERE tenant_id = ${budapest.id}::uuid`],
    );
    expect(opened).toEqual([[{ role: "app_rw", tenant: paris.id }], [{ id: paris.id }], [{ n: 0 }]]);
  });

  it.runIf(process.env.CIVITAS_TEST_BACKEND === "postgres")("goes with BEGIN and the settings in one round trip on PostgreSQL", async () => {
    sent.length = 0;
    await withTenant(paris.id, async (tx) => tx.user.count(), database, [whoAmI]);
    expect(sent).toHaveLength(3); // the opening, the count, COMMIT
    expect(sent[0]).toMatch(/^BEGIN;\nSET LOCAL ROLE app_rw;\nSET LOCAL app\.tenant_id = '[0-9a-f-]{36}';\nSELECT current_user/);
    expect(sent[2]).toMatch(/^COMMIT/);
    // Platform administration opens the same way, with its own role.
    sent.length = 0;
    const [row] = await withPlatformAdmin((tx) => tx.$queryRawUnsafe<{ role: string }[]>(whoAmI.text), database);
    expect(row?.role).toBe("app_admin");
    expect(sent[0]).toBe("BEGIN;\nSET LOCAL ROLE app_admin");
  });

  it("runs in the open transaction when the unit of work joins one for the same city", async () => {
    const inner = await withTenant(
      paris.id,
      async () => withTenant(paris.id, async (_tx, [rows]) => rows, database, [whoAmI]),
      database,
      [literalSql`SELECT 1 AS one`],
    );
    expect(inner).toEqual([{ role: "app_rw", tenant: paris.id }]);
  });

  it.runIf(process.env.CIVITAS_TEST_BACKEND === "postgres")("is taken by its own BEGIN only, never by another transaction begun inside the work", async () => {
    const other = await withTenant(
      paris.id,
      // A transaction of its own on another connection (PGlite has one session: PostgreSQL only).
      async () => database.unscopedPrisma.$transaction((tx) => tx.$queryRawUnsafe<{ role: string; tenant: string | null }[]>(whoAmI.text)),
      database,
      [whoAmI],
    );
    expect(other[0]?.role).not.toBe("app_rw");
    expect(other[0]?.tenant ?? "").not.toBe(paris.id);
  });

  it("fails the unit of work when it fails, and leaves the connection as it found it", async () => {
    let ran = false;
    await expect(
      withTenant(
        paris.id,
        async () => {
          ran = true;
        },
        database,
        [literalSql`SELECT 1 / 0 AS broken`],
      ),
    ).rejects.toThrow(/division by zero/);
    expect(ran).toBe(false);
    // Every pooled connection still works, as app_rw for the next city only.
    const again = await Promise.all(
      Array.from({ length: 12 }, () => withTenant(budapest.id, async (_tx, [rows]) => rows, database, [whoAmI])),
    );
    for (const rows of again) expect(rows).toEqual([{ role: "app_rw", tenant: budapest.id }]);
  });

  it("keeps the opening rows of concurrent units of work of different cities apart", async () => {
    const cities = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? paris : budapest));
    const seen = await Promise.all(
      cities.map((city) => withTenant(city.id, async (_tx, [rows]) => rows?.[0]?.id, database, [literalSql`SELECT id::text FROM cities`])),
    );
    expect(seen).toEqual(cities.map((city) => city.id));
  });
});
