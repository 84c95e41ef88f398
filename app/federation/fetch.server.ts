// Outgoing HTTP to other instances (docs/federation.md §12): https only (loopback addresses
// excepted, and other hosts over http only with CIVITAS_FEDERATION_ALLOW_HTTP), no redirects,
// 10 seconds per request and at most 1 MB read, whatever the other side does. A peer that
// stalls costs one request its timeout, never a worker.
import { z } from "zod";
import { config } from "../config.server";
import type { Database } from "../db/database.server";
import {
  currentKey,
  DISCOVERY_PATH,
  isUnder,
  PROTOCOL,
  type DiscoveryDocument,
  type SigningKey,
} from "./instance.server";
import { importPublicKey, signRequest } from "./signatures.server";

export const FETCH_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export type FetchErrorCode = "invalid_url" | "insecure_url" | "unreachable" | "timeout" | "too_large" | "http_error" | "invalid_document";

/** Why another instance could not be reached or read; `message` is safe to show an operator. */
export class FederationFetchError extends Error {
  override name = "FederationFetchError";
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    /** The HTTP status, for http_error. */
    readonly status?: number,
  ) {
    super(message);
  }
}

// --- Addresses ----------------------------------------------------------------------------

/** localhost, 127.0.0.0/8 and ::1: development and tests, never another machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The URL if this instance may fetch it: https, or http to loopback (or anywhere with the flag). */
export function federationUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FederationFetchError("invalid_url", `${String(url).slice(0, 200)} is not an absolute URL.`);
  }
  if (parsed.username || parsed.password) throw new FederationFetchError("invalid_url", "A peer's address cannot carry a user name or password.");
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && (isLoopbackHost(parsed.hostname) || config().CIVITAS_FEDERATION_ALLOW_HTTP)) return parsed;
  throw new FederationFetchError(
    "insecure_url",
    parsed.protocol === "http:"
      ? `${parsed.origin} is plain http: peers are reached over https (set CIVITAS_FEDERATION_ALLOW_HTTP=true on a private test network).`
      : `${parsed.protocol} addresses are not supported: use https.`,
  );
}

/**
 * An instance's base URL from what an operator typed: the instance's address or its discovery
 * document's, with or without a trailing slash (no scheme: https). Query and fragment dropped.
 */
export function discoveryBase(input: string): string {
  const text = input.trim();
  const parsed = federationUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  let path = parsed.pathname.replace(/\/+$/, "");
  if (path.endsWith(DISCOVERY_PATH)) path = path.slice(0, -DISCOVERY_PATH.length);
  return `${parsed.origin}${path}`;
}

// --- Discovery documents --------------------------------------------------------------------

const text = (max: number) => z.string().max(max);

const keySchema = z.object({
  id: text(2000),
  type: z.literal("Ed25519"),
  status: z.enum(["current", "retired"]),
  publicKeyPem: text(10_000),
  created: text(100).optional(),
  retired: text(100).optional(),
});

const discoverySchema = z.object({
  type: z.literal("CivitasInstance"),
  protocol: text(100),
  id: text(2000),
  name: z.string().trim().min(1).max(200),
  inbox: text(2000),
  keys: z.array(keySchema).min(1).max(20),
  cities: z
    .array(
      z.object({
        id: text(2000),
        slug: text(100),
        names: z.record(z.string(), text(500)).default({}),
        locales: z.array(text(35)).max(100).default([]),
      }),
    )
    .max(10_000)
    .default([]),
  capabilities: z.array(text(100)).max(100).default([]),
  endpoints: z.record(z.string(), text(2000)).default({}),
});

/**
 * Checks a discovery document (fetched, or received in a key rotation's Update): the shape, the
 * protocol, the id the caller expects, an inbox and keys under that id, Ed25519 SPKI keys with
 * one current. Unknown fields are dropped (docs §11).
 */
export function parseDiscoveryDocument(value: unknown, expectedId: string): DiscoveryDocument {
  const parsed = discoverySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (${issue.path.join(".")}: ${issue.message})` : "";
    throw new FederationFetchError("invalid_document", `The discovery document is not a CivitasInstance document${where}.`);
  }
  const document = parsed.data;
  const invalid = (message: string) => new FederationFetchError("invalid_document", message);
  if (document.protocol !== PROTOCOL) {
    throw invalid(`The instance speaks ${document.protocol.slice(0, 100)}; this instance speaks ${PROTOCOL}.`);
  }
  if (document.id !== expectedId) {
    throw invalid(`The discovery document names the instance ${document.id.slice(0, 200)}, not ${expectedId}.`);
  }
  if (!isUnder(document.inbox, document.id) || !URL.canParse(document.inbox)) {
    throw invalid("The instance's inbox is not an address under its id.");
  }
  for (const key of document.keys) {
    if (!key.id.startsWith(`${document.id}#`) || key.id.length === document.id.length + 1) {
      throw invalid(`The key ${key.id.slice(0, 200)} is not a key id of the instance.`);
    }
    try {
      importPublicKey(key.publicKeyPem);
    } catch {
      throw invalid(`The key ${key.id.slice(0, 200)} is not an Ed25519 public key in PEM (SPKI).`);
    }
  }
  if (!document.keys.some((key) => key.status === "current")) throw invalid("The discovery document lists no current key.");
  if (document.cities.some((city) => !isUnder(city.id, document.id))) throw invalid("A city of the discovery document is not under the instance's id.");
  return document as DiscoveryDocument;
}

/** Fetches and checks the discovery document of the instance at `url` (docs §3 step 1). */
export async function fetchDiscovery(url: string, options: { timeoutMs?: number } = {}): Promise<DiscoveryDocument> {
  const base = discoveryBase(url);
  const response = await request(`${base}${DISCOVERY_PATH}`, {
    method: "GET",
    headers: { accept: "application/json" },
    timeoutMs: options.timeoutMs ?? FETCH_TIMEOUT_MS,
    maxBytes: MAX_RESPONSE_BYTES,
  });
  if (response.status !== 200) {
    throw new FederationFetchError("http_error", `${base} answered HTTP ${response.status} for its discovery document.`, response.status);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(response.body));
  } catch {
    throw new FederationFetchError("invalid_document", `${base} did not answer a JSON discovery document.`);
  }
  return parseDiscoveryDocument(json, base);
}

// --- Signed requests (docs §4) ----------------------------------------------------------------

export type SignedFetchOptions = {
  method: "GET" | "POST";
  /** POST: the activity, serialised; the signature covers its digest. */
  body?: string | Uint8Array<ArrayBuffer>;
  database?: Database;
  /** The key to sign with; default the current one (the outbox names one during a rotation). */
  key?: SigningKey;
  timeoutMs?: number;
  maxBytes?: number;
  /** Content-Type of a body; default application/activity+json. */
  contentType?: string;
  accept?: string;
};

/**
 * A request signed by this instance (RFC 9421: method, target URI, Content-Digest, created).
 * Answers a Response whose body is already read (at most `maxBytes`, 1 MB by default), or
 * throws a FederationFetchError when the peer cannot be reached, is too slow, or answers too
 * much. Any HTTP status is an answer: the caller decides what it means.
 */
export async function signedFetch(url: string, options: SignedFetchOptions): Promise<Response> {
  const target = federationUrl(url);
  target.hash = "";
  const key = options.key ?? (await currentKey(options.database));
  const signature = signRequest({ method: options.method, url: target.href, body: options.body, keyId: key.keyId, privateKey: key.privateKey });
  const headers: Record<string, string> = {
    ...signature,
    accept: options.accept ?? "application/activity+json, application/json",
    ...(options.body !== undefined && { "content-type": options.contentType ?? "application/activity+json" }),
  };
  const answer = await request(target.href, {
    method: options.method,
    headers,
    body: options.body,
    timeoutMs: options.timeoutMs ?? FETCH_TIMEOUT_MS,
    maxBytes: options.maxBytes ?? MAX_RESPONSE_BYTES,
  });
  const empty = answer.status === 204 || answer.status === 205 || answer.status === 304;
  return new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers });
}

type RawAnswer = { status: number; headers: Headers; body: Uint8Array<ArrayBuffer> };

async function request(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array<ArrayBuffer>; timeoutMs: number; maxBytes: number },
): Promise<RawAnswer> {
  const target = federationUrl(url);
  const signal = AbortSignal.timeout(init.timeoutMs);
  const where = target.origin;
  try {
    const response = await fetch(target, { method: init.method, headers: init.headers, body: init.body, redirect: "manual", signal });
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > init.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new FederationFetchError("too_large", `${where} answered more than ${init.maxBytes} bytes.`);
    }
    const body = await readAtMost(response, init.maxBytes, where);
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    if (error instanceof FederationFetchError) throw error;
    if (signal.aborted) throw new FederationFetchError("timeout", `${where} did not answer within ${Math.round(init.timeoutMs / 1000)} seconds.`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    throw new FederationFetchError("unreachable", `${where} could not be reached (${detail}).`);
  }
}

/** The body, refusing (and abandoning) it past `maxBytes` even when no Content-Length said so. */
async function readAtMost(response: Response, maxBytes: number, where: string): Promise<Uint8Array<ArrayBuffer>> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new FederationFetchError("too_large", `${where} answered more than ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
