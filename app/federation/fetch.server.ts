// Outgoing HTTP to other instances (docs/federation.md §12): https only (loopback addresses
// excepted, and other hosts over http only with CIVITAS_FEDERATION_ALLOW_HTTP), no redirects,
// 10 seconds per request and at most 1 MB read, whatever the other side does. A peer that
// stalls costs one request its timeout, never a worker.
//
// Public addresses only: anyone can make this instance fetch a URL (a Follow names the
// discovery document to read before any signature can be checked), so a request never connects
// to a loopback, private, link-local, multicast or unspecified address (IPv4-mapped and other
// IPv6 forms of them included) — loopback excepted when this instance itself is on loopback (a
// local evaluation instance, tests), private ranges with CIVITAS_FEDERATION_ALLOW_PRIVATE. The
// check is made on the addresses the connection is opened to (the lookup of the connection
// itself, not a lookup before it that a DNS answer could contradict a moment later).
import dns, { type LookupAddress, type LookupAllOptions } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { Agent, fetch as undiciFetch, type Response as UndiciResponse } from "undici";
import { z } from "zod";
import { config } from "../config.server";
import type { Database } from "../db/database.server";
import {
  currentKey,
  DISCOVERY_PATH,
  instanceId,
  isFederationIdOf,
  PROTOCOL,
  type DiscoveryDocument,
  type SigningKey,
} from "./instance.server";
import { importPublicKey, signRequest } from "./signatures.server";

export const FETCH_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export type FetchErrorCode =
  | "invalid_url"
  | "insecure_url"
  | "blocked_address"
  | "unreachable"
  | "timeout"
  | "too_large"
  | "http_error"
  | "invalid_document";

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
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether this instance itself is on loopback (its public URL): it may then reach loopback peers. */
export function instanceOnLoopback(): boolean {
  return isLoopbackHost(new URL(instanceId()).hostname);
}

/**
 * What an IP address is to the federation: `public`; `loopback`; `private` (10/8, 172.16/12,
 * 192.168/16, 100.64/10 CGNAT, fc00::/7 ULA, fec0::/10); `forbidden` (0/8 and ::, link-local
 * 169.254/16 and fe80::/10, multicast, 240/4 and broadcast). IPv6 forms that carry an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are what that
 * address is. Null for what is not an IP address.
 */
export type AddressKind = "public" | "loopback" | "private" | "forbidden";

export function addressKind(address: string): AddressKind | null {
  const text = address.replace(/^\[|\]$/g, "").split("%")[0] ?? "";
  const version = isIP(text);
  if (version === 4) return ipv4Kind(ipv4Bytes(text));
  if (version === 6) return ipv6Kind(ipv6Bytes(text));
  return null;
}

function ipv4Bytes(text: string): number[] {
  return text.split(".").map(Number);
}

/** The 16 bytes of a valid IPv6 address (isIP checked it), a trailing dotted IPv4 included. */
function ipv6Bytes(text: string): number[] {
  let address = text.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(dotted[2] as string);
    address = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const [head = "", tail] = address.split("::");
  const words =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...new Array<number>(8 - groups(head).length - groups(tail).length).fill(0), ...groups(tail)];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

function ipv4Kind([a = 0, b = 0]: number[]): AddressKind {
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168) || (a === 100 && (b & 0xc0) === 64)) return "private";
  if (a === 0 || (a === 169 && b === 254) || a >= 224) return "forbidden";
  return "public";
}

function ipv6Kind(bytes: number[]): AddressKind {
  const zero = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  const embedded = (from: number) => ipv4Kind(bytes.slice(from, from + 4));
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes;
  if (zero(0, 16)) return "forbidden";
  if (zero(0, 15) && bytes[15] === 1) return "loopback";
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return embedded(12);
  if (zero(0, 12)) return embedded(12);
  if (b0 === 0x00 && b1 === 0x64 && b2 === 0xff && b3 === 0x9b && zero(4, 12)) return embedded(12);
  if (b0 === 0x20 && b1 === 0x02) return embedded(2);
  if ((b0 & 0xfe) === 0xfc) return "private";
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return "private";
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return "forbidden";
  if (b0 === 0xff) return "forbidden";
  return "public";
}

/** Why this instance will not connect to the IP `address`, or null when it may (see the header). */
export function refusedAddress(address: string): string | null {
  switch (addressKind(address)) {
    case "public":
      return null;
    case "loopback":
      return instanceOnLoopback() ? null : "a loopback address, reached only by an instance that is itself on loopback";
    case "private":
      return config().CIVITAS_FEDERATION_ALLOW_PRIVATE
        ? null
        : "a private address (set CIVITAS_FEDERATION_ALLOW_PRIVATE=true on a private test network)";
    case "forbidden":
      return "a link-local, multicast, unspecified or reserved address";
    default:
      return "not an IP address";
  }
}

/** The code of the lookup's refusal, which the request tells from other network errors. */
const BLOCKED_ADDRESS = "ERR_FEDERATION_BLOCKED_ADDRESS";

type Resolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * The lookup of federation connections: the host's addresses as the system resolves them, all
 * of them allowed (refusedAddress) or the connection is refused. `resolve`: tests.
 */
export function guardedLookup(resolve: Resolver = dns.lookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      for (const { address } of addresses) {
        const why = refusedAddress(address);
        if (why === null) continue;
        const refusal: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${address}, ${why}`);
        refusal.code = BLOCKED_ADDRESS;
        return callback(refusal, "", 0);
      }
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 0);
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** Every federation request goes through this dispatcher, whose connections use guardedLookup. */
let dispatcher: Agent | undefined;
const federationDispatcher = (): Agent => (dispatcher ??= new Agent({ connect: { lookup: guardedLookup() } }));

/**
 * The URL if this instance may fetch it: https, or http to loopback (or anywhere with the flag);
 * a host given as an IP address must be one this instance connects to (a name is checked when
 * the connection is opened).
 */
export function federationUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FederationFetchError("invalid_url", `${String(url).slice(0, 200)} is not an absolute URL.`);
  }
  if (parsed.username || parsed.password) throw new FederationFetchError("invalid_url", "A peer's address cannot carry a user name or password.");
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && (isLoopbackHost(parsed.hostname) || config().CIVITAS_FEDERATION_ALLOW_HTTP))) {
    throw new FederationFetchError(
      "insecure_url",
      parsed.protocol === "http:"
        ? `${parsed.origin} is plain http: peers are reached over https (set CIVITAS_FEDERATION_ALLOW_HTTP=true on a private test network).`
        : `${parsed.protocol} addresses are not supported: use https.`,
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) {
    const why = refusedAddress(host);
    if (why !== null) throw new FederationFetchError("blocked_address", `${parsed.origin} is ${why}.`);
  }
  return parsed;
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
  if (!isFederationIdOf(document.id, document.inbox) || !URL.canParse(document.inbox)) {
    throw invalid("The instance's inbox is not an address under its id's /federation/.");
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
  if (document.cities.some((city) => !isFederationIdOf(document.id, city.id, "cities"))) {
    throw invalid("A city of the discovery document is not under the instance's id.");
  }
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
    const response = await undiciFetch(target, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal,
      dispatcher: federationDispatcher(),
    });
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
    if (cause?.code === BLOCKED_ADDRESS) throw new FederationFetchError("blocked_address", `${where} was not contacted: ${cause.message ?? "a refused address"}.`);
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    throw new FederationFetchError("unreachable", `${where} could not be reached (${detail}).`);
  }
}

/** The body, refusing (and abandoning) it past `maxBytes` even when no Content-Length said so. */
async function readAtMost(response: UndiciResponse, maxBytes: number, where: string): Promise<Uint8Array<ArrayBuffer>> {
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
