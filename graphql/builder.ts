// The Pothos builder: plugins, scalars, auth scopes and the error types every module shares.
// Configuration only; types live in their modules (graphql/*/), the schema in schema.ts.
import SchemaBuilder from "@pothos/core";
import DataloaderPlugin from "@pothos/plugin-dataloader";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin, { AuthScopeFailureType } from "@pothos/plugin-scope-auth";
import ValidationPlugin from "@pothos/plugin-validation";
import { GraphQLError, isObjectType, Kind } from "graphql";
import { Conflict, Forbidden, NotFound, ServiceError, Unauthenticated, ValidationFailed } from "../app/auth/errors";
import type { Principal } from "../app/auth/permissions";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../app/db/pages.server";
import type { PrismaClient } from "../app/db/generated/client.ts";
import type PrismaTypes from "../app/db/generated/pothos-types";
import { getDatamodel } from "../app/db/generated/pothos-types";
import type { GraphQLContext } from "./context";

/** Page sizes of every connection (the issue's contract: 25 by default, 100 at most), as the services'. */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE };

/**
 * What every prismaConnection spreads in: a page larger than the maximum is refused, as the
 * services' own lists do, rather than silently cut.
 */
export const PAGE_SIZES = {
  defaultSize: DEFAULT_PAGE_SIZE,
  maxSize: (args: { first?: number | null; last?: number | null }) => {
    for (const name of ["first", "last"] as const) {
      const value = args[name];
      if (value != null && value > MAX_PAGE_SIZE) throw new ValidationFailed({ [name]: [`must be at most ${MAX_PAGE_SIZE}`] });
    }
    return MAX_PAGE_SIZE;
  },
};

export type AuthScopes = {
  /** Anyone, signed in or not: the field says so explicitly. */
  public: boolean;
  /** Anyone with a valid token here: a person or API client of this city, or an operator. */
  authenticated: boolean;
  /** A person, or an API client, of this request's city. */
  signedIn: boolean;
  /** Someone of this request's city holding the permission. */
  cityPermission: string;
  /** An operator of the instance holding the permission (platform host only). */
  operatorPermission: string;
  /**
   * The request's city runs this plugin (installed and enabled). Added to every field a plugin
   * contributes (graphql/plugins.ts); when it fails the answer is NOT_FOUND, not FORBIDDEN.
   */
  plugin: string;
};

/** Type name → the plugin that defines it (filled by graphql/plugins.ts). */
export const pluginOwners = new Map<string, string>();

type ScopeFailure = { kind: string; scope?: string; failures?: ScopeFailure[] };

function pluginMissing(failure: ScopeFailure): boolean {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope === "plugin";
  return (failure.failures ?? []).some(pluginMissing);
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, ValidationPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Every root field must say who may call it (schema.ts checks none is left out).
    authScopes: (context) => {
      const principal: Principal = context.principal;
      const inCity = principal.kind === "user" || principal.kind === "client";
      return {
        public: true,
        authenticated: principal.kind !== "anonymous",
        signedIn: inCity && context.city !== null && principal.tenantId === context.city.id,
        cityPermission: (permission) =>
          inCity && context.city !== null && principal.tenantId === context.city.id && principal.permissions.includes(permission),
        operatorPermission: (permission) => principal.kind === "operator" && principal.permissions.includes(permission),
        plugin: async (pluginId) => {
          if (context.city === null) return false;
          const installation = await context.db().pluginInstallation.findFirst({
            where: { tenantId: context.city.id, pluginId, enabled: true },
            select: { pluginId: true },
          });
          return installation !== null;
        },
      };
    },
    // The same answers as the services': a service the city does not run → NOT_FOUND, nobody →
    // UNAUTHENTICATED, somebody else → FORBIDDEN.
    unauthorizedError: (_parent, context, _info, result) => {
      if (pluginMissing(result.failure)) return new NotFound("service");
      return context.principal.kind === "anonymous" ? new Unauthenticated() : new Forbidden();
    },
  },
  // Mutations answer `Payload | NotFoundError | …` (a union), not a wrapper around the payload.
  errors: { defaultTypes: [], directResult: true },
  validation: {
    validationError: (failure) => {
      const fields: Record<string, string[]> = {};
      for (const issue of failure.issues) {
        const path = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment));
        // The argument name, or the input field under `input`.
        const field = String(path[0] === "input" && path.length > 1 ? path[1] : (path[0] ?? ""));
        (fields[field] ??= []).push(issue.message);
      }
      return new ValidationFailed(fields);
    },
  },
  prisma: {
    // Never a global client: the request's unit of work (one transaction bound to its city).
    // A transaction has the client's query methods; Pothos only calls those.
    client: (context) => context.db() as unknown as PrismaClient,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    // Another city's object, a deleted one and a made-up id all answer the same: NOT_FOUND.
    nodeQueryOptions: {
      authScopes: { public: true },
      nullable: false,
      resolve: async (_root, { id }, context, info, resolveNode) => {
        const type = info.schema.getType(id.typename);
        if (!isObjectType(type) || !type.getInterfaces().some((face) => face.name === "Node")) throw new NotFound("object");
        // A plugin's object is not found where the city does not run the plugin.
        const owner = pluginOwners.get(id.typename);
        if (owner !== undefined) {
          const running = context.city !== null && (await context.db().pluginInstallation.findFirst({
            where: { tenantId: context.city.id, pluginId: owner, enabled: true },
            select: { pluginId: true },
          })) !== null;
          if (!running) throw new NotFound("object");
        }
        const node = await resolveNode(id);
        if (node == null) throw new NotFound("object");
        return node;
      },
    },
    nodesQueryOptions: false,
    decodeGlobalID: (globalID) => {
      const decoded = Buffer.from(globalID, "base64url").toString("utf8");
      const separator = decoded.indexOf(":");
      if (separator <= 0 || Buffer.from(decoded, "utf8").toString("base64url") !== globalID.replace(/=+$/, "")) {
        throw new NotFound("object");
      }
      return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
    },
    encodeGlobalID: (typename, id) => Buffer.from(`${typename}:${String(id)}`, "utf8").toString("base64url"),
  },
});

builder.queryType({ description: "Everything a developer can read, for the city of the request's host or path." });
builder.mutationType({ description: "Every change; each one writes an audit event." });

builder.scalarType("DateTime", {
  description: "An instant, as an ISO 8601 string in UTC.",
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDateTime(value: unknown): Date {
  const date = typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError("DateTime must be an ISO 8601 date and time, e.g. 2026-11-27T10:00:00Z.", {
      extensions: { code: "VALIDATION_FAILED" },
    });
  }
  return date;
}

builder.scalarType("JSON", {
  description: "A JSON value (audit events' before and after).",
  serialize: (value) => value,
  parseValue: (value) => value,
});

// --- Expected failures as typed results (mutations) -------------------------------------------

const ErrorInterface = builder.interfaceRef<ServiceError>("Error").implement({
  description: "An expected failure. `code` is stable; `message` is for people.",
  fields: (t) => ({
    code: t.exposeString("code"),
    message: t.exposeString("message"),
  }),
});

builder.objectType(NotFound, {
  name: "NotFoundError",
  description: "No such object in this city (another city's objects included).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFound,
});

builder.objectType(Forbidden, {
  name: "ForbiddenError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof Forbidden,
});

const FieldProblem = builder.objectRef<{ field: string; messages: readonly string[] }>("FieldProblem").implement({
  description: "What is wrong with one input field (`field` is empty for the input as a whole).",
  fields: (t) => ({
    field: t.exposeString("field"),
    messages: t.exposeStringList("messages"),
  }),
});

builder.objectType(ValidationFailed, {
  name: "ValidationError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationFailed,
  fields: (t) => ({
    fields: t.field({
      type: [FieldProblem],
      resolve: (error) => Object.entries(error.fields).map(([field, messages]) => ({ field, messages })),
    }),
  }),
});

builder.objectType(Conflict, {
  name: "ConflictError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof Conflict,
  fields: (t) => ({ reason: t.exposeString("reason") }),
});

/** The error results a mutation declares (`errors: { types: MUTATION_ERRORS }`). */
export const MUTATION_ERRORS = [NotFound, Forbidden, ValidationFailed, Conflict];
