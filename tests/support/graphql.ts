// The GraphQL endpoint on an ephemeral port, over a fresh database with two cities (Paris and
// Budapest) and a fake identity provider that signs tokens for their realms and the platform's.
// Requests go through the real Express mount (tenant resolution, limits, Yoga), by path:
// http://127.0.0.1:{port}/{slug}/graphql.
import { randomUUID } from "node:crypto";
import type { Express } from "express";
import { createIssuerDirectory } from "../../app/auth/issuers.server";
import { createTokenVerifier } from "../../app/auth/verify.server";
import type { Database } from "../../app/db/database.server";
import { createApp } from "../../app/http.server";
import type { Identity } from "../../app/identity/identity.server";
import { REALM_ROLES, PLATFORM_REALM } from "../../app/identity/realm";
import { createTenantResolver } from "../../app/tenancy/resolve.server";
import { createGraphQLServer, graphqlRoutes, type GraphQLLimits } from "../../graphql/yoga";
import { createTestDatabase, type TestDatabase } from "./database";
import { createCity, type TestCity } from "./factories";
import { serve, type Served } from "./http";
import { addPerson, createFakeIdentity, type FakeIdentity } from "./identity";

export type Role = "anonymous" | "resident" | "staff" | "admin" | "operator";

export type GraphQLAnswer = {
  status: number;
  headers: Headers;
  /** The parsed body (null when it was not JSON). */
  body: { data?: Record<string, unknown> | null; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[] } | null;
  text: string;
};

export type GraphQLRequest = {
  query?: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
  /** A bearer token (see `tokenFor`). */
  token?: string | null;
  /** Where to send it: a city's slug (path mode) or "platform" (the platform's own /graphql). */
  at?: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** Sent as is instead of the JSON of query/variables. */
  rawBody?: string;
};

export type GraphQLHarness = {
  database: TestDatabase;
  identity: FakeIdentity;
  paris: TestCity;
  budapest: TestCity;
  port: number;
  url(at?: string): string;
  request(request: GraphQLRequest): Promise<GraphQLAnswer>;
  /** A token of someone with `role` at `city` (a new person each time unless `subject` is given). */
  tokenFor(role: Exclude<Role, "anonymous" | "operator">, city: TestCity, options?: { subject?: string }): Promise<string>;
  operatorToken(): Promise<string>;
  close(): Promise<void>;
};

export type GraphQLMount = {
  identity: FakeIdentity;
  port: number;
  /** The endpoint of a city's slug (path mode), or "platform" for the platform's own /graphql. */
  url(at: string): string;
  close(): Promise<void>;
};

export type GraphQLMountOptions = {
  /** Realms the fake provider signs for (each city's slug, and the platform's). */
  realms: string[];
  limits?: Partial<GraphQLLimits>;
  /** The tenant resolver's cache; 0 (the default here) looks the city up on every request. */
  tenantCacheMs?: number;
  /** Unexpected errors (masked for the client); ignored unless given. */
  onUnexpectedError?: (error: unknown, requestId: string) => void;
};

/**
 * The real Express mount (tenant resolution by path, limits, Yoga) over `database`, with a fake
 * identity provider for `realms`, on an ephemeral port. The database stays the caller's.
 */
export async function serveGraphQL(database: Database, options: GraphQLMountOptions): Promise<GraphQLMount> {
  const fake = createFakeIdentity();
  for (const realm of options.realms) await fake.addRealm(realm);
  const issuers = createIssuerDirectory({ backend: fake, database });
  const identity: Identity = {
    backend: fake,
    router: null,
    issuers,
    verifier: createTokenVerifier({ backend: fake, issuers, database }),
    close: async () => undefined,
  };
  const server = createGraphQLServer({
    identity: () => identity,
    database,
    limits: { perClientPerMinute: 100_000, perAddressPerMinute: 100_000, ...options.limits },
    onUnexpectedError: options.onUnexpectedError ?? (() => undefined),
  });
  const resolver = createTenantResolver({ database, domain: "civitas.test", ttlMs: options.tenantCacheMs ?? 0 });
  const app: Express = createApp({
    handler: (_req, res) => void res.status(404).end(),
    logRequests: false,
    graphql: graphqlRoutes(server, resolver.resolve),
  });
  const served: Served = await serve(app);
  return {
    identity: fake,
    port: served.port,
    url: (at) => `http://127.0.0.1:${served.port}${at === "platform" ? "" : `/${at}`}/graphql`,
    close: () => served.close(),
  };
}

export async function startGraphQL(
  options: { limits?: Partial<GraphQLLimits>; onQuery?: (sql: string) => void } = {},
): Promise<GraphQLHarness> {
  const database = await createTestDatabase({ onQuery: options.onQuery });
  const paris = await createCity(database, { slug: `paris-${randomUUID().slice(0, 6)}` });
  const budapest = await createCity(database, { slug: `budapest-${randomUUID().slice(0, 6)}` });
  const mount = await serveGraphQL(database, { realms: [paris.slug, budapest.slug, PLATFORM_REALM], limits: options.limits });
  const fake = mount.identity;
  const url = (at = paris.slug) => mount.url(at);

  async function request({ query, variables, operationName, extensions, token, at, method = "POST", headers = {}, rawBody }: GraphQLRequest): Promise<GraphQLAnswer> {
    const target = new URL(url(at));
    const init: RequestInit = {
      method,
      headers: {
        Accept: "application/graphql-response+json",
        ...(method === "POST" && { "Content-Type": "application/json" }),
        ...(token && { Authorization: `Bearer ${token}` }),
        ...headers,
      },
    };
    if (method === "GET") {
      if (query) target.searchParams.set("query", query);
      if (variables) target.searchParams.set("variables", JSON.stringify(variables));
      if (operationName) target.searchParams.set("operationName", operationName);
      if (extensions) target.searchParams.set("extensions", JSON.stringify(extensions));
    } else {
      init.body = rawBody ?? JSON.stringify({ query, variables, operationName, extensions });
    }
    return answerOf(await fetch(target, init));
  }

  async function tokenFor(role: Exclude<Role, "anonymous" | "operator">, city: TestCity, { subject }: { subject?: string } = {}) {
    const person = subject ? { subject } : await addPerson(database, city, { roles: role === "resident" ? [] : [role] });
    return fake.accessToken(city.slug, { subject: person.subject });
  }

  return {
    database,
    identity: fake,
    paris,
    budapest,
    port: mount.port,
    url,
    request,
    tokenFor,
    operatorToken: () => fake.accessToken(PLATFORM_REALM, { realmRoles: [REALM_ROLES.operator], username: "operator" }),
    async close() {
      await mount.close();
      await database.drop();
    },
  };
}

/** A response as the tests read it: status, headers, the text, and its JSON when it is JSON. */
export async function answerOf(response: Response): Promise<GraphQLAnswer> {
  const text = await response.text();
  let body: GraphQLAnswer["body"] = null;
  try {
    body = JSON.parse(text) as GraphQLAnswer["body"];
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The `extensions.code` of each error, in order. */
export const codes = (answer: GraphQLAnswer): (string | undefined)[] => (answer.body?.errors ?? []).map((e) => e.extensions?.code);
