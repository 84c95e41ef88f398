// A city's API clients: client-credential clients in the city's realm, for integrations. The
// provider holds the secret (shown once, at creation); Civitas holds what the city sees (name,
// scopes, who created it, when it was revoked). Creating one spans two systems, so it goes
// provider first, outside any unit of work, then the row and its audit event in one unit of
// work, and undoes the provider's client if that fails.
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { UUID_PATTERN, withTenant } from "../db/database.server";
import type { Prisma } from "../db/generated/client.ts";
import type { IdentityBackend } from "../identity/backend.server";
import { API_SCOPES, type ApiScope } from "../identity/realm";
import { parseInput } from "./errors";
import { requireCityPermission, type Principal } from "./permissions";
import { auditActor, type ServiceContext } from "./principal.server";
import type { TokenVerifier } from "./verify.server";

export type ApiClientSummary = {
  id: string;
  clientId: string;
  name: string;
  scopes: ApiScope[];
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
};

export type CreatedApiClient = {
  id: string;
  clientId: string;
  /** Shown once: Civitas does not keep it, the provider does. */
  clientSecret: string;
  name: string;
  scopes: ApiScope[];
};

export type RevokedApiClient = { id: string; clientId: string; name: string; revokedAt: Date; alreadyRevoked: boolean };

export type ApiClientContext = ServiceContext & {
  backend: Pick<IdentityBackend, "createMachineClient" | "deleteMachineClient">;
  /** The process' verifier, told at once about a revocation (others see it within their cache time). */
  verifier?: Pick<TokenVerifier, "forgetClient">;
};


const createSchema = z
  .object({
    name: z
      .string({ error: "must be text" })
      .trim()
      .min(1, { error: "must not be empty" })
      .max(100, { error: "must be at most 100 characters" }),
    scopes: z
      .array(z.enum(API_SCOPES, { error: `must be among ${API_SCOPES.join(", ")}` }), { error: "must be a list of scopes" })
      .min(1, { error: "choose at least one scope" }),
  })
  .strict();

const SUMMARY = {
  id: true,
  clientId: true,
  name: true,
  scopes: true,
  createdBy: true,
  createdAt: true,
  revokedAt: true,
} as const;

const asScopes = (scopes: string[]): ApiScope[] => API_SCOPES.filter((scope) => scopes.includes(scope));

/** Registers a new API client with the provider and records it; returns its secret, once. */
export async function createApiClient(
  principal: Principal,
  input: { name: string; scopes: string[] },
  context: ApiClientContext,
): Promise<CreatedApiClient> {
  const actor = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const { tenantId } = actor;
  const parsed = parseInput(createSchema, input);
  const name = parsed.name;
  const scopes = asScopes(parsed.scopes);

  const city = await withTenant(
    tenantId,
    (tx) => tx.city.findFirstOrThrow({ where: { id: tenantId }, select: { slug: true, identityRealm: true } }),
    context.database,
  );
  const clientId = `${city.slug}-${randomBytes(6).toString("hex")}`;
  const { clientSecret } = await context.backend.createMachineClient(city.identityRealm, { clientId, name, scopes });

  const id = randomUUID();
  try {
    await withTenant(
      tenantId,
      async (tx) => {
        await tx.apiClient.create({
          data: { tenantId, id, clientId, name, scopes, createdBy: actor.kind === "user" ? actor.userId : null },
        });
        await recordAudit(tx, tenantId, {
          actor: auditActor(actor),
          action: "api_client.created",
          subject: { type: "api_client", id },
          after: { clientId, name, scopes },
          requestId: context.requestId,
        });
      },
      context.database,
    );
  } catch (error) {
    // Without its row the client would hold working credentials nobody can see or revoke.
    try {
      await context.backend.deleteMachineClient(city.identityRealm, clientId);
    } catch (cleanup) {
      console.error(
        `[${context.requestId ?? "-"}] API client ${clientId} of realm ${city.identityRealm} could not be removed ` +
          "from the identity provider after recording it failed; remove it there by hand:",
        cleanup,
      );
    }
    throw error;
  }
  return { id, clientId, clientSecret, name, scopes };
}

/** A Prisma selection and page window from GraphQL (Pothos' plugin-prisma). */
export type ApiClientQuery = Pick<Prisma.ApiClientFindManyArgs, "select" | "include" | "take" | "skip" | "cursor">;

/** The city's API clients as rows with the caller's selection and window, newest first. */
export async function queryApiClients<Q extends ApiClientQuery>(
  principal: Principal,
  context: ServiceContext,
  query: Q,
): Promise<Prisma.ApiClientGetPayload<Q>[]> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const rows = await withTenant(
    tenantId,
    (tx) => tx.apiClient.findMany({ ...query, where: { tenantId }, orderBy: [{ createdAt: "desc" }, { id: "asc" }] }),
    context.database,
  );
  // findMany's result type follows its argument's literal type, which a generic spread loses.
  return rows as Prisma.ApiClientGetPayload<Q>[];
}

/** The city's API clients, newest first, revoked ones included. */
export async function listApiClients(principal: Principal, context: ServiceContext = {}): Promise<ApiClientSummary[]> {
  const rows = await queryApiClients(principal, context, { select: SUMMARY });
  return rows.map((row) => ({ ...row, scopes: asScopes(row.scopes) }));
}

/**
 * Revokes an API client: its tokens stop working at once here (the verifier checks azp against
 * revoked_at), and the provider forgets it so it gets no new ones. Null when the city has no
 * such client (another city's id included). Revoking twice is harmless and retries the
 * provider, in case it failed the first time.
 */
export async function revokeApiClient(
  principal: Principal,
  id: string,
  context: ApiClientContext,
): Promise<RevokedApiClient | null> {
  const actor = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const { tenantId } = actor;
  if (typeof id !== "string" || !UUID_PATTERN.test(id)) return null;
  const revoked = await withTenant(
    tenantId,
    async (tx) => {
      const row = await tx.apiClient.findFirst({
        where: { tenantId, id },
        select: { clientId: true, name: true, revokedAt: true, city: { select: { identityRealm: true } } },
      });
      if (!row) return null;
      const base = { id, clientId: row.clientId, name: row.name, realm: row.city.identityRealm };
      if (row.revokedAt) return { ...base, revokedAt: row.revokedAt, alreadyRevoked: true };
      const revokedAt = new Date();
      const { count } = await tx.apiClient.updateMany({ where: { tenantId, id, revokedAt: null }, data: { revokedAt } });
      if (count === 0) {
        // Revoked by someone else a moment ago.
        const current = await tx.apiClient.findFirstOrThrow({ where: { tenantId, id }, select: { revokedAt: true } });
        return { ...base, revokedAt: current.revokedAt ?? revokedAt, alreadyRevoked: true };
      }
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "api_client.revoked",
        subject: { type: "api_client", id },
        before: { clientId: row.clientId, revokedAt: null },
        after: { clientId: row.clientId, revokedAt: revokedAt.toISOString() },
        requestId: context.requestId,
      });
      return { ...base, revokedAt, alreadyRevoked: false };
    },
    context.database,
  );
  if (!revoked) return null;
  const forget = async () => {
    context.verifier?.forgetClient(tenantId, revoked.clientId);
    await context.backend.deleteMachineClient(revoked.realm, revoked.clientId);
  };
  // Inside a caller's unit of work (GraphQL) the revocation stands whatever the provider says:
  // its tokens are refused by revoked_at already, and revoking again retries the provider.
  if (context.afterCommit) context.afterCommit(forget);
  else await forget();
  const { realm: _realm, ...answer } = revoked;
  return answer;
}
