// Once per run and per backend project, before any test file: what test files would otherwise
// each build for themselves, in a fresh process every time: the databases they copy (see
// templates.ts; PGlite's initdb and the migrations cost seconds) and the Remix build the HTTP
// and browser suites serve (see remix-build.ts). Test files get them as environment variables
// (setup.ts), which the helpers in tests/support read; scripts and benchmarks, without them,
// build their own.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../app/db/database.server";
import { migrate } from "../../app/db/migrate.server";
import { pgliteSession } from "../../app/db/sql.server";
import { createScratchPostgres, pgliteTemplate } from "./database";
import { compileRemixBuildInto, REMIX_BUILD_ENV, remixBuildDir } from "./remix-build";
import { migrationsFingerprint, TEMPLATES_ENV, type DatabaseTemplates } from "./templates";

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- declaration merging needs an interface
  export interface ProvidedContext {
    /** Environment variables for the test files of a project. */
    testEnv: Record<string, string>;
  }
}

type Prepared<T> = { value: T; remove(): Promise<void> };

async function pgliteDumps(): Promise<Prepared<DatabaseTemplates["pglite"]>> {
  const empty = await pgliteTemplate();
  const lite = await PGlite.create("memory://", { loadDataDir: empty });
  let migrated: Blob;
  try {
    await migrate(pgliteSession(lite));
    migrated = await lite.dumpDataDir("none");
  } finally {
    await lite.close();
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "civitas-test-templates-"));
  const files = { empty: path.join(dir, "empty.tar"), migrated: path.join(dir, "migrated.tar") };
  await writeFile(files.empty, Buffer.from(await empty.arrayBuffer()));
  await writeFile(files.migrated, Buffer.from(await migrated.arrayBuffer()));
  return { value: files, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function postgresTemplate(serverUrl: string): Promise<Prepared<string>> {
  const scratch = await createScratchPostgres(serverUrl);
  const database = await openDatabase({ url: scratch.url });
  try {
    await migrate(database.owner);
  } finally {
    await database.close();
  }
  const name = new URL(scratch.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // A copy holds the template's contents, not what is set on the database itself: should a
    // migration ever do that (ALTER DATABASE ... SET, GRANT ... ON DATABASE), copies would differ.
    const { rows: settings } = await admin.query(
      "SELECT 1 FROM pg_database d WHERE d.datname = $1 AND (d.datacl IS NOT NULL OR EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid))",
      [name],
    );
    if (settings.length > 0) throw new Error(`the migrations set options on the database itself, which copies of ${name} would not have: tests/support/global-setup.ts must apply them to each copy`);
    // CREATE DATABASE ... TEMPLATE refuses a source anyone is connected to: the pool's goodbyes
    // must have reached the server, and nobody may connect from now on.
    await admin.query(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
    for (let attempt = 0; attempt < 250; attempt += 1) {
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [name]);
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await admin.end();
  }
  return { value: name, remove: scratch.drop };
}

async function remixBuild(): Promise<Prepared<string>> {
  const dir = remixBuildDir();
  await compileRemixBuildInto(dir);
  return { value: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = project.config.env?.CIVITAS_TEST_BACKEND;
  const serverUrl = process.env.DATABASE_URL;
  // In watch mode the code changes under the run: each file compiles the build it serves then.
  const watching = project.globalConfig.watch;
  const [migrations, pglite, postgres, remix] = await Promise.all([
    migrationsFingerprint(),
    backend === "pglite" ? pgliteDumps() : undefined,
    backend === "postgres" && serverUrl ? postgresTemplate(serverUrl) : undefined,
    watching ? undefined : remixBuild(),
  ]);
  const templates: DatabaseTemplates = { migrations, pglite: pglite?.value, postgres: postgres?.value };
  project.provide("testEnv", { [TEMPLATES_ENV]: JSON.stringify(templates), ...(remix && { [REMIX_BUILD_ENV]: remix.value }) });
  return async () => {
    await Promise.all([pglite?.remove(), postgres?.remove(), remix?.remove()]);
  };
}
