// Points the process database (getDatabase: what loaders, probes and the tenant resolver use
// when nobody hands them one) at a fresh database: in-memory PGlite, or a throw-away
// PostgreSQL database next to the one DATABASE_URL names.
import { resetConfig } from "../../app/config.server";
import { closeDatabase, getDatabase, usePGliteTemplate, type Database } from "../../app/db/database.server";
import { migrate } from "../../app/db/migrate.server";
import { createScratchPostgres, pgliteTemplate } from "./database";
import { migratedPGliteDump, migratedPostgresTemplate } from "./templates";

export type ProcessDatabase = { database: Database; release(): Promise<void> };

export async function useFreshProcessDatabase({ migrated = true } = {}): Promise<ProcessDatabase> {
  await closeDatabase();
  const serverUrl = process.env.DATABASE_URL;
  let dropScratch = async () => undefined;
  // A copy of the run's migrated template, when there is one, needs no migrating (templates.ts).
  let copied = false;
  if (serverUrl) {
    const template = migrated ? await migratedPostgresTemplate() : undefined;
    const scratch = await createScratchPostgres(serverUrl, { template });
    copied = template !== undefined;
    process.env.DATABASE_URL = scratch.url;
    dropScratch = async () => {
      process.env.DATABASE_URL = serverUrl;
      await scratch.drop();
    };
  } else {
    const dump = migrated ? await migratedPGliteDump() : undefined;
    copied = dump !== undefined;
    process.env.CIVITAS_DATA_DIR = "memory://";
    usePGliteTemplate(dump ?? (await pgliteTemplate()));
  }
  resetConfig();
  const database = await getDatabase();
  if (migrated && !copied) await migrate(database.owner);
  return {
    database,
    async release() {
      await closeDatabase();
      await dropScratch();
      resetConfig();
    },
  };
}
