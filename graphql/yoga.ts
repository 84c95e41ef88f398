// The GraphQL endpoint: Yoga over the Pothos schema, served by the same process as the pages at
// `/graphql` (city from the host) and `/{slug}/graphql` (single-host deployments).
//
// A request goes: tenant resolution (by the server, as for pages) → bearer token verified for
// that city → rate limits → parse (token limit) → validate (depth, aliases, cost) → one unit of
// work (the city's transaction under RLS, or platform administration for an operator) in which
// the principal is resolved and the operation executes, within a time limit. An operation made
// only of federation fields runs outside the city's transaction: their services open their own.
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { PothosValidationError } from "@pothos/core";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from "express";
import { GraphQLError, Kind, type ExecutionArgs, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { overLimit } from "../app/auth/rate-limits.server";
import { findPersistedOperation, persistedOperationsOnly } from "../app/api/persisted-operations.server";
import { ServiceError, TokenRejected } from "../app/auth/errors";
import { principalFromToken, principalOpening } from "../app/auth/principal.server";
import { bearerToken } from "../app/auth/verify.server";
import { withPlatformAdmin, withTenant, type Database, type Tx } from "../app/db/database.server";
import { negotiateLocale } from "../app/i18n/i18n.server";
import type { Identity } from "../app/identity/identity.server";
import { resolveTenant, type TenantResolution } from "../app/tenancy/resolve.server";
import { createContext, timedOut, type GraphQLContext } from "./context";
import { operationCost } from "./cost";
import { schema } from "./schema";

export type GraphQLLimits = {
  /** Deepest selection accepted (the issue: 10). */
  maxDepth: number;
  /** Every field 1, what a list selects once per item it may return (graphql/cost.ts). */
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** Execution time limit; the transaction is rolled back when it passes. */
  timeoutMs: number;
  /** Requests per minute per API client or person, and per client address. */
  perClientPerMinute: number;
  perAddressPerMinute: number;
  /** Largest request body accepted. */
  maxBodyBytes: number;
};

export const DEFAULT_LIMITS: GraphQLLimits = {
  maxDepth: 10,
  maxCost: 10_000,
  maxAliases: 15,
  maxTokens: 2_000,
  maxDirectives: 20,
  timeoutMs: 10_000,
  perClientPerMinute: 600,
  perAddressPerMinute: 1_200,
  maxBodyBytes: 100_000,
};

/** Limits from the environment (CIVITAS_GRAPHQL_*), for the process' endpoint. */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): GraphQLLimits {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
  };
  return {
    ...DEFAULT_LIMITS,
    timeoutMs: number("CIVITAS_GRAPHQL_TIMEOUT_MS", DEFAULT_LIMITS.timeoutMs),
    perClientPerMinute: number("CIVITAS_GRAPHQL_RATE_PER_CLIENT", DEFAULT_LIMITS.perClientPerMinute),
    perAddressPerMinute: number("CIVITAS_GRAPHQL_RATE_PER_ADDRESS", DEFAULT_LIMITS.perAddressPerMinute),
  };
}

/** What the Express mount hands Yoga with each request. */
export type ServerContext = {
  req: ExpressRequest;
  res: ExpressResponse;
  requestId: string;
  tenant: Extract<TenantResolution, { kind: "city" | "platform" }>;
  clientAddress: string;
};

export type GraphQLServerOptions = {
  identity: () => Identity;
  database?: Database;
  limits?: Partial<GraphQLLimits>;
  /** GraphiQL at GET /graphql in a browser: development only. */
  graphiql?: boolean;
  /** Called with unexpected errors (logged with the request id, masked for the client). */
  onUnexpectedError?: (error: unknown, requestId: string) => void;
};

export type GraphQLServer = YogaServerInstance<ServerContext, GraphQLContext> & { limits: GraphQLLimits };

const error = (message: string, code: string, http?: { status: number; headers?: Record<string, string> }) =>
  new GraphQLError(message, { extensions: { code, ...(http && { http }) } });

export function createGraphQLServer(options: GraphQLServerOptions): GraphQLServer {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const perClient = new RateLimiterMemory({ points: limits.perClientPerMinute, duration: 60 });
  const perAddress = new RateLimiterMemory({ points: limits.perAddressPerMinute, duration: 60 });
  const report = options.onUnexpectedError ?? ((cause, requestId) => console.error(`[${requestId}] GraphQL:`, cause));

  async function consume(limiter: RateLimiterMemory, key: string): Promise<void> {
    const seconds = await overLimit(limiter, key);
    if (seconds === null) return;
    throw error("Too many requests: try again later.", "RATE_LIMITED", {
      status: 429,
      headers: { "Retry-After": String(seconds) },
    });
  }

  async function context({ request, requestId, tenant, clientAddress }: ServerContext & { request: Request }): Promise<GraphQLContext> {
    await consume(perAddress, clientAddress);
    const city = tenant.kind === "city" ? tenant.city : null;
    let raw: string | null;
    try {
      raw = bearerToken(request);
    } catch {
      throw unauthorized("invalid_request", "malformed Authorization header");
    }
    const identity = options.identity();
    let token = null;
    if (raw) {
      try {
        token = await identity.verifier.verify(raw, city ? { tenantId: city.id } : { platform: true });
      } catch (cause) {
        if (cause instanceof TokenRejected) throw unauthorized("invalid_token", "the token is not valid here");
        throw cause;
      }
      await consume(perClient, `${token.realm}/${token.clientId}/${token.subject}`);
    }
    const locale = city
      ? negotiateLocale(request.headers.get("Accept-Language"), city.enabledLocales, city.defaultLocale)
      : negotiateLocale(request.headers.get("Accept-Language"), ["en"], "en");
    return createContext({ requestId, city, locale, token, identity, database: options.database });
  }

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    context,
    graphqlEndpoint: "{/:city}?/graphql",
    landingPage: false,
    // Expected failures (a refused token, NOT_FOUND…) are answers, not incidents: Yoga would log
    // each with its stack. Unexpected ones are logged once, by maskError below, with the request id.
    logging: {
      debug: () => undefined,
      info: () => undefined,
      warn: (...args: unknown[]) => console.warn("GraphQL:", ...args),
      error: (...args: unknown[]) => {
        if (!args.some(isExpected)) console.error("GraphQL:", ...args);
      },
    },
    graphiql: options.graphiql ?? false,
    // The mount (graphqlRoutes) refuses a POST without Content-Length (411) or over the limit
    // (413) before Yoga, and Node's parser reads no more than Content-Length: Yoga's own check,
    // which streams every body through a TransformStream, would only cost time.
    maxRequestBodySize: false,
    // Bearer tokens only, never cookies: any origin may call, and no browser credentials flow.
    cors: { origin: "*", credentials: false, methods: ["GET", "POST"], allowedHeaders: ["Authorization", "Content-Type", "Accept-Language"] },
    maskedErrors: {
      maskError(cause, message) {
        const original = cause instanceof GraphQLError && cause.originalError ? cause.originalError : cause;
        const path = pathOf(cause);
        // graphql-js' own request errors (a missing or mistyped variable) have no path and no
        // code: the client's mistake, said in graphql-js' words ('Variable "$id" got …').
        if (cause instanceof GraphQLError && !path && original instanceof GraphQLError && !hasCode(original)) {
          return new GraphQLError(cause.message, { nodes: cause.nodes, extensions: { code: "VALIDATION_FAILED", http: { status: 400 } } });
        }
        // Pothos refuses malformed connection arguments (a cursor, a negative `first`) this way.
        if (original instanceof PothosValidationError) {
          return new GraphQLError(original.message, { path, extensions: { code: "VALIDATION_FAILED" } });
        }
        // A lookup by id that found nothing (findUniqueOrThrow): another city's object, or none.
        if (isRecordNotFound(original)) return new GraphQLError("No such object.", { path, extensions: { code: "NOT_FOUND" } });
        if (original instanceof ServiceError) return new GraphQLError(original.message, { path, extensions: { code: original.code } });
        if (original instanceof GraphQLError && hasCode(original)) return original;
        // Unexpected: logged with the request id where execution ends (useUnitOfWork), or by
        // Yoga's logger when it happened before; the client learns nothing of it.
        return new GraphQLError(message, { path, extensions: { code: "INTERNAL_SERVER_ERROR" } });
      },
    },
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: limits.maxDepth, ...coded("DEPTH_LIMIT_EXCEEDED") },
        // Replaced by useCostLimit, which sees the variables.
        costLimit: { enabled: false },
        maxAliases: { n: limits.maxAliases, ...coded("ALIAS_LIMIT_EXCEEDED") },
        maxTokens: { n: limits.maxTokens, ...coded("TOKEN_LIMIT_EXCEEDED") },
        maxDirectives: { n: limits.maxDirectives, ...coded("DIRECTIVE_LIMIT_EXCEEDED") },
        // Suggestions ("did you mean …") are how schemas leak when introspection is off; ours is on.
        blockFieldSuggestion: { enabled: false },
      }),
      useNoNulCharacters(),
      useCityOperationPolicy(options.database),
      usePersistedOperations<ServerContext>({
        getPersistedOperation: (key, _request, { tenant }) =>
          tenant.kind === "city" ? findPersistedOperation(tenant.city.id, key, options.database) : null,
        allowArbitraryOperations: true,
        customErrors: {
          // Apollo clients recognise this message and send the full document next.
          notFound: { message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND", http: { status: 404 } } },
          keyNotFound: {
            message: "Send a query, or the id of a persisted operation (extensions.persistedQuery.sha256Hash).",
            extensions: { code: "VALIDATION_FAILED", http: { status: 400 } },
          },
        },
      }),
      useCostLimit(limits.maxCost),
      useUnitOfWork(limits.timeoutMs, report, options.database),
    ],
  });
  return Object.assign(yoga, { limits });
}

const hasCode = (error: GraphQLError) => typeof error.extensions.code === "string";

function isExpected(value: unknown): boolean {
  const original = value instanceof GraphQLError && value.originalError ? value.originalError : value;
  return (
    original instanceof ServiceError ||
    original instanceof PothosValidationError ||
    isRecordNotFound(original) ||
    (original instanceof GraphQLError && hasCode(original))
  );
}

const pathOf = (cause: unknown) => (cause instanceof GraphQLError ? cause.path : undefined);

function isRecordNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === "PrismaClientKnownRequestError" && (error as Error & { code?: string }).code === "P2025";
}

function unauthorized(code: "invalid_request" | "invalid_token", description: string): GraphQLError {
  return error("Authentication failed: the bearer token is missing its form or is not valid here.", "UNAUTHENTICATED", {
    status: 401,
    headers: { "WWW-Authenticate": `Bearer error="${code}", error_description="${description}"` },
  });
}

// graphql-armor's refusals carry no code: report them with ours instead (and stop its own).
function coded(code: string) {
  return {
    propagateOnRejection: false,
    onReject: [
      (context: { reportError(error: GraphQLError): void } | null, rejection: GraphQLError) => {
        const refusal = error(rejection.message.replace(/^Syntax Error: /, ""), code, { status: 400 });
        // The token limit runs while parsing, without a validation context: throwing is the way.
        if (!context) throw refusal;
        context.reportError(refusal);
      },
    ],
  };
}

/** Refuses an operation whose cost, with its variables, is over `maxCost` (before execution). */
function useCostLimit(maxCost: number): Plugin {
  return {
    onExecute({ args }) {
      const cost = operationCost(args.schema, args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>);
      if (cost > maxCost) {
        throw error(`The operation costs ${cost}, more than the limit of ${maxCost}: ask for fewer items or fields.`, "COST_LIMIT_EXCEEDED", {
          status: 400,
        });
      }
    },
  };
}

/**
 * PostgreSQL cannot store the NUL character in text: refuse it in the request, with a clear
 * answer, rather than fail deep in a statement.
 */
function useNoNulCharacters(): Plugin {
  return {
    onParams({ params }) {
      const text = `${params.query ?? ""}${JSON.stringify(params.variables ?? {})}`;
      if (text.includes("\u0000") || text.includes("\\u0000")) {
        throw error("Text must not contain the NUL character (U+0000).", "VALIDATION_FAILED", { status: 400 });
      }
    },
  };
}

/** A city that accepts only registered operations refuses any document sent in full. */
function useCityOperationPolicy(database?: Database): Plugin<ServerContext> {
  return {
    async onParams({ params, context }) {
      const { tenant } = context as ServerContext;
      if (tenant.kind !== "city" || !params.query) return;
      if (await persistedOperationsOnly(tenant.city.id, database)) {
        throw error("This city accepts only its registered (persisted) operations.", "PERSISTED_QUERY_ONLY", { status: 400 });
      }
    },
  };
}

/**
 * Execution happens inside one unit of work: the city's transaction (RLS bound to the city) or,
 * for an operator on the platform host, platform administration. The principal is resolved in
 * it (one round trip less), and a timeout rolls it back.
 */
function useUnitOfWork(
  timeoutMs: number,
  report: (error: unknown, requestId: string) => void,
  database?: Database,
): Plugin<GraphQLContext> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args: ExecutionArgs) => {
        const context = args.contextValue as GraphQLContext;
        const run = (tx: Tx | null) => async () => {
          context.unitOfWork.tx = tx;
          context.unitOfWork.deadline = Date.now() + timeoutMs;
          try {
            const result = await withTimeout(Promise.resolve(executeFn(args)), timeoutMs);
            // Past the limit (PGlite may not have let the timer fire): roll back, answer TIMEOUT.
            if (Date.now() > context.unitOfWork.deadline) throw timedOut();
            if ("errors" in result) {
              for (const failure of result.errors ?? []) if (!isExpected(failure)) report(failure.originalError ?? failure, context.requestId);
            }
            return result;
          } finally {
            context.unitOfWork.tx = null;
          }
        };
        const { city, token } = context;
        if (city && opensOwnUnitsOfWork(args)) {
          // Nothing to join: the services commit their own work (see opensOwnUnitsOfWork).
          if (token) context.principal = await principalFromToken(token, { database });
          const result = await run(null)();
          await runAfterCommit(context);
          return result;
        }
        if (city) {
          // The principal is read with the transaction's opening (no round trip of its own) when
          // the token is a person's; otherwise resolved in the transaction, joining it.
          const opening = token && token.tenantId === city.id ? principalOpening(token) : null;
          const result = await withTenant(
            city.id,
            async (tx, [opened]) => {
              if (token) context.principal = await principalFromToken(token, { database, opened });
              return run(tx)();
            },
            database,
            opening ? [opening] : [],
          );
          await runAfterCommit(context);
          return result;
        }
        // The platform host: platform administration (no RLS) for an operator, and only then.
        if (token) context.principal = await principalFromToken(token, { database });
        if (context.principal.kind !== "operator") return run(null)();
        const result = await withPlatformAdmin((tx) => run(tx)(), database);
        await runAfterCommit(context);
        return result;
      });
    },
  };
}

/**
 * Whether every root field of the operation says it opens its own units of work (a Pothos field
 * with `extensions: { ownUnitsOfWork: true }`; `__typename` aside). The federation's fields do:
 * their services reach the instance's tables as app_admin, which a city's transaction cannot
 * become (ADR 013), so such an operation runs outside the city's transaction, each service call
 * committing on its own. Mixed with other fields, it runs in the city's transaction as usual and
 * those fields refuse to run (graphql/federation/federation.ts).
 */
function opensOwnUnitsOfWork(args: ExecutionArgs): boolean {
  const operations = args.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = args.operationName ? operations.find((o) => o.name?.value === args.operationName) : operations[0];
  const root = operation && (operation.operation === "mutation" ? args.schema.getMutationType() : operation.operation === "query" ? args.schema.getQueryType() : null);
  if (!operation || !root) return false;
  const fragments = new Map(
    args.document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((fragment) => [fragment.name.value, fragment]),
  );
  const names = new Set<string>();
  const seen = new Set<string>();
  const collect = (selections: SelectionSetNode["selections"]): void => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet.selections);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        collect(fragments.get(selection.name.value)?.selectionSet.selections ?? []);
      }
    }
  };
  collect(operation.selectionSet.selections);
  const fields = root.getFields();
  const asked = [...names].filter((name) => !name.startsWith("__"));
  return asked.length > 0 && asked.every((name) => fields[name]?.extensions?.ownUnitsOfWork === true);
}

async function runAfterCommit(context: GraphQLContext): Promise<void> {
  for (const work of context.unitOfWork.afterCommit.splice(0)) {
    try {
      await work();
    } catch (cause) {
      console.error(`[${context.requestId}] after commit:`, cause);
    }
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- The Express mount ------------------------------------------------------------------------

const GRAPHQL_PATH = /^(?:\/([a-z][a-z0-9-]{1,62}))?\/graphql\/?$/;

/**
 * Express middleware answering `/graphql` and `/{slug}/graphql` with `server`; everything else
 * goes on to the pages. The city is resolved as for pages; a `/{slug}` prefix is accepted only
 * where the resolver used it (the platform's address), so a city's own host never serves another.
 */
export function graphqlRoutes(
  server: GraphQLServer,
  resolve: (selector: { host: string; pathname: string }) => Promise<TenantResolution> = resolveTenant,
): RequestHandler {
  return (req, res, next) => {
    const match = GRAPHQL_PATH.exec(req.path);
    if (!match) return next();
    void (async () => {
      const tenant = await resolve({ host: req.hostname, pathname: req.path });
      const prefix = match[1] ? `/${match[1]}` : "";
      const served =
        (tenant.kind === "city" && tenant.basePath === prefix) || (tenant.kind === "platform" && prefix === "");
      if (!served || (tenant.kind !== "city" && tenant.kind !== "platform")) {
        res.status(404).type("application/json").send(JSON.stringify({ errors: [{ message: "No such city here.", extensions: { code: "NOT_FOUND" } }] }));
        return;
      }
      if (tenant.kind === "city" && tenant.city.status !== "active") {
        res.status(503).set("Retry-After", "3600").type("application/json")
          .send(JSON.stringify({ errors: [{ message: "This city's services are suspended.", extensions: { code: "CITY_SUSPENDED" } }] }));
        return;
      }
      // A body must say its length (GraphQL clients always do), so the cap cannot be dodged:
      // Node's parser reads no more than it (and refuses it with a chunked encoding).
      if (req.method === "POST" && req.get("content-length") === undefined) {
        res.status(411).type("application/json").send(JSON.stringify({ errors: [{ message: "Send the Content-Length of the body.", extensions: { code: "VALIDATION_FAILED" } }] }));
        return;
      }
      const length = Number(req.get("content-length") ?? 0);
      if (length > server.limits.maxBodyBytes) {
        res.status(413).type("application/json").send(JSON.stringify({ errors: [{ message: "The request body is too large.", extensions: { code: "VALIDATION_FAILED" } }] }));
        return;
      }
      // The adapter's listener passes extra arguments on as the server context (typed for two).
      const listen = server.requestListener as unknown as (req: ExpressRequest, res: ExpressResponse, context: ServerContext) => Promise<void>;
      await listen(req, res, {
        req,
        res,
        requestId: String(res.locals.requestId),
        tenant,
        clientAddress: req.ip ?? req.socket.remoteAddress ?? "unknown",
      });
    })().catch(next);
  };
}
