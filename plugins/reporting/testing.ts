// Test data: one row in every table of the plugin, for a city made by tests/support/factories.ts
// (the tenancy suite checks every tenant table with rows of two cities).
import { randomBytes, randomUUID } from "node:crypto";
import type { Tx } from "../../app/db/database.server";

/** A valid 1×1 PNG. */
const PIXEL = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

export async function seedCityRows(tx: Tx, city: { tenantId: string; userId: string }): Promise<void> {
  const { tenantId } = city;
  const categoryId = randomUUID();
  const requestId = randomUUID();
  const trackingId = `${randomBytes(2).toString("hex").toUpperCase()}-${randomBytes(2).toString("hex").toUpperCase()}`;
  await tx.reportingCategory.create({ data: { tenantId, id: categoryId, code: "seeded-category", names: { en: "Seeded category" } } });
  await tx.reportingRequest.create({
    data: { tenantId, id: requestId, trackingId, categoryId, description: "Seeded report", address: "1 Main Street", source: "portal", locale: "en", reporterUserId: city.userId },
  });
  await tx.reportingEvent.create({ data: { tenantId, id: randomUUID(), requestId, kind: "created", public: true, toStatus: "open", actorType: "user", actorId: city.userId } });
  await tx.reportingFollower.create({ data: { tenantId, id: randomUUID(), requestId, userId: city.userId } });
  await tx.reportingPhoto.create({ data: { tenantId, id: randomUUID(), requestId, contentType: "image/png", byteSize: PIXEL.length, width: 1, height: 1, bytes: PIXEL } });
  await tx.reportingOutboxMessage.create({
    data: { tenantId, id: randomUUID(), dedupeKey: `seed-${requestId}`, requestId, recipient: "resident@example.org", locale: "en", subject: "Seeded", body: "Seeded message" },
  });
}
