// Test data: one row in every table of the plugin, for a city made by tests/support/factories.ts
// (the tenancy suite checks every tenant table with rows of two cities).
import { randomUUID } from "node:crypto";
import type { Tx } from "../../app/db/database.server";

export async function seedCityRows(tx: Tx, city: { tenantId: string; userId: string }): Promise<void> {
  await tx.noticeBoardNotice.create({ data: { tenantId: city.tenantId, id: randomUUID(), title: { en: "Seeded notice" }, body: {}, authorId: city.userId } });
}
