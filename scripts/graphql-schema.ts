// Prints the GraphQL schema built from the code to graphql/schema.graphql (the committed contract).
// `npm run graphql:schema` after changing the API; tests/graphql/contract.test.ts fails when the
// file and the code disagree, and reports breaking changes against the committed copy.
import { writeFile } from "node:fs/promises";
import { printSchema } from "graphql";
import { schema } from "../graphql/schema";

const target = new URL("../graphql/schema.graphql", import.meta.url);
await writeFile(target, `${printSchema(schema)}\n`);
console.log(`wrote ${target.pathname}`);
