// The Civitas process: prepares the database (migrations, city files), then serves the Remix
// build over Express (the app itself: app/http.server.ts). `npm start` runs it bundled
// (build/server.js); `npm run dev` runs it with tsx under `remix dev --manual`, reloading the
// Remix build when it changes.
import { watch } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { broadcastDevReady, type ServerBuild } from "@remix-run/node";
import type { RequestHandler } from "express";
import { config, demoUsersEnabled } from "./app/config.server";
import { closeDatabase, getDatabase } from "./app/db/database.server";
import { migrate } from "./app/db/migrate.server";
import { startFederationWorker } from "./app/federation/worker.server";
import { createApp, remixHandler } from "./app/http.server";
import { identity, setIdentity } from "./app/identity/identity.server";
import { provisionIdentity } from "./app/identity/provision.server";
import { installDemoServices } from "./app/plugins/demo.server";
import { startPluginJobs } from "./app/plugins/jobs.server";
import { applyCityFiles } from "./app/tenancy/city-files.server";

const DEV = process.argv.includes("--dev");
// Paths are relative to the working directory, like prisma/migrations and tenants/:
// run the server from the project folder (scripts/start.mjs does).
const BUILD_PATH = path.resolve("build/index.js");
const SHUTDOWN_GRACE_MS = 10_000;

const log = (line: string) => console.log(`civitas: ${line}`);

async function importBuild(): Promise<ServerBuild> {
  // The query string defeats the ESM module cache, so a rebuilt file is really re-imported.
  const url = `${pathToFileURL(BUILD_PATH).href}?t=${Date.now()}`;
  return (await import(url)) as ServerBuild;
}

async function prepareDatabase(): Promise<void> {
  const env = config();
  const database = await getDatabase();
  log(`database: ${database.kind === "pglite" ? `embedded PGlite in ${env.CIVITAS_DATA_DIR}` : "PostgreSQL"}`);
  const report = await migrate(database.owner, { log });
  if (report.applied.length === 0) log("migrations: up to date");
  if (env.CIVITAS_SEED_ON_START) await applyTenantFiles();
  await prepareIdentity();
}

async function prepareIdentity(): Promise<void> {
  const env = config();
  // Demo sign-ins have a published password: never on a production instance unless asked for.
  const demoUsers = env.CIVITAS_SEED_ON_START && demoUsersEnabled(env);
  await provisionIdentity({ backend: identity().backend, tenantsDir: env.CIVITAS_TENANTS_DIR, demoUsers, log });
  // The demo cities' services (and their demo data, such as Open311's published api_key) go with
  // the demo users: evaluation instances only.
  if (demoUsers) await installDemoServices({ tenantsDir: env.CIVITAS_TENANTS_DIR, log });
}

async function applyTenantFiles(): Promise<void> {
  const env = config();
  const cities = await applyCityFiles({ dir: env.CIVITAS_TENANTS_DIR, mode: "create-missing" });
  log(
    `city files (${env.CIVITAS_TENANTS_DIR}): ` +
      (cities.created.length > 0 ? `created ${cities.created.join(", ")}` : "no new city") +
      (cities.unchanged.length > 0 ? `; already known ${cities.unchanged.join(", ")}` : ""),
  );
}

// --- Remix -----------------------------------------------------------------------------------

/**
 * Serves the current Remix build and swaps it when `remix dev` rebuilds; `announce` tells
 * `remix dev` (which waits for it) that the app serves the current build.
 */
async function devHandler(): Promise<{ handler: RequestHandler; announce: () => Promise<void> }> {
  let build = await importBuild();
  let handler = remixHandler(build);
  let timer: NodeJS.Timeout | undefined;
  // `remix dev` rewrites build/version.txt after each rebuild.
  watch(path.dirname(BUILD_PATH), (_event, file) => {
    if (file !== "version.txt") return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        build = await importBuild();
        handler = remixHandler(build);
        await broadcastDevReady(build);
      } catch (error) {
        console.error("civitas: could not reload the Remix build:", error);
      }
    }, 50);
  });
  return { handler: (req, res, next) => handler(req, res, next), announce: () => broadcastDevReady(build) };
}

// --- Boot ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const env = config();
  await prepareDatabase();

  const dev = DEV ? await devHandler() : undefined;
  const remix = dev ? dev.handler : remixHandler(await importBuild());

  const app = createApp({ handler: remix, trustProxy: env.CIVITAS_TRUST_PROXY });

  const onListening = () => {
    log(`listening on http://${env.HOST ?? "localhost"}:${env.PORT} (${DEV ? "development" : "production"})`);
    dev?.announce().catch((error: unknown) => console.error("civitas: remix dev did not answer:", error));
  };
  const server = env.HOST ? app.listen(env.PORT, env.HOST, onListening) : app.listen(env.PORT, onListening);
  // Plugins' background work (the reporting plugin's notification outbox).
  const jobs = startPluginJobs({ log });
  // Federation: outbox delivery, dataset refreshes, pruning (app/federation/worker.server.ts).
  const federation = startFederationWorker({ log });

  server.on("error", (error) => {
    console.error(`civitas: cannot listen on port ${env.PORT}:`, error.message);
    void closeDatabase().finally(() => process.exit(1));
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: closing`);
    const force = setTimeout(() => {
      console.error("civitas: connections still open after the grace period; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(async () => {
      await jobs.stop().catch((error: unknown) => console.error("civitas: stopping jobs:", error));
      await federation.stop().catch((error: unknown) => console.error("civitas: stopping the federation worker:", error));
      await setIdentity(undefined).catch((error: unknown) => console.error("civitas: closing identity:", error));
      await closeDatabase().catch((error: unknown) => console.error("civitas: closing the database:", error));
      log("stopped");
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch(async (error: unknown) => {
  console.error("civitas: could not start:", error);
  await closeDatabase().catch(() => undefined);
  process.exit(1);
});
