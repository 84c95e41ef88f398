// docs/api.md cannot rot: every ```graphql block in it is a document the schema accepts, and
// each one runs against a real endpoint, as a city admin, without errors.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Kind, parse, validate, type OperationDefinitionNode } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../graphql/schema";
import { startGraphQL, type GraphQLHarness } from "../support/graphql";
import { addPerson } from "../support/identity";

const guide = await readFile(new URL("../../docs/api.md", import.meta.url), "utf8");
const examples = [...guide.matchAll(/^```graphql\n([\s\S]*?)^```$/gm)].map((match) => {
  const document = match[1]!;
  const operation = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return { name: operation?.name?.value ?? `line ${guide.slice(0, match.index).split("\n").length}`, document };
});

it("has its examples", () => {
  expect(examples.length).toBeGreaterThanOrEqual(8);
});

describe.each(examples)("the example $name", ({ document }) => {
  it("validates against the schema", () => {
    expect(validate(schema, parse(document)).map((error) => error.message)).toEqual([]);
  });
});

describe("run against the endpoint", () => {
  let h: GraphQLHarness;
  let token: string;
  let memberId: string;
  const registered = "query CityName { city { name } }";

  beforeAll(async () => {
    h = await startGraphQL();
    token = await h.tokenFor("admin", h.paris);
    const person = await addPerson(h.database, h.paris, { email: "resident@example.org" });
    memberId = Buffer.from(`Member:${person.userId}`, "utf8").toString("base64url");
  }, 60_000);
  afterAll(async () => h?.close());

  // What the examples' required variables stand for.
  const variables = (): Record<string, Record<string, unknown>> => ({
    Lookup: { id: memberId },
    GrantStaff: { memberId },
    RegisterOperation: { document: registered },
  });

  it.each(examples)("$name answers without errors", async ({ name, document }) => {
    const answer = await h.request({ token, query: document, variables: variables()[name] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body?.errors, answer.text).toBeUndefined();
    expect(JSON.stringify(answer.body?.data), answer.text).not.toMatch(/"__typename":"\w+Error"/);
  });

  it("serves what RegisterOperation registers by its hash", async () => {
    const register = examples.find((example) => example.name === "RegisterOperation")!;
    const answer = await h.request({ token, query: register.document, variables: variables().RegisterOperation });
    const sha256Hash = createHash("sha256").update(registered, "utf8").digest("hex");
    expect(answer.body?.data, answer.text).toEqual({
      registerPersistedOperation: { __typename: "PersistedOperation", id: sha256Hash, name: "city-name" },
    });
    const byHash = await h.request({ method: "GET", extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(byHash.body, byHash.text).toEqual({ data: { city: { name: expect.any(String) } } });
  });
});
