// Runs before every file of the "database-free" project (tests/support/database-free.ts): those
// files run on one backend only, which is right only while they open no database. Here any
// attempt to open one (PGlite, or a PostgreSQL connection) throws, and fails the file even if the
// code under test caught the error.
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll } from "vitest";

/** What this file tried to open; shared through globalThis so the guard's own test can read it. */
export const refusals: string[] = ((globalThis as { __civitasDatabaseRefusals?: string[] }).__civitasDatabaseRefusals ??= []);

function refuse(what: string): never {
  const message = `${what}: this file is listed as database-free (tests/support/database-free.ts) and runs on one backend only; a file that opens a database must come off that list`;
  refusals.push(message);
  throw new Error(message);
}

const original = { create: PGlite.create, clientConnect: pg.Client.prototype.connect, poolConnect: pg.Pool.prototype.connect };
PGlite.create = (() => refuse("PGlite.create")) as typeof PGlite.create;
pg.Client.prototype.connect = function connect() {
  return refuse("pg.Client.connect");
} as typeof pg.Client.prototype.connect;
pg.Pool.prototype.connect = function connect() {
  return refuse("pg.Pool.connect");
} as typeof pg.Pool.prototype.connect;

afterAll(() => {
  PGlite.create = original.create;
  pg.Client.prototype.connect = original.clientConnect;
  pg.Pool.prototype.connect = original.poolConnect;
  if (refusals.length > 0) throw new Error(refusals.join("\n"));
});
