// Connections over services that page by themselves (an opaque cursor of their own, newest-first
// orders that Prisma's cursor pagination cannot express): their page becomes a relay connection.
import { queryFromInfo } from "@pothos/plugin-prisma";
import type { GraphQLResolveInfo } from "graphql";
import { ValidationFailed } from "../app/auth/errors";
import type { GraphQLContext } from "./context";

/** These lists page forwards only (newest first): `last` and `before` are refused, not ignored. */
export function forwardOnly(args: { last?: number | null; before?: string | null }): void {
  const fields: Record<string, string[]> = {};
  if (args.last != null) fields.last = ["is not supported here: page forwards with first and after"];
  if (args.before != null) fields.before = ["is not supported here: page forwards with first and after"];
  if (Object.keys(fields).length > 0) throw new ValidationFailed(fields);
}

export function connectionOf<T>(
  nodes: readonly T[],
  page: { hasNextPage: boolean; startCursor: string | null; endCursor: string | null },
  cursorOf: (node: T) => string,
) {
  return {
    edges: nodes.map((node) => ({ cursor: cursorOf(node), node })),
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: page.startCursor, endCursor: page.endCursor },
  };
}

/** The Prisma selection the connection's nodes need (plugin-prisma), for the service's findMany. */
export function nodeSelection(context: GraphQLContext, info: GraphQLResolveInfo) {
  return queryFromInfo({ context, info, path: ["edges", "node"] });
}
