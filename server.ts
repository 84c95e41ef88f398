// The Civitas process: prepares the database (migrations, city files), then serves the Remix
// build over Express. `npm start` runs it bundled (build/server.js); `npm run dev` runs it with
// tsx under `remix dev --manual`, reloading the Remix build when it changes.
import { randomUUID } from "node:crypto";
import { watch } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import { broadcastDevReady, type ServerBuild } from "@remix-run/node";
import compression from "compression";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import morgan from "morgan";
import { config } from "./app/config.server";
import { closeDatabase, getDatabase } from "./app/db/database.server";
import { migrate } from "./app/db/migrate.server";
import { createLoadContext } from "./app/load-context.server";
import { applyCityFiles } from "./app/tenancy/city-files.server";
import { normaliseHost } from "./app/tenancy/resolve.server";

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
  if (!env.CIVITAS_SEED_ON_START) return;
  const cities = await applyCityFiles({ dir: env.CIVITAS_TENANTS_DIR, mode: "create-missing" });
  log(
    `city files (${env.CIVITAS_TENANTS_DIR}): ` +
      (cities.created.length > 0 ? `created ${cities.created.join(", ")}` : "no new city") +
      (cities.unchanged.length > 0 ? `; already known ${cities.unchanged.join(", ")}` : ""),
  );
}

// --- Middleware ------------------------------------------------------------------------------

const assignRequestId: RequestHandler = (_req, res, next) => {
  // Always ours: a client-sent id would let anyone forge log lines that look related.
  const requestId = randomUUID();
  res.locals.requestId = requestId;
  res.setHeader("X-Request-Id", requestId);
  next();
};

// Remix builds the request URL from the Host header (and, even with trust proxy off, the port
// of X-Forwarded-Host): garbage there would surface as a 500 instead of a 400.
const checkHost: RequestHandler = (req, res, next) => {
  if (!req.app.get("trust proxy")) delete req.headers["x-forwarded-host"];
  if (normaliseHost(req.get("host")) !== null) return next();
  res.status(400).type("text/plain").send("Bad Request: invalid Host header\n");
};

morgan.token("id", (_req, res) => String((res as express.Response).locals.requestId ?? "-"));
// Clients choose the URL: keep one line per request whatever they send.
morgan.token("path", (req) => (req as express.Request).originalUrl.slice(0, 300));
const accessLog = morgan(":id :remote-addr :method :path :status :res[content-length] - :response-time ms", {
  // Probes arrive every few seconds; log them only when they fail.
  skip: (req, res) => (req.url === "/healthz" || req.url === "/readyz") && res.statusCode < 400,
});

const handleUnexpected: ErrorRequestHandler = (error, req, res, next) => {
  const requestId = String(res.locals.requestId ?? "-");
  // Express flags errors caused by the request itself (malformed URL encoding, body too large).
  const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
  const where = `[${requestId}] ${req.method} ${req.originalUrl.slice(0, 300)}`;
  if (status === 500) console.error(`${where}:`, error);
  else console.warn(`${where}: ${status} ${error instanceof Error ? error.message.slice(0, 300) : ""}`);
  if (res.headersSent) return next(error);
  res
    .status(status)
    .type("text/plain")
    .send(`${status === 500 ? "Internal Server Error" : "Bad Request"} (reference ${requestId})\n`);
};

// --- Remix -----------------------------------------------------------------------------------

function remixHandler(build: ServerBuild): RequestHandler {
  return createRequestHandler({
    build,
    mode: build.mode,
    getLoadContext: (req, res) =>
      createLoadContext({ host: req.hostname, pathname: req.path, requestId: String(res.locals.requestId) }),
  });
}

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

/** Express' own forms: a hop count, true/false, or addresses and subnet names. */
function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

// --- Boot ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const env = config();
  await prepareDatabase();

  const dev = DEV ? await devHandler() : undefined;
  const remix = dev ? dev.handler : remixHandler(await importBuild());

  const app = express();
  app.disable("x-powered-by");
  // Off unless configured: the client's X-Forwarded-* headers would otherwise choose the city
  // (via the host). Behind a proxy that sets them, trust that proxy only (CIVITAS_TRUST_PROXY).
  app.set("trust proxy", trustProxySetting(env.CIVITAS_TRUST_PROXY));
  app.use(assignRequestId);
  app.use(accessLog);
  app.use(compression());
  // Fingerprinted assets never change under one name.
  app.use("/build", express.static("public/build", { immutable: true, maxAge: "1y", index: false }));
  app.use(express.static("public", { maxAge: "1h", index: false }));
  app.use(checkHost);
  app.all("*", remix);
  app.use(handleUnexpected);

  const server = app.listen(env.PORT, () => {
    log(`listening on http://localhost:${env.PORT} (${DEV ? "development" : "production"})`);
    dev?.announce().catch((error: unknown) => console.error("civitas: remix dev did not answer:", error));
  });

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
