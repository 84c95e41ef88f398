// Test helpers of the reporting plugin: the plugin in the catalogue (its permissions known), a
// city running it, and people of a city as principals.
import { withPlatformAdmin, type Database } from "../../app/db/database.server";
import { userPrincipal } from "../../app/auth/principal.server";
import type { UserPrincipal } from "../../app/auth/permissions";
import { loadCatalogue } from "../../app/plugins/catalogue.server";
import { addPerson } from "../../tests/support/identity";
import type { TestCity } from "../../tests/support/factories";
import { REPORTING_DEFAULTS, type ReportingSettings } from "./settings.server";

/** The reporting plugin's permissions are known: the catalogue (which lists it) is loaded. */
export function ensureReportingInCatalogue(): void {
  loadCatalogue();
}

/** Installs (or reconfigures) the plugin for a city, as the lifecycle would leave it. */
export async function runReporting(database: Database, city: { id: string }, settings: Partial<ReportingSettings> = {}, enabled = true): Promise<void> {
  const value = { ...REPORTING_DEFAULTS, ...settings };
  await withPlatformAdmin(async (tx) => {
    await tx.pluginInstallation.upsert({
      where: { tenantId_pluginId: { tenantId: city.id, pluginId: "reporting" } },
      create: { tenantId: city.id, pluginId: "reporting", version: "1.0.0", enabled, settings: value },
      update: { enabled, settings: value },
    });
  }, database);
}

export type Person = UserPrincipal & { email: string };

/** A person of the city with roles, as a principal (their email is set). */
export async function personOf(database: Database, city: TestCity, roles: ("staff" | "admin")[] = [], email?: string): Promise<Person> {
  const address = email ?? `${roles[0] ?? "resident"}-${Math.random().toString(36).slice(2, 8)}@${city.slug}.example`;
  const person = await addPerson(database, city, { roles, email: address });
  return { ...userPrincipal({ tenantId: city.id, userId: person.userId, subject: person.subject, memberships: ["resident", ...roles] }), email: address };
}
