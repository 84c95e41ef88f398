// Builders for test data. Cities are created the only way they can be: as a platform operation.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { withPlatformAdmin, type Database, type Tx } from "../../app/db/database.server";
import { PLUGIN_TEST_ROWS } from "../../plugins/testing";

export type TestCity = { id: string; slug: string; userId: string };

let counter = 0;

/** A valid 1×1 PNG. */
export const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/**
 * A city with one domain, one user (admin), one plugin installation, one audit event, one API
 * client, one session, one pending invitation, one persisted GraphQL operation and a logo; with
 * `pluginRows`, its federation import and subscription and each plugin's rows too (plugins/testing.ts): a row in every table a city owns.
 */
export async function createCity(
  database: Database,
  overrides: { slug?: string; status?: "active" | "suspended"; pluginRows?: boolean } = {},
): Promise<TestCity> {
  counter += 1;
  const id = randomUUID();
  const slug = overrides.slug ?? `city-${counter}-${id.slice(0, 6)}`;
  const userId = randomUUID();
  await withPlatformAdmin(async (tx) => {
    await tx.city.create({
      data: {
        id,
        slug,
        names: { en: `City ${counter}` },
        status: overrides.status ?? "active",
        defaultLocale: "en",
        enabledLocales: ["en"],
        timeZone: "Europe/Paris",
        branding: { primaryColor: "#1d4ed8", accentColor: "#b45309" },
        identityRealm: slug,
        domains: { create: { hostname: `${slug}.example`, isPrimary: true } },
        users: { create: { id: userId, realm: slug, subject: `subject-${userId}`, email: `${slug}@example.org` } },
        installations: { create: { pluginId: "notice-board", version: "1.1.0", settings: { heading: {}, maxNotices: 10 } } },
        logo: { create: { contentType: "image/png", bytes: TINY_PNG, sha256: createHash("sha256").update(TINY_PNG).digest("hex") } },
        auditEvents: { create: { id: randomUUID(), actorType: "system", action: "city.created", subjectType: "city", subjectId: id } },
        invitations: {
          create: {
            id: randomUUID(),
            email: `staff@${slug}.example`,
            role: "staff",
            tokenHash: createHash("sha256").update(randomBytes(32).toString("base64url")).digest("hex"),
            invitedByType: "system",
            expiresAt: new Date(Date.now() + 14 * 86_400_000),
          },
        },
      },
    });
    await tx.membership.create({ data: { tenantId: id, userId, role: "admin" } });
    await tx.apiClient.create({
      data: { tenantId: id, id: randomUUID(), clientId: `client-${id.slice(0, 8)}`, name: "Integration", scopes: ["read"], createdBy: userId },
    });
    await tx.persistedOperation.create({
      data: { tenantId: id, id: createHash("sha256").update(`{ city { slug } } # ${id}`).digest("hex"), name: "City slug", document: `{ city { slug } } # ${id}`, createdBy: userId },
    });
    await tx.session.create({
      data: { tenantId: id, id: `session-${randomUUID()}`, userId, data: {}, expiresAt: new Date(Date.now() + 3_600_000) },
    });
    if (overrides.pluginRows) await federationRows(tx, { id, slug, userId, name: `City ${counter}` });
    if (overrides.pluginRows) for (const seed of PLUGIN_TEST_ROWS) await seed(tx, { tenantId: id, userId });
  }, database);
  return { id, slug, userId };
}

/**
 * A component and a dataset the city published (instance-level rows), and the city's own
 * import of the one and subscription to the other: rows in the city's federation tables.
 */
async function federationRows(tx: Tx, { id, slug, userId, name }: { id: string; slug: string; userId: string; name: string }): Promise<void> {
  const origin = { uri: `http://civitas.test/federation/cities/${slug}`, slug, names: { en: name }, instance: "http://civitas.test" };
  const componentId = randomUUID();
  await tx.federationComponent.create({
    data: {
      id: componentId,
      uri: `http://civitas.test/federation/components/${componentId}`,
      originTenantId: id,
      originCity: origin,
      pluginId: "notice-board",
      kind: "notices",
      title: { en: "Notices" },
      locales: ["en"],
      latestVersion: 1,
    },
  });
  await tx.federationImport.create({ data: { tenantId: id, componentId, version: 1, importedBy: userId } });
  const datasetId = randomUUID();
  await tx.federationDataset.create({
    data: {
      id: datasetId,
      uri: `http://civitas.test/federation/datasets/${datasetId}`,
      originTenantId: id,
      originCity: origin,
      pluginId: "reporting",
      dataset: "request-statistics",
      title: { en: "Statistics" },
      sharing: "public",
    },
  });
  await tx.federationSubscription.create({ data: { tenantId: id, datasetId, state: "active" } });
}
