// Civitas' migration runner: applies prisma/migrations/<stamp>_<name>/migration.sql in order and
// books them in Prisma's own `_prisma_migrations` table with Prisma's checksum, so that
// `prisma migrate deploy`, where it can run, sees the same history (see ADR 002).
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import splitter from "dbgate-query-splitter";
import type { SqlExecutor, SqlSession } from "./sql.server";

const { splitQuery, postgreSplitterOptions } = splitter;

export const DEFAULT_MIGRATIONS_DIR = path.resolve("prisma/migrations");

// Any fixed number, shared by every Civitas process: only one migrates at a time.
const MIGRATION_LOCK_KEY = 7_311_311;

export type MigrationFile = { name: string; file: string; sql: string; checksum: string };
export type MigrationReport = { applied: string[]; alreadyApplied: string[] };

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Prisma's checksum: SHA-256 of the migration script, hex encoded. */
export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name, "migration.sql");
      const sql = await readFile(file, "utf8").catch(() => {
        throw new MigrationError(`Migration folder ${name} has no migration.sql (${file}).`);
      });
      return { name, file, sql, checksum: checksumOf(sql) };
    }),
  );
}

const BOOKKEEPING_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

type AppliedRow = { migration_name: string; checksum: string };

async function appliedMigrations(sql: SqlExecutor): Promise<Map<string, string>> {
  const rows = await sql.query<AppliedRow>(
    `SELECT migration_name, checksum FROM "_prisma_migrations"
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Map(rows.map((row) => [row.migration_name, row.checksum]));
}

function refuseEdited(migrations: MigrationFile[], applied: Map<string, string>): void {
  for (const migration of migrations) {
    const recorded = applied.get(migration.name);
    if (recorded !== undefined && recorded !== migration.checksum) {
      throw new MigrationError(
        `${path.relative(process.cwd(), migration.file)} was changed after it was applied ` +
          `(checksum ${migration.checksum.slice(0, 12)}… differs from the recorded ` +
          `${recorded.slice(0, 12)}…). Applied migrations are immutable: restore the file and ` +
          `put the change in a new migration.`,
      );
    }
  }
}

async function applyOne(tx: SqlExecutor, migration: MigrationFile): Promise<void> {
  const statements = splitQuery(migration.sql, { ...postgreSplitterOptions, returnRichInfo: true });
  for (const [index, item] of statements.entries()) {
    if (typeof item === "string") throw new MigrationError("Statement splitter returned plain text.");
    try {
      await tx.query(item.text);
    } catch (error) {
      const line = (item.trimStart ?? item.start).line + 1;
      const firstLine = item.text.trim().split("\n")[0]?.slice(0, 120);
      const reason = error instanceof Error ? error.message : String(error);
      throw new MigrationError(
        `Migration ${migration.name} failed at statement ${index + 1} ` +
          `(${path.relative(process.cwd(), migration.file)}:${line}: ${firstLine}): ${reason}. ` +
          `Nothing of this migration was applied.`,
        { cause: error },
      );
    }
  }
}

/**
 * Applies every pending migration, each in its own transaction together with its bookkeeping
 * row: a failing migration leaves no trace. Safe to run from several processes at once.
 */
export async function migrate(
  session: SqlSession,
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<MigrationReport> {
  const log = options.log ?? (() => undefined);
  const migrations = await readMigrations(options.dir);
  await session.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await tx.query(BOOKKEEPING_DDL);
  });
  refuseEdited(migrations, await appliedMigrations(session));

  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const didApply = await session.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
      const applied = await appliedMigrations(tx);
      refuseEdited([migration], applied);
      if (applied.has(migration.name)) return false;
      const id = randomUUID();
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at)
         VALUES ($1, $2, $3, now())`,
        [id, migration.checksum, migration.name],
      );
      await applyOne(tx, migration);
      await tx.query(
        `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
        [id],
      );
      return true;
    });
    (didApply ? report.applied : report.alreadyApplied).push(migration.name);
    if (didApply) log(`applied migration ${migration.name}`);
  }
  return report;
}

/** What /readyz needs to know: is every migration on disk applied? */
export async function pendingMigrations(session: SqlSession, dir?: string): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const exists = await session.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists[0]?.present) return migrations.map((migration) => migration.name);
  const applied = await appliedMigrations(session);
  return migrations
    .filter((migration) => applied.get(migration.name) !== migration.checksum)
    .map((migration) => migration.name);
}
