// The Express application in front of Remix: request ids, the access log, compression, static
// files, the checks that answer 400 to hostile Host / X-Forwarded-* headers, and Remix itself.
// Creating it has no side effect: server.ts prepares the database, loads the build and listens;
// tests serve it on an ephemeral port (tests/http).
import { randomUUID } from "node:crypto";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from "express";
import morgan from "morgan";
import { csrfSeed } from "./auth/csrf.server";
import { federationRoutes } from "./federation/http.server";
import { trustProxySetting } from "./config.server";
import { carriesSessionCookie } from "./auth/web-session.server";
import { identity, identityRoutes } from "./identity/identity.server";
import { createLoadContext } from "./load-context.server";
import { createGraphQLServer, graphqlRoutes, limitsFromEnv } from "../graphql/yoga";
import { MULTIPART_FORM_LIMIT, URLENCODED_FORM_LIMIT } from "./http-limits";
import { pluginEndpoints } from "./plugins/endpoints.server";
import { normaliseHost } from "./tenancy/host.server";

export type AppOptions = {
  /** Serves what the checks let through: remixHandler(build), or the reloading one of `npm run dev`. */
  handler: RequestHandler;
  /** CIVITAS_TRUST_PROXY: Express' `trust proxy` (a hop count, true/false, addresses, subnet names). */
  trustProxy?: string;
  /** Public files; `build/` under it holds the fingerprinted browser build. */
  publicDir?: string;
  /** One access log line per request on stdout (tests turn it off). */
  logRequests?: boolean;
  /** Serves /graphql and /{slug}/graphql; defaults to the process' endpoint (graphql/yoga.ts). */
  graphql?: RequestHandler;
  /** Serves /.well-known/civitas-federation and /federation/...; defaults to the process database's. */
  federation?: RequestHandler;
};

export function createApp({ handler, trustProxy, publicDir = "public", logRequests = true, graphql, federation }: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  // Off unless configured: the client's X-Forwarded-* headers would otherwise choose the city
  // (via the host). Behind a proxy that sets them, trust that proxy only (CIVITAS_TRUST_PROXY).
  app.set("trust proxy", trustProxySetting(trustProxy));
  app.use(assignRequestId);
  if (logRequests) app.use(accessLog);
  // Before static files too: a request Remix could not even represent is a bad request anywhere.
  app.use(checkRequest);
  // Before compression: GraphQL answers are mostly small and CPU is the API's bottleneck; a
  // proxy in front compresses if wanted. Bearer tokens only, never cookies: no CSRF exposure,
  // so before the pages' form checks too.
  app.use(graphql ?? processGraphQL());
  // Plugins' APIs (Open311): key- or token-authenticated, no cookies, like GraphQL.
  app.use(pluginEndpoints());
  // Federation (docs/federation.md): signed instance-to-instance requests, on any host. Before
  // the pages' form checks (the inbox takes JSON) and before anything reads a body: the inbox
  // verifies the signed digest over the exact bytes.
  app.use(federation ?? federationRoutes());
  app.use(compression());
  // Fingerprinted assets never change under one name.
  app.use("/build", express.static(`${publicDir}/build`, { immutable: true, maxAge: "1y", index: false }));
  app.use(express.static(publicDir, { maxAge: "1h", index: false }));
  // The embedded OpenID provider (/realms/{realm}/...), when no real Keycloak is configured.
  app.use(identityRoutes);
  app.use(refuseCrossOriginWrites);
  app.use(limitFormBodies);
  app.use(protectPages);
  app.use(csrfSeed);
  app.all("*", handler);
  app.use(handleUnexpected);
  return app;
}

/** The endpoint with the process' database and identity services and the limits of the environment. */
function processGraphQL(): RequestHandler {
  return graphqlRoutes(
    createGraphQLServer({ identity, limits: limitsFromEnv(), graphiql: process.env.NODE_ENV === "development" }),
  );
}

export function remixHandler(build: ServerBuild): RequestHandler {
  return createRequestHandler({
    build,
    mode: build.mode,
    getLoadContext: (req, res) =>
      createLoadContext({
        host: req.hostname,
        pathname: req.path,
        requestId: String(res.locals.requestId),
        csrfSeed: String(res.locals.csrfSeed),
        clientAddress: req.ip ?? req.socket.remoteAddress,
      }),
  });
}

// --- Middleware ------------------------------------------------------------------------------

const assignRequestId: RequestHandler = (_req, res, next) => {
  // Always ours: a client-sent id would let anyone forge log lines that look related.
  const requestId = randomUUID();
  res.locals.requestId = requestId;
  res.setHeader("X-Request-Id", requestId);
  next();
};

morgan.token("id", (_req, res) => String((res as Response).locals.requestId ?? "-"));
// Clients choose the URL: keep one line per request whatever they send.
// An Open311 api_key may come in the query string: it is a secret, never logged.
morgan.token("path", (req) => (req as Request).originalUrl.slice(0, 300).replace(/([?&]api_key=)[^&#]*/gi, "$1[redacted]"));
const accessLog = morgan(":id :remote-addr :method :path :status :res[content-length] - :response-time ms", {
  // Probes arrive every few seconds; log them only when they fail.
  skip: (req, res) => (req.url === "/healthz" || req.url === "/readyz") && res.statusCode < 400,
});

type TrustProxyFn = (address: string, hop: number) => boolean;

// undici's Request (which Remix builds) refuses these methods outright.
const UNSUPPORTED_METHODS: ReadonlySet<string> = new Set(["TRACE", "TRACK"]);

/**
 * The URL the Remix adapter builds for this request, built the same way: createRemixRequest in
 * node_modules/@remix-run/express/dist/server.js (2.17). The host is req.hostname (which honours
 * `trust proxy`), but the port comes from X-Forwarded-Host, else Host, whoever sent them.
 */
function remixUrl(req: Request): URL {
  const [, forwardedPort] = req.get("X-Forwarded-Host")?.split(":") ?? [];
  const [, hostPort] = req.get("host")?.split(":") ?? [];
  const fromForwarded = Number.parseInt(forwardedPort ?? "", 10);
  const fromHost = Number.parseInt(hostPort ?? "", 10);
  const port = Number.isSafeInteger(fromForwarded) ? fromForwarded : Number.isSafeInteger(fromHost) ? fromHost : "";
  return new URL(`${req.protocol}://${req.hostname}${port ? `:${port}` : ""}${req.originalUrl}`);
}

function badRequest(res: Response, reason: string): void {
  res.status(400).type("text/plain").send(`Bad Request: ${reason}\n`);
}

/**
 * Hosts and forwarded headers are client input: whatever they hold, the answer is a 400, never a
 * 500 from the URL parser deep inside Remix, and never a city chosen by an untrusted sender.
 */
const checkRequest: RequestHandler = (req, res, next) => {
  const trustProxy = req.app.get("trust proxy fn") as TrustProxyFn;
  // Express ignores X-Forwarded-Host/-Proto from an untrusted sender, but the Remix adapter
  // reads the X-Forwarded-Host port regardless: drop both so nobody reads them.
  if (!trustProxy(req.socket.remoteAddress ?? "", 0)) {
    delete req.headers["x-forwarded-host"];
    delete req.headers["x-forwarded-proto"];
  }
  if (normaliseHost(req.get("host")) === null) return badRequest(res, "invalid Host header");
  const forwardedHost = req.get("x-forwarded-host");
  // Express takes the first of a list (each proxy appends its own).
  if (forwardedHost && normaliseHost(forwardedHost.split(",")[0]) === null) {
    return badRequest(res, "invalid X-Forwarded-Host header");
  }
  const protocol = req.protocol.toLowerCase();
  if (protocol !== "http" && protocol !== "https") return badRequest(res, "invalid X-Forwarded-Proto header");
  // Origin form only ("/path"): an absolute-form target ("http://elsewhere/x") or "*" would be
  // glued to the host by the adapter and change which host the URL names.
  if (!req.originalUrl.startsWith("/")) return badRequest(res, "invalid request target");
  if (UNSUPPORTED_METHODS.has(req.method)) {
    res.status(405).set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS").type("text/plain").send("Method Not Allowed\n");
    return;
  }
  try {
    remixUrl(req);
  } catch {
    return badRequest(res, "invalid host or port");
  }
  next();
};

const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A browser's cross-origin POST (or PUT, DELETE...) to a page is refused with a 403, before the
 * action runs: the first line against cross-site request forgery (forms also carry a token, see
 * app/auth/csrf.server.ts), and an answer where Remix's own check would fail with a 500. The
 * comparison is Remix's: the Origin's host against X-Forwarded-Host (when trusted) or Host.
 */
const refuseCrossOriginWrites: RequestHandler = (req, res, next) => {
  const origin = req.get("origin");
  if (SAFE_METHODS.has(req.method) || origin === undefined) return next();
  const host = req.get("x-forwarded-host")?.split(",")[0]?.trim() || req.get("host");
  let originHost: string | null = null;
  try {
    originHost = origin === "null" ? null : new URL(origin).host;
  } catch {
    originHost = null;
  }
  if (originHost !== null && originHost === host) return next();
  res.status(403).type("text/plain").send("Forbidden: cross-origin submission\n");
};

/** Pages' forms: small url-encoded bodies, larger multipart ones (uploads). */
const FORM_LIMITS: Record<string, number> = {
  "application/x-www-form-urlencoded": URLENCODED_FORM_LIMIT,
  "multipart/form-data": MULTIPART_FORM_LIMIT,
};

/**
 * Actions read forms whole: before they do, anything but a form of a stated, bounded length is
 * refused (411, 413, 415) rather than buffered or failed on with a 500.
 */
const limitFormBodies: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const type = (req.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const length = req.get("content-length");
  if (length === undefined && req.get("transfer-encoding") === undefined) return next();
  const limit = FORM_LIMITS[type];
  if (limit === undefined) {
    res.status(415).type("text/plain").send("Unsupported Media Type: pages accept forms only\n");
    return;
  }
  if (length === undefined || !/^\d+$/.test(length)) {
    res.status(411).type("text/plain").send("Length Required\n");
    return;
  }
  if (Number(length) > limit) {
    res.status(413).type("text/plain").send("Payload Too Large\n");
    return;
  }
  next();
};

/** Pages are never framed by another site; a signed-in browser's pages are never cached. */
const protectPages: RequestHandler = (req, res, next) => {
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Content-Security-Policy", "frame-ancestors 'none'");
  if (carriesSessionCookie(req.headers.cookie)) res.setHeader("Cache-Control", "private, no-store");
  next();
};

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
