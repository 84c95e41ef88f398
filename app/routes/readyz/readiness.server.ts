// Readiness: may this process take traffic? Only if the database answers and every migration
// on disk is applied (a process started before a migration, or against the wrong database,
// must not serve).
import { getDatabase, type Database } from "~/db/database.server";
import { pendingMigrations } from "~/db/migrate.server";

export type Readiness = {
  ready: boolean;
  checks: {
    database: "ok" | "unreachable";
    migrations: "ok" | "pending" | "unknown";
  };
  /** Names of migrations not applied yet. */
  pendingMigrations?: string[];
};

const CHECK_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("readiness check timed out")), CHECK_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function checkReadiness(database?: Database): Promise<Readiness> {
  let db: Database;
  try {
    db = database ?? (await withTimeout(getDatabase()));
    await withTimeout(db.owner.query("SELECT 1"));
  } catch (error) {
    console.error(`readiness: database unreachable: ${reason(error)}`);
    return { ready: false, checks: { database: "unreachable", migrations: "unknown" } };
  }
  try {
    const pending = await withTimeout(pendingMigrations(db.owner));
    if (pending.length > 0) {
      return { ready: false, checks: { database: "ok", migrations: "pending" }, pendingMigrations: pending };
    }
  } catch (error) {
    console.error(`readiness: cannot read migrations: ${reason(error)}`);
    return { ready: false, checks: { database: "ok", migrations: "unknown" } };
  }
  return { ready: true, checks: { database: "ok", migrations: "ok" } };
}
