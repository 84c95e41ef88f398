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
import type { LookupAddress } from "node:dns";
import {
  addressKind,
  discoveryBase,
  FederationFetchError,
  federationUrl,
  fetchDiscovery,
  guardedLookup,
  parseDiscoveryDocument,
  refusedAddress,
  signedFetch,
} from "./fetch.server";
import { instanceId } from "./instance.server";
import { verifyRequest } from "./signatures.server";

type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let database: TestDatabase;
let peer: FakePeer;
let server: Server;
let base: string;
let route: Route = (_req, res) => res.writeHead(404).end();
/** Requests the test server received. */
let requests = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  peer = await startFakePeer({ name: "Graz" });
  server = http.createServer((req, res) => {
    requests += 1;
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

  it("tells public addresses from loopback, private and forbidden ones, in every IPv6 form", () => {
    const cases: [string, string][] = [
      ["93.184.216.34", "public"],
      ["2606:4700::6810:84e5", "public"],
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["::1", "loopback"],
      ["[::1]", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["172.32.0.1", "public"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "private"],
      ["100.127.255.254", "private"],
      ["100.128.0.1", "public"],
      ["fd12:3456::1", "private"],
      ["fc00::1", "private"],
      ["169.254.169.254", "forbidden"],
      ["fe80::1", "forbidden"],
      ["fe80::1%eth0", "forbidden"],
      ["0.0.0.0", "forbidden"],
      ["::", "forbidden"],
      ["224.0.0.1", "forbidden"],
      ["ff02::1", "forbidden"],
      ["255.255.255.255", "forbidden"],
      // IPv6 forms that carry an IPv4 address are what that address is.
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:7f00:1", "loopback"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:a9fe:a9fe", "forbidden"],
      ["::ffff:93.184.216.34", "public"],
      ["::10.0.0.1", "private"],
      ["64:ff9b::a9fe:a9fe", "forbidden"],
      ["2002:c0a8:101::1", "private"],
    ];
    for (const [address, kind] of cases) expect([address, addressKind(address)]).toEqual([address, kind]);
    expect(addressKind("civitas.example")).toBeNull();
  });

  it("reaches loopback only from an instance that is itself on loopback, private ranges only with CIVITAS_FEDERATION_ALLOW_PRIVATE", () => {
    // The tests' instance is http://localhost:3000.
    expect(refusedAddress("127.0.0.1")).toBeNull();
    expect(refusedAddress("10.0.0.1")).toMatch(/private address/);
    vi.stubEnv("CIVITAS_PUBLIC_URL", "https://civitas.example");
    resetConfig();
    expect(refusedAddress("127.0.0.1")).toMatch(/loopback/);
    expect(refusedAddress("::ffff:127.0.0.1")).toMatch(/loopback/);
    expect(refusedAddress("93.184.216.34")).toBeNull();
    expect(refusal(() => federationUrl("http://127.0.0.1:8080/")).code).toBe("blocked_address");
    expect(refusal(() => federationUrl("https://[::ffff:10.0.0.1]/")).code).toBe("blocked_address");
    expect(refusal(() => federationUrl("https://169.254.169.254/latest/meta-data")).code).toBe("blocked_address");
    // The URL parser's other spellings of an address are the address.
    expect(refusal(() => federationUrl("https://2130706433/")).code).toBe("blocked_address");
    expect(refusal(() => federationUrl("https://0x0a.1/")).code).toBe("blocked_address");
    vi.stubEnv("CIVITAS_FEDERATION_ALLOW_PRIVATE", "true");
    resetConfig();
    expect(refusedAddress("10.0.0.1")).toBeNull();
    expect(refusedAddress("fd00::1")).toBeNull();
    expect(federationUrl("https://192.168.1.10/").host).toBe("192.168.1.10");
    // Neither loopback nor link-local (cloud metadata) with it.
    expect(refusedAddress("127.0.0.1")).toMatch(/loopback/);
    expect(refusedAddress("169.254.169.254")).toMatch(/link-local/);
  });

  it("checks every address a name resolves to, as the connection looks it up", async () => {
    const lookup = (addresses: LookupAddress[], all: boolean) =>
      new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        guardedLookup((_host, _options, callback) => callback(null, addresses))("peer.example", { all }, (error, address) => resolve({ error, address })),
      );
    const publicOnes = [
      { address: "93.184.216.34", family: 4 },
      { address: "2606:4700::6810:84e5", family: 6 },
    ];
    expect(await lookup(publicOnes, true)).toEqual({ error: null, address: publicOnes });
    expect(await lookup(publicOnes, false)).toEqual({ error: null, address: "93.184.216.34" });
    // One private address among public ones (a rebinding name) is enough to refuse.
    const rebinding = await lookup([...publicOnes, { address: "10.0.0.7", family: 4 }], true);
    expect(rebinding.error?.message).toMatch(/peer\.example resolves to 10\.0\.0\.7, a private address/);
    expect((await lookup([{ address: "::ffff:169.254.169.254", family: 6 }], false)).error).not.toBeNull();
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
    ["the inbox of an instance under its path", (doc: ReturnType<typeof validFor>) => ({ ...doc, inbox: `${doc.id}/x/federation/inbox` }), /inbox is not an address under its id/],
    [
      "a city of an instance under its path",
      (doc: ReturnType<typeof validFor>) => ({ ...doc, cities: [{ id: `${doc.id}/x/federation/cities/graz`, slug: "graz", names: {}, locales: [] }] }),
      /city of the discovery document is not under/,
    ],
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

  it("does not connect to loopback, by address or by a name that resolves to it, from an instance that is not on loopback", async () => {
    serving(validFor(base));
    vi.stubEnv("CIVITAS_PUBLIC_URL", "https://civitas.example");
    resetConfig();
    const before = requests;
    expect((await failure(fetchDiscovery(base))).code).toBe("blocked_address");
    const byName = await failure(fetchDiscovery(base.replace("127.0.0.1", "localhost")));
    expect(byName.code).toBe("blocked_address");
    expect(byName.message).toMatch(/was not contacted: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(requests).toBe(before);
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
    expect((await failure(signedFetch("https://10.0.0.1/federation/inbox", { method: "POST", body: "{}", database }))).code).toBe("blocked_address");
  });
});
