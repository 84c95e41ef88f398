// Databases to copy instead of building: the suite's global setup (global-setup.ts) makes them
// once per run and per backend, because every test file runs in a fresh process and building
// costs seconds there (initdb in WebAssembly for PGlite, then the migrations). Test files find them
// in CIVITAS_TEST_TEMPLATES (setup.ts puts it there); scripts and benchmarks, which have none,
// build every database from scratch.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { readMigrations } from "../../app/db/migrate.server";

export type DatabaseTemplates = {
  /** Which migrations the migrated templates hold (see migrationsFingerprint). */
  migrations: string;
  /** Files holding dumps (`dumpDataDir`) of an initialised PGlite cluster: empty, and migrated. */
  pglite?: { empty: string; migrated: string };
  /** A migrated PostgreSQL database, closed to connections, to CREATE DATABASE from. */
  postgres?: string;
};

export const TEMPLATES_ENV = "CIVITAS_TEST_TEMPLATES";

/** The migrations on disk, by name and checksum. */
export async function migrationsFingerprint(): Promise<string> {
  const migrations = await readMigrations();
  return createHash("sha256")
    .update(migrations.map((migration) => `${migration.name}:${migration.checksum}`).join("\n"))
    .digest("hex");
}

type Usable = { emptyPGlite?: string; migratedPGlite?: string; migratedPostgres?: string };

let usable: Promise<Usable> | undefined;

/**
 * This run's templates. The migrated ones count only while the migrations on disk are the ones
 * they hold: in watch mode someone may be editing a migration.
 */
function usableTemplates(): Promise<Usable> {
  usable ??= (async () => {
    const described = process.env[TEMPLATES_ENV];
    if (!described) return {};
    const templates = JSON.parse(described) as DatabaseTemplates;
    const current = templates.migrations === (await migrationsFingerprint());
    return {
      emptyPGlite: templates.pglite?.empty,
      migratedPGlite: current ? templates.pglite?.migrated : undefined,
      migratedPostgres: current ? templates.postgres : undefined,
    };
  })();
  return usable;
}

const dumps = new Map<string, Promise<Blob>>();

function readDump(file: string): Promise<Blob> {
  let dump = dumps.get(file);
  if (!dump) {
    dump = readFile(file).then((bytes) => new Blob([bytes]));
    dumps.set(file, dump);
  }
  return dump;
}

/** The dump of an initialised, empty PGlite cluster, when this run made one. */
export async function emptyPGliteDump(): Promise<Blob | undefined> {
  const { emptyPGlite } = await usableTemplates();
  return emptyPGlite ? readDump(emptyPGlite) : undefined;
}

/** The file holding a dump of a PGlite cluster with every migration applied, when current. */
export async function migratedPGliteDumpFile(): Promise<string | undefined> {
  return (await usableTemplates()).migratedPGlite;
}

/** The dump of a PGlite cluster with every migration applied, when this run made a current one. */
export async function migratedPGliteDump(): Promise<Blob | undefined> {
  const file = await migratedPGliteDumpFile();
  return file ? readDump(file) : undefined;
}

/** The name of a PostgreSQL template with every migration applied, when this run made a current one. */
export async function migratedPostgresTemplate(): Promise<string | undefined> {
  return (await usableTemplates()).migratedPostgres;
}
