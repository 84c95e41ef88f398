// `npm run db:seed`: migrates, then makes the cities of CIVITAS_TENANTS_DIR (default ./tenants)
// match their files ("sync"). Running it again changes nothing.
import path from "node:path";
import { config, demoUsersEnabled } from "../app/config.server";
import { closeDatabase, getDatabase } from "../app/db/database.server";
import { MigrationError, migrate } from "../app/db/migrate.server";
import { CityFileError } from "../app/tenancy/city-file.server";
import { applyCityFiles } from "../app/tenancy/city-files.server";
import { identity, setIdentity } from "../app/identity/identity.server";
import { provisionIdentity } from "../app/identity/provision.server";
import { installDemoServices } from "../app/plugins/demo.server";

const list = (slugs: string[]) => (slugs.length === 0 ? "none" : slugs.join(", "));

try {
  const database = await getDatabase();
  await migrate(database.owner, { log: (line) => console.log(line) });
  const dir = path.resolve(config().CIVITAS_TENANTS_DIR);
  const report = await applyCityFiles({ dir, mode: "sync", database });
  console.log(`City files in ${path.relative(process.cwd(), dir) || "."}:`);
  console.log(`  created:   ${list(report.created)}`);
  console.log(`  updated:   ${list(report.updated)}`);
  console.log(`  unchanged: ${list(report.unchanged)}`);
  await provisionIdentity({ backend: identity().backend, database, tenantsDir: dir, demoUsers: demoUsersEnabled(), log: (line) => console.log(line) });
  if (demoUsersEnabled()) await installDemoServices({ tenantsDir: dir, database, log: (line) => console.log(line) });
} catch (error) {
  // Expected failures are the reader's to fix: the message is enough, a stack trace is noise.
  console.error(error instanceof CityFileError || error instanceof MigrationError ? error.message : error);
  process.exitCode = 1;
} finally {
  await setIdentity(undefined).catch(() => undefined);
  await closeDatabase();
}
