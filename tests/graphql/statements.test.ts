// A list costs the same number of SQL statements whatever its length: relations are loaded for
// the whole page at once (one statement per relation), never once per item. Counted in the
// request's unit of work (its transaction under RLS), from the database's onQuery hook.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { startGraphQL, type GraphQLHarness } from "../support/graphql";
import { addPerson, type TestPerson } from "../support/identity";

// Today, on PostgreSQL: the opening (BEGIN, SET LOCAL ROLE, SET LOCAL app.tenant_id and the
// principal, one round trip), the page with its relation (Prisma's relation joins: one
// statement), COMMIT; the city itself is not read when only its lists are asked. On PGlite the opening's statements go one by one
// (no round trips there). More is a regression to look at; one per item is not acceptable.
const MAX_STATEMENTS = process.env.CIVITAS_TEST_BACKEND === "postgres" ? 3 : 6;

let statements: string[] = [];
let h: GraphQLHarness;
let token: string;

beforeAll(async () => {
  h = await startGraphQL({ onQuery: (sql) => statements.push(sql) });
  // 30 more people (some staff) and 30 API clients, each made by a different person.
  const people: TestPerson[] = [];
  for (let i = 0; i < 30; i += 1) {
    people.push(await addPerson(h.database, h.paris, { roles: i % 3 === 0 ? ["staff"] : [], email: `person-${i}@example.org` }));
  }
  await withPlatformAdmin(
    (tx) =>
      tx.apiClient.createMany({
        data: people.map((person, i) => ({
          tenantId: h.paris.id,
          id: randomUUID(),
          clientId: `integration-${i}`,
          name: `Integration ${i}`,
          scopes: ["read"],
          createdBy: person.userId,
        })),
      }),
    h.database,
  );
  token = await h.tokenFor("admin", h.paris);
}, 120_000);
afterAll(async () => h?.close());

const ends = (sql: string) => /^(COMMIT|ROLLBACK)\b|Implicit "(COMMIT|ROLLBACK)"/.test(sql);

/**
 * The statements of the request's unit of work: its last transaction bound to a city (each one
 * starts by switching to app_rw: on PostgreSQL in the script sent with BEGIN), COMMIT included.
 */
function unitOfWork(all: readonly string[]): string[] {
  const start = all.findLastIndex((sql) => /\bapp_rw\b/.test(sql));
  if (start < 0) return [];
  const end = all.findIndex((sql, index) => index > start && ends(sql));
  return all.slice(start, end < 0 ? undefined : end + 1);
}

async function count(query: string, first: number): Promise<{ items: number; statements: string[] }> {
  statements = [];
  const answer = await h.request({ token, query, variables: { first } });
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  const city = answer.body?.data?.city as Record<string, { edges: unknown[] }>;
  return { items: Object.values(city)[0]!.edges.length, statements: unitOfWork(statements) };
}

const listing = (statements: string[]) => statements.map((sql, i) => `${i + 1}. ${sql.slice(0, 200)}`).join("\n");

describe.each([
  {
    list: "members with their roles",
    query: "query ($first: Int) { city { members(first: $first) { edges { node { id email roles createdAt } } } } }",
  },
  {
    list: "API clients with their creator",
    query: "query ($first: Int) { city { apiClients(first: $first) { edges { node { id name creator { id email } } } } } }",
  },
])("$list", ({ query }) => {
  it("takes as many statements for 25 items as for 5, and only a few", async () => {
    const five = await count(query, 5);
    const many = await count(query, 25);
    expect([five.items, many.items]).toEqual([5, 25]);
    expect(many.statements.length, `5 items:\n${listing(five.statements)}\n25 items:\n${listing(many.statements)}`).toBe(
      five.statements.length,
    );
    expect(many.statements.length, listing(many.statements)).toBeLessThanOrEqual(MAX_STATEMENTS);
    // The count is of the unit of work, not of nothing.
    expect(many.statements.length).toBeGreaterThanOrEqual(3);
  });
});
