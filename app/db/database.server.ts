// The one way to reach data: a Prisma 7 client over PostgreSQL (DATABASE_URL) or embedded
// PGlite, and units of work that bind every statement to one city (see ADR 001).
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { config } from "../config.server";
import { PrismaClient } from "./generated/client.ts";
import type { SqlRow, SqlSession } from "./sql.server";
import { pgliteSession, postgresSession } from "./sql.server";

export type { PrismaClient };
/** The transaction client handed to a unit of work. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export type DatabaseKind = "postgres" | "pglite";

export type Database = {
  kind: DatabaseKind;
  /** Not bound to any city: use only through withTenant below. */
  unscopedPrisma: PrismaClient;
  /** The connection for platform operations; use only through withPlatformAdmin below. */
  adminPrisma: PrismaClient;
  /** Raw access as the connecting (owner) role, for migrations and health checks only. */
  owner: SqlSession;
  /**
   * Runs a script of several statements in one round trip on a request-work connection and
   * answers each statement's rows. Only for readInTenant and writeInTenant below, which wrap it
   * in a city's unit of work; a failed script is rolled back before the connection is reused.
   * Statements made with `prepared` are sent as prepared statements on PostgreSQL.
   */
  script(statements: readonly (string | LiteralSql)[]): Promise<SqlRow[][]>;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  /** PostgreSQL URL for request work; unset selects PGlite. */
  url?: string;
  /** PostgreSQL URL of the migration owner (defaults to `url`). */
  ownerUrl?: string;
  /** PostgreSQL URL for platform operations, a login that may become app_admin (defaults to `url`). */
  adminUrl?: string;
  /** PGlite data folder, or `memory://`. */
  dataDir?: string;
  /**
   * PGlite: start from this dump of a data folder (`dumpDataDir`) instead of creating a cluster.
   * Tests start each in-memory database from an initialised one: 1.4 s instead of 4.5.
   */
  pgliteTemplate?: Blob;
  /** PostgreSQL connections for request work. */
  poolSize?: number;
  /**
   * Called with every SQL statement the request-work clients (unscopedPrisma, adminPrisma) send,
   * as Prisma reports it (its query log): for tests that count statements. On PostgreSQL a unit
   * of work's BEGIN is reported with its opening, as one script (`BEGIN;\nSET LOCAL ROLE …`);
   * COMMIT is reported (PGlite: an "Implicit COMMIT" comment).
   * A script (readInTenant, writeInTenant) is reported once, whole: one call, one round trip.
   * Unset (production), the clients log nothing.
   */
  onQuery?: (sql: string) => void;
};

const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;
const CONNECTION_LIFETIME_SECONDS = 3_600;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const Client = openingClient(options.onQuery);
    // A connection lives an hour at most (closed when next released): the statements prepared on
    // it (Prisma's and the scripts', ADR 016) and the server process' caches go with it.
    const maxLifetimeSeconds = CONNECTION_LIFETIME_SECONDS;
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, Client, maxLifetimeSeconds });
    const separate = (url: string | undefined, max: number) =>
      url && url !== options.url ? new pg.Pool({ connectionString: url, max, Client, maxLifetimeSeconds }) : pool;
    const ownerPool = separate(options.ownerUrl, 2);
    const adminPool = separate(options.adminUrl, 4);
    const pools = [...new Set([pool, ownerPool, adminPool])];
    // An idle connection killed by the server (restart, admin terminate) must not crash the
    // process: the pool drops it and the next checkout opens a fresh one.
    for (const p of pools) {
      p.on("error", (error) => console.error("civitas: idle PostgreSQL connection lost:", error.message));
    }
    const prisma = prismaClient(new PrismaPg(pool, { statementNameGenerator }), options.onQuery);
    const adminPrisma = adminPool === pool ? prisma : prismaClient(new PrismaPg(adminPool, { statementNameGenerator }), options.onQuery);
    return {
      kind: "postgres",
      unscopedPrisma: prisma,
      adminPrisma,
      owner: postgresSession(ownerPool),
      async script(statements) {
        const client = await pool.connect();
        try {
          const { sql, answers, prepares } = scriptFor(statements, preparedOn(client));
          options.onQuery?.(sql);
          const sent = (await client.query(sql)) as unknown as pg.QueryResult | pg.QueryResult[];
          const results = Array.isArray(sent) ? sent : [sent];
          for (const name of prepares) preparedOn(client).add(name);
          client.release();
          return answers.map((index) => results[index]!.rows as SqlRow[]);
        } catch (error) {
          // The script's transaction may be left open (aborted): never hand that connection on.
          client.release(error instanceof Error ? error : true);
          throw error;
        }
      },
      async close() {
        await Promise.all([...new Set([prisma, adminPrisma])].map((client) => client.$disconnect()));
        await Promise.all(pools.map((p) => p.end()));
      },
    };
  }
  const dataDir = options.dataDir ?? "memory://";
  let releaseLock = () => undefined as void;
  if (!dataDir.startsWith("memory://")) {
    mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    releaseLock = lockDataDir(dataDir);
  }
  try {
    const lite = await PGlite.create(dataDir, options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {});
    const prisma = prismaClient(new PrismaPGlite(lite), options.onQuery);
    return {
      kind: "pglite",
      unscopedPrisma: prisma,
      adminPrisma: prisma,
      owner: pgliteSession(lite),
      async script(statements) {
        const sql = statements.map((statement) => (typeof statement === "string" ? statement : statement.text)).join(";\n");
        options.onQuery?.(sql);
        try {
          const results = await lite.exec(sql);
          return results.map((result) => result.rows as SqlRow[]);
        } catch (error) {
          // PGlite's one session must not stay in an aborted transaction.
          await lite.exec("ROLLBACK").catch(() => undefined);
          throw error;
        }
      },
      async close() {
        await prisma.$disconnect();
        await lite.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * Prisma's parameterised statements are prepared once per connection, under a name from their
 * text, and then only bound and run: PostgreSQL parses and plans each shape once instead of on
 * every call. (The shapes are the code's, bounded; values never reach the text.) Statements
 * without parameters (settings, scripts) go unprepared, as several may share one text.
 */
const statementNames = new Map<string, string>();
function statementNameGenerator(query: { sql: string; args: unknown[] }): string {
  if (query.args.length === 0) return undefined as unknown as string; // the adapter's "do not prepare"
  let name = statementNames.get(query.sql);
  if (!name) {
    name = `civitas_${createHash("sha256").update(query.sql).digest("base64url").slice(0, 32)}`;
    if (statementNames.size >= 10_000) statementNames.clear();
    statementNames.set(query.sql, name);
  }
  return name;
}

// --- Prepared statements in scripts -------------------------------------------------------------

/** The statements each pooled connection has prepared (by name), as scripts prepared them. */
const preparedStatements = new WeakMap<pg.PoolClient, Set<string>>();
/** Beyond this many on one connection, statements go unprepared (names follow shapes, not values). */
const MAX_PREPARED_PER_CONNECTION = 200;

function preparedOn(client: pg.PoolClient): Set<string> {
  let names = preparedStatements.get(client);
  if (!names) preparedStatements.set(client, (names = new Set()));
  return names;
}

/**
 * A script's text for one connection: a statement made with `prepared` becomes `EXECUTE` of its
 * prepared form, preceded by its `PREPARE` the first time on this connection. Answers which of
 * the script's results belong to each statement, and the names it prepares (to be remembered
 * once it succeeded: a failed script's connection is not reused, so what it prepared goes too).
 */
function scriptFor(statements: readonly (string | LiteralSql)[], known: ReadonlySet<string>): { sql: string; answers: number[]; prepares: string[] } {
  const parts: string[] = [];
  const answers: number[] = [];
  const prepares: string[] = [];
  for (const statement of statements) {
    if (typeof statement === "string" || !statement.prepare) {
      answers.push(parts.push(typeof statement === "string" ? statement : statement.text) - 1);
      continue;
    }
    const { definition, args } = statement.parameterized();
    const name = preparedName(definition);
    if (!known.has(name) && !prepares.includes(name)) {
      if (known.size + prepares.length >= MAX_PREPARED_PER_CONNECTION) {
        answers.push(parts.push(statement.text) - 1);
        continue;
      }
      parts.push(`PREPARE ${name} AS ${definition}`);
      prepares.push(name);
    }
    answers.push(parts.push(args.length > 0 ? `EXECUTE ${name}(${args.join(", ")})` : `EXECUTE ${name}`) - 1);
  }
  return { sql: parts.join(";\n"), answers, prepares };
}

const preparedNames = new Map<string, string>();
function preparedName(definition: string): string {
  let name = preparedNames.get(definition);
  if (!name) {
    // Not Prisma's prefix (statementNameGenerator): those are the driver's, these the scripts'.
    name = `civitas_script_${createHash("sha256").update(definition).digest("hex").slice(0, 32)}`;
    if (preparedNames.size >= 10_000) preparedNames.clear();
    preparedNames.set(definition, name);
  }
  return name;
}

// --- Opening a unit of work in one round trip ------------------------------------------------

/**
 * What a unit of work about to start on PostgreSQL sends with its BEGIN: the role, the city and
 * any opening reads (see withTenant), as one script. Set around `$transaction` only; the first
 * BEGIN sent in its async context takes it, once. When nothing took it (PGlite, or a driver that
 * began otherwise), the unit of work runs the same statements itself: the opening is a saving,
 * never what confines the work to its city.
 */
type Opening = { script: string; results: SqlRow[][] | null };
const openings = new AsyncLocalStorage<Opening>();

/**
 * pg's Client, sending a pending opening with the BEGIN of Prisma's driver adapter (the adapter
 * begins with a plain `BEGIN` and no values, which pg sends by the simple protocol: the one
 * that takes several statements). Reported whole to `onQuery`, as scripts are.
 */
function openingClient(onQuery?: (sql: string) => void): typeof pg.Client {
  const begin = (config: unknown) => typeof config === "object" && config !== null && (config as { text?: unknown }).text === "BEGIN";
  return class OpeningClient extends pg.Client {
    // pg's overloads: only the adapter's call (a config object, no callback) is intercepted.
    override query(...args: unknown[]): never {
      const opening = openings.getStore();
      const query = super.query as (...forwarded: unknown[]) => never;
      if (!opening || opening.results || args.length !== 1 || !begin(args[0])) return query.apply(this, args);
      const script = `BEGIN;\n${opening.script}`;
      onQuery?.(script);
      opening.results = [];
      return (query.call(this, script) as Promise<pg.QueryResult[]>).then((results) => {
        opening.results = results.slice(1).map((result) => result.rows as SqlRow[]);
        return results[0];
      }) as never;
    }
  };
}

function prismaClient(adapter: PrismaPg | PrismaPGlite, onQuery?: (sql: string) => void): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  client.$on("query", (event) => onQuery(event.query));
  // Typed by its log options; the rest of the code knows the plain client.
  return client as unknown as PrismaClient;
}

export class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PGlite is one process's database: a second process opening the same folder (say
 * `npm run db:seed` while `npm start` runs) would silently lose writes or corrupt it. A lock
 * file holding the owner's pid refuses that; one left by a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = `${path.resolve(dataDir)}.lock`;
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, mine, { flag: "wx" });
      const release = () => {
        process.off("exit", release);
        if (readFileSync(file, "utf8").trim() === mine) rmSync(file, { force: true });
      };
      process.on("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
      if (Number.isInteger(owner) && owner > 0 && processIsAlive(owner)) {
        throw new DatabaseInUseError(
          `The embedded database in ${dataDir} is in use by process ${owner}` +
            (owner === process.pid ? " (this one)" : "") +
            ". Stop it first, or set DATABASE_URL to share a PostgreSQL database between processes.",
        );
      }
      rmSync(file, { force: true }); // left by a process that is gone
    }
  }
  throw new DatabaseInUseError(`Could not lock the embedded database in ${dataDir} (${file}).`);
}

// One database per process. Kept on globalThis because the server entry and the Remix build
// are separate bundles: two PGlite instances on one data folder would corrupt it.
type ProcessState = { database?: Promise<Database>; pgliteTemplate?: Blob };
const processState: ProcessState = ((globalThis as Record<string, unknown>).__civitasDatabase ??=
  {}) as ProcessState;

export function databaseOptionsFromEnv(): DatabaseOptions {
  const env = config();
  return {
    url: env.DATABASE_URL,
    ownerUrl: env.DATABASE_OWNER_URL,
    adminUrl: env.DATABASE_ADMIN_URL,
    dataDir: env.CIVITAS_DATA_DIR.startsWith("memory://")
      ? env.CIVITAS_DATA_DIR
      : path.join(env.CIVITAS_DATA_DIR, "pglite"),
  };
}

export function getDatabase(): Promise<Database> {
  processState.database ??= openDatabase({ ...databaseOptionsFromEnv(), pgliteTemplate: processState.pgliteTemplate });
  return processState.database;
}

/** Tests: the process database, when it is an in-memory PGlite, starts from this dump. */
export function usePGliteTemplate(template: Blob | undefined): void {
  processState.pgliteTemplate = template;
}

export async function closeDatabase(): Promise<void> {
  const current = processState.database;
  processState.database = undefined;
  if (current) await (await current).close();
}

// --- Units of work -------------------------------------------------------------------------

/** Ids of rows (tenants, users, clients) are UUIDs; anything else names nothing. */
/** A well-formed id that names nothing: lookups by a malformed id use it and find nothing. */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID = UUID_PATTERN;

type Scope = { kind: "tenant"; tenantId: string } | { kind: "platform-admin" };
type Ambient = { scope: Scope; tx: Tx };
const ambient = new AsyncLocalStorage<Ambient>();

export class TenantScopeError extends Error {
  override name = "TenantScopeError";
}

/**
 * Runs `work` in one transaction bound to one city: the role is app_rw (no BYPASSRLS) and
 * `app.tenant_id` is set transaction-locally, so row-level security confines every statement
 * to that city and nothing survives the transaction. A unit of work started inside another
 * one for the same city joins it; one for another city is refused.
 */
export async function withTenant<T>(
  tenantId: string,
  work: (tx: Tx, opened: SqlRow[][]) => Promise<T>,
  database?: Database,
  /**
   * Reads the work needs first (a principal, say): on PostgreSQL they travel with BEGIN and the
   * settings, in the same round trip, and `work` gets their rows in order. Read-only, in the
   * city's scope like everything else.
   */
  opening: readonly LiteralSql[] = [],
): Promise<T> {
  if (!UUID.test(tenantId)) throw new TenantScopeError(`Not a tenant id: ${JSON.stringify(tenantId)}`);
  const current = ambient.getStore();
  if (current) {
    if (current.scope.kind === "tenant" && current.scope.tenantId === tenantId) {
      return work(current.tx, await runEach(current.tx, opening));
    }
    throw new TenantScopeError("A unit of work for one city cannot open another city's.");
  }
  const { unscopedPrisma: prisma } = database ?? (await getDatabase());
  const scope: Scope = { kind: "tenant", tenantId };
  // SET LOCAL (not set_config) is what Citus propagates to workers; this is the one place the
  // setting is made. The id is validated above, so interpolating it is safe.
  const settings = ["SET LOCAL ROLE app_rw", `SET LOCAL app.tenant_id = '${tenantId.toLowerCase()}'`];
  const sent: Opening = { script: [...settings, ...opening.map((statement) => statement.text)].join(";\n"), results: null };
  return openings.run(sent, () =>
    prisma.$transaction(async (tx) => {
      let opened = sent.results?.slice(settings.length);
      if (!opened) {
        // Nothing took the opening (PGlite): the same statements, one by one.
        for (const setting of settings) await tx.$executeRawUnsafe(setting);
        opened = await runEach(tx, opening);
      }
      return ambient.run({ scope, tx }, () => work(tx, opened));
    }, TRANSACTION_OPTIONS),
  );
}

async function runEach(tx: Tx, statements: readonly LiteralSql[]): Promise<SqlRow[][]> {
  const rows: SqlRow[][] = [];
  for (const statement of statements) rows.push(await tx.$queryRawUnsafe<SqlRow[]>(statement.text));
  return rows;
}

/**
 * Platform operations (tenant lookup by host, onboarding, cross-city reports) run as app_admin,
 * which bypasses row-level security. This is the only function that does: grep for it.
 */
export async function withPlatformAdmin<T>(
  work: (tx: Tx) => Promise<T>,
  database?: Database,
): Promise<T> {
  const current = ambient.getStore();
  if (current) {
    if (current.scope.kind === "platform-admin") return work(current.tx);
    throw new TenantScopeError("A city's unit of work cannot escalate to platform administration.");
  }
  const { adminPrisma: prisma } = database ?? (await getDatabase());
  const scope: Scope = { kind: "platform-admin" };
  const setting = "SET LOCAL ROLE app_admin";
  const sent: Opening = { script: setting, results: null };
  return openings.run(sent, () =>
    prisma.$transaction(async (tx) => {
      if (!sent.results) await tx.$executeRawUnsafe(setting);
      return ambient.run({ scope, tx }, () => work(tx));
    }, TRANSACTION_OPTIONS),
  );
}

// --- Reads in one round trip ------------------------------------------------------------------

/** What a LiteralSql is made of: text, and values written as escaped literals. */
type Chunk = string | { value: LiteralValue };

/** One SQL statement whose values are already escaped literals (build it with `literalSql`). */
export class LiteralSql {
  #text: string | undefined;

  /** Only literalSql, joinSql and prepared make these: a plain { text } object is a value, never SQL. */
  private constructor(
    /** Its text and its values, apart (for `parameterized`, and for joining statements). */
    readonly chunks: readonly Chunk[],
    /** Sent as a prepared statement where the connection allows (see `prepared`). */
    readonly prepare: boolean,
  ) {}

  static of(chunks: readonly Chunk[], prepare = false): LiteralSql {
    return new LiteralSql(chunks, prepare);
  }

  /**
   * The statement as sent: its values written in place as escaped literals. Written when first
   * asked (a fragment joined into a statement, or a statement sent prepared, never is).
   */
  get text(): string {
    this.#text ??= this.chunks.map((chunk) => (typeof chunk === "string" ? chunk : literal(chunk.value))).join("");
    return this.#text;
  }

  /** The same statement in parts: its text with a typed parameter ($1::text…) for each value, and those values as literals. */
  parameterized(): { definition: string; args: string[] } {
    const args: string[] = [];
    let definition = "";
    for (const chunk of this.chunks) {
      if (typeof chunk === "string") definition += chunk;
      else if (chunk.value === null) definition += "NULL";
      else {
        args.push(literal(chunk.value));
        definition += `$${args.length}::${parameterType(chunk.value)}`;
      }
    }
    return { definition, args };
  }
}

type LiteralValue = string | number | boolean | null | Date | readonly string[];

/**
 * The type PostgreSQL gives the value's literal (`literal` below), so that a prepared statement
 * answers what the statement with literals answers: 25 is an integer, 3000000000 a bigint, 2.5
 * a numeric. A string is text (a literal would take its type from where it stands: a string
 * compared with another type needs its cast in the statement, as `${id}::uuid` has).
 */
function parameterType(value: Exclude<LiteralValue, null>): string {
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return "numeric";
    return Math.abs(value) <= 2_147_483_647 ? "integer" : Math.abs(value) <= Number.MAX_SAFE_INTEGER ? "bigint" : "numeric";
  }
  if (value instanceof Date) return "timestamptz";
  if (Array.isArray(value)) return "text[]";
  return "text";
}

/** The value, refused where it could not be written as SQL (checked where the statement is built). */
function checked(value: LiteralValue): LiteralValue {
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError("literalSql: a number must be finite");
  if (value instanceof Date && Number.isNaN(value.getTime())) throw new RangeError("literalSql: an invalid date");
  const known = value === null || ["boolean", "number", "string"].includes(typeof value) || value instanceof Date || Array.isArray(value);
  if (!known) throw new TypeError("literalSql: not a value it can write as SQL");
  return value;
}

function literal(value: LiteralValue): string {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (typeof value === "number") {
    // In parentheses: `x -${-5}` must not read as `x --5` (a comment).
    return value < 0 ? `(${String(value)})` : String(value);
  }
  if (value instanceof Date) return `${pg.escapeLiteral(value.toISOString())}::timestamptz`;
  if (Array.isArray(value)) return value.length === 0 ? "'{}'::text[]" : `ARRAY[${value.map((item) => pg.escapeLiteral(String(item))).join(", ")}]::text[]`;
  return pg.escapeLiteral(value as string);
}

/**
 * A statement with its values escaped as SQL literals (PostgreSQL's rules, as the driver's
 * escapeLiteral): the simple protocol that runs several statements in one round trip takes no
 * parameters. Values only ever go through here, never into the text directly.
 */
export function literalSql(strings: TemplateStringsArray, ...values: (LiteralValue | LiteralSql)[]): LiteralSql {
  const chunks: Chunk[] = [strings[0] ?? ""];
  values.forEach((value, index) => {
    if (value instanceof LiteralSql) chunks.push(...value.chunks);
    else chunks.push({ value: checked(value) });
    chunks.push(strings[index + 1] ?? "");
  });
  return LiteralSql.of(chunks);
}

/** Statements (conditions) joined by a fixed separator, such as " AND ". */
export function joinSql(parts: readonly LiteralSql[], separator: " AND " | " OR " | ", "): LiteralSql {
  return LiteralSql.of(parts.flatMap((part, index) => (index === 0 ? part.chunks : [separator, ...part.chunks])));
}

/**
 * A hot read sent as a prepared statement on PostgreSQL: the first time on a connection its
 * script carries `PREPARE` (the text with typed parameters), and every time `EXECUTE` with the
 * values as literals, still in the script's one round trip. After five runs PostgreSQL keeps a
 * generic plan when it costs no more than the ones made for the values (plan_cache_mode auto),
 * and stops planning the statement on every call (for Open311's list, planning cost as much as
 * running it). For statements whose good plan does not depend on the values (an index on the
 * city's key, say). Elsewhere (PGlite, or inside a unit of work already open) the statement is
 * sent as is. Values become typed parameters (see parameterType).
 */
export function prepared(statement: LiteralSql): LiteralSql {
  return LiteralSql.of(statement.chunks, true);
}

/**
 * Read-only statements in one city's unit of work, in ONE round trip: BEGIN READ ONLY, the role
 * and tenant as withTenant sets them (RLS applies), the statements, COMMIT. For hot public reads
 * (Open311's GET) where a transaction of separate round trips costs more than the query. Inside
 * a unit of work already open for the city, the statements join it instead.
 */
export function readInTenant(tenantId: string, statements: readonly LiteralSql[], database?: Database): Promise<SqlRow[][]> {
  return scriptInTenant("BEGIN READ ONLY", tenantId, statements, database);
}

/**
 * Statements that write, in one city's unit of work, in ONE round trip: as readInTenant, but the
 * transaction may write (still app_rw, still confined to the city by RLS), and commits with the
 * script or not at all. For a hot write whose values are all known before it starts (Open311's
 * POST files a report in one data-modifying statement). Inside a unit of work already open for
 * the city, the statements join it, and commit or roll back with it.
 */
export function writeInTenant(tenantId: string, statements: readonly LiteralSql[], database?: Database): Promise<SqlRow[][]> {
  return scriptInTenant("BEGIN", tenantId, statements, database);
}

async function scriptInTenant(begin: "BEGIN" | "BEGIN READ ONLY", tenantId: string, statements: readonly LiteralSql[], database?: Database): Promise<SqlRow[][]> {
  if (!UUID.test(tenantId)) throw new TenantScopeError(`Not a tenant id: ${JSON.stringify(tenantId)}`);
  const current = ambient.getStore();
  if (current) {
    if (current.scope.kind !== "tenant" || current.scope.tenantId !== tenantId) {
      throw new TenantScopeError("A unit of work for one city cannot read or write another city's.");
    }
    return runEach(current.tx, statements);
  }
  const db = database ?? (await getDatabase());
  const results = await db.script([begin, "SET LOCAL ROLE app_rw", `SET LOCAL app.tenant_id = '${tenantId.toLowerCase()}'`, ...statements, "COMMIT"]);
  return results.slice(3, 3 + statements.length);
}
