// The HTTP layer as clients reach it: the Express app of app/http.server.ts in front of the real
// Remix build (compiled for this file), on an ephemeral port, against a fresh process database.
// Requests are raw (node:http) so Host and X-Forwarded-* can be anything a client may send:
// bad input is a 400 (plain text, no stack), never a 500; good hosts reach their city.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp, remixHandler } from "../../app/http.server";
import { rawRequest, serve, type RawRequest, type RawResponse, type Served } from "../support/http";
import { useFreshProcessDatabase, type ProcessDatabase } from "../support/process-database";
import { compileRemixBuild, type TestRemixBuild } from "../support/remix-build";
import { insertCity } from "../support/web";

let database: ProcessDatabase | undefined;
let remix: TestRemixBuild | undefined;
const served: Served[] = [];
/** No proxy trusted (CIVITAS_TRUST_PROXY unset). */
let direct: number;
/** A proxy is trusted, but not the sender of these requests (127.0.0.1). */
let untrustedPeer: number;
/** The sender is the trusted proxy (CIVITAS_TRUST_PROXY=loopback). */
let trustedPeer: number;

async function start(trustProxy?: string): Promise<number> {
  if (!remix) throw new Error("no build");
  const server = await serve(createApp({ handler: remixHandler(remix.build), trustProxy, publicDir: remix.publicDir, logRequests: false }));
  served.push(server);
  return server.port;
}

beforeAll(async () => {
  // Read by config() from the next resetConfig() on, which useFreshProcessDatabase() does.
  vi.stubEnv("CIVITAS_DOMAIN", "civitas.test");
  [database, remix] = await Promise.all([useFreshProcessDatabase(), compileRemixBuild()]);
  const english = { defaultLocale: "en", enabledLocales: ["en"] };
  await insertCity({ slug: "paris", names: { en: "Paris" }, ...english, domains: ["services.paris.example"] });
  await insertCity({ slug: "lyon", names: { en: "Lyon" }, ...english, status: "suspended" });
  direct = await start();
  untrustedPeer = await start("10.0.0.1");
  trustedPeer = await start("loopback");
}, 120_000);

afterAll(async () => {
  await Promise.all(served.map((server) => server.close()));
  await database?.release();
  await remix?.remove();
  vi.unstubAllEnvs();
});

const get = (port: number, host: string | undefined, path = "/", headers: Record<string, string> = {}) =>
  request(port, { path, headers: { ...(host === undefined ? {} : { Host: host }), "Accept-Language": "en", ...headers } });

async function request(port: number, options: RawRequest): Promise<RawResponse> {
  const response = await rawRequest(port, options);
  // Whatever the case, the server never fails on client input.
  expect(response.status, `${options.method ?? "GET"} ${options.path} ${JSON.stringify(options.headers)}`).not.toBe(500);
  return response;
}

function expectBadRequest(response: RawResponse, label: string): void {
  expect(response.status, label).toBe(400);
  expect(response.headers["content-type"], label).toMatch(/^text\/plain/);
  expect(response.body, label).toMatch(/^Bad Request/);
  expect(response.body, label).not.toMatch(/\n\s+at |Error/);
  expect(response.headers["x-request-id"], label).toBeTruthy();
}

// Each of these once gave a 500 (ERR_INVALID_URL) from the URL the Remix adapter builds.
const BAD_HOSTS = [
  "localhost:99999",
  "paris.localhost:65536",
  "999.999.999.999",
  "1.2.3.256",
  "a.999",
  "99999999999",
  "xn--a",
  "xn--zz.localhost",
  // and what was refused already
  "bad host",
  "a..b",
  "localhost:",
  "x:1:2",
  "[::1",
  "[1:2]",
  "[::1]:99999",
  "0x7f.0x1",
  "01.2.3.4",
  "paris.localhost/x",
  "user@paris.localhost",
];

describe("a bad Host header", () => {
  it("is a 400 on every path, probes included, and on every proxy setting", async () => {
    for (const port of [direct, untrustedPeer, trustedPeer]) {
      for (const host of BAD_HOSTS) {
        for (const path of ["/", "/healthz", "/paris", "/build/missing.js"]) {
          expectBadRequest(await get(port, host, path), `${port} ${host} ${path}`);
        }
      }
    }
  });

  it("is a 400 when missing", async () => {
    expect((await get(direct, undefined, "/healthz")).status).toBe(400);
  });
});

describe("X-Forwarded-Host and X-Forwarded-Proto", () => {
  const hostile: Record<string, string>[] = [
    { "X-Forwarded-Host": "x:99999" },
    { "X-Forwarded-Host": "paris.localhost:99999" },
    { "X-Forwarded-Host": "a b" },
    { "X-Forwarded-Host": "xn--a" },
    { "X-Forwarded-Host": "paris.localhost, x:99999" },
    { "X-Forwarded-Proto": "no pe" },
    { "X-Forwarded-Proto": "ftp" },
  ];

  it("are ignored from a sender that is not a trusted proxy", async () => {
    for (const port of [direct, untrustedPeer]) {
      for (const headers of hostile) {
        const label = `${port} ${JSON.stringify(headers)}`;
        expect((await get(port, "localhost", "/healthz", headers)).status, label).toBe(200);
        expect((await get(port, "localhost", "/", headers)).status, label).toBe(200);
      }
      // Nor do they choose the city: this is still the platform home.
      const home = await get(port, "localhost", "/", { "X-Forwarded-Host": "paris.localhost" });
      expect(home.status).toBe(200);
      expect(home.body).toContain("Partner cities");
      expect((await get(port, "localhost", "/", { "X-Forwarded-Host": "nowhere.example" })).status).toBe(200);
    }
  });

  it("are checked from a trusted proxy: garbage is a 400", async () => {
    for (const headers of hostile) {
      expectBadRequest(await get(trustedPeer, "localhost", "/healthz", headers), JSON.stringify(headers));
    }
  });

  it("choose the host from a trusted proxy", async () => {
    const city = await get(trustedPeer, "10.0.0.7:3000", "/", { "X-Forwarded-Host": "paris.localhost", "X-Forwarded-Proto": "https" });
    expect(city.status).toBe(200);
    expect(city.body).toContain("Welcome to Paris");
    expect((await get(trustedPeer, "10.0.0.7", "/", { "X-Forwarded-Host": "services.paris.example:8443" })).status).toBe(200);
    expect((await get(trustedPeer, "10.0.0.7", "/", { "X-Forwarded-Host": "nowhere.example" })).status).toBe(404);
    expect((await get(trustedPeer, "10.0.0.7", "/", { "X-Forwarded-Host": "lyon.localhost" })).status).toBe(503);
    expect((await get(trustedPeer, "10.0.0.7", "/healthz", { "X-Forwarded-Host": "nowhere.example" })).status).toBe(200);
  });
});

describe("good hosts", () => {
  it("reach a city by {slug}.localhost, {slug}.{CIVITAS_DOMAIN} and its own domain", async () => {
    for (const host of ["paris.localhost:3000", "PARIS.LOCALHOST.", "paris.civitas.test", "services.paris.example"]) {
      const page = await get(direct, host);
      expect(page.status, host).toBe(200);
      expect(page.body, host).toContain("Welcome to Paris");
    }
  });

  it("reach a city by path on the platform host", async () => {
    for (const host of ["localhost:3000", "civitas.test", "127.0.0.1:3000", "[::1]:3000", "[0:0:0:0:0:0:0:1]"]) {
      const page = await get(direct, host, "/paris");
      expect(page.status, host).toBe(200);
      expect(page.body, host).toContain("Welcome to Paris");
    }
    const platform = await get(direct, "localhost", "/");
    expect(platform.status).toBe(200);
    expect(platform.body).toContain("Partner cities");
  });

  it("answer 404 for a city nobody holds, by host or by path", async () => {
    for (const [host, path] of [["nowhere.example", "/"], ["nowhere.localhost", "/"], ["1.2.3.4", "/"], ["localhost", "/nowhere"], ["paris.localhost", "/no/such/page"]] as const) {
      expect((await get(direct, host, path)).status, `${host} ${path}`).toBe(404);
    }
  });

  it("answer 503 for a suspended city, by host or by path", async () => {
    const byHost = await get(direct, "lyon.localhost");
    expect(byHost.status).toBe(503);
    expect(byHost.headers["retry-after"]).toBeTruthy();
    expect((await get(direct, "localhost", "/lyon")).status).toBe(503);
  });

  it("answer the probe on any of them", async () => {
    for (const host of ["nowhere.example", "10.0.0.7:3000", "[::1]:3000", "lyon.localhost", "paris.localhost", "localhost:65535"]) {
      expect((await get(direct, host, "/healthz")).status, host).toBe(200);
    }
  });
});

describe("other hostile requests", () => {
  it("are answered without a 500", async () => {
    // undici's Request refuses TRACE and TRACK.
    expect((await request(direct, { method: "TRACE", path: "/", headers: { Host: "localhost" } })).status).toBe(405);
    // Absolute-form and asterisk targets would be glued to the host by the adapter.
    expectBadRequest(await request(direct, { path: "http://elsewhere.example/paris", headers: { Host: "localhost" } }), "absolute form");
    expectBadRequest(await request(direct, { method: "OPTIONS", path: "*", headers: { Host: "localhost" } }), "asterisk");
    // Broken percent-encoding: Express calls it a bad request, Remix a missing page.
    expect([400, 404]).toContain((await get(direct, "localhost", "/%E0%A4%A")).status);
    expect([400, 404]).toContain((await get(direct, "paris.localhost", "/%ZZ/%")).status);
  });
});
