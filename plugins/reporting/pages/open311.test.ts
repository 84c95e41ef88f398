// /services/reporting/staff/open311: admins find the endpoint and the api_key of each API client
// that may file requests (revoked and read-only ones left out); staff and residents do not.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin, withTenant } from "../../../app/db/database.server";
import { setIdentity } from "../../../app/identity/identity.server";
import { createTenantResolver } from "../../../app/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { checkOpen311ApiKey } from "../open311/api-keys.server";
import { REPORTING_DEFAULTS } from "../settings.server";
import { loader } from "./staff.open311";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
const resolver = createTenantResolver();
const URL_ = "http://localhost/ville/services/reporting/staff/open311";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  await withPlatformAdmin(async (tx) => {
    await tx.pluginInstallation.create({ data: { tenantId: villeId, pluginId: "reporting", version: "1.0.0", settings: REPORTING_DEFAULTS } });
    for (const [clientId, scopes, revokedAt] of [["writer", ["read", "write"], null], ["reader", ["read"], null], ["gone", ["read", "write"], new Date()]] as const) {
      await tx.apiClient.create({ data: { tenantId: villeId, id: randomUUID(), clientId, name: clientId, scopes: [...scopes], revokedAt } });
    }
  });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const open = async (roles: string[]) => {
  const { cookie } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: URL_ }, { realmRoles: roles });
  return loader(await loaderArgs(resolver, URL_, { params: { city: "ville" }, headers: { Cookie: cookie } }));
};

describe("the Open311 keys page", () => {
  it("shows admins the endpoint and a working api_key for each client that may write", async () => {
    const data = (await (await open(["city-admin"])).json()) as { endpoint: string; jurisdictionId: string; clients: { clientId: string; apiKey: string }[] };
    expect(data.endpoint).toBe("http://localhost/ville/open311/v2/");
    expect(data.jurisdictionId).toBe("ville");
    expect(data.clients.map((client) => client.clientId)).toEqual(["writer"]);
    // The key shown is one the Open311 endpoint takes.
    const check = await withTenant(villeId, (tx) => checkOpen311ApiKey(tx, { tenantId: villeId, apiKey: data.clients[0]!.apiKey }));
    expect(check.ok).toBe(true);
  });

  it("is not for staff or residents", async () => {
    expect((await thrownResponse(open(["city-staff"]))).status).toBe(403);
    expect((await thrownResponse(open([]))).status).toBe(403);
  });
});
