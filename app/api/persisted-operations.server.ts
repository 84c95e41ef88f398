// Persisted GraphQL operations: a city registers the documents its apps send, addressed by their
// SHA-256 (Apollo's `extensions.persistedQuery.sha256Hash`), and may then refuse any other
// document — its API surface becomes exactly what its apps use. Admins manage both.
import { createHash } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { Conflict, NotFound, parseInput } from "../auth/errors";
import { requireCityPermission, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { withTenant, type Database } from "../db/database.server";

export type PersistedOperation = { id: string; name: string; document: string; createdBy: string | null; createdAt: Date };

const HASH = /^[0-9a-f]{64}$/;
const SUMMARY = { id: true, name: true, document: true, createdBy: true, createdAt: true } as const;

export function operationHash(document: string): string {
  return createHash("sha256").update(document, "utf8").digest("hex");
}

const registerSchema = z
  .object({
    name: z.string({ error: "must be text" }).trim().min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
    document: z.string({ error: "must be text" }).min(1, { error: "must not be empty" }).max(100_000, { error: "must be at most 100000 characters" }),
  })
  .strict();

/**
 * Registers a document (the caller has checked it against the schema). Registering the same
 * document again changes nothing; its hash is the id apps send.
 */
export async function registerPersistedOperation(
  principal: Principal,
  input: { name: string; document: string },
  context: ServiceContext = {},
): Promise<PersistedOperation & { created: boolean }> {
  const actor = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const { tenantId } = actor;
  const { name, document } = parseInput(registerSchema, input);
  const id = operationHash(document);
  return withTenant(
    tenantId,
    async (tx) => {
      const createdBy = actor.kind === "user" ? actor.userId : null;
      const { count } = await tx.persistedOperation.createMany({ data: [{ tenantId, id, name, document, createdBy }], skipDuplicates: true });
      const row = await tx.persistedOperation.findUniqueOrThrow({ where: { tenantId_id: { tenantId, id } }, select: SUMMARY });
      if (count === 1) {
        await recordAudit(tx, tenantId, {
          actor: auditActor(actor),
          action: "persisted_operation.registered",
          subject: { type: "persisted_operation", id },
          after: { name },
          requestId: context.requestId,
        });
      }
      return { ...row, created: count === 1 };
    },
    context.database,
  );
}

export async function listPersistedOperations(principal: Principal, context: ServiceContext = {}): Promise<PersistedOperation[]> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  return withTenant(
    tenantId,
    (tx) => tx.persistedOperation.findMany({ where: { tenantId }, select: SUMMARY, orderBy: [{ createdAt: "desc" }, { id: "asc" }], take: 1_000 }),
    context.database,
  );
}

export async function removePersistedOperation(principal: Principal, input: { id: string }, context: ServiceContext = {}): Promise<{ id: string }> {
  const actor = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const { tenantId } = actor;
  const id = String(input.id).toLowerCase();
  if (!HASH.test(id)) throw new NotFound("persisted operation");
  return withTenant(
    tenantId,
    async (tx) => {
      const removed = await tx.persistedOperation.deleteMany({ where: { tenantId, id } });
      if (removed.count === 0) throw new NotFound("persisted operation");
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "persisted_operation.removed",
        subject: { type: "persisted_operation", id },
        requestId: context.requestId,
      });
      forgetPersistedOperation(tenantId, id);
      return { id };
    },
    context.database,
  );
}

/** Turns "only registered operations" on or off for the city (on needs at least one registered). */
export async function requirePersistedOperations(
  principal: Principal,
  input: { enabled: boolean },
  context: ServiceContext = {},
): Promise<{ enabled: boolean; changed: boolean }> {
  const actor = requireCityPermission(principal, context.tenantId, "api_clients.manage");
  const { tenantId } = actor;
  const enabled = input.enabled === true;
  return withTenant(
    tenantId,
    async (tx) => {
      if (enabled && (await tx.persistedOperation.count({ where: { tenantId } })) === 0) {
        throw new Conflict("no_persisted_operations", "Register at least one operation before refusing all others.");
      }
      const { count } = await tx.city.updateMany({
        where: { id: tenantId, persistedOperationsOnly: !enabled },
        data: { persistedOperationsOnly: enabled },
      });
      if (count === 1) {
        await recordAudit(tx, tenantId, {
          actor: auditActor(actor),
          action: "city.persisted_operations_only_changed",
          subject: { type: "city", id: tenantId },
          before: { persistedOperationsOnly: !enabled },
          after: { persistedOperationsOnly: enabled },
          requestId: context.requestId,
        });
        policies.delete(tenantId);
      }
      return { enabled, changed: count === 1 };
    },
    context.database,
  );
}

// --- What the endpoint reads on every request, cached -------------------------------------------

// Documents never change under their hash: remembered until removed (bounded).
const documents = new Map<string, string>();
const MAX_DOCUMENTS = 5_000;
// The city's policy, re-read after a few seconds (another process may have changed it).
const policies = new Map<string, { expiresAt: number; only: Promise<boolean> }>();
const POLICY_TTL_MS = 5_000;

function forgetPersistedOperation(tenantId: string, id: string): void {
  documents.delete(`${tenantId}:${id}`);
}

/** The document registered under `id` at this city, or null. */
export async function findPersistedOperation(tenantId: string, id: string, database?: Database): Promise<string | null> {
  if (!HASH.test(id)) return null;
  const key = `${tenantId}:${id}`;
  const known = documents.get(key);
  if (known !== undefined) return known;
  const row = await withTenant(
    tenantId,
    (tx) => tx.persistedOperation.findUnique({ where: { tenantId_id: { tenantId, id } }, select: { document: true } }),
    database,
  );
  if (!row) return null;
  if (documents.size >= MAX_DOCUMENTS) documents.delete(documents.keys().next().value as string);
  documents.set(key, row.document);
  return row.document;
}

/** Whether the city accepts only registered operations. */
export function persistedOperationsOnly(tenantId: string, database?: Database): Promise<boolean> {
  const cached = policies.get(tenantId);
  if (cached && cached.expiresAt > Date.now()) return cached.only;
  const only = withTenant(
    tenantId,
    async (tx) => (await tx.city.findUnique({ where: { id: tenantId }, select: { persistedOperationsOnly: true } }))?.persistedOperationsOnly ?? false,
    database,
  );
  policies.set(tenantId, { expiresAt: Date.now() + POLICY_TTL_MS, only });
  only.catch(() => policies.delete(tenantId));
  return only;
}
