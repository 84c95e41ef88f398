// Persisted operations: an admin registers the documents the city's apps send (checked against
// the schema); apps send `extensions.persistedQuery.sha256Hash` instead of the text, by POST or
// GET; a city may refuse every other document (PERSISTED_QUERY_ONLY) — only that city, and
// another city's hashes are unknown to it.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness, type GraphQLRequest } from "../support/graphql";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const byHash = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

const CITY_NAME = "query CityName { city { slug name } }";
const CITY_TEXT = "query CityText($locale: String) { city { names { text(locale: $locale) } } }";
const POLICY = "query Policy { city { persistedOperationsOnly persistedOperations { id } } }";
const OFF = "mutation Off { requirePersistedOperations(enabled: false) { __typename ... on PersistedOperationsPolicy { enabled changed } } }";
const RESULT = "__typename ... on Error { code message } ... on ConflictError { reason }";

let h: GraphQLHarness;
let parisAdmin: string;
let budapestAdmin: string;

beforeAll(async () => {
  h = await startGraphQL();
  parisAdmin = await h.tokenFor("admin", h.paris);
  budapestAdmin = await h.tokenFor("admin", h.budapest);
}, 120_000);
afterAll(async () => h?.close());

function dataOf<T = Record<string, unknown>>(answer: GraphQLAnswer): T {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return answer.body!.data as T;
}

async function register(name: string, document: string, token = parisAdmin, at = h.paris.slug) {
  const answer = await h.request({
    token,
    at,
    query: `mutation ($name: String!, $document: String!) { registerPersistedOperation(name: $name, document: $document) {
      ${RESULT} ... on ValidationError { fields { field messages } } ... on PersistedOperation { id name document } } }`,
    variables: { name, document },
  });
  return dataOf<{ registerPersistedOperation: Record<string, unknown> }>(answer).registerPersistedOperation;
}

/** The city's operations and policy, read by hash (it works whatever the policy). */
async function policy() {
  const answer = await h.request({ token: parisAdmin, extensions: byHash(sha256(POLICY)) });
  return dataOf<{ city: { persistedOperationsOnly: boolean; persistedOperations: { id: string }[] } }>(answer).city;
}

function expectCode(answer: GraphQLAnswer, status: number, code: string) {
  expect(answer.status, answer.text).toBe(status);
  expect(codes(answer), answer.text).toEqual([code]);
  expect(answer.body?.data, answer.text).toBeUndefined();
}

describe("registering", () => {
  it("answers the operation, whose id is the SHA-256 of its document", async () => {
    expect(await register("city-name", CITY_NAME)).toEqual({ __typename: "PersistedOperation", id: sha256(CITY_NAME), name: "city-name", document: CITY_NAME });
    for (const [name, document] of [["city-text", CITY_TEXT], ["policy", POLICY], ["off", OFF]] as const) {
      expect(await register(name, document)).toMatchObject({ __typename: "PersistedOperation", id: sha256(document) });
    }
    const { persistedOperations } = await policy();
    expect(persistedOperations.map((operation) => operation.id)).toEqual(expect.arrayContaining([CITY_NAME, CITY_TEXT, POLICY, OFF].map(sha256)));
  });

  it("registering the same document again changes nothing", async () => {
    const before = await policy();
    expect(await register("another name", CITY_NAME)).toMatchObject({ __typename: "PersistedOperation", id: sha256(CITY_NAME), name: "city-name" });
    expect(await policy()).toEqual(before);
  });

  it.each([
    ["a syntax error", "query { city { slug "],
    ["a field the schema does not have", "query { city { mayor } }"],
    ["an undeclared variable", "query { city { names { text(locale: $locale) } } }"],
    ["no document at all", ""],
  ])("refuses %s with a ValidationError on `document`, and registers nothing", async (_case, document) => {
    const before = await policy();
    const answer = await register("broken", document);
    expect(answer).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED" });
    expect((answer.fields as { field: string }[]).map((problem) => problem.field)).toEqual(["document"]);
    expect(await policy()).toEqual(before);
  });
});

describe("running an operation by its hash", () => {
  const request = (method: "GET" | "POST", hash: string, rest: Partial<GraphQLRequest> = {}) => h.request({ method, extensions: byHash(hash), ...rest });

  it.each(["POST", "GET"] as const)("by %s, without the document, answers as the document would", async (method) => {
    const full = dataOf(await h.request({ query: CITY_NAME }));
    expect(dataOf(await request(method, sha256(CITY_NAME)))).toEqual(full);
    expect(full).toEqual({ city: { slug: h.paris.slug, name: expect.any(String) } });
  });

  it.each(["POST", "GET"] as const)("by %s, with variables", async (method) => {
    const answer = await request(method, sha256(CITY_TEXT), { variables: { locale: "en" } });
    expect(dataOf(answer)).toEqual({ city: { names: { text: expect.any(String) } } });
  });

  it("a registered mutation is still refused by GET (405), and does not run", async () => {
    const answer = await request("GET", sha256(OFF), { token: parisAdmin });
    expect(answer.status, answer.text).toBe(405);
    expect(answer.body?.data).toBeUndefined();
  });

  it.each([
    ["an unknown hash", sha256("query Unknown { city { slug } }")],
    ["a hash that is not hex", "z".repeat(64)],
  ])("%s: PERSISTED_QUERY_NOT_FOUND (the message Apollo clients know)", async (_case, hash) => {
    const answer = await request("POST", hash);
    expectCode(answer, 404, "PERSISTED_QUERY_NOT_FOUND");
    expect(answer.body?.errors?.[0]?.message).toBe("PersistedQueryNotFound");
  });

  it("Budapest does not know Paris' hashes", async () => {
    expectCode(await h.request({ at: h.budapest.slug, extensions: byHash(sha256(CITY_NAME)) }), 404, "PERSISTED_QUERY_NOT_FOUND");
    expectCode(await h.request({ at: h.budapest.slug, method: "GET", extensions: byHash(sha256(CITY_NAME)) }), 404, "PERSISTED_QUERY_NOT_FOUND");
  });
});

describe("accepting only registered operations", () => {
  it("refuses full documents at Paris once enabled, while registered hashes work", async () => {
    const enabled = await h.request({ token: parisAdmin, query: `mutation { requirePersistedOperations(enabled: true) { ${RESULT} ... on PersistedOperationsPolicy { enabled changed } } }` });
    expect(dataOf(enabled)).toEqual({ requirePersistedOperations: { __typename: "PersistedOperationsPolicy", enabled: true, changed: true } });
    expect((await policy()).persistedOperationsOnly).toBe(true);

    // Full documents: anyone's, queries and mutations, by POST and by GET, even a registered text.
    expectCode(await h.request({ query: "{ city { slug } }" }), 400, "PERSISTED_QUERY_ONLY");
    expectCode(await h.request({ query: CITY_NAME }), 400, "PERSISTED_QUERY_ONLY");
    expectCode(await h.request({ method: "GET", query: "{ city { slug } }" }), 400, "PERSISTED_QUERY_ONLY");
    expectCode(await h.request({ token: parisAdmin, query: OFF }), 400, "PERSISTED_QUERY_ONLY");
    expectCode(await h.request({ query: CITY_NAME, extensions: byHash(sha256(CITY_NAME)) }), 400, "PERSISTED_QUERY_ONLY");

    expect(dataOf(await h.request({ extensions: byHash(sha256(CITY_NAME)) }))).toEqual({ city: { slug: h.paris.slug, name: expect.any(String) } });
    expect(dataOf(await h.request({ method: "GET", extensions: byHash(sha256(CITY_TEXT)), variables: { locale: "en" } }))).toEqual({
      city: { names: { text: expect.any(String) } },
    });
  });

  it("leaves Budapest alone: its full documents still work", async () => {
    expect(dataOf(await h.request({ at: h.budapest.slug, query: "{ city { slug } }" }))).toEqual({ city: { slug: h.budapest.slug } });
    expect((await h.request({ token: budapestAdmin, at: h.budapest.slug, query: "{ city { persistedOperationsOnly } }" })).body?.data).toEqual({
      city: { persistedOperationsOnly: false },
    });
  });

  it("is turned off by a registered mutation, and full documents work again", async () => {
    const off = await h.request({ token: parisAdmin, extensions: byHash(sha256(OFF)) });
    expect(dataOf(off)).toEqual({ requirePersistedOperations: { __typename: "PersistedOperationsPolicy", enabled: false, changed: true } });
    expect(dataOf(await h.request({ query: "{ city { slug } }" }))).toEqual({ city: { slug: h.paris.slug } });
  });

  it("cannot be enabled while the city has no registered operation: CONFLICT, and nothing changes", async () => {
    // Budapest's operations (the test data may have some) are removed first.
    const listed = dataOf<{ city: { persistedOperations: { id: string }[] } }>(
      await h.request({ token: budapestAdmin, at: h.budapest.slug, query: "{ city { persistedOperations { id } } }" }),
    );
    for (const { id } of listed.city.persistedOperations) {
      const removed = await h.request({
        token: budapestAdmin,
        at: h.budapest.slug,
        query: `mutation ($id: String!) { removePersistedOperation(id: $id) { ${RESULT} ... on RemovedPersistedOperation { id } } }`,
        variables: { id },
      });
      expect(dataOf(removed)).toEqual({ removePersistedOperation: { __typename: "RemovedPersistedOperation", id } });
    }
    const answer = await h.request({
      token: budapestAdmin,
      at: h.budapest.slug,
      query: `mutation { requirePersistedOperations(enabled: true) { ${RESULT} ... on PersistedOperationsPolicy { enabled } } }`,
    });
    expect(dataOf(answer)).toEqual({
      requirePersistedOperations: { __typename: "ConflictError", code: "CONFLICT", message: expect.any(String), reason: "no_persisted_operations" },
    });
    expect(dataOf(await h.request({ token: budapestAdmin, at: h.budapest.slug, query: "{ city { persistedOperationsOnly persistedOperations { id } } }" }))).toEqual({
      city: { persistedOperationsOnly: false, persistedOperations: [] },
    });
  });
});

describe("removing", () => {
  it("forgets the hash at once: PERSISTED_QUERY_NOT_FOUND afterwards", async () => {
    const id = sha256(CITY_TEXT);
    expect(dataOf(await h.request({ extensions: byHash(id), variables: { locale: "en" } }))).toBeTruthy();
    const removed = await h.request({
      token: parisAdmin,
      query: `mutation ($id: String!) { removePersistedOperation(id: $id) { ${RESULT} ... on RemovedPersistedOperation { id } } }`,
      variables: { id },
    });
    expect(dataOf(removed)).toEqual({ removePersistedOperation: { __typename: "RemovedPersistedOperation", id } });
    expectCode(await h.request({ extensions: byHash(id), variables: { locale: "en" } }), 404, "PERSISTED_QUERY_NOT_FOUND");
    expect((await policy()).persistedOperations.map((operation) => operation.id)).not.toContain(id);
  });

  it("another city's operation, or one removed already: NotFoundError", async () => {
    const answer = await h.request({
      token: budapestAdmin,
      at: h.budapest.slug,
      query: `mutation ($a: String!, $b: String!) { other: removePersistedOperation(id: $a) { ${RESULT} } again: removePersistedOperation(id: $b) { ${RESULT} } }`,
      variables: { a: sha256(CITY_NAME), b: sha256(CITY_TEXT) },
    });
    const notFound = { __typename: "NotFoundError", code: "NOT_FOUND", message: expect.any(String) };
    expect(dataOf(answer)).toEqual({ other: notFound, again: notFound });
    expect(dataOf(await h.request({ extensions: byHash(sha256(CITY_NAME)) }))).toEqual({ city: { slug: h.paris.slug, name: expect.any(String) } });
  });
});
