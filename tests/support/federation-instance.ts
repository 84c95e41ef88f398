// One real Civitas instance in a child process, for the federation tests: its own database
// (a PGlite folder or a PostgreSQL database that outlives the process, so it can be stopped and
// started again), the app on its own loopback port with its own CIVITAS_PUBLIC_URL (its
// instance id), and the Remix build the parent compiled. The parent drives it over the IPC
// channel by calling exported service functions, as the consoles would: nothing test-only is
// served over HTTP. Background delivery is not started: tests deliver explicitly, so each step
// is deterministic.
//
// Parent side: startFederationInstance() below. Child side: this file run with `--import tsx`.
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export type InstanceSpec = {
  publicUrl: string;
  port: number;
  /** PostgreSQL URL, or a PGlite data folder. */
  databaseUrl?: string;
  dataDir?: string;
  /** A file holding a PGlite dump the data folder starts from, when it has no cluster yet. */
  pgliteDumpFile?: string;
  remixBuildDir: string;
  cities: { slug: string; names: Record<string, string>; locales: string[] }[];
};

/** An argument standing for a principal of the child: `{ $principal: "admin", city: "paris" }`. */
export type PrincipalArgument = { $principal: "admin" | "staff" | "resident" | "operator"; city?: string };

export type FederationInstance = {
  base: string;
  /** Calls `modulePath`'s exported `name` in the child (paths relative to the project root). */
  call<T = unknown>(modulePath: string, name: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
  start(): Promise<void>;
};

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..", "..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// JSON over IPC: bigints (sequence numbers) travel as numbers, Dates as ISO strings.
const replacer = (_key: string, value: unknown) => (typeof value === "bigint" ? Number(value) : value);
const plain = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value, replacer)));

type Request = { id: string; modulePath: string; name: string; args: unknown[] };
type Answer = { id: string; ok: true; value: unknown } | { id: string; ok: false; error: string };

export async function startFederationInstance(spec: Omit<InstanceSpec, "port" | "publicUrl">): Promise<FederationInstance> {
  const port = await freePort();
  const full: InstanceSpec = { ...spec, port, publicUrl: `http://127.0.0.1:${port}` };
  let child: ChildProcess | null = null;
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  async function start(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, CIVITAS_FEDERATION_TEST_INSTANCE: JSON.stringify(full) };
    delete env.DATABASE_URL;
    delete env.CIVITAS_PUBLIC_URL;
    const spawned = fork(THIS_FILE, [], { cwd: ROOT, env, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child = spawned;
    spawned.on("message", (message: Answer | { ready: true } | { failed: string }) => {
      if ("id" in message) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(message.error));
      }
    });
    spawned.on("exit", () => {
      for (const waiter of pending.values()) waiter.reject(new Error("the instance stopped"));
      pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: true; failed?: string }) => {
        if (message.ready) resolve();
        if (message.failed) reject(new Error(`instance did not start: ${message.failed}`));
      };
      spawned.on("message", onMessage);
      spawned.once("exit", (code) => reject(new Error(`instance exited with ${code} while starting`)));
    });
  }

  await start();
  return {
    base: full.publicUrl,
    call<T>(modulePath: string, name: string, ...args: unknown[]): Promise<T> {
      if (!child?.connected) return Promise.reject(new Error("the instance is stopped"));
      const id = randomUUID();
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child!.send({ id, modulePath, name, args } satisfies Request);
      });
    },
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.send({ stop: true });
      const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    start,
  };
}

// --- Child side ---------------------------------------------------------------------------------

async function runChild(spec: InstanceSpec): Promise<void> {
  process.env.NODE_ENV = "test";
  process.env.CIVITAS_PUBLIC_URL = spec.publicUrl;
  process.env.PORT = String(spec.port);
  if (spec.databaseUrl) process.env.DATABASE_URL = spec.databaseUrl;
  else process.env.CIVITAS_DATA_DIR = spec.dataDir;
  const { resetConfig } = await import("../../app/config.server");
  resetConfig();
  const { getDatabase, closeDatabase, withPlatformAdmin, databaseOptionsFromEnv, usePGliteTemplate } = await import("../../app/db/database.server");
  // A stopped and started instance finds its cluster in the folder: only the first start loads it.
  const { dataDir } = databaseOptionsFromEnv();
  if (spec.pgliteDumpFile && dataDir && !existsSync(path.join(dataDir, "PG_VERSION"))) {
    usePGliteTemplate(new Blob([await readFile(spec.pgliteDumpFile)]));
  }
  const { migrate } = await import("../../app/db/migrate.server");
  const { createApp, remixHandler } = await import("../../app/http.server");
  const { loadCatalogue } = await import("../../app/plugins/catalogue.server");
  const { userPrincipal } = await import("../../app/auth/principal.server");
  const { permissionsFor } = await import("../../app/auth/permissions");
  loadCatalogue();
  const database = await getDatabase();
  await migrate(database.owner);

  // The cities, each with an admin, created on the first start only.
  const people = new Map<string, { tenantId: string; userId: string }>();
  for (const city of spec.cities) {
    const person = await withPlatformAdmin(async (tx) => {
      const existing = await tx.city.findUnique({ where: { slug: city.slug }, include: { memberships: { where: { role: "admin" } } } });
      if (existing) return { tenantId: existing.id, userId: existing.memberships[0]!.userId };
      const tenantId = randomUUID();
      const userId = randomUUID();
      await tx.city.create({
        data: {
          id: tenantId,
          slug: city.slug,
          names: city.names,
          defaultLocale: city.locales[0]!,
          enabledLocales: city.locales,
          timeZone: "Europe/Paris",
          identityRealm: city.slug,
          users: { create: { id: userId, realm: city.slug, subject: `admin-${city.slug}`, email: `admin@${city.slug}.example`, displayName: `Admin of ${city.slug}` } },
        },
      });
      await tx.membership.create({ data: { tenantId, userId, role: "admin" } });
      return { tenantId, userId };
    });
    people.set(city.slug, person);
  }

  const operator = await withPlatformAdmin((tx) =>
    tx.platformOperator.upsert({
      where: { subject: "federation-test-operator" },
      create: { id: randomUUID(), subject: "federation-test-operator", displayName: "Operator" },
      update: {},
    }),
  );

  const buildUrl = pathToFileURL(path.join(spec.remixBuildDir, "index.js")).href;
  const build = await import(buildUrl);
  const app = createApp({ handler: remixHandler(build), publicDir: path.join(spec.remixBuildDir, "public"), logRequests: false });
  const server = app.listen(spec.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });

  const principal = (argument: PrincipalArgument) => {
    if (argument.$principal === "operator") {
      return { kind: "operator" as const, operatorId: operator.id, subject: operator.subject, permissions: permissionsFor(["operator"]) };
    }
    const person = people.get(argument.city ?? "");
    if (!person) throw new Error(`no city ${argument.city} on this instance`);
    const memberships = argument.$principal === "admin" ? ["resident", "staff", "admin"] : argument.$principal === "staff" ? ["resident", "staff"] : ["resident"];
    return userPrincipal({ tenantId: person.tenantId, userId: person.userId, subject: `admin-${argument.city}`, memberships });
  };
  const resolveArgument = (value: unknown): unknown =>
    value && typeof value === "object" && "$principal" in value
      ? principal(value as PrincipalArgument)
      : value && typeof value === "object" && "$tenantId" in value
        ? people.get(String((value as { $tenantId: string }).$tenantId))?.tenantId
        : value;

  process.on("message", async (message: Request | { stop: true }) => {
    if ("stop" in message) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeDatabase();
      process.exit(0);
    }
    try {
      const module = (await import(pathToFileURL(path.join(ROOT, message.modulePath)).href)) as Record<string, unknown>;
      const fn = module[message.name];
      if (typeof fn !== "function") throw new Error(`${message.modulePath} exports no function ${message.name}`);
      const value = await (fn as (...args: unknown[]) => Promise<unknown>)(...message.args.map(resolveArgument));
      process.send!({ id: message.id, ok: true, value: plain(value) } satisfies Answer);
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.send!({ id: message.id, ok: false, error: text } satisfies Answer);
    }
  });
  process.send!({ ready: true });
}

if (process.env.CIVITAS_FEDERATION_TEST_INSTANCE && process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  runChild(JSON.parse(process.env.CIVITAS_FEDERATION_TEST_INSTANCE) as InstanceSpec).catch((error: unknown) => {
    process.send?.({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  });
}
