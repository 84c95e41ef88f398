// Each demo city's Open311 demo client: an API client (read, write) whose api_key is published in
// the README, like the demo users' password. Only where demo users are enabled (evaluation and
// development instances); the key is refused anywhere else (api-keys.server.ts).
import { randomUUID } from "node:crypto";
import { recordAudit } from "../../../app/audit/audit.server";
import { withTenant, type Database } from "../../../app/db/database.server";
import { DEMO_KEY_SECRET, demoClientId } from "./api-keys.server";

export const DEMO_CLIENT_NAME = "Open311 demo client";

/** The published api_key of a demo city's client. */
export const demoOpen311ApiKey = (slug: string): string => `${demoClientId(slug)}.${DEMO_KEY_SECRET}`;

/**
 * Makes a demo city's Open311 client when it is missing (run by the plugin's `demo` hook, for the
 * demo cities of tenants/demo/services.yaml). Idempotent; a demo client an admin revoked stays
 * revoked. Answers whether it made one.
 */
export async function ensureDemoOpen311Client(options: { tenantId: string; slug: string; database?: Database }): Promise<boolean> {
  const { tenantId } = options;
  const clientId = demoClientId(options.slug);
  return withTenant(
    tenantId,
    async (tx) => {
      const existing = await tx.apiClient.findFirst({ where: { tenantId, clientId }, select: { id: true } });
      if (existing) return false;
      const id = randomUUID();
      await tx.apiClient.create({ data: { tenantId, id, clientId, name: DEMO_CLIENT_NAME, scopes: ["read", "write"], createdBy: null } });
      await recordAudit(tx, tenantId, {
        actor: { type: "system", id: "demo-seed" },
        action: "api_client.created",
        subject: { type: "api_client", id },
        after: { clientId, name: DEMO_CLIENT_NAME, scopes: ["read", "write"] },
      });
      return true;
    },
    options.database,
  );
}
