// What an operation may cost, computed with its variables (graphql-armor's rule sees only
// literals, so `first: $n` would cost 1): every field costs 1, and what a list field selects
// counts once per item it may return — its `first`/`last` argument, or the default page size.
import {
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { DEFAULT_PAGE_SIZE } from "./builder";

const PAGE_ARGUMENTS = ["first", "last"];

function argumentValue(node: ValueNode | undefined, variables: Record<string, unknown>): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  if (node.kind === Kind.INT) return Number(node.value);
  return undefined;
}

export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> = {},
): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const root = operation.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  const seen = new Set<string>();

  function cost(selectionSet: SelectionSetNode | undefined, typeName: string | undefined): number {
    if (!selectionSet) return 0;
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        // A fragment spread in itself is refused by validation; count each spread once per path.
        if (!fragment || seen.has(fragment.name.value)) continue;
        seen.add(fragment.name.value);
        total += cost(fragment.selectionSet, fragment.typeCondition.name.value);
        seen.delete(fragment.name.value);
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += cost(selection.selectionSet, selection.typeCondition?.name.value ?? typeName);
        continue;
      }
      const parent = typeName ? schema.getType(typeName) : undefined;
      const field: GraphQLField<unknown, unknown> | undefined =
        parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
      let items = 1;
      if (field) {
        const type = getNullableType(field.type);
        const paged = field.args.some((arg) => PAGE_ARGUMENTS.includes(arg.name));
        if (paged) {
          const sizes = PAGE_ARGUMENTS.map((name) =>
            argumentValue(selection.arguments?.find((arg) => arg.name.value === name)?.value, variables),
          ).filter((value): value is number => typeof value === "number" && value >= 0);
          items = sizes.length > 0 ? Math.max(...sizes) : DEFAULT_PAGE_SIZE;
        } else if (isListType(type)) {
          items = 1;
        }
      }
      const child = field ? getNamedType(field.type).name : undefined;
      total += 1 + items * cost(selection.selectionSet, child);
    }
    return total;
  }

  return cost(operation.selectionSet, root?.name);
}
