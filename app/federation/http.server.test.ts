// The federation's routes on their own (a bare Express app on 127.0.0.1): the discovery document,
// the cities as ActivityStreams actors, and the inbox's answers that need no signature. The
// inbox's refusals and its one good message are in inbox.server.test.ts, through the whole app.
import { randomUUID } from "node:crypto";
import http from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { fakeKey, post, signedPost } from "../../tests/support/federation";
import { rawRequest, serve, type Served } from "../../tests/support/http";
import { resetConfig } from "../config.server";
import { withPlatformAdmin } from "../db/database.server";
import { federationRoutes } from "./http.server";
import { FOLLOWS_PER_ADDRESS } from "./inbox.server";

let database: TestDatabase;
let served: Served;
let base: string;

const city = (slug: string, names: Record<string, string>, defaultLocale: string, status: "active" | "suspended" = "active") =>
  withPlatformAdmin(
    (tx) =>
      tx.city.create({
        data: {
          id: randomUUID(),
          slug,
          names,
          status,
          defaultLocale,
          enabledLocales: Object.keys(names),
          timeZone: "Europe/Paris",
          identityRealm: slug,
        },
      }),
    database,
  );

beforeAll(async () => {
  database = await createTestDatabase();
  const app = express();
  app.use(federationRoutes({ database }));
  app.use((_req, res) => void res.status(404).send("not federation"));
  served = await serve(app);
  base = `http://127.0.0.1:${served.port}`;
  vi.stubEnv("CIVITAS_PUBLIC_URL", base);
  resetConfig();
  await city("lyon", { fr: "Lyon", en: "Lyon" }, "fr");
  await city("brno", { cs: "Brno" }, "cs");
  await city("sleepy", { en: "Sleepy" }, "en", "suspended");
});

afterAll(async () => {
  await served?.close();
  await database?.drop();
  vi.unstubAllEnvs();
  resetConfig();
});

const get = (path: string, host = "127.0.0.1") => rawRequest(served.port, { path, headers: { Host: host } });

describe("discovery", () => {
  it("serves the instance's document on any host, cacheable for 5 minutes and readable from browsers", async () => {
    const response = await get("/.well-known/civitas-federation", "lyon.example");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.headers["cache-control"]).toBe("public, max-age=300");
    expect(response.headers["access-control-allow-origin"]).toBe("*");
    const document = JSON.parse(response.body);
    expect(document).toMatchObject({ type: "CivitasInstance", id: base, inbox: `${base}/federation/inbox`, protocol: "civitas-federation/1" });
    expect(document.cities.map((entry: { slug: string }) => entry.slug)).toEqual(["brno", "lyon"]);
    // Only public parts of keys, ever.
    expect(response.body).not.toMatch(/PRIVATE KEY/);
  });
});

describe("cities as actors", () => {
  it("serves an active city as an ActivityStreams Organization named in its default language", async () => {
    const response = await get("/federation/cities/lyon");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/activity\+json/);
    expect(JSON.parse(response.body)).toEqual({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${base}/federation/cities/lyon`,
      type: "Organization",
      name: "Lyon",
      nameMap: { fr: "Lyon", en: "Lyon" },
      inbox: `${base}/federation/inbox`,
    });
    expect(JSON.parse((await get("/federation/cities/brno")).body)).toMatchObject({ name: "Brno" });
  });

  it.each(["sleepy", "nowhere", "Not%20A%20Slug"])("answers 404 as JSON for %s", async (slug) => {
    const response = await get(`/federation/cities/${slug}`);
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ error: "not_found" });
  });
});

describe("the inbox's unsigned answers", () => {
  it("answers 405 to anything but a POST", async () => {
    const response = await get("/federation/inbox");
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe("POST");
    expect(JSON.parse(response.body)).toMatchObject({ error: "method_not_allowed" });
  });

  it("answers in JSON, never with a 500, whatever the request", async () => {
    expect(await post(`${base}/federation/inbox`, { "content-type": "application/json" }, "")).toMatchObject({
      status: 400,
      json: { error: "malformed" },
    });
    expect(await post(`${base}/federation/inbox`, { "content-type": "application/json" }, "{}")).toMatchObject({
      status: 400,
      json: { error: "malformed", message: expect.stringMatching(/id, type, actor and object are required/) },
    });
    const activity = JSON.stringify({ id: `${base}/x`, type: "Follow", actor: "https://a.example", object: base });
    expect(await post(`${base}/federation/inbox`, { "content-type": "application/activity+json; charset=utf-8" }, activity)).toMatchObject({
      status: 401,
      json: { error: "missing_signature" },
    });
    expect(await post(`${base}/federation/inbox`, {}, activity)).toMatchObject({ status: 415, json: { error: "unsupported_media_type" } });
  });

  it("limits peering requests per client address, and says when to come back", async () => {
    // Follows of this instance by an instance whose discovery document cannot be read.
    const stranger = "http://127.0.0.1:1";
    const key = fakeKey(stranger);
    const follow = () => {
      const body = JSON.stringify({ id: `${stranger}/federation/activities/${randomUUID()}`, type: "Follow", actor: stranger, object: base });
      const { headers } = signedPost(`${base}/federation/inbox`, body, key);
      return post(`${base}/federation/inbox`, headers, body);
    };
    for (let index = 0; index < FOLLOWS_PER_ADDRESS; index += 1) expect(await follow()).toMatchObject({ status: 401, json: { error: "bad_signature" } });
    const refused = await follow();
    expect(refused).toMatchObject({ status: 429, json: { error: "rate_limited" } });
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("stops at 1 MB a body sent without a Content-Length", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        { host: "127.0.0.1", port: served.port, method: "POST", path: "/federation/inbox", headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, agent: false },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      // The server may close the connection before all of it is sent: that is the point.
      request.on("error", (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)));
      for (let sent = 0; sent < 1100; sent += 1) request.write("x".repeat(1024));
      request.end();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "too_large" });
  });
});
