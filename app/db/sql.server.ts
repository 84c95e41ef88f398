// Raw SQL sessions as the connecting role, for the migration runner and health checks.
// Request work never uses these: it goes through withTenant / withPlatformAdmin.
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type pg from "pg";

export type SqlRow = Record<string, unknown>;

export type SqlExecutor = {
  query<R extends SqlRow = SqlRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements at once (simple query protocol, no parameters). */
  exec(script: string): Promise<void>;
};

export type SqlSession = SqlExecutor & {
  /** Runs `work` in one transaction on one connection; a throw rolls it back. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
};

export function postgresSession(pool: pg.Pool): SqlSession {
  return {
    async query<R extends SqlRow>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as R[];
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          async query<R extends SqlRow>(sql: string, params: unknown[] = []) {
            return (await client.query(sql, params)).rows as R[];
          },
          async exec(script: string) {
            await client.query(script);
          },
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

export function pgliteSession(lite: PGlite): SqlSession {
  const executor = (target: PGlite | Transaction): SqlExecutor => ({
    async query<R extends SqlRow>(sql: string, params: unknown[] = []) {
      return (await target.query<R>(sql, params)).rows;
    },
    async exec(script: string) {
      await target.exec(script);
    },
  });
  return {
    ...executor(lite),
    transaction: (work) => lite.transaction((tx) => work(executor(tx))),
  };
}
