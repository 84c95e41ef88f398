import { createHash } from "node:crypto";
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEmptyDatabase, type TestDatabase } from "../../tests/support/database";
import { MigrationError, migrate, migrationFolders, pendingMigrations, readMigrations } from "./migrate.server";

let database: TestDatabase;
let dir: string;

beforeEach(async () => {
  database = await createEmptyDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "civitas-migrations-"));
});

afterEach(async () => {
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

async function addMigration(name: string, sql: string): Promise<string> {
  await mkdir(path.join(dir, name), { recursive: true });
  const file = path.join(dir, name, "migration.sql");
  await writeFile(file, sql);
  return file;
}

const bookkeeping = () =>
  database.owner.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
    `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
  );

describe("migration runner", () => {
  it("applies the shipped migrations to a fresh database and books them as Prisma does", async () => {
    const report = await migrate(database.owner);
    expect(report.applied.length).toBeGreaterThan(0);
    expect(report.alreadyApplied).toEqual([]);

    const rows = await bookkeeping();
    expect(rows.map((row) => row.migration_name)).toEqual(report.applied);
    const files = new Map((await readMigrations()).map((migration) => [migration.name, migration.file]));
    for (const row of rows) {
      const sql = await readFile(files.get(row.migration_name)!);
      expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(row.finished_at).not.toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    // Prisma's own bookkeeping columns, so `prisma migrate deploy` reads the same history.
    const columns = await database.owner.query<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => `${c.column_name}:${c.data_type}:${c.is_nullable}`)).toEqual([
      "id:character varying:NO",
      "checksum:character varying:NO",
      "finished_at:timestamp with time zone:YES",
      "migration_name:character varying:NO",
      "logs:text:YES",
      "rolled_back_at:timestamp with time zone:YES",
      "started_at:timestamp with time zone:NO",
      "applied_steps_count:integer:NO",
    ]);
    expect(await pendingMigrations(database.owner)).toEqual([]);
  });

  it("is a no-op when run again", async () => {
    const first = await migrate(database.owner);
    const before = await bookkeeping();
    const second = await migrate(database.owner);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    expect(await bookkeeping()).toEqual(before);
  });

  it("lets two processes migrate at once without applying anything twice", async () => {
    await addMigration("20260101000000_one", `CREATE TABLE "one" ("id" INTEGER PRIMARY KEY);`);
    await addMigration("20260102000000_two", `CREATE TABLE "two" ("id" INTEGER PRIMARY KEY);`);
    const [a, b] = await Promise.all([migrate(database.owner, { dir }), migrate(database.owner, { dir })]);
    expect([...a.applied, ...b.applied].sort()).toEqual(["20260101000000_one", "20260102000000_two"]);
    expect(await bookkeeping()).toHaveLength(2);
  });

  it("refuses an applied migration that was edited, naming the file", async () => {
    const file = await addMigration("20260101000000_first", `CREATE TABLE "first" ("id" INTEGER PRIMARY KEY);`);
    await migrate(database.owner, { dir });
    await writeFile(file, `CREATE TABLE "first" ("id" BIGINT PRIMARY KEY);`);
    await addMigration("20260102000000_second", `CREATE TABLE "second" ("id" INTEGER PRIMARY KEY);`);

    const error = await migrate(database.owner, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(path.join("20260101000000_first", "migration.sql"));
    expect((error as Error).message).toMatch(/changed after it was applied/);
    // Nothing after the refusal ran.
    const second = await database.owner.query(`SELECT to_regclass('"second"') AS t`);
    expect(second[0]?.t).toBeNull();
    expect(await pendingMigrations(database.owner, dir)).toEqual(["20260101000000_first", "20260102000000_second"]);
  });

  it("rolls back a failing migration completely and names the failing statement", async () => {
    await addMigration("20260101000000_ok", `CREATE TABLE "kept" ("id" INTEGER PRIMARY KEY);`);
    await addMigration(
      "20260102000000_broken",
      [
        `CREATE TABLE "half" ("id" INTEGER PRIMARY KEY);`,
        `INSERT INTO "half" VALUES (1);`,
        ``,
        `-- a function body with semicolons is one statement`,
        `CREATE FUNCTION "plus_one"(i integer) RETURNS integer AS $$ BEGIN RETURN i + 1; END; $$ LANGUAGE plpgsql;`,
        `INSERT INTO "half" VALUES ("plus_one"(1)), (2);`,
      ].join("\n"),
    );

    const error = await migrate(database.owner, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const message = (error as Error).message;
    expect(message).toContain("20260102000000_broken failed at statement 4");
    expect(message).toContain(`migration.sql:6: INSERT INTO "half" VALUES ("plus_one"(1)), (2)`);
    expect(message).toMatch(/duplicate key/);

    const tables = await database.owner.query<{ kept: string | null; half: string | null }>(
      `SELECT to_regclass('"kept"')::text AS kept, to_regclass('"half"')::text AS half`,
    );
    expect(tables[0]).toEqual({ kept: "kept", half: null });
    expect((await bookkeeping()).map((row) => row.migration_name)).toEqual(["20260101000000_ok"]);

    // Once fixed, the same migration applies.
    await addMigration("20260102000000_broken", `CREATE TABLE "half" ("id" INTEGER PRIMARY KEY);`);
    const report = await migrate(database.owner, { dir });
    expect(report.applied).toEqual(["20260102000000_broken"]);
  });

  it("reports a folder without migration.sql clearly", async () => {
    await mkdir(path.join(dir, "20260101000000_empty"));
    await expect(migrate(database.owner, { dir })).rejects.toThrow(/20260101000000_empty has no migration.sql/);
  });

  it("copies of the shipped migrations apply like the originals", async () => {
    // The core's and the plugins' folders, gathered into one.
    for (const folder of migrationFolders()) await cp(folder, dir, { recursive: true });
    const report = await migrate(database.owner, { dir });
    expect(report.applied).toEqual((await migrate(database.owner)).alreadyApplied);
  });
});

describe("migration runner, beyond the happy path", () => {
  it("names the failing statement, not the comment above it", async () => {
    await addMigration(
      "20260101000000_commented",
      [
        `CREATE TABLE "t" ("v" TEXT PRIMARY KEY);`,
        ``,
        `-- Seed the first row`,
        `/* twice, on purpose */`,
        `INSERT INTO "t" VALUES ('x'), ('x');`,
      ].join("\n"),
    );
    await expect(migrate(database.owner, { dir })).rejects.toThrow(
      /failed at statement 2 \(.*migration\.sql:5: INSERT INTO "t" VALUES \('x'\), \('x'\)\): duplicate key/,
    );
  });

  it("runs each script whole, as Prisma does, so quoting the splitter misreads still applies", async () => {
    await addMigration(
      "20260101000000_quoting",
      [
        `CREATE TABLE "notes" ("body" TEXT NOT NULL);`,
        `/* outer /* nested; */ still a comment; */`,
        `INSERT INTO "notes" VALUES (E'it\\'s; fine');`,
      ].join("\n"),
    );
    await migrate(database.owner, { dir });
    expect(await database.owner.query(`SELECT body FROM "notes"`)).toEqual([{ body: "it's; fine" }]);
  });

  it("refuses a migration that controls transactions itself, before applying anything", async () => {
    await addMigration("20260101000000_first", `CREATE TABLE "first" ("id" INTEGER PRIMARY KEY);`);
    await addMigration(
      "20260102000000_commits",
      [`BEGIN;`, `CREATE TABLE "u" ("id" INTEGER);`, `COMMIT;`, `SELECT 1/0;`].join("\n"),
    );
    await expect(migrate(database.owner, { dir })).rejects.toThrow(
      /20260102000000_commits controls transactions itself \(.*migration\.sql:1: BEGIN\)/,
    );
    const tables = await database.owner.query(`SELECT to_regclass('"first"')::text AS first, to_regclass('"u"')::text AS u`);
    expect(tables[0]).toEqual({ first: null, u: null });
  });

  it("accepts an applied migration whose line endings changed, and nothing else", async () => {
    const file = await addMigration("20260101000000_lf", `CREATE TABLE "a" ("id" INTEGER);\nCREATE TABLE "b" ("id" INTEGER);\n`);
    await migrate(database.owner, { dir });
    await writeFile(file, `CREATE TABLE "a" ("id" INTEGER);\r\nCREATE TABLE "b" ("id" INTEGER);\r\n`);
    expect((await migrate(database.owner, { dir })).alreadyApplied).toEqual(["20260101000000_lf"]);
    expect(await pendingMigrations(database.owner, dir)).toEqual([]);
    await writeFile(file, `CREATE TABLE "a" ("id" INTEGER);\r\nCREATE TABLE "b" ("id" BIGINT);\r\n`);
    await expect(migrate(database.owner, { dir })).rejects.toThrow(/changed after it was applied/);
  });

  it("refuses to go on after a migration another tool left unfinished", async () => {
    await addMigration("20260101000000_one", `CREATE TABLE "one" ("id" INTEGER);`);
    await migrate(database.owner, { dir });
    // What a failed `prisma migrate deploy` leaves behind.
    await database.owner.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('00000000-0000-0000-0000-000000000001', 'x', '20260102000000_two')`,
    );
    await addMigration("20260102000000_two", `CREATE TABLE "two" ("id" INTEGER);`);
    await expect(migrate(database.owner, { dir })).rejects.toThrow(/20260102000000_two started but did not finish/);
  });
});
