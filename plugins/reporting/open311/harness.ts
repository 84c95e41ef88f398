// The Open311 endpoint on an ephemeral port for tests and the benchmark: the real Express app
// (request ids, Host checks) with open311Routes mounted where the core mounts it, a tenant
// resolver on the test database, and two cities running the reporting plugin, each with an API
// client whose api_key is known.
import { randomUUID } from "node:crypto";
import type { Prisma } from "../../../app/db/generated/client.ts";
import { withPlatformAdmin, withTenant, type Database } from "../../../app/db/database.server";
import { createApp } from "../../../app/http.server";
import { addToCatalogue, pluginById } from "../../../app/plugins/catalogue.server";
import { createTenantResolver } from "../../../app/tenancy/resolve.server";
import { createCity, type TestCity } from "../../../tests/support/factories";
import { serve } from "../../../tests/support/http";
import { attributesSchema } from "../attributes";
import { insertCategory } from "../categories.server";
import reporting from "../plugin";
import { forgetOpen311KeySecret, open311ApiKey } from "./api-keys.server";
import { open311Routes, type Open311Limits } from "./routes.server";

export type Open311City = TestCity & { apiKey: string; readOnlyKey: string; clientId: string };

export type Open311Harness = {
  port: number;
  paris: Open311City;
  budapest: Open311City;
  /** http://127.0.0.1:{port}/{slug}/open311/v2/{resource} (or /open311/v2/… for "platform"). */
  url(at: string, resource: string): string;
  unexpected: unknown[];
  close(): Promise<void>;
};

/** The plugin's installation with its default categories, plus one with every datatype. */
export async function runReporting(database: Database, tenantId: string): Promise<void> {
  await withTenant(
    tenantId,
    async (tx) => {
      await tx.pluginInstallation.create({ data: { tenantId, pluginId: "reporting", version: reporting.version, settings: {} } });
      await reporting.install!({ tx, tenantId, settings: {} });
      await insertCategory(tx, tenantId, {
        code: "bulky-waste",
        names: { en: "Bulky waste", fr: "Encombrants" },
        descriptions: { en: "Furniture or appliances left on the street." },
        groupNames: { en: "Cleanliness", fr: "Propreté" },
        keywords: ["furniture", "mattress"],
        position: 100,
        attributes: attributesSchema.parse([
          { code: "KIND", datatype: "singlevaluelist", required: true, order: 1, description: { en: "What is it?", fr: "Qu'est-ce ?" }, values: [{ key: "sofa", name: { en: "Sofa" } }, { key: "fridge", name: { en: "Fridge" } }] },
          { code: "ITEMS", datatype: "multivaluelist", order: 2, description: { en: "What else?" }, values: [{ key: "chair", name: { en: "Chair" } }, { key: "table", name: { en: "Table" } }, { key: "lamp", name: { en: "Lamp" } }] },
          { code: "COUNT", datatype: "number", order: 3, description: { en: "How many pieces?" }, datatypeDescription: { en: "A whole number" } },
          { code: "SEEN", datatype: "datetime", order: 4, description: { en: "Seen when?" } },
          { code: "NOTE", datatype: "text", order: 5, description: { en: "Anything else?" } },
          { code: "INFO", datatype: "string", variable: false, order: 6, description: { en: "Collection is free." } },
        ]),
      });
    },
    database,
  );
}

/** An API client of the city with `scopes`, and its api_key. */
export async function apiClientWithKey(database: Database, tenantId: string, scopes: string[]): Promise<{ id: string; clientId: string; apiKey: string }> {
  const id = randomUUID();
  const clientId = `client-${randomUUID().slice(0, 12)}`;
  await withTenant(tenantId, (tx) => tx.apiClient.create({ data: { tenantId, id, clientId, name: "Open311 integration", scopes } }), database);
  return { id, clientId, apiKey: await open311ApiKey({ tenantId, clientId, database }) };
}

export async function startOpen311(
  database: Database,
  options: { limits?: Partial<Open311Limits>; tenantCacheMs?: number } = {},
): Promise<Open311Harness> {
  forgetOpen311KeySecret();
  if (!pluginById(reporting.id)) addToCatalogue(reporting);
  const cities: Open311City[] = [];
  for (const name of ["paris", "budapest"]) {
    const city = await createCity(database, { slug: `${name}-${randomUUID().slice(0, 6)}` });
    await runReporting(database, city.id);
    const writer = await apiClientWithKey(database, city.id, ["read", "write"]);
    const reader = await apiClientWithKey(database, city.id, ["read"]);
    cities.push({ ...city, apiKey: writer.apiKey, clientId: writer.clientId, readOnlyKey: reader.apiKey });
  }
  const unexpected: unknown[] = [];
  const resolver = createTenantResolver({ database, domain: "civitas.test", ttlMs: options.tenantCacheMs ?? 0 });
  const app = createApp({
    handler: (_req, res) => void res.status(404).type("text/plain").send("a page"),
    logRequests: false,
    // Where the core mounts its API endpoints: before pages' cookie, CSRF and body checks.
    graphql: open311Routes({
      database,
      resolve: resolver.resolve,
      limits: { perAddressPerMinute: 1_000_000_000, perKeyPerMinute: 1_000_000_000, ...options.limits },
      onUnexpectedError: (error) => unexpected.push(error),
    }),
  });
  const served = await serve(app);
  return {
    port: served.port,
    paris: cities[0]!,
    budapest: cities[1]!,
    url: (at, resource) => `http://127.0.0.1:${served.port}${at === "platform" ? "" : `/${at}`}/open311/v2/${resource}`,
    unexpected,
    close: () => served.close(),
  };
}

/** Switches the plugin off (or on) for a city, as the lifecycle does. */
export async function setReportingEnabled(database: Database, tenantId: string, enabled: boolean): Promise<void> {
  await withTenant(tenantId, (tx) => tx.pluginInstallation.updateMany({ where: { tenantId, pluginId: "reporting" }, data: { enabled } }), database);
}

/** Moves a request's status (history written by staff, here as data). */
export async function setRequestState(
  database: Database,
  tenantId: string,
  trackingId: string,
  data: Pick<Prisma.ReportingRequestUpdateManyMutationInput, "status" | "closedAt">,
): Promise<void> {
  await withTenant(tenantId, (tx) => tx.reportingRequest.updateMany({ where: { tenantId, trackingId }, data }), database);
}

/** Dates a request back (the application's role may not rewrite when a report was made). */
export async function backdateRequest(database: Database, tenantId: string, trackingId: string, createdAt: Date): Promise<void> {
  await database.owner.query("UPDATE reporting_requests SET created_at = $1 WHERE tenant_id = $2 AND tracking_id = $3", [createdAt.toISOString(), tenantId, trackingId]);
}

export async function suspendCity(database: Database, tenantId: string): Promise<void> {
  await withPlatformAdmin((tx) => tx.city.update({ where: { id: tenantId }, data: { status: "suspended" } }), database);
}
