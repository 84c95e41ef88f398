// Civitas' migration runner: applies <stamp>_<name>/migration.sql from prisma/migrations and from
// every plugin's migrations/ folder, in the order of their names (stamps first), and
// books them in Prisma's own `_prisma_migrations` table with Prisma's checksum, so that
// `prisma migrate deploy`, where it can run, sees the same history (see ADR 002).
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { readdirSync } from "node:fs";
import splitter from "dbgate-query-splitter";
import type { SqlExecutor, SqlSession } from "./sql.server";

const { splitQuery, postgreSplitterOptions } = splitter;

export const DEFAULT_MIGRATIONS_DIR = path.resolve("prisma/migrations");
export const PLUGINS_DIR = path.resolve("plugins");

/**
 * The core's migrations folder and each plugin's (plugins/<id>/migrations): all plugin tables
 * exist for every city, whether or not a city installs the plugin (ARCHITECTURE §4).
 */
export function migrationFolders(): string[] {
  const plugins = readdirSync(PLUGINS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(PLUGINS_DIR, entry.name, "migrations"))
    .filter((dir) => readdirSync(path.dirname(dir)).includes("migrations"));
  return [DEFAULT_MIGRATIONS_DIR, ...plugins.sort()];
}

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

/**
 * Whether a recorded checksum belongs to this script. Like Prisma, line endings do not count:
 * a checkout that turned LF into CRLF (or back) has not changed the migration.
 */
function sameScript(recorded: string, migration: MigrationFile): boolean {
  const lf = migration.sql.replace(/\r\n/g, "\n");
  return [migration.checksum, checksumOf(lf), checksumOf(lf.replace(/\n/g, "\r\n"))].includes(recorded);
}

const shown = (file: string) => path.relative(process.cwd(), file);

export async function readMigrations(dirs: string | readonly string[] = migrationFolders()): Promise<MigrationFile[]> {
  const folders = await Promise.all(
    (typeof dirs === "string" ? [dirs] : dirs).map(async (dir) => {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory()).map((entry) => ({ dir, name: entry.name }));
    }),
  );
  const found = folders.flat().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < found.length; i++) {
    // The name is the migration's identity in the history table: two folders cannot share it.
    if (found[i]!.name === found[i - 1]!.name) {
      throw new MigrationError(`Two migrations are named ${found[i]!.name} (${shown(found[i - 1]!.dir)} and ${shown(found[i]!.dir)}).`);
    }
  }
  return Promise.all(
    found.map(async ({ dir, name }) => {
      const file = path.join(dir, name, "migration.sql");
      const sql = await readFile(file, "utf8").catch(() => {
        throw new MigrationError(`Migration folder ${name} has no migration.sql (${file}).`);
      });
      return { name, file, sql, checksum: checksumOf(sql) };
    }),
  );
}

// --- Statements, for checks and for saying where a migration failed -------------------------

type Statement = { number: number; line: number; text: string };

const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

function statementsOf(sql: string): Statement[] {
  const items = splitQuery(sql, { ...postgreSplitterOptions, returnRichInfo: true });
  const statements: Statement[] = [];
  for (const item of items) {
    if (typeof item === "string") throw new MigrationError("Statement splitter returned plain text.");
    // A comment above a statement belongs to the splitter's item; the statement starts after it.
    const comments = LEADING_COMMENTS.exec(item.text)?.[0] ?? "";
    const text = item.text.slice(comments.length).trim();
    if (text === "") continue;
    const offset = sql.indexOf(text, item.start.position);
    const line = sql.slice(0, offset).split("\n").length;
    statements.push({ number: statements.length + 1, line, text });
  }
  return statements;
}

const TRANSACTION_CONTROL =
  /^(?:BEGIN|COMMIT|ROLLBACK|END|ABORT|START\s+TRANSACTION|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b/i;

function where(migration: MigrationFile, statement: Statement): string {
  return `${shown(migration.file)}:${statement.line}: ${statement.text.split("\n")[0]?.slice(0, 120)}`;
}

/** Each migration is one transaction that the runner owns: a COMMIT inside would break that. */
function refuseTransactionControl(migration: MigrationFile): void {
  const control = statementsOf(migration.sql).find((statement) => TRANSACTION_CONTROL.test(statement.text));
  if (control) {
    throw new MigrationError(
      `Migration ${migration.name} controls transactions itself (${where(migration, control)}). ` +
        `Each migration already runs in one transaction; remove the statement.`,
    );
  }
}

// --- Bookkeeping -----------------------------------------------------------------------------

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

type History = { applied: Map<string, string>; unfinished: string[] };

async function history(sql: SqlExecutor): Promise<History> {
  const rows = await sql.query<{ migration_name: string; checksum: string; finished: boolean }>(
    `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  return {
    applied: new Map(rows.filter((row) => row.finished).map((row) => [row.migration_name, row.checksum])),
    unfinished: rows.filter((row) => !row.finished).map((row) => row.migration_name),
  };
}

function refuseInconsistent(migrations: MigrationFile[], { applied, unfinished }: History): void {
  if (unfinished.length > 0) {
    // Civitas never leaves such a row (a failure rolls back entirely); `prisma migrate deploy` does.
    throw new MigrationError(
      `Migration ${unfinished.join(", ")} started but did not finish (a failed \`prisma migrate deploy\`?). ` +
        `Repair the database by hand, then mark it with \`prisma migrate resolve --rolled-back\` ` +
        `or \`--applied\` before migrating again.`,
    );
  }
  for (const migration of migrations) {
    const recorded = applied.get(migration.name);
    if (recorded !== undefined && !sameScript(recorded, migration)) {
      throw new MigrationError(
        `${shown(migration.file)} was changed after it was applied ` +
          `(checksum ${migration.checksum.slice(0, 12)}… differs from the recorded ` +
          `${recorded.slice(0, 12)}…). Applied migrations are immutable: restore the file and ` +
          `put the change in a new migration.`,
      );
    }
  }
}

// --- Applying --------------------------------------------------------------------------------

class RollBack extends Error {}

/**
 * Replays a failed migration statement by statement, in a transaction that is always rolled
 * back, to tell which statement failed. Only used for the message: the migration itself runs
 * as one script, as Prisma runs it.
 */
async function locateFailure(
  session: SqlSession,
  migration: MigrationFile,
): Promise<{ statement: Statement; error: unknown } | undefined> {
  let failure: { statement: Statement; error: unknown } | undefined;
  await session
    .transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
      for (const statement of statementsOf(migration.sql)) {
        try {
          await tx.query(statement.text);
        } catch (error) {
          failure = { statement, error };
          break;
        }
      }
      throw new RollBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RollBack)) throw error;
    });
  return failure;
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function failureMessage(session: SqlSession, migration: MigrationFile, error: unknown): Promise<string> {
  const located = await locateFailure(session, migration).catch(() => undefined);
  if (located) {
    return (
      `Migration ${migration.name} failed at statement ${located.statement.number} ` +
      `(${where(migration, located.statement)}): ${reasonOf(located.error)}. Nothing of this migration was applied.`
    );
  }
  return `Migration ${migration.name} failed (${shown(migration.file)}): ${reasonOf(error)}. Nothing of this migration was applied.`;
}

/**
 * Applies every pending migration, each in its own transaction together with its bookkeeping
 * row: a failing migration leaves no trace. Safe to run from several processes at once.
 */
export async function migrate(
  session: SqlSession,
  options: { dir?: string | readonly string[]; log?: (line: string) => void } = {},
): Promise<MigrationReport> {
  const log = options.log ?? (() => undefined);
  const migrations = await readMigrations(options.dir);
  migrations.forEach(refuseTransactionControl);
  await session.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await tx.query(BOOKKEEPING_DDL);
  });
  refuseInconsistent(migrations, await history(session));

  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    let didApply: boolean;
    try {
      didApply = await session.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
        const current = await history(tx);
        refuseInconsistent([migration], current);
        if (current.applied.has(migration.name)) return false;
        const id = randomUUID();
        await tx.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
          [id, migration.checksum, migration.name],
        );
        await tx.exec(migration.sql);
        await tx.query(
          `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
          [id],
        );
        return true;
      });
    } catch (error) {
      if (error instanceof MigrationError) throw error;
      throw new MigrationError(await failureMessage(session, migration, error), { cause: error });
    }
    (didApply ? report.applied : report.alreadyApplied).push(migration.name);
    if (didApply) log(`applied migration ${migration.name}`);
  }
  return report;
}

/** What /readyz needs to know: is every migration on disk applied? */
export async function pendingMigrations(session: SqlSession, dir?: string | readonly string[]): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const exists = await session.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists[0]?.present) return migrations.map((migration) => migration.name);
  const { applied } = await history(session);
  return migrations
    .filter((migration) => {
      const recorded = applied.get(migration.name);
      return recorded === undefined || !sameScript(recorded, migration);
    })
    .map((migration) => migration.name);
}
