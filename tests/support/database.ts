// Fresh, migrated databases for tests: in-memory PGlite, or a throw-away PostgreSQL database
// created next to the one DATABASE_URL names (the suite runs on both; see vitest.config.ts).
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { openDatabase, type Database, type DatabaseOptions } from "../../app/db/database.server";
import { migrate } from "../../app/db/migrate.server";
import { emptyPGliteDump, migratedPGliteDump, migratedPostgresTemplate } from "./templates";

export const backend = (): "postgres" | "pglite" => (process.env.DATABASE_URL ? "postgres" : "pglite");

export type TestDatabase = Database & { url?: string; drop(): Promise<void> };

async function asServerAdmin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A new PostgreSQL database on the server `serverUrl` names, and a way to drop it: empty, or a
 * copy of the database `template` names.
 */
export async function createScratchPostgres(serverUrl: string, options: { template?: string } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  // CI gives each run its own prefix, so its clean-up never touches another run's databases.
  const prefix = process.env.CIVITAS_TEST_DB_PREFIX ?? "civitas_test_";
  const name = `${prefix}${randomBytes(6).toString("hex")}`;
  const copy = options.template ? ` TEMPLATE "${options.template}"` : "";
  await asServerAdmin(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"${copy}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      asServerAdmin(serverUrl, async (client) => {
        // pg's Pool.end() resolves before its connections have left the server; a forced drop
        // right away would kill them mid-goodbye, and the pool reports that as an error.
        for (let attempt = 0; attempt < 100; attempt += 1) {
          const { rows } = await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
            [name],
          );
          if (rows[0]?.n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}

/** What a test may add to the database it gets (where it is stays the suite's choice). */
export type TestDatabaseOptions = Pick<DatabaseOptions, "onQuery">;

let template: Promise<Blob> | undefined;

/**
 * An initialised, empty PGlite cluster: the run's (see templates.ts), or dumped once per process:
 * creating a cluster costs seconds (initdb in WebAssembly), loading a dump about a tenth of that.
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const prepared = await emptyPGliteDump();
    if (prepared) return prepared;
    const lite = await PGlite.create("memory://");
    try {
      return await lite.dumpDataDir("none");
    } finally {
      await lite.close();
    }
  })();
  return template;
}

type Source = { pgliteDump?: Blob; postgresTemplate?: string };

/** A new database: in-memory PGlite loaded from a dump, or a throw-away PostgreSQL database (a copy of a template). */
async function createDatabase(options: TestDatabaseOptions, source: Source): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({ ...options, dataDir: "memory://", pgliteTemplate: source.pgliteDump ?? (await pgliteTemplate()) });
    return { ...database, drop: () => database.close() };
  }
  const scratch = await createScratchPostgres(serverUrl, { template: source.postgresTemplate });
  const database = await openDatabase({ ...options, url: scratch.url });
  return {
    ...database,
    url: scratch.url,
    async drop() {
      await database.close();
      await scratch.drop();
    },
  };
}

/** An empty database (no migrations applied). */
export async function createEmptyDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  return createDatabase(options, {});
}

/** A database with every migration applied: a copy of the run's migrated template when there is one. */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const source: Source = backend() === "pglite" ? { pgliteDump: await migratedPGliteDump() } : { postgresTemplate: await migratedPostgresTemplate() };
  if (source.pgliteDump || source.postgresTemplate) return createDatabase(options, source);
  const database = await createDatabase(options, {});
  await migrate(database.owner);
  return database;
}
