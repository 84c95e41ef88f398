// GraphQL over HTTP as the endpoint speaks it: methods, media types and the status codes that go
// with them, request sizes, bearer tokens, cities that do not exist or are suspended, CORS for
// any origin without credentials — and error answers that never show a stack, SQL or a 500 for
// input a client got wrong.
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCity } from "../support/factories";
import { answerOf, codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../support/graphql";

const GRAPHQL_RESPONSE = "application/graphql-response+json";
const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`, "utf8").toString("base64url");

let h: GraphQLHarness;
let admin: string;
/** Every answer with errors this file got: none may leak internals (checked last). */
const errorAnswers: { label: string; answer: Pick<GraphQLAnswer, "status" | "text"> }[] = [];

beforeAll(async () => {
  h = await startGraphQL();
  admin = await h.tokenFor("admin", h.paris);
}, 120_000);
afterAll(async () => h?.close());

async function send(label: string, request: Parameters<GraphQLHarness["request"]>[0]): Promise<GraphQLAnswer> {
  const answer = await h.request(request);
  if (answer.status >= 400 || answer.body?.errors) errorAnswers.push({ label, answer });
  return answer;
}

/** A request fetch makes as given (the harness always sets JSON's content type and an Accept). */
async function raw(label: string, init: RequestInit & { at?: string }): Promise<GraphQLAnswer> {
  const answer = await answerOf(await fetch(h.url(init.at), init));
  if (answer.status >= 400 || answer.body?.errors) errorAnswers.push({ label, answer });
  return answer;
}

const contentType = (answer: GraphQLAnswer) => answer.headers.get("content-type")?.split(";")[0];

async function invitationEmails(): Promise<string[]> {
  const answer = await h.request({ token: admin, query: "{ city { invitations(first: 100) { edges { node { email } } } } }" });
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return (answer.body!.data as { city: { invitations: { edges: { node: { email: string } }[] } } }).city.invitations.edges.map((edge) => edge.node.email);
}

describe("methods", () => {
  it("POST with a JSON body answers 200 with data", async () => {
    const answer = await send("post", { query: "{ city { slug } }" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { city: { slug: h.paris.slug } } });
  });

  it("GET with the query in the URL answers 200 with data, variables included", async () => {
    const answer = await send("get", { method: "GET", query: "query ($l: String) { city { slug names { text(locale: $l) } } }", variables: { l: "en" } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ data: { city: { slug: h.paris.slug, names: { text: expect.any(String) } } } });
  });

  it("GET of a mutation is refused with 405 (Allow: POST), and the mutation does not run", async () => {
    const email = `get-${randomUUID().slice(0, 8)}@paris.example`;
    const answer = await send("get mutation", {
      method: "GET",
      token: admin,
      query: `mutation { createInvitation(email: "${email}", role: staff) { __typename } }`,
    });
    expect(answer.status, answer.text).toBe(405);
    expect(answer.headers.get("allow")).toBe("POST");
    expect(answer.body?.data).toBeUndefined();
    expect(codes(answer)).toEqual(["BAD_REQUEST"]);
    expect(await invitationEmails()).not.toContain(email);
  });

  it.each(["PUT", "DELETE", "PATCH"])("%s is refused with 405", async (method) => {
    const answer = await raw(method, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query: "{ city { slug } }" }) });
    expect(answer.status, answer.text).toBe(405);
  });
});

describe("media types", () => {
  it("answers application/graphql-response+json when asked for it", async () => {
    const answer = await send("accept gql", { query: "{ city { slug } }", headers: { Accept: GRAPHQL_RESPONSE } });
    expect(answer.status).toBe(200);
    expect(contentType(answer)).toBe(GRAPHQL_RESPONSE);
  });

  it("answers application/json when asked for it", async () => {
    const answer = await send("accept json", { query: "{ city { slug } }", headers: { Accept: "application/json" } });
    expect(answer.status).toBe(200);
    expect(contentType(answer)).toBe("application/json");
  });

  it.each([
    ["a parse error", "{ city { slug ", "GRAPHQL_PARSE_FAILED"],
    ["a validation error", "{ city { nope } }", "GRAPHQL_VALIDATION_FAILED"],
  ])("with graphql-response+json, %s is 400 without data", async (_case, query, code) => {
    const answer = await send(`gql ${code}`, { query, headers: { Accept: GRAPHQL_RESPONSE } });
    expect(answer.status, answer.text).toBe(400);
    expect(contentType(answer)).toBe(GRAPHQL_RESPONSE);
    expect(codes(answer)).toEqual([code]);
    expect(answer.body).not.toHaveProperty("data");
  });

  it.each([
    ["a parse error", "{ city { slug ", "GRAPHQL_PARSE_FAILED"],
    ["a validation error", "{ city { nope } }", "GRAPHQL_VALIDATION_FAILED"],
  ])("with application/json (the legacy media type), %s is 200", async (_case, query, code) => {
    const answer = await send(`json ${code}`, { query, headers: { Accept: "application/json" } });
    expect(answer.status, answer.text).toBe(200);
    expect(contentType(answer)).toBe("application/json");
    expect(codes(answer)).toEqual([code]);
  });

  it.each(["text/plain", "application/xml", "multipart/mixed; boundary=x"])("a body of %s is refused with 415", async (type) => {
    const answer = await send(`415 ${type}`, { rawBody: "{ city { slug } }", headers: { "Content-Type": type } });
    expect(answer.status, answer.text).toBe(415);
  });
});

describe("malformed requests", () => {
  it("without a query: 400", async () => {
    const post = await send("no query", { rawBody: "{}" });
    expect(post.status, post.text).toBe(400);
    expect(post.body?.errors).toHaveLength(1);
    const get = await send("no query (GET)", { method: "GET" });
    expect(get.status, get.text).toBe(400);
  });

  it("with a body that is not JSON: 400", async () => {
    const answer = await send("bad json", { rawBody: "{not json" });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer)).toEqual(["BAD_REQUEST"]);
  });

  it.each([
    ["query is not a text", { query: 5 }],
    ["variables are not an object", { query: "{ city { slug } }", variables: "nope" }],
  ])("when %s: 400", async (_case, body) => {
    const answer = await send(_case, { rawBody: JSON.stringify(body) });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer)).toEqual(["BAD_REQUEST"]);
  });

  it.each([
    ["missing", undefined],
    ["null", { id: null }],
    ["of the wrong type", { id: { a: 1 } }],
  ])("a required variable %s: 400 naming the variable, not a server error", async (_case, variables) => {
    const answer = await send(`variable ${_case}`, { query: "query ($id: ID!) { node(id: $id) { id } }", variables });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer), answer.text).not.toContain("INTERNAL_SERVER_ERROR");
    expect(answer.body?.errors?.[0]?.message, answer.text).toContain("$id");
  });
});

describe("request size", () => {
  const body = (bytes: number) => {
    const base = JSON.stringify({ query: "{ city { slug } }", variables: { padding: "" } });
    return JSON.stringify({ query: "{ city { slug } }", variables: { padding: "a".repeat(bytes - base.length) } });
  };

  it("accepts a body just under 100 KB", async () => {
    const answer = await send("99 KB", { rawBody: body(99_000) });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ data: { city: { slug: h.paris.slug } } });
  });

  it("refuses a body over 100 KB with 413", async () => {
    const answer = await send("101 KB", { rawBody: body(101_000) });
    expect(answer.status, answer.text).toBe(413);
    expect(answer.body?.data).toBeUndefined();
  });

  it("refuses a body that does not say its length (chunked) with 411, so the size cap cannot be dodged", async () => {
    const bytes = new TextEncoder().encode(body(200_000));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16_384) controller.enqueue(bytes.slice(i, i + 16_384));
        controller.close();
      },
    });
    const answer = await raw("chunked 200 KB", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: GRAPHQL_RESPONSE },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(answer.status, answer.text).toBe(411);
  });

  // Over a raw socket: what fetch would refuse to send.
  const rawExchange = (head: string, payload: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(h.port, "127.0.0.1");
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => void (received += chunk));
      socket.on("error", reject);
      socket.on("close", () => resolve(received));
      socket.end(`${head}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${payload}`);
    });

  it("reads no more than the Content-Length a body declares: a longer one is cut there, never taken whole", async () => {
    const payload = body(200_000);
    const answer = await rawExchange(`POST /${h.paris.slug}/graphql HTTP/1.1\r\nContent-Length: 60`, payload);
    // The first 60 bytes are not a whole JSON document; the rest is not a request.
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toMatch(/HTTP\/1\.1 200 /);
  });

  it("refuses a body that says both a Content-Length and a chunked encoding", async () => {
    const answer = await rawExchange(`POST /${h.paris.slug}/graphql HTTP/1.1\r\nContent-Length: 60\r\nTransfer-Encoding: chunked`, "5\r\nhello\r\n0\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe("bearer tokens", () => {
  it.each([
    ["not a JWT", "Bearer abc.def.ghi", "invalid_token"],
    ["Bearer without a token", "Bearer", "invalid_request"],
    ["two tokens", "Bearer a b", "invalid_request"],
  ])("%s: 401 with a WWW-Authenticate challenge", async (_case, authorization, error) => {
    const answer = await send(`auth ${_case}`, { query: "{ city { slug } }", headers: { Authorization: authorization } });
    expect(answer.status, answer.text).toBe(401);
    expect(codes(answer)).toEqual(["UNAUTHENTICATED"]);
    expect(answer.headers.get("www-authenticate")).toMatch(new RegExp(`^Bearer error="${error}"`));
    expect(answer.body?.data).toBeUndefined();
  });

  it("an expired token: 401 invalid_token", async () => {
    const token = await h.identity.accessToken(h.paris.slug, { issuedAt: Math.floor(Date.now() / 1000) - 3_600, lifetimeSeconds: 60 });
    const answer = await send("expired", { token, query: "{ city { slug } }" });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
  });

  it("an operator's token at a city, and a city's token at the platform: 401", async () => {
    const atCity = await send("operator at city", { token: await h.operatorToken(), query: "{ city { slug } }" });
    const atPlatform = await send("city token at platform", { token: admin, at: "platform", query: "{ city { slug } }" });
    for (const answer of [atCity, atPlatform]) {
      expect(answer.status, answer.text).toBe(401);
      expect(codes(answer)).toEqual(["UNAUTHENTICATED"]);
    }
  });

  it("another scheme (Basic) is no bearer token: the caller is anonymous", async () => {
    const answer = await send("basic", { query: "{ city { slug } viewer { kind } }", headers: { Authorization: "Basic YTpi" } });
    expect(answer.status).toBe(200);
    expect(codes(answer)).toEqual(["UNAUTHENTICATED"]);
    expect(answer.body?.data).toBeNull();
  });
});

describe("cities", () => {
  it("an unknown city's path: 404 NOT_FOUND", async () => {
    const answer = await send("unknown city", { at: "atlantis", query: "{ city { slug } }" });
    expect(answer.status).toBe(404);
    expect(codes(answer)).toEqual(["NOT_FOUND"]);
  });

  it("a suspended city: 503 CITY_SUSPENDED with Retry-After, to everyone", async () => {
    const city = await createCity(h.database, { status: "suspended" });
    const anonymous = await send("suspended", { at: city.slug, query: "{ city { slug } }" });
    expect(anonymous.status, anonymous.text).toBe(503);
    expect(codes(anonymous)).toEqual(["CITY_SUSPENDED"]);
    expect(Number(anonymous.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("an operator suspends a city: its endpoint answers 503 until they resume it", async () => {
    const city = await createCity(h.database);
    const operator = await h.operatorToken();
    const id = globalId("City", city.id);
    const change = (verb: "suspendCity" | "resumeCity") =>
      h.request({
        token: operator,
        at: "platform",
        query: `mutation ($id: ID!) { ${verb}(id: $id) { __typename ... on CityStatusChange { changed city { status } } } }`,
        variables: { id },
      });
    expect((await send("before", { at: city.slug, query: "{ city { slug } }" })).status).toBe(200);
    expect((await change("suspendCity")).body?.data).toEqual({ suspendCity: { __typename: "CityStatusChange", changed: true, city: { status: "suspended" } } });
    const suspended = await send("after suspension", { at: city.slug, query: "{ city { slug } }" });
    expect(suspended.status).toBe(503);
    expect(codes(suspended)).toEqual(["CITY_SUSPENDED"]);
    expect((await change("resumeCity")).body?.data).toEqual({ resumeCity: { __typename: "CityStatusChange", changed: true, city: { status: "active" } } });
    expect((await send("after resumption", { at: city.slug, query: "{ city { slug } }" })).body).toEqual({ data: { city: { slug: city.slug } } });
  });
});

describe("CORS", () => {
  const origin = "https://integrations.example";

  it("a preflight from another origin is allowed, without credentials", async () => {
    const response = await fetch(h.url(), {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
    });
    expect(response.status).toBeLessThan(300);
    expect([origin, "*"]).toContain(response.headers.get("access-control-allow-origin"));
    expect(response.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toMatch(/authorization/);
    expect(response.headers.get("access-control-allow-credentials")).not.toBe("true");
  });

  it("an answer to another origin carries Access-Control-Allow-Origin, and no credentials", async () => {
    const answer = await send("cors post", { query: "{ city { slug } }", headers: { Origin: origin } });
    expect(answer.status).toBe(200);
    expect([origin, "*"]).toContain(answer.headers.get("access-control-allow-origin"));
    expect(answer.headers.get("access-control-allow-credentials")).not.toBe("true");
  });
});

describe("bad input is never a server error", () => {
  // PostgreSQL refuses NUL in text: a check before the database must turn it into VALIDATION_FAILED.
  const NUL = "a\u0000b";

  it.each([
    ["an audit log filter", "query ($s: String!) { city { auditLog(filter: { subjectId: $s }) { edges { node { id } } } } }", ["city", "auditLog"]],
    ["an API client's name", "mutation ($s: String!) { createApiClient(name: $s, scopes: [read]) { __typename ... on Error { code } } }", ["createApiClient"]],
    ["a city's name", 'mutation ($s: String!) { updateCitySettings(input: { names: [{ locale: "en", text: $s }] }) { __typename ... on Error { code } } }', ["updateCitySettings"]],
    ["an operation's name", 'mutation ($s: String!) { registerPersistedOperation(name: $s, document: "{ city { slug } }") { __typename ... on Error { code } } }', ["registerPersistedOperation"]],
  ])("a NUL character in %s: VALIDATION_FAILED before anything runs", async (_case, query) => {
    const answer = await send(`NUL in ${_case}`, { token: admin, query, variables: { s: NUL } });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer), answer.text).toEqual(["VALIDATION_FAILED"]);
    expect(answer.body?.data, answer.text).toBeUndefined();
  });

  it("a NUL character written in the document itself: VALIDATION_FAILED", async () => {
    const answer = await send("NUL in the document", {
      token: admin,
      query: 'mutation { createApiClient(name: "a\\u0000b", scopes: [read]) { __typename } }',
    });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer), answer.text).toEqual(["VALIDATION_FAILED"]);
  });

  it("a NUL character in the operators' city search: VALIDATION_FAILED", async () => {
    const answer = await send("NUL in search", {
      token: await h.operatorToken(),
      at: "platform",
      query: "query ($s: String) { cities(search: $s) { edges { node { slug } } } }",
      variables: { s: NUL },
    });
    expect(answer.status, answer.text).toBe(400);
    expect(codes(answer), answer.text).toEqual(["VALIDATION_FAILED"]);
  });
});

describe("error answers", () => {
  it("an unexpected error is masked: a generic message and INTERNAL_SERVER_ERROR, nothing of the cause", async () => {
    // The identity provider failing with a message full of internals (the test's fake says what it is told).
    h.identity.failNext("createMachineClient", new Error('provider down: SELECT secret FROM "clients" WHERE id = 1\n    at connect (/work/main/app/x.ts:1:1)'));
    const answer = await send("masked", { token: admin, query: 'mutation { createApiClient(name: "Masked", scopes: [read]) { __typename } }' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: null, errors: [{ message: "Unexpected error.", path: ["createApiClient"], extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
  });

  it("never carry a stack trace, SQL, Prisma's words or a file path", () => {
    expect(errorAnswers.length).toBeGreaterThan(20);
    const internals = /\\n\s+at |\n\s+at |"stack"|prisma|postgres|pglite|node_modules|\/work\/|\.[cm]?[jt]s:\d+/i;
    const sql = /\bSELECT\b|\bINSERT INTO\b|\bUPDATE\b.*\bSET\b|\bWHERE\b|\bFROM "|\bviolates\b|\brelation "/;
    const leaks = errorAnswers.filter(({ answer }) => internals.test(answer.text) || sql.test(answer.text));
    expect(leaks.map(({ label, answer }) => `${label}: ${answer.text}`)).toEqual([]);
  });
});
