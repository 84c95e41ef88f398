// HTTP Message Signatures (RFC 9421, Ed25519) and Content-Digest (RFC 9530) for the messages one
// Civitas instance sends another: the sender signs method, target URI, digest and creation time;
// the receiving inbox verifies all four before it acts on the body.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  verify,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import {
  parseDictionary,
  serializeDictionary,
  serializeInnerList,
  serializeString,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type Parameters,
} from "structured-headers";

/** The label under which Civitas signs; peers running other software may use their own. */
export const SIGNATURE_LABEL = "civitas";

export type SignatureErrorCode =
  | "missing_signature"
  | "malformed_signature"
  | "unknown_key"
  | "bad_signature"
  | "digest_missing"
  | "digest_mismatch"
  | "stale"
  | "future"
  | "components_missing"
  | "unsupported_algorithm";

/** An expected refusal: the inbox answers it with the code, never with a 500. */
export class SignatureError extends Error {
  override name = "SignatureError";
  constructor(readonly code: SignatureErrorCode, message: string) {
    super(message);
  }
}

export type HeaderInput = Record<string, string | string[] | undefined> | Headers;

export type SignedHeaders = { "content-digest"?: string; "signature-input": string; signature: string };

export type VerifiedRequest = { keyId: string; created: number; nonce?: string };

/** Signature parameters, serialised in the order the object lists them. */
export type SignatureParams = {
  created?: number;
  expires?: number;
  nonce?: string;
  alg?: string;
  keyid?: string;
  tag?: string;
};

const DERIVED_COMPONENTS = new Set(["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"]);
const INTEGER_PARAMS = new Set(["created", "expires"]);
const DIGEST_ALGORITHMS = { "sha-256": "sha256", "sha-512": "sha512" } as const;
const ED25519_SIGNATURE_BYTES = 64;

// ---------------------------------------------------------------------------------------------
// Content-Digest (RFC 9530)

/** The Content-Digest field value for a body: `sha-256=:<base64>:`. */
export function contentDigest(body: Uint8Array | string): string {
  return byteSequenceField("sha-256", digestOf("sha-256", bytesOf(body)));
}

/**
 * Checks a Content-Digest field against the body. Every sha-256 or sha-512 member must match;
 * other algorithms are ignored, and a field with none of these two is refused.
 */
export function verifyContentDigest(header: string | null | undefined, body: Uint8Array | string | undefined): void {
  if (header === undefined || header === null || header.trim() === "") {
    throw new SignatureError("digest_missing", "The request has no Content-Digest header.");
  }
  let members: Map<string, Item | InnerList>;
  try {
    members = parseDictionary(header);
  } catch {
    throw new SignatureError("digest_missing", "The Content-Digest header is not a valid structured field dictionary.");
  }
  const content = bytesOf(body ?? "");
  let checked = 0;
  for (const [algorithm, member] of members) {
    if (!Object.hasOwn(DIGEST_ALGORITHMS, algorithm)) continue;
    const sent = byteSequence(member);
    if (!sent) throw new SignatureError("digest_mismatch", `The ${algorithm} member of Content-Digest is not a byte sequence.`);
    const actual = digestOf(algorithm as keyof typeof DIGEST_ALGORITHMS, content);
    if (sent.length !== actual.length || !timingSafeEqual(sent, actual)) {
      throw new SignatureError("digest_mismatch", `The ${algorithm} Content-Digest does not match the request body.`);
    }
    checked += 1;
  }
  if (checked === 0) {
    throw new SignatureError("digest_missing", "The Content-Digest header carries no sha-256 or sha-512 digest.");
  }
}

/** A dictionary field of one byte-sequence member: `key=:<base64>:`. */
function byteSequenceField(key: string, bytes: Uint8Array): string {
  const field: Dictionary = new Map([[key, [Uint8Array.from(bytes), new Map()]]]);
  return serializeDictionary(field);
}

function digestOf(algorithm: keyof typeof DIGEST_ALGORITHMS, content: Uint8Array): Buffer {
  return createHash(DIGEST_ALGORITHMS[algorithm]).update(content).digest();
}

// ---------------------------------------------------------------------------------------------
// Signature base (RFC 9421 §2)

type Message = { method: string; url: string; headers?: HeaderInput };

/**
 * The signature base of a request for the given covered components and parameters, and the
 * serialised `@signature-params` (the value to put under a label in Signature-Input).
 * Component identifiers are derived components (`@method`, `@target-uri`, ...) or lower-cased
 * header field names; component parameters (`;sf`, `;req`, ...) are not supported.
 */
export function signatureBase(input: Message & { components: readonly string[]; params: SignatureParams }): {
  base: string;
  signatureParams: string;
} {
  const parameters: Parameters = new Map();
  for (const [name, value] of Object.entries(input.params)) {
    if (value === undefined) continue;
    if (INTEGER_PARAMS.has(name) ? !Number.isSafeInteger(value) : typeof value !== "string") {
      throw new TypeError(`Signature parameter ${name} has the wrong type.`);
    }
    parameters.set(name, value);
  }
  const innerList: InnerList = [input.components.map((name) => [name, new Map()] as Item), parameters];
  return buildBase(input, innerList);
}

function buildBase(message: Message, signatureParams: InnerList): { base: string; signatureParams: string } {
  const url = parseUrl(message.url);
  const headers = headerLookup(message.headers);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const [identifier, componentParams] of signatureParams[0]) {
    if (typeof identifier !== "string") {
      throw new SignatureError("malformed_signature", "Covered components must be quoted strings.");
    }
    if (componentParams.size > 0) {
      throw new SignatureError("malformed_signature", `Component parameters (on "${identifier}") are not supported.`);
    }
    if (seen.has(identifier)) throw new SignatureError("malformed_signature", `The component "${identifier}" is covered twice.`);
    seen.add(identifier);
    const value = identifier.startsWith("@")
      ? derivedComponent(identifier, message.method, url)
      : fieldComponent(identifier, headers);
    if (!/^[\t\x20-\x7e]*$/.test(value)) {
      throw new SignatureError("bad_signature", `The value of "${identifier}" has characters a signature base cannot hold.`);
    }
    lines.push(`${serializeString(identifier)}: ${value}`);
  }
  const serialised = serializeInnerList(signatureParams);
  lines.push(`"@signature-params": ${serialised}`);
  return { base: lines.join("\n"), signatureParams: serialised };
}

function derivedComponent(name: string, method: string, url: URL): string {
  if (!DERIVED_COMPONENTS.has(name)) throw new SignatureError("malformed_signature", `The component "${name}" is not supported.`);
  switch (name) {
    case "@method":
      return method;
    case "@target-uri":
      return url.href;
    case "@authority":
      return url.host;
    case "@scheme":
      return url.protocol.slice(0, -1);
    case "@request-target":
      return `${url.pathname}${url.search}`;
    case "@path":
      return url.pathname || "/";
    default:
      // An absent query is the "?" alone (RFC 9421 §2.2.7).
      return `?${url.search.slice(1)}`;
  }
}

function fieldComponent(name: string, headers: (name: string) => string | undefined): string {
  if (name === "" || name !== name.toLowerCase()) {
    throw new SignatureError("malformed_signature", `The component "${name}" is not a lower-case field name.`);
  }
  const value = headers(name);
  if (value === undefined) {
    throw new SignatureError("bad_signature", `The signature covers the header "${name}", which the request lacks.`);
  }
  return value;
}

/** One value per field name: lines trimmed, obsolete folding undone, several lines joined by ", ". */
function headerLookup(headers: HeaderInput | undefined): (name: string) => string | undefined {
  if (!headers) return () => undefined;
  if (isHeaders(headers)) {
    return (name) => {
      const value = headers.get(name);
      return value === null ? undefined : fieldValue([value]);
    };
  }
  const byName = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  return (name) => {
    const values = byName.get(name);
    return values ? fieldValue(values) : undefined;
  };
}

function fieldValue(lines: string[]): string {
  return lines.map((line) => line.replace(/\r?\n[\t ]+/g, " ").replace(/^[\t ]+|[\t ]+$/g, "")).join(", ");
}

function isHeaders(headers: HeaderInput): headers is Headers {
  // Duck-typed: undici's Headers and a polyfill's are different classes.
  return typeof (headers as Headers).get === "function" && typeof (headers as Headers).has === "function";
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Not an absolute URL: ${url}`);
  }
  // Fragments never travel in HTTP, so they are not part of the target URI.
  parsed.hash = "";
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Ed25519 (RFC 9421 §3.3.6) and keys

/** An Ed25519 private key from PEM (PKCS#8), a JWK or a KeyObject. */
export function importPrivateKey(input: string | JsonWebKey | KeyObject): KeyObject {
  const key = isKeyObject(input)
    ? input
    : typeof input === "string"
    ? createPrivateKey(input)
    : createPrivateKey({ key: input, format: "jwk" });
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") throw new TypeError("Expected an Ed25519 private key.");
  return key;
}

/** An Ed25519 public key from PEM (SPKI), a JWK or a KeyObject (a private key gives its public half). */
export function importPublicKey(input: string | JsonWebKey | KeyObject): KeyObject {
  const source = isKeyObject(input) ? input : typeof input === "string" ? input : { key: input, format: "jwk" as const };
  const key = isKeyObject(source) && source.type === "public" ? source : createPublicKey(source);
  if (key.asymmetricKeyType !== "ed25519") throw new TypeError("Expected an Ed25519 public key.");
  return key;
}

function isKeyObject(input: unknown): input is KeyObject {
  return (
    typeof input === "object" &&
    input !== null &&
    "asymmetricKeyType" in input &&
    typeof (input as KeyObject).export === "function"
  );
}

/** The Ed25519 signature of a signature base (64 bytes; Ed25519 is deterministic). */
export function signBase(base: string, privateKey: KeyObject): Buffer {
  return sign(null, Buffer.from(base, "ascii"), importPrivateKey(privateKey));
}

export function verifyBase(base: string, signature: Uint8Array, publicKey: KeyObject): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, Buffer.from(base, "ascii"), importPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests between instances

/**
 * Signs a request to a peer. Covers method, target URI and, when there is a body, its
 * Content-Digest; parameters are created, keyid, alg="ed25519" and the nonce if given.
 */
export function signRequest(input: {
  method: string;
  url: string;
  body?: Uint8Array | string;
  keyId: string;
  privateKey: KeyObject;
  created?: number;
  nonce?: string;
  label?: string;
}): SignedHeaders {
  const digest = input.body === undefined ? undefined : contentDigest(input.body);
  const components = digest === undefined ? ["@method", "@target-uri"] : ["@method", "@target-uri", "content-digest"];
  const { base, signatureParams } = signatureBase({
    method: input.method.toUpperCase(),
    url: input.url,
    headers: digest === undefined ? {} : { "content-digest": digest },
    components,
    params: {
      created: input.created ?? Math.floor(Date.now() / 1000),
      keyid: input.keyId,
      alg: "ed25519",
      nonce: input.nonce,
    },
  });
  const label = input.label ?? SIGNATURE_LABEL;
  const signature = signBase(base, input.privateKey);
  return {
    ...(digest === undefined ? {} : { "content-digest": digest }),
    "signature-input": `${label}=${signatureParams}`,
    signature: byteSequenceField(label, signature),
  };
}

/**
 * Verifies a signed request from a peer, or throws a SignatureError saying why not. Pass the URL
 * as the sender addressed it (behind a proxy: the public URL, not the internal one) and the raw
 * body bytes. Methods are compared upper-cased, as fetch sends the standard ones. Replay
 * protection beyond the time window is the caller's: it gets the nonce back.
 */
export async function verifyRequest(input: {
  method: string;
  url: string;
  headers: HeaderInput;
  body?: Uint8Array | string;
  resolveKey: (keyId: string) => Promise<KeyObject | null>;
  now?: number;
  maxAgeSeconds?: number;
  maxFutureSeconds?: number;
}): Promise<VerifiedRequest> {
  const headers = headerLookup(input.headers);
  const { label, signatureParams, signature } = findSignature(headers("signature-input"), headers("signature"));
  const [components, parameters] = signatureParams;
  const covered = new Set(components.map(([identifier]) => identifier));
  const params = readParams(parameters, label);
  const body = input.body === undefined ? new Uint8Array() : bytesOf(input.body);

  const missing = ["@method", "@target-uri"].filter((name) => !covered.has(name));
  if (body.length > 0 && !covered.has("content-digest")) missing.push("content-digest");
  if (params.created === undefined) missing.push("created");
  if (params.keyid === undefined) missing.push("keyid");
  if (missing.length > 0) {
    throw new SignatureError("components_missing", `The signature must cover ${missing.map((name) => `"${name}"`).join(", ")}.`);
  }
  const created = params.created as number;
  const keyId = params.keyid as string;
  if (params.alg !== undefined && params.alg !== "ed25519") {
    throw new SignatureError("unsupported_algorithm", `The signature algorithm "${params.alg}" is not supported; use ed25519.`);
  }

  const now = input.now ?? Math.floor(Date.now() / 1000);
  const maxAge = input.maxAgeSeconds ?? 300;
  const maxFuture = input.maxFutureSeconds ?? 30;
  if (created > now + maxFuture) {
    throw new SignatureError("future", `The signature was created ${created - now} s in the future.`);
  }
  if (created < now - maxAge)
    throw new SignatureError("stale", `The signature was created ${now - created} s ago, more than ${maxAge} s.`);
  if (params.expires !== undefined && params.expires < now) {
    throw new SignatureError("stale", `The signature expired ${now - params.expires} s ago.`);
  }

  if (covered.has("content-digest")) verifyContentDigest(headers("content-digest"), body);

  const key = await input.resolveKey(keyId);
  if (!key) throw new SignatureError("unknown_key", `No known key has the id "${keyId}".`);
  if (key.asymmetricKeyType !== "ed25519") {
    throw new SignatureError("unsupported_algorithm", `The key "${keyId}" is not an Ed25519 key.`);
  }

  const { base } = rebuiltBase({ method: input.method.toUpperCase(), url: input.url, headers: input.headers }, signatureParams);
  if (!verifyBase(base, signature, key)) {
    throw new SignatureError("bad_signature", "The signature does not match the request.");
  }
  return { keyId, created, ...(params.nonce === undefined ? {} : { nonce: params.nonce }) };
}

/** The base as the peer must have built it; whatever the peer sent, a failure here is a refusal. */
function rebuiltBase(message: Message, signatureParams: InnerList): { base: string } {
  try {
    return buildBase(message, signatureParams);
  } catch (error) {
    if (error instanceof SignatureError) throw error;
    throw new SignatureError("malformed_signature", "The signature parameters cannot be serialised again.");
  }
}

function findSignature(
  inputField: string | undefined,
  signatureField: string | undefined
): { label: string; signatureParams: InnerList; signature: Uint8Array } {
  if (!inputField) throw new SignatureError("missing_signature", "The request has no Signature-Input header.");
  if (!signatureField) throw new SignatureError("missing_signature", "The request has no Signature header.");
  let inputs: Map<string, Item | InnerList>;
  let signatures: Map<string, Item | InnerList>;
  try {
    inputs = parseDictionary(inputField);
    signatures = parseDictionary(signatureField);
  } catch {
    throw new SignatureError("malformed_signature", "The Signature or Signature-Input header is not a valid structured field.");
  }
  const label = inputs.has(SIGNATURE_LABEL) ? SIGNATURE_LABEL : inputs.size === 1 ? [...inputs.keys()][0] : undefined;
  if (label === undefined) {
    const why = inputs.size === 0 ? "has no signature" : `has several signatures and none labelled "${SIGNATURE_LABEL}"`;
    throw new SignatureError(inputs.size === 0 ? "missing_signature" : "malformed_signature", `Signature-Input ${why}.`);
  }
  const signatureParams = inputs.get(label);
  if (!signatureParams || !isInnerList(signatureParams)) {
    throw new SignatureError("malformed_signature", `Signature-Input "${label}" is not an inner list of components.`);
  }
  const signatureMember = signatures.get(label);
  if (!signatureMember) {
    throw new SignatureError(
      "malformed_signature",
      `Signature-Input names "${label}" but the Signature header has no such member.`
    );
  }
  const signature = byteSequence(signatureMember);
  if (!signature) throw new SignatureError("malformed_signature", `The "${label}" signature is not a byte sequence.`);
  return { label, signatureParams, signature };
}

function readParams(parameters: Parameters, label: string): SignatureParams {
  const params: SignatureParams = {};
  for (const name of ["created", "expires", "nonce", "alg", "keyid", "tag"] as const) {
    const value = parameters.get(name);
    if (value === undefined) continue;
    const integer = INTEGER_PARAMS.has(name);
    if (integer ? !Number.isSafeInteger(value) : typeof value !== "string") {
      throw new SignatureError(
        "malformed_signature",
        `The ${name} parameter of "${label}" must be ${integer ? "an integer" : "a string"}.`
      );
    }
    (params as Record<string, BareItem>)[name] = value;
  }
  return params;
}

function isInnerList(member: Item | InnerList): member is InnerList {
  return Array.isArray(member[0]);
}

function byteSequence(member: Item | InnerList): Buffer | undefined {
  if (isInnerList(member)) return undefined;
  const [value] = member;
  // The parser gives byte sequences as ArrayBuffers; checked by tag, not by realm.
  return Object.prototype.toString.call(value) === "[object ArrayBuffer]" ? Buffer.from(value as ArrayBuffer) : undefined;
}

function bytesOf(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}
