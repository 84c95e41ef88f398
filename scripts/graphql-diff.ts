// What changed between two versions of the GraphQL contract, and how much it matters to the
// clients already written against the old one (graphql-inspector's criticality): BREAKING
// (removed or narrowed: queries that worked stop working), DANGEROUS (they may behave
// differently, e.g. a new enum value), NON_BREAKING (additions).
import { CriticalityLevel, diff } from "@graphql-inspector/core";
import { buildSchema, type GraphQLSchema } from "graphql";

export type SchemaChange = {
  criticality: "BREAKING" | "DANGEROUS" | "NON_BREAKING";
  message: string;
  /** Where, e.g. `Member.email`. */
  path?: string;
  /** Why it is breaking or dangerous, when graphql-inspector says. */
  reason?: string;
};

const asSchema = (schema: string | GraphQLSchema) => (typeof schema === "string" ? buildSchema(schema) : schema);

/** The changes from `before` to `after` (SDL or schemas), breaking ones first. */
export async function compareSchemas(before: string | GraphQLSchema, after: string | GraphQLSchema): Promise<SchemaChange[]> {
  const order = { BREAKING: 0, DANGEROUS: 1, NON_BREAKING: 2 } as const;
  const changes = await diff(asSchema(before), asSchema(after));
  return changes
    .map((change) => ({
      criticality: change.criticality.level === CriticalityLevel.Breaking
        ? ("BREAKING" as const)
        : change.criticality.level === CriticalityLevel.Dangerous
          ? ("DANGEROUS" as const)
          : ("NON_BREAKING" as const),
      message: change.message,
      ...(change.path && { path: change.path }),
      ...(change.criticality.reason && { reason: change.criticality.reason }),
    }))
    .sort((a, b) => order[a.criticality] - order[b.criticality]);
}

export const isBreaking = (change: SchemaChange) => change.criticality === "BREAKING";

/** One line per change: `BREAKING      Field 'email' was removed from object type 'Member'`. */
export function formatChange(change: SchemaChange): string {
  return `${change.criticality.padEnd(13)} ${change.message}`;
}
