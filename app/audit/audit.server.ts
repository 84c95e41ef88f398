// The audit log: who did what to which object, when, from which request. A city's events go to
// audit_events under that city's unit of work (append-only for request work); what happens
// outside any city (operators signing in, onboarding) goes to platform_audit_events.
import { randomUUID } from "node:crypto";
import { withPlatformAdmin, withTenant, type Database, type Tx } from "../db/database.server";
import type { Prisma } from "../db/generated/client.ts";

export type AuditActor =
  | { type: "user"; id: string }
  | { type: "operator"; id: string }
  | { type: "client"; id: string }
  | { type: "system"; id?: string | null };

export type AuditEntry = {
  actor: AuditActor;
  /** dotted verb: "auth.signed_in", "api_client.created", "membership.role_granted" */
  action: string;
  subject: { type: string; id?: string | null };
  before?: Prisma.InputJsonValue | null;
  after?: Prisma.InputJsonValue | null;
  requestId?: string | null;
};

function row(entry: AuditEntry) {
  return {
    id: randomUUID(),
    actorType: entry.actor.type,
    actorId: entry.actor.id ?? null,
    action: entry.action,
    subjectType: entry.subject.type,
    subjectId: entry.subject.id ?? null,
    before: entry.before ?? undefined,
    after: entry.after ?? undefined,
    requestId: entry.requestId ?? null,
  };
}

/** Records a city's event inside the caller's unit of work (so it commits with the change). */
export async function recordAudit(tx: Tx, tenantId: string, entry: AuditEntry): Promise<void> {
  await tx.auditEvent.create({ data: { tenantId, ...row(entry) } });
}

/** Records a city's event in a unit of work of its own (for events with no change to join). */
export function recordCityAudit(tenantId: string, entry: AuditEntry, database?: Database): Promise<void> {
  return withTenant(tenantId, (tx) => recordAudit(tx, tenantId, entry), database);
}

/** Records an event outside any city (platform realm, onboarding). */
export function recordPlatformAudit(entry: AuditEntry, database?: Database): Promise<void> {
  return withPlatformAdmin(async (tx) => {
    await tx.platformAuditEvent.create({ data: row(entry) });
  }, database);
}
