// Outgoing HTTP to peers: which addresses may be fetched, the discovery document's checks,
// timeouts and size limits, and requests signed so that a peer can verify them. Against small
// servers on 127.0.0.1.
import { once } from "node:events";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { fakeKey, ourPublicKeys, startFakePeer, type FakePeer } from "../../tests/support/federation";
import { resetConfig } from "../config.server";
import { discoveryBase, FederationFetchError, federationUrl, fetchDiscovery, parseDiscoveryDocument, signedFetch } from "./fetch.server";
import { instanceId } from "./instance.server";
import { verifyRequest } from "./signatures.server";

type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let database: TestDatabase;
let peer: FakePeer;
let server: Server;
let base: string;
let route: Route = (_req, res) => res.writeHead(404).end();

beforeAll(async () => {
  database = await createTestDatabase();
  peer = await startFakePeer({ name: "Graz" });
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => route(req, res, Buffer.concat(chunks)));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await peer.close();
  await database.drop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  resetConfig();
});

async function failure(work: Promise<unknown>): Promise<FederationFetchError> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FederationFetchError);
  return error as FederationFetchError;
}

const refusal = (work: () => unknown): FederationFetchError => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(FederationFetchError);
    return error as FederationFetchError;
  }
  throw new Error("expected a FederationFetchError");
};

describe("addresses", () => {
  it("allows https anywhere and http on loopback only", () => {
    expect(federationUrl("https://civitas.example/x").href).toBe("https://civitas.example/x");
    expect(federationUrl("http://127.0.0.1:8080/").host).toBe("127.0.0.1:8080");
    expect(federationUrl("http://localhost/").host).toBe("localhost");
    expect(federationUrl("http://[::1]:3000/").host).toBe("[::1]:3000");
    expect(refusal(() => federationUrl("http://civitas.example/")).code).toBe("insecure_url");
    expect(refusal(() => federationUrl("ftp://civitas.example/")).code).toBe("insecure_url");
    expect(refusal(() => federationUrl("https://user:secret@civitas.example/")).code).toBe("invalid_url");
    expect(refusal(() => federationUrl("not a url")).code).toBe("invalid_url");
  });

  it("allows http to other hosts with CIVITAS_FEDERATION_ALLOW_HTTP", () => {
    vi.stubEnv("CIVITAS_FEDERATION_ALLOW_HTTP", "true");
    resetConfig();
    expect(federationUrl("http://civitas.internal/").host).toBe("civitas.internal");
  });

  it("reads an instance's base from what an operator types", () => {
    expect(discoveryBase("civitas.example")).toBe("https://civitas.example");
    expect(discoveryBase(" https://Civitas.Example/ ")).toBe("https://civitas.example");
    expect(discoveryBase("https://civitas.example/.well-known/civitas-federation?x=1#y")).toBe("https://civitas.example");
    expect(discoveryBase("https://civitas.example/city-hall/")).toBe("https://civitas.example/city-hall");
    expect(discoveryBase("http://127.0.0.1:4000")).toBe("http://127.0.0.1:4000");
  });
});

describe("fetchDiscovery", () => {
  it("fetches and checks a peer's discovery document, from its address in any form", async () => {
    for (const url of [peer.instanceId, `${peer.instanceId}/`, `${peer.instanceId}/.well-known/civitas-federation`]) {
      const document = await fetchDiscovery(url);
      expect(document).toMatchObject({ id: peer.instanceId, name: "Graz", inbox: `${peer.instanceId}/federation/inbox` });
      expect(document.keys).toEqual([expect.objectContaining({ id: peer.key.keyId, status: "current" })]);
    }
  });

  function serving(document: unknown, status = 200): void {
    route = (_req, res) => res.writeHead(status, { "content-type": "application/json" }).end(typeof document === "string" ? document : JSON.stringify(document));
  }

  const validFor = (id: string) => {
    const key = fakeKey(id);
    return {
      type: "CivitasInstance",
      protocol: "civitas-federation/1",
      id,
      name: "Elsewhere",
      inbox: `${id}/federation/inbox`,
      keys: [{ id: key.keyId, type: "Ed25519", status: "current", publicKeyPem: key.publicKeyPem }],
      unknownField: "ignored",
    };
  };

  it("accepts a minimal document and drops unknown fields", async () => {
    serving(validFor(base));
    const document = await fetchDiscovery(base);
    expect(document.cities).toEqual([]);
    expect(document).not.toHaveProperty("unknownField");
  });

  it.each([
    ["another instance's id", (doc: ReturnType<typeof validFor>) => ({ ...doc, id: "http://127.0.0.1:1" }), /names the instance/],
    ["another protocol", (doc: ReturnType<typeof validFor>) => ({ ...doc, protocol: "civitas-federation/2" }), /speaks civitas-federation\/2; this instance speaks civitas-federation\/1/],
    ["not an instance document", (doc: ReturnType<typeof validFor>) => ({ ...doc, type: "Person" }), /not a CivitasInstance document/],
    ["a key id of another instance", (doc: ReturnType<typeof validFor>) => ({ ...doc, keys: [{ ...doc.keys[0]!, id: "https://other.example#k1" }] }), /not a key id of the instance/],
    ["a key that is not Ed25519 PEM", (doc: ReturnType<typeof validFor>) => ({ ...doc, keys: [{ ...doc.keys[0]!, publicKeyPem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }] }), /not an Ed25519 public key/],
    ["no current key", (doc: ReturnType<typeof validFor>) => ({ ...doc, keys: [{ ...doc.keys[0]!, status: "retired" }] }), /no current key/],
    ["an inbox elsewhere", (doc: ReturnType<typeof validFor>) => ({ ...doc, inbox: "https://collector.example/inbox" }), /inbox is not an address under its id/],
  ])("refuses a document with %s", async (_label, change, message) => {
    serving(change(validFor(base)));
    const error = await failure(fetchDiscovery(base));
    expect(error.code).toBe("invalid_document");
    expect(error.message).toMatch(message);
  });

  it("refuses what is not a JSON document, an error status and a redirect", async () => {
    serving("<html>hello</html>");
    expect((await failure(fetchDiscovery(base))).code).toBe("invalid_document");
    serving({ error: "nope" }, 404);
    expect(await failure(fetchDiscovery(base))).toMatchObject({ code: "http_error", status: 404 });
    route = (_req, res) => res.writeHead(302, { location: "https://elsewhere.example/" }).end();
    expect(await failure(fetchDiscovery(base))).toMatchObject({ code: "http_error", status: 302 });
  });

  it("reads at most 1 MB, announced or not", async () => {
    const big = JSON.stringify({ ...validFor(base), padding: "x".repeat(1024 * 1024) });
    serving(big);
    expect((await failure(fetchDiscovery(base))).code).toBe("too_large");
    route = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // Chunked: no Content-Length says how much is coming.
      for (let sent = 0; sent < 1100; sent += 1) res.write("x".repeat(1024));
      res.end();
    };
    expect((await failure(fetchDiscovery(base))).code).toBe("too_large");
  });

  it("gives up on a peer that does not answer in time, and says when it cannot be reached", async () => {
    route = () => undefined; // never answers
    const slow = await failure(fetchDiscovery(base, { timeoutMs: 200 }));
    expect(slow.code).toBe("timeout");
    expect(slow.message).toMatch(/did not answer within/);
    const closed = http.createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    const unreachable = await failure(fetchDiscovery(`http://127.0.0.1:${port}`));
    expect(unreachable.code).toBe("unreachable");
    expect(unreachable.message).toMatch(/could not be reached/);
  });

  it("does not fetch plain http from another host", async () => {
    expect((await failure(fetchDiscovery("http://civitas.example"))).code).toBe("insecure_url");
  });

  it("checks documents received otherwise (a key rotation's Update) the same way", () => {
    expect(() => parseDiscoveryDocument({ ...validFor(base), protocol: "x" }, base)).toThrow(FederationFetchError);
    expect(parseDiscoveryDocument(validFor(base), base).id).toBe(base);
  });
});

describe("signedFetch", () => {
  it("signs a POST (method, target URI, digest) with the current key, as a peer verifies it", async () => {
    let seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: Buffer } | undefined;
    route = (req, res, body) => {
      seen = { method: req.method ?? "", url: `${base}${req.url}`, headers: req.headers, body };
      res.writeHead(202, { "content-type": "application/json" }).end('{"status":"accepted"}');
    };
    const body = JSON.stringify({ type: "Follow", object: base });
    const response = await signedFetch(`${base}/federation/inbox`, { method: "POST", body, database });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ status: "accepted" });
    expect(seen!.headers["content-type"]).toBe("application/activity+json");
    const keys = await ourPublicKeys(database, instanceId());
    const verified = await verifyRequest({
      method: seen!.method,
      url: seen!.url,
      headers: seen!.headers,
      body: seen!.body,
      resolveKey: async (keyId) => keys.get(keyId) ?? null,
    });
    expect(verified.keyId).toMatch(new RegExp(`^${instanceId()}#`));
    expect(seen!.headers["signature-input"]).toMatch(/^civitas=\("@method" "@target-uri" "content-digest"\);created=\d+;keyid=".+";alg="ed25519"$/);
  });

  it("signs a GET without a digest, and answers the peer's error statuses as they are", async () => {
    let headers: IncomingMessage["headers"] = {};
    route = (req, res) => {
      headers = req.headers;
      res.writeHead(403, { "content-type": "application/json" }).end('{"error":"not_shared"}');
    };
    const response = await signedFetch(`${base}/federation/datasets/1/records?after=0`, { method: "GET", database });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: "not_shared" });
    expect(headers["content-digest"]).toBeUndefined();
    expect(headers["signature-input"]).toMatch(/^civitas=\("@method" "@target-uri"\);/);
  });

  it("refuses an address it must not call before signing anything", async () => {
    expect((await failure(signedFetch("http://civitas.example/federation/inbox", { method: "POST", body: "{}", database }))).code).toBe("insecure_url");
  });
});
