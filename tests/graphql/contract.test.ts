// The API's contract: graphql/schema.graphql is the schema the code builds (reviewed in every
// change that touches the API), changes to it are classified the way `npm run graphql:check`
// does, and no root field leaves it to chance who may call it.
import { readFile } from "node:fs/promises";
import { printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../../graphql/schema";
import { compareSchemas, isBreaking } from "../../scripts/graphql-diff";

describe("graphql/schema.graphql", () => {
  it("is the schema the code builds", async () => {
    const committed = await readFile(new URL("../../graphql/schema.graphql", import.meta.url), "utf8");
    expect(`${printSchema(schema)}\n` === committed, "graphql/schema.graphql is out of date: run `npm run graphql:schema`").toBe(true);
  });
});

describe("compareSchemas (npm run graphql:check)", () => {
  const before = /* GraphQL */ `
    type Member { id: ID! email: String }
    type Query { member(id: ID!): Member }
  `;

  it("reports a removed field as breaking", async () => {
    const changes = await compareSchemas(before, before.replace("email: String", ""));
    expect(changes).toEqual([expect.objectContaining({ criticality: "BREAKING", path: "Member.email" })]);
    expect(changes.some(isBreaking)).toBe(true);
  });

  it("reports an added field, and it is not breaking", async () => {
    const changes = await compareSchemas(before, before.replace("email: String", "email: String locale: String"));
    expect(changes).toEqual([expect.objectContaining({ criticality: "NON_BREAKING", path: "Member.locale" })]);
    expect(changes.some(isBreaking)).toBe(false);
  });

  it("finds nothing between a schema and itself", async () => {
    expect(await compareSchemas(schema, printSchema(schema))).toEqual([]);
  });
});

describe("root fields", () => {
  const roots = [schema.getQueryType(), schema.getMutationType()].flatMap((type) =>
    type ? Object.values(type.getFields()).map((field) => ({ name: `${type.name}.${field.name}`, field })) : [],
  );

  it("include Query.node", () => {
    expect(roots.map((root) => root.name)).toContain("Query.node");
  });

  // Pothos' scope-auth keeps a field's authScopes in its options (an object, or a function).
  it.each(roots.map((root) => [root.name, root.field] as const))("%s declares who may call it", (_name, field) => {
    const scopes = (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes;
    expect(typeof scopes === "function" || (typeof scopes === "object" && scopes !== null && Object.keys(scopes).length > 0)).toBe(true);
  });
});
