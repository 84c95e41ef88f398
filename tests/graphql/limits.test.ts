// Limits: a document too deep, too costly, with too many aliases, tokens or directives is refused
// before it runs (400, with the limit's code); an operation past the time limit is stopped and
// rolled back (504 TIMEOUT); too many requests from one address or one client get 429 with
// Retry-After. The suite's harness is started with a per-client limit, and other limits are
// mounted over the same database (serveGraphQL, what startGraphQL uses): both pass limits through.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { DEFAULT_LIMITS } from "../../graphql/yoga";
import { answerOf, codes, serveGraphQL, startGraphQL, type GraphQLAnswer, type GraphQLHarness, type GraphQLMount } from "../support/graphql";
import { addPerson } from "../support/identity";

const PER_CLIENT = 2;

let h: GraphQLHarness;
const mounts: GraphQLMount[] = [];
afterAll(async () => {
  for (const mount of mounts) await mount.close();
  await h?.close();
});

beforeAll(async () => {
  h = await startGraphQL({ limits: { perClientPerMinute: PER_CLIENT } });
}, 120_000);

/** A request to a mount of its own (the harness' `request` knows only its own port). */
async function post(mount: GraphQLMount, body: { query: string; variables?: Record<string, unknown> }, options: { token?: string; headers?: Record<string, string> } = {}): Promise<GraphQLAnswer> {
  const response = await fetch(mount.url(h.paris.slug), {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json",
      ...(options.token && { Authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: JSON.stringify(body),
  });
  return answerOf(response);
}

/** A refusal before execution: 400, one error with `code`, no data. */
function expectRefused(answer: GraphQLAnswer, code: string) {
  expect(answer.status, answer.text).toBe(400);
  expect(codes(answer), answer.text).toEqual([code]);
  expect(answer.body?.data, answer.text).toBeUndefined();
}

/** Past validation: whatever the fields answer, no limit refused the document. */
function expectAccepted(answer: GraphQLAnswer) {
  expect(answer.status, answer.text).toBe(200);
  expect(codes(answer).filter((code) => code?.endsWith("_LIMIT_EXCEEDED")), answer.text).toEqual([]);
}

it("the defaults are the issue's", () => {
  expect(DEFAULT_LIMITS).toMatchObject({ maxDepth: 10, maxAliases: 15, maxBodyBytes: 100_000 });
});

describe("depth (at most 10)", () => {
  // __type is introspection the depth rule counts (unlike __schema): ofType chains nest at will.
  const typeChain = (levels: number) => `{ __type(name: "Query") { fields { type { ${"ofType { ".repeat(levels)}name${" }".repeat(levels)} } } } }`;

  it("refuses depth 11 with DEPTH_LIMIT_EXCEEDED, and accepts depth 10", async () => {
    // __type 1, fields 2, type 3, ofType 4…, name last.
    expectRefused(await h.request({ query: typeChain(7) }), "DEPTH_LIMIT_EXCEEDED");
    const ten = await h.request({ query: typeChain(6) });
    expectAccepted(ten);
    expect(ten.body?.errors).toBeUndefined();
  });

  it("refuses a deep selection of data fields", async () => {
    const deep = `query ($id: ID!) { node(id: $id) { ... on City { auditLog { edges { node { ... on AuditEvent {
      actorApiClient { ... on ApiClient { creator { ... on Member { id } } } } } } } } } } }`;
    expectRefused(await h.request({ query: deep, variables: { id: "x" } }), "DEPTH_LIMIT_EXCEEDED");
  });
});

describe("cost (at most 10000: a field costs 1, a list's selection once per item)", () => {
  // Pages inside pages multiply: 100 cities × 100 members each is 10 000 rows.
  const nested = (first: string) => `query ${first.startsWith("$") ? "($first: Int)" : ""} {
    cities(first: ${first}) { edges { node { slug members(first: ${first}) { edges { node { id email roles } } } } } } }`;
  const lists = (first: string) => `{ city {
    members(first: ${first}) { edges { node { id email roles } } }
    apiClients(first: ${first}) { edges { node { id name } } }
    auditLog(first: ${first}) { edges { node { id action } } } } }`;

  it("refuses pages of pages with COST_LIMIT_EXCEEDED, and accepts small ones", async () => {
    expectRefused(await h.request({ query: nested("100") }), "COST_LIMIT_EXCEEDED");
    const small = await h.request({ query: nested("5") });
    expect(small.body?.errors?.map((e) => e.extensions?.code)).not.toContain("COST_LIMIT_EXCEEDED");
  });

  it("lets three full pages (100, the largest) of flat lists through", async () => {
    expectAccepted(await h.request({ query: lists("100") }));
  });

  it("lets one full page of the audit log through, with the fields a log shows", async () => {
    // Cost is checked before anything runs: who asks does not matter here.
    const page = `{ city { auditLog(first: 100) { edges { cursor node { id occurredAt action actorType actorId subjectType subjectId requestId } }
      pageInfo { hasNextPage endCursor } } } }`;
    expectAccepted(await h.request({ query: page }));
  });

  it("counts a page size given as a variable like one written in the document", async () => {
    // The same work as nested("100"): a client must not get it past the limit by using a variable.
    expectRefused(await h.request({ query: nested("$first"), variables: { first: 100 } }), "COST_LIMIT_EXCEEDED");
  });
});

describe("aliases (at most 15)", () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: serviceCatalogue { pluginId }`).join(" ")} }`;

  it("refuses 16 aliases with ALIAS_LIMIT_EXCEEDED, and accepts 15", async () => {
    expectRefused(await h.request({ query: aliased(16) }), "ALIAS_LIMIT_EXCEEDED");
    const fifteen = await h.request({ query: aliased(15) });
    expectAccepted(fifteen);
    expect(Object.keys(fifteen.body?.data ?? {})).toHaveLength(15);
  });
});

describe("tokens and directives", () => {
  // A list of n texts is n tokens; the rest of the document is 18. (One field repeated instead
  // would trip graphql-js' own budget for comparing fields, not ours.)
  const listOf = (n: number) =>
    `{ city { auditLog(filter: { actions: [${Array.from({ length: n }, (_, i) => `"a${i}"`).join(" ")}] }) { __typename } } }`;

  it("refuses a token flood with TOKEN_LIMIT_EXCEEDED, and accepts a long document under the limit", async () => {
    expectRefused(await h.request({ query: listOf(2_000) }), "TOKEN_LIMIT_EXCEEDED");
    expectAccepted(await h.request({ query: listOf(1_950) }));
  });

  it("refuses a directive flood with DIRECTIVE_LIMIT_EXCEEDED, and accepts a few directives", async () => {
    const directives = (n: number) => `{ city { ${"__typename @include(if: true) ".repeat(n)}} }`;
    expectRefused(await h.request({ query: directives(21) }), "DIRECTIVE_LIMIT_EXCEEDED");
    const five = await h.request({ query: directives(5) });
    expectAccepted(five);
    expect(five.body).toEqual({ data: { city: { __typename: "City" } } });
  });
});

describe("time limit", () => {
  let mount: GraphQLMount;
  let token: string;

  beforeAll(async () => {
    mount = await serveGraphQL(h.database, { realms: [h.paris.slug], limits: { timeoutMs: 1 } });
    mounts.push(mount);
    const admin = await addPerson(h.database, h.paris, { roles: ["admin"] });
    token = await mount.identity.accessToken(h.paris.slug, { subject: admin.subject });
  });

  it("stops a query past the limit: 504 TIMEOUT", async () => {
    const answer = await post(mount, { query: "{ city { members(first: 50) { edges { node { id email roles } } } auditLog(first: 50) { edges { node { id action } } } } }" }, { token });
    expect(answer.status, answer.text).toBe(504);
    expect(codes(answer)).toEqual(["TIMEOUT"]);
  });

  it("rolls a mutation past the limit back: nothing of it stays", async () => {
    const email = `late-${randomUUID().slice(0, 8)}@paris.example`;
    const answer = await post(mount, { query: `mutation { createInvitation(email: "${email}", role: staff) { __typename } }` }, { token });
    expect(answer.status, answer.text).toBe(504);
    expect(codes(answer)).toEqual(["TIMEOUT"]);
    const written = await withPlatformAdmin(
      async (tx) => ({
        invitations: await tx.invitation.count({ where: { tenantId: h.paris.id, email } }),
        events: await tx.auditEvent.count({ where: { tenantId: h.paris.id, action: "invitation.created", after: { path: ["email"], equals: email } } }),
      }),
      h.database,
    );
    expect(written).toEqual({ invitations: 0, events: 0 });
  });
});

describe("rate limits", () => {
  const retryAfter = (answer: GraphQLAnswer) => answer.headers.get("retry-after");

  function expectLimited(answer: GraphQLAnswer) {
    expect(answer.status, answer.text).toBe(429);
    expect(codes(answer)).toEqual(["RATE_LIMITED"]);
    expect(retryAfter(answer)).toMatch(/^\d+$/);
    expect(Number(retryAfter(answer))).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter(answer))).toBeLessThanOrEqual(60);
    expect(answer.body?.data).toBeUndefined();
  }

  it("per address: the 4th request of a minute gets 429 RATE_LIMITED with Retry-After, whoever sends it", async () => {
    const mount = await serveGraphQL(h.database, { realms: [h.paris.slug], limits: { perAddressPerMinute: 3 } });
    mounts.push(mount);
    for (let i = 0; i < 3; i += 1) expect((await post(mount, { query: "{ city { slug } }" })).status).toBe(200);
    expectLimited(await post(mount, { query: "{ city { slug } }" }));
    // A token does not make another address, nor does a header the sender wrote itself.
    const person = await addPerson(h.database, h.paris);
    expectLimited(await post(mount, { query: "{ city { slug } }" }, { token: await mount.identity.accessToken(h.paris.slug, { subject: person.subject }) }));
    expectLimited(await post(mount, { query: "{ city { slug } }" }, { headers: { "X-Forwarded-For": "203.0.113.7" } }));
  });

  it(`per client (${PER_CLIENT} a minute here): the next request with the token gets 429, others go on`, async () => {
    const token = await h.tokenFor("staff", h.paris);
    for (let i = 0; i < PER_CLIENT; i += 1) {
      const answer = await h.request({ token, query: "{ viewer { roles } }" });
      expect(answer.body?.data, answer.text).toEqual({ viewer: { roles: ["resident", "staff"] } });
    }
    expectLimited(await h.request({ token, query: "{ viewer { roles } }" }));
    // The same address without a token, and another person, are not limited by this client's count.
    expect((await h.request({ query: "{ city { slug } }" })).body?.data).toEqual({ city: { slug: h.paris.slug } });
    const other = await h.tokenFor("staff", h.paris);
    expect((await h.request({ token: other, query: "{ viewer { roles } }" })).status).toBe(200);
  });
});
