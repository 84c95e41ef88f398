// The federation's HTTP face (docs/federation.md §2, §5): the discovery document, the inbox,
// the cities as ActivityStreams actors, and the datasets' feeds and DCAT catalogue. Instance-level
// routes, served on any host, mounted by app/http.server.ts before any body parser and before the
// pages' form checks: the inbox verifies the Content-Digest over the exact bytes received.
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import { withPlatformAdmin, type Database } from "../db/database.server";
import { SLUG_PATTERN } from "../tenancy/city-file.server";
import { datasetRoutes } from "./datasets-http.server";
import { checkMediaType, InboxRefusal, MAX_INBOX_BYTES, receiveActivity, requestTarget } from "./inbox.server";
import { cityUri, discoveryDocument, DISCOVERY_PATH, INBOX_PATH, inboxUrl } from "./instance.server";

export type FederationRouteOptions = { database?: Database };

export function federationRoutes(options: FederationRouteOptions = {}): Router {
  const router = express.Router();
  router.get(DISCOVERY_PATH, json(discovery(options)));
  router.post(INBOX_PATH, json(inbox(options)));
  router.all(INBOX_PATH, (_req, res) => {
    res.status(405).set("Allow", "POST");
    sendError(res, 405, "method_not_allowed", "The inbox takes POST only.");
  });
  router.get("/federation/cities/:slug", json(cityActor(options)));
  router.use(datasetRoutes({ database: options.database }));
  return router;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Refusals as docs §5 bodies; anything unexpected as a 500 with a reference, logged. */
function json(handler: Handler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) return next(error);
      if (error instanceof InboxRefusal) {
        if (error.retryAfterSeconds !== undefined) res.set("Retry-After", String(error.retryAfterSeconds));
        return sendError(res, error.status, error.code, error.message);
      }
      const requestId = String(res.locals.requestId ?? "-");
      console.error(`[${requestId}] federation ${req.method} ${req.originalUrl.slice(0, 300)}:`, error);
      sendError(res, 500, "internal", `Unexpected error (reference ${requestId}).`);
    });
  };
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).type("application/json").send(JSON.stringify({ error: code, message }));
}

function discovery(options: FederationRouteOptions): Handler {
  return async (_req, res) => {
    const document = await discoveryDocument(options.database);
    // Public, and read by tools in browsers too.
    res.set({ "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*" });
    res.type("application/json").send(JSON.stringify(document));
  };
}

function inbox(options: FederationRouteOptions): Handler {
  return async (req, res) => {
    const contentType = req.get("content-type");
    // Before reading a byte: the media type (415), then the size (413).
    checkMediaType(contentType);
    const body = await readBody(req, res, MAX_INBOX_BYTES);
    await receiveActivity(
      { method: req.method, url: requestTarget(req.originalUrl), headers: req.headers, body, contentType, clientAddress: req.ip ?? req.socket.remoteAddress },
      { database: options.database },
    );
    res.status(202).type("application/json").send(JSON.stringify({ status: "accepted" }));
  };
}

/**
 * The raw body, refused past `limit` bytes whether or not Content-Length announced them. What
 * is left of a refused body is not read: the connection closes after the answer.
 */
function readBody(req: Request, res: Response, limit: number): Promise<Buffer> {
  const tooLarge = () => {
    res.set("Connection", "close");
    return new InboxRefusal(413, "too_large", "The body is over 1 MB.");
  };
  const length = req.get("content-length");
  if (length !== undefined && Number(length) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      total += chunk.length;
      if (total > limit) {
        done = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on("error", (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

function cityActor(options: FederationRouteOptions): Handler {
  return async (req, res) => {
    const slug = String(req.params.slug ?? "");
    const city = SLUG_PATTERN.test(slug)
      ? await withPlatformAdmin(
          (tx) => tx.city.findUnique({ where: { slug }, select: { slug: true, names: true, defaultLocale: true, status: true } }),
          options.database,
        )
      : null;
    if (!city || city.status !== "active") return sendError(res, 404, "not_found", "No such city here.");
    const names = (city.names ?? {}) as Record<string, string>;
    res.set("Cache-Control", "public, max-age=300");
    res.type("application/activity+json").send(
      JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id: cityUri(city.slug),
        type: "Organization",
        name: names[city.defaultLocale] ?? Object.values(names)[0] ?? city.slug,
        nameMap: names,
        inbox: inboxUrl(),
      }),
    );
  };
}
