// What peers and open-data portals read over HTTP (docs/federation.md §7, §9): a dataset's pull
// feed (signed by a peer, or unsigned for a public dataset), its descriptor, a public dataset's
// records as a paged JSON download, and the DCAT-AP catalogue as Turtle and JSON-LD.
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import type { Database } from "../db/database.server";
import { MAX_BATCH_RECORDS, MAX_DOWNLOAD_RECORDS, MAX_KEY_LENGTH, DatasetAccessRefused, datasetDescriptor, feedPage, publicRecords } from "./datasets.server";
import { catalogueJsonLd, catalogueTurtle } from "./dcat.server";
import { InboxRefusal, requestTarget, verifyPeerRequest } from "./inbox.server";

type Options = { database?: Database };

function refuse(res: Response, status: number, error: string, message: string): void {
  res.status(status).set("Cache-Control", "no-store").json({ error, message });
}

/**
 * Expected refusals become their JSON answer (docs §5's error bodies); anything else is logged
 * with the request id and answered as a masked 500, in JSON too: peers read these answers.
 */
function route(work: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    work(req, res).catch((error: unknown) => {
      if (res.headersSent) return next(error);
      if (error instanceof DatasetAccessRefused || error instanceof InboxRefusal) return refuse(res, error.status, error.code, error.message);
      const requestId = String(res.locals.requestId ?? "-");
      console.error(`[${requestId}] federation ${req.method} ${req.originalUrl.slice(0, 300)}:`, error);
      refuse(res, 500, "internal", `Unexpected error (reference ${requestId}).`);
    });
  };
}

/** The peer that signed the request (null: unsigned, or signed by an instance that is not a peer). */
async function signer(req: Request, options: Options) {
  const { peer } = await verifyPeerRequest({ method: req.method, url: requestTarget(req.originalUrl), headers: req.headers }, { database: options.database });
  return peer;
}

const SEQ = /^\d{1,15}$/;

/** One query parameter given once (Express makes a repeated one a list). */
function single(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function feedQuery(req: Request): { after: number; limit: number; city: string | null } {
  const after = single(req.query.after) ?? "0";
  const limit = single(req.query.limit) ?? String(MAX_BATCH_RECORDS);
  const city = single(req.query.city) ?? null;
  if (!SEQ.test(after)) throw new DatasetAccessRefused(400, "malformed", "after must be a sequence number (0 or more).");
  if (!SEQ.test(limit) || Number(limit) < 1 || Number(limit) > MAX_BATCH_RECORDS) {
    throw new DatasetAccessRefused(400, "malformed", `limit must be a number from 1 to ${MAX_BATCH_RECORDS}.`);
  }
  if (city !== null && (city.length === 0 || city.length > 2000)) throw new DatasetAccessRefused(400, "malformed", "city must be a city id.");
  return { after: Number(after), limit: Number(limit), city };
}

/** A download page's query: records after the key `after` (from the start when absent or empty), `limit` of them. */
function downloadQuery(req: Request): { after: string | null; limit: number } {
  const after = single(req.query.after) ?? "";
  const limit = single(req.query.limit) ?? String(MAX_DOWNLOAD_RECORDS);
  if (req.query.after !== undefined && single(req.query.after) === undefined) throw new DatasetAccessRefused(400, "malformed", "after must be given once.");
  if (after.length > MAX_KEY_LENGTH) throw new DatasetAccessRefused(400, "malformed", `after must be a record key (at most ${MAX_KEY_LENGTH} characters).`);
  if (!SEQ.test(limit) || Number(limit) < 1 || Number(limit) > MAX_DOWNLOAD_RECORDS) {
    throw new DatasetAccessRefused(400, "malformed", `limit must be a number from 1 to ${MAX_DOWNLOAD_RECORDS}.`);
  }
  return { after: after === "" ? null : after, limit: Number(limit) };
}

/** Public answers may be cached and read from any origin (open data); others are for the asking peer only. */
function cachePolicy(res: Response, isPublic: boolean): void {
  if (isPublic) res.set({ "Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*" });
  else res.set("Cache-Control", "private, no-store");
}

export function datasetRoutes(options: Options = {}): Router {
  const router = express.Router();

  router.get(
    "/federation/catalog.ttl",
    route(async (_req, res) => {
      const turtle = await catalogueTurtle(options);
      cachePolicy(res, true);
      res.type("text/turtle; charset=utf-8").send(turtle);
    }),
  );

  router.get(
    "/federation/catalog.jsonld",
    route(async (_req, res) => {
      const document = await catalogueJsonLd(options);
      cachePolicy(res, true);
      res.type("application/ld+json; charset=utf-8").send(JSON.stringify(document));
    }),
  );

  router.get(
    "/federation/datasets/:id/records",
    route(async (req, res) => {
      const query = feedQuery(req);
      const peer = await signer(req, options);
      const page = await feedPage({ datasetId: String(req.params.id), ...query, peer }, options);
      cachePolicy(res, false);
      res.type("application/json").send(JSON.stringify(page));
    }),
  );

  router.get(
    "/federation/datasets/:id/records.json",
    route(async (req, res) => {
      const download = await publicRecords(String(req.params.id), { ...options, ...downloadQuery(req) });
      cachePolicy(res, true);
      // The next page as a link too (RFC 8288), for clients that follow links rather than read bodies.
      if (download.next) res.set("Link", `<${download.next}>; rel="next"`);
      res.type("application/json").send(JSON.stringify(download));
    }),
  );

  router.get(
    "/federation/datasets/:id",
    route(async (req, res) => {
      const peer = await signer(req, options);
      const descriptor = await datasetDescriptor(String(req.params.id), peer, options);
      cachePolicy(res, descriptor.sharing === "public");
      res.type("application/activity+json").send(JSON.stringify(descriptor));
    }),
  );

  return router;
}
