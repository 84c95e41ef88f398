// The city's API clients (client credentials for integrations) and its persisted operations:
// how developers get in, and how a city locks its API down to what its apps send.
import { parse, validate } from "graphql";
import {
  listPersistedOperations,
  registerPersistedOperation,
  removePersistedOperation,
  requirePersistedOperations,
} from "../../app/api/persisted-operations.server";
import { NotFound, ValidationFailed } from "../../app/auth/errors";
import { createApiClient, queryApiClients, revokeApiClient } from "../../app/auth/api-clients.server";
import { API_SCOPES } from "../../app/identity/realm";
import { builder, MUTATION_ERRORS, PAGE_SIZES } from "../builder";
import { City } from "../city/city";
import { atomically, type GraphQLContext } from "../context";
import { cityKey, Member } from "../members/members";

const ApiScope = builder.enumType("ApiScope", { values: API_SCOPES });

export const ApiClient = builder.prismaNode("ApiClient", {
  id: { resolve: (client) => client.id },
  findUnique: (id, context) => cityKey(context, id),
  authScopes: { cityPermission: "api_clients.manage" },
  select: { id: true },
  fields: (t) => ({
    clientId: t.exposeString("clientId", { description: "The OAuth client id (its tokens' azp)." }),
    name: t.exposeString("name"),
    scopes: t.field({ type: [ApiScope], select: { scopes: true }, resolve: (client) => API_SCOPES.filter((scope) => client.scopes.includes(scope)) }),
    creator: t.relation("creator", { type: Member, nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.prismaObjectField(City, "apiClients", (t) =>
  t.prismaConnection({
    type: ApiClient,
    cursor: "tenantId_id",
    ...PAGE_SIZES,
    description: "The city's API clients, newest first, revoked ones included.",
    authScopes: { cityPermission: "api_clients.manage" },
    resolve: (query, _city, _args, context) => queryApiClients(context.principal, context.service, query),
  }),
);

const apiClientContext = (context: GraphQLContext) => ({
  ...context.service,
  backend: context.identity.backend,
  verifier: context.identity.verifier,
});

const CreatedApiClient = builder.objectRef<{ id: string; clientSecret: string }>("CreatedApiClient").implement({
  fields: (t) => ({
    clientSecret: t.exposeString("clientSecret", { description: "Shown once: Civitas does not keep it." }),
    apiClient: t.prismaField({
      type: ApiClient,
      resolve: (query, created, _args, context) => context.db().apiClient.findUniqueOrThrow({ ...query, where: cityKey(context, created.id) }),
    }),
  }),
});

const RevokedApiClient = builder.objectRef<{ id: string; alreadyRevoked: boolean }>("RevokedApiClient").implement({
  fields: (t) => ({
    alreadyRevoked: t.exposeBoolean("alreadyRevoked"),
    apiClient: t.prismaField({
      type: ApiClient,
      resolve: (query, revoked, _args, context) => context.db().apiClient.findUniqueOrThrow({ ...query, where: cityKey(context, revoked.id) }),
    }),
  }),
});

// --- Persisted operations ---------------------------------------------------------------------

const PersistedOperation = builder
  .objectRef<{ id: string; name: string; document: string; createdAt: Date }>("PersistedOperation")
  .implement({
    description: "A document the city registered; apps send its `id` (SHA-256) instead of the text.",
    fields: (t) => ({
      id: t.exposeString("id"),
      name: t.exposeString("name"),
      document: t.exposeString("document"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
    }),
  });

const RemovedPersistedOperation = builder.objectRef<{ id: string }>("RemovedPersistedOperation").implement({
  fields: (t) => ({ id: t.exposeString("id") }),
});

const PersistedOperationsPolicy = builder.objectRef<{ enabled: boolean; changed: boolean }>("PersistedOperationsPolicy").implement({
  fields: (t) => ({ enabled: t.exposeBoolean("enabled"), changed: t.exposeBoolean("changed") }),
});

builder.objectField(City, "persistedOperations", (t) =>
  t.field({
    type: [PersistedOperation],
    authScopes: { cityPermission: "api_clients.manage" },
    resolve: (_city, _args, context) => listPersistedOperations(context.principal, context.service),
  }),
);

builder.mutationFields((t) => ({
  createApiClient: t.field({
    type: CreatedApiClient,
    description: "Registers a client-credentials client for an integration; its secret is in the answer, once.",
    authScopes: { cityPermission: "api_clients.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { name: t.arg.string({ required: true }), scopes: t.arg({ type: [ApiScope], required: true }) },
    resolve: (_root, args, context) => atomically(context, () => createApiClient(context.principal, args, apiClientContext(context))),
  }),
  revokeApiClient: t.field({
    type: RevokedApiClient,
    description: "Its tokens stop working at once; revoking twice is harmless.",
    authScopes: { cityPermission: "api_clients.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.globalID({ required: true, for: ApiClient }) },
    resolve: (_root, { id }, context) =>
      atomically(context, async () => {
        const revoked = await revokeApiClient(context.principal, id.id, apiClientContext(context));
        if (!revoked) throw new NotFound("API client");
        return revoked;
      }),
  }),
  registerPersistedOperation: t.field({
    type: PersistedOperation,
    description: "Registers a document (checked against the schema); registering it again changes nothing.",
    authScopes: { cityPermission: "api_clients.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { name: t.arg.string({ required: true }), document: t.arg.string({ required: true }) },
    resolve: (_root, args, context, info) =>
      atomically(context, () => {
        let problems: string[];
        try {
          problems = validate(info.schema, parse(args.document)).map((problem) => problem.message);
        } catch (cause) {
          problems = [cause instanceof Error ? cause.message : "is not a GraphQL document"];
        }
        if (problems.length > 0) throw new ValidationFailed({ document: problems });
        return registerPersistedOperation(context.principal, args, context.service);
      }),
  }),
  removePersistedOperation: t.field({
    type: RemovedPersistedOperation,
    authScopes: { cityPermission: "api_clients.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.string({ required: true }) },
    resolve: (_root, args, context) =>
      atomically(context, () => removePersistedOperation(context.principal, args, context.service)),
  }),
  requirePersistedOperations: t.field({
    type: PersistedOperationsPolicy,
    description: "On: the city's API accepts only registered operations (PERSISTED_QUERY_ONLY otherwise).",
    authScopes: { cityPermission: "api_clients.manage" },
    errors: { types: MUTATION_ERRORS },
    args: { enabled: t.arg.boolean({ required: true }) },
    resolve: (_root, args, context) =>
      atomically(context, () => requirePersistedOperations(context.principal, args, context.service)),
  }),
}));
