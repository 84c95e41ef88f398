// `npm run db:migrate`: applies pending SQL migrations to the configured database.
import { closeDatabase, getDatabase } from "../app/db/database.server";
import { MigrationError, migrate } from "../app/db/migrate.server";

try {
  const database = await getDatabase();
  const report = await migrate(database.owner, { log: (line) => console.log(line) });
  console.log(
    report.applied.length === 0
      ? `Database is up to date (${report.alreadyApplied.length} migrations applied earlier).`
      : `Applied ${report.applied.length} migration(s).`,
  );
} catch (error) {
  console.error(error instanceof MigrationError ? error.message : error);
  process.exitCode = 1;
} finally {
  await closeDatabase();
}
