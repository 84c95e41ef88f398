// The Open311 GeoReport v2 endpoint of the reporting plugin: `/open311/v2/…` on a city's host,
// `/{slug}/open311/v2/…` on the platform's, and `/open311/v2/…?jurisdiction_id={slug}` on the
// platform's for clients that select the city by jurisdiction_id (the spec's way). Discovery at
// `…/open311/discovery.{xml,json}`. Each call is one unit of work in the city (POST requests:
// a read and a write, see requests.server.ts), over the same services as GraphQL and the pages.
import type { Request, RequestHandler, Response } from "express";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { overLimit } from "../../../app/auth/rate-limits.server";
import { ServiceError, ValidationFailed } from "../../../app/auth/errors";
import { withTenant, type Database, type Tx } from "../../../app/db/database.server";
import { negotiateLocale } from "../../../app/i18n/i18n.server";
import { resolveTenant, type ResolvedCity, type TenantResolution, type TenantSelector } from "../../../app/tenancy/resolve.server";
import { reportingSettings, type ReportingSettings } from "../settings.server";
import { discoveryDocument, DISCOVERY_LISTS } from "./discovery.server";
import { badRequest, forbidden, notFound, Open311Error, renderErrors } from "./errors.server";
import { CONTENT_TYPES, renderList, renderObject, splitFormat, type Element, type Format } from "./format.server";
import { paramsOf, queryOf, readForm, type Params } from "./params.server";
import { createOpen311Request, getOpen311Request, listOpen311Requests, requestByToken } from "./requests.server";
import { DEFINITION_LISTS, serviceDefinition, serviceElement, type Language } from "./services.server";
import { getServiceCategory, listServiceCategories } from "../categories.server";
import { ANONYMOUS } from "../../../app/auth/permissions";

export type Open311Limits = {
  /** Calls per minute per client address (reads and writes). */
  perAddressPerMinute: number;
  /** Service requests posted per minute per api_key. */
  perKeyPerMinute: number;
};

export const DEFAULT_OPEN311_LIMITS: Open311Limits = { perAddressPerMinute: 1_200, perKeyPerMinute: 600 };

export function open311LimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Open311Limits {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
  };
  return {
    perAddressPerMinute: number("CIVITAS_OPEN311_RATE_PER_ADDRESS", DEFAULT_OPEN311_LIMITS.perAddressPerMinute),
    perKeyPerMinute: number("CIVITAS_OPEN311_RATE_PER_KEY", DEFAULT_OPEN311_LIMITS.perKeyPerMinute),
  };
}

export type Open311Options = {
  database?: Database;
  /** The tenant resolver (the process' by default). */
  resolve?: (selector: TenantSelector) => Promise<TenantResolution>;
  limits?: Partial<Open311Limits>;
  /** Unexpected failures (logged with the request id; the client gets a general service error). */
  onUnexpectedError?: (error: unknown, requestId: string) => void;
};

const OPEN311_PATH = /^(?:\/([a-z][a-z0-9-]{1,62}))?\/open311\/(?:v2\/(.*)|(discovery(?:\.[^/]*)?))$/;

/** What one call works with once its city is known. */
type Call = {
  req: Request;
  res: Response;
  format: Format;
  params: Params;
  city: ResolvedCity;
  basePath: string;
  language: Language;
  requestId: string;
};

export function open311Routes(options: Open311Options = {}): RequestHandler {
  const limits = { ...DEFAULT_OPEN311_LIMITS, ...open311LimitsFromEnv(), ...options.limits };
  const perAddress = new RateLimiterMemory({ points: limits.perAddressPerMinute, duration: 60 });
  const perKey = new RateLimiterMemory({ points: limits.perKeyPerMinute, duration: 60 });
  const resolve = options.resolve ?? resolveTenant;
  const database = options.database;
  const report = options.onUnexpectedError ?? ((error, requestId) => console.error(`[${requestId}] Open311:`, error));

  async function consume(limiter: RateLimiterMemory, key: string): Promise<void> {
    const seconds = await overLimit(limiter, key);
    if (seconds !== null) throw new Open311Error(429, "Too many requests: try again later.", { "Retry-After": String(seconds) });
  }

  /** The city a call is for: the resolved one, or on the platform's host the jurisdiction_id's. */
  async function selectCity(req: Request, prefix: string, params: Params): Promise<{ city: ResolvedCity; basePath: string }> {
    const jurisdiction = params.get("jurisdiction_id")?.toLowerCase();
    const tenant = await resolve({ host: req.hostname, pathname: req.path });
    let selected: { city: ResolvedCity; basePath: string } | null = null;
    if (tenant.kind === "city") {
      // A city's own address serves that city only, whatever jurisdiction_id says.
      if (tenant.basePath !== prefix) throw notFound("No such jurisdiction here.");
      // The spec's examples name a jurisdiction by its domain: the city's own host is its name too.
      if (jurisdiction !== undefined && jurisdiction !== tenant.city.slug && jurisdiction !== req.hostname.toLowerCase()) {
        throw notFound(`jurisdiction_id ${jurisdiction} was not found at this address (it serves ${tenant.city.slug}).`);
      }
      selected = { city: tenant.city, basePath: tenant.basePath };
    } else if (tenant.kind === "platform" && prefix === "") {
      if (jurisdiction === undefined) {
        throw badRequest("jurisdiction_id was not provided: this endpoint serves several cities; give the city's id (its slug).");
      }
      const chosen = await resolve({ host: req.hostname, pathname: `/${encodeURIComponent(jurisdiction)}` });
      if (chosen.kind !== "city") throw notFound(`jurisdiction_id ${jurisdiction.slice(0, 100)} was not found.`);
      selected = { city: chosen.city, basePath: "" };
    }
    if (!selected) throw notFound(`jurisdiction ${prefix ? prefix.slice(1) : (jurisdiction ?? "").slice(0, 100)} was not found.`.replace("  ", " "));
    if (selected.city.status !== "active") {
      throw new Open311Error(503, "This city's services are suspended.", { "Retry-After": "3600" });
    }
    return selected;
  }

  /** One unit of work in the city, which must run the reporting plugin. */
  function inCity<T>(call: Call, work: (tx: Tx, settings: ReportingSettings) => Promise<T>): Promise<T> {
    return withTenant(
      call.city.id,
      async (tx) => {
        const settings = await reportingSettings(call.city.id, database);
        return work(tx, settings);
      },
      database,
    );
  }

  function readContext(call: Call) {
    return { tenantId: call.city.id, city: call.city, language: call.language, origin: `${originOf(call.req)}${call.basePath}`, database };
  }

  function send(call: Pick<Call, "req" | "res" | "format">, status: number, body: string): void {
    sendAnswer(call.req, call.res, status, call.format, body);
  }

  // --- The methods ---------------------------------------------------------------------------

  async function services(call: Call): Promise<void> {
    const categories = await inCity(call, () => listServiceCategories(ANONYMOUS, {}, { tenantId: call.city.id, database }));
    send(call, 200, renderList(call.format, "services", "service", categories.map((category) => serviceElement(category, call.language))));
  }

  async function definition(call: Call, code: string): Promise<void> {
    const category = await inCity(call, () => getServiceCategory(ANONYMOUS, { code }, { tenantId: call.city.id, database }));
    send(call, 200, renderObject(call.format, "service_definition", serviceDefinition(category, call.language), DEFINITION_LISTS));
  }

  async function postRequest(call: Call): Promise<void> {
    const answer = await createOpen311Request({
      params: call.params,
      city: call.city,
      language: call.language,
      requestId: call.requestId,
      database,
      admit: (clientId) => consume(perKey, `${call.city.id}/${clientId}`),
    });
    send(call, 200, renderList(call.format, "service_requests", "request", [answer]));
  }

  async function getRequests(call: Call): Promise<void> {
    const items = await listOpen311Requests({ ...readContext(call), params: call.params });
    send(call, 200, renderList(call.format, "service_requests", "request", items));
  }

  async function getRequest(call: Call, id: string): Promise<void> {
    const item = await getOpen311Request({ ...readContext(call), serviceRequestId: id });
    if (!item) throw notFound(`service_request_id ${id.slice(0, 100)} was not found.`);
    send(call, 200, renderList(call.format, "service_requests", "request", [item]));
  }

  async function token(call: Call, tokenId: string): Promise<void> {
    const item = await requestByToken({ ...readContext(call), token: tokenId });
    if (!item) throw notFound(`token ${tokenId.slice(0, 100)} was not found.`);
    send(call, 200, renderList(call.format, "service_requests", "request", [item]));
  }

  async function discovery(call: Call): Promise<void> {
    const document = await inCity(call, (tx) => discoveryDocument(tx, { city: call.city, origin: originOf(call.req), basePath: call.basePath, language: call.language }));
    send(call, 200, renderObject(call.format, "discovery", document, DISCOVERY_LISTS));
  }

  type Route = { methods: readonly string[]; run: (call: Call) => Promise<void> };

  /** The route of a path under /open311/v2/ (its format stripped), or null when there is none. */
  function route(resource: string): Route | null {
    if (resource === "services") return { methods: ["GET"], run: services };
    if (resource === "requests") return { methods: ["GET", "POST"], run: (call) => (call.req.method === "POST" ? postRequest(call) : getRequests(call)) };
    const item = /^(services|requests|tokens)\/([^/]+)$/.exec(resource);
    if (!item) return null;
    let id: string;
    try {
      id = decodeURIComponent(item[2]!);
    } catch {
      return null;
    }
    if (item[1] === "services") return { methods: ["GET"], run: (call) => definition(call, id) };
    if (item[1] === "requests") return { methods: ["GET"], run: (call) => getRequest(call, id) };
    return { methods: ["GET"], run: (call) => token(call, id) };
  }

  return (req, res, next) => {
    const match = OPEN311_PATH.exec(req.path);
    if (!match) return next();
    const requestId = String(res.locals.requestId ?? "-");
    const prefix = match[1] ? `/${match[1]}` : "";
    const target = splitFormat(match[2] ?? match[3] ?? "");
    const format: Format = target?.format ?? "xml";
    // Browsers' apps may call from any origin; no cookie is ever read here.
    res.setHeader("Access-Control-Allow-Origin", "*");
    void (async () => {
      try {
        if (req.method === "OPTIONS") {
          res.status(204).set({ "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type, Accept-Language", "Access-Control-Max-Age": "86400" }).end();
          return;
        }
        if (!target) throw badRequest("The URL request is invalid: it must end with .xml or .json (for example services.xml).");
        const found = match[3] !== undefined ? (target.name === "discovery" ? ({ methods: ["GET"], run: discovery } as Route) : null) : route(target.name);
        if (!found) throw notFound(`No such Open311 resource: ${req.path.slice(0, 200)}.`);
        const method = req.method === "HEAD" ? "GET" : req.method;
        if (!found.methods.includes(method)) {
          throw new Open311Error(405, `${req.method} is not a method of this resource; use ${found.methods.join(" or ")}.`, { Allow: found.methods.join(", ") });
        }
        const query = queryOf(req);
        const params = method === "POST" ? paramsOf(await readForm(req), query) : paramsOf(query);
        await consume(perAddress, req.ip ?? req.socket.remoteAddress ?? "unknown");
        const { city, basePath } = await selectCity(req, prefix, params);
        const locale = negotiateLocale(req.get("accept-language") ?? null, city.enabledLocales, city.defaultLocale);
        await found.run({ req, res, format, params, city, basePath, language: { locale, cityDefault: city.defaultLocale }, requestId });
      } catch (error) {
        const failure = asOpen311Error(error, requestId);
        if (!failure) report(error, requestId);
        const answer = failure ?? new Open311Error(400, `General service error: the request could not be processed. If it happens again, tell the city, quoting ${requestId}.`);
        // A body left unread (an early refusal) must not be taken for the next request.
        if (req.method === "POST" && !req.readableEnded) res.set("Connection", "close");
        res.set(answer.headers);
        sendAnswer(req, res, answer.status, format, renderErrors(format, answer.errors));
      }
    })().catch(next);
  };
}

/**
 * An answer exactly as Express' res.send writes a string (Content-Length, the app's ETag, 304 to
 * a GET whose If-None-Match it matches, no body to HEAD), without its detours on the hot path: it
 * parses and rebuilds the Content-Type it was given and reads each header back first.
 */
function sendAnswer(req: Request, res: Response, status: number, format: Format, body: string): void {
  const bytes = Buffer.from(body);
  res.statusCode = status;
  res.setHeader("Content-Type", CONTENT_TYPES[format]);
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Content-Length", String(bytes.length));
  const etag = (req.app.get("etag fn") as ((body: Buffer) => string | undefined) | undefined)?.(bytes);
  if (etag) res.setHeader("ETag", etag);
  // Express' own test: a GET or HEAD answered 2xx whose ETag the client already holds.
  if (req.fresh) {
    res.statusCode = 304;
    res.removeHeader("Content-Type");
    res.removeHeader("Content-Length");
    res.end();
    return;
  }
  if (req.method === "HEAD") res.end();
  else res.end(bytes);
}

/** Scheme and host the client called (Express honours `trust proxy` for both). */
function originOf(req: Request): string {
  const port = req.get("host")?.match(/:(\d+)$/)?.[1];
  return `${req.protocol}://${req.hostname}${port ? `:${port}` : ""}`;
}

/** An expected failure in Open311's terms, or null for an unexpected one. */
function asOpen311Error(error: unknown, requestId: string): Open311Error | null {
  if (error instanceof Open311Error) return error;
  if (error instanceof ValidationFailed) {
    const descriptions = Object.entries(error.fields).flatMap(([field, messages]) => messages.map((message) => `${open311Field(field)}: ${message}`));
    return badRequest(descriptions.length > 0 ? descriptions : [error.message]);
  }
  if (error instanceof ServiceError) {
    if (error.status === 404) {
      const subject = (error as ServiceError & { subject?: string }).subject;
      if (subject === "service") return notFound("This jurisdiction does not run an Open311 service.");
      if (subject === "category") return notFound("service_code was not found.");
      return notFound(error.message);
    }
    if (error.status === 401 || error.status === 403) return forbidden("This api_key may not do this (its API client lacks the write scope).");
    return badRequest(error.message);
  }
  void requestId;
  return null;
}

/** A service's field name in the spec's words (`latitude` → `lat`, `attributes.x` → `attribute[x]`). */
function open311Field(field: string): string {
  if (field.startsWith("attributes.")) return `attribute[${field.slice("attributes.".length)}]`;
  const names: Record<string, string> = {
    categoryCode: "service_code",
    category: "service_code",
    latitude: "lat",
    longitude: "long",
    address: "address_string",
    mediaUrl: "media_url",
    email: "email",
    firstName: "first_name",
    lastName: "last_name",
    phone: "phone",
    description: "description",
  };
  return names[field] ?? (field || "request");
}

export type { Element };
