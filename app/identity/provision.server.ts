// Every realm Civitas needs, in whichever provider holds them: the platform realm and one realm
// per city. Run at start (idempotent: it also brings redirect addresses up to date when the
// public URL or a city's domains change) and after onboarding; demo users come on top, for the
// embedded provider only.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { withPlatformAdmin, type Database } from "../db/database.server";
import type { IdentityBackend } from "./backend.server";
import { PLATFORM_REALM } from "./realm";
import { realmSpec } from "./sites.server";

export type ProvisionOptions = { backend: IdentityBackend; database?: Database; publicUrl?: string };

/**
 * Makes sure the realm row exists (with a web client secret generated once) for the platform
 * (cityId null) or a city, then asks the provider to create or update the realm.
 */
export async function provisionRealm(
  realm: string,
  cityId: string | null,
  { backend, database, publicUrl }: ProvisionOptions,
): Promise<{ created: boolean }> {
  await withPlatformAdmin(async (tx) => {
    // A city whose realm was renamed (city files, sync mode) keeps its row, under the new name.
    const current = cityId
      ? await tx.identityRealm.findUnique({ where: { cityId } })
      : await tx.identityRealm.findUnique({ where: { realm } });
    if (current && current.realm !== realm) {
      await tx.identityRealm.update({ where: { realm: current.realm }, data: { realm } });
    } else if (!current) {
      await tx.identityRealm.create({
        data: { realm, cityId, webClientSecret: randomBytes(32).toString("base64url") },
      });
    }
  }, database);
  const spec = await realmSpec(realm, { database, publicUrl });
  if (!spec) throw new Error(`Realm ${JSON.stringify(realm)} has no city and is not the platform realm.`);
  return backend.ensureRealm(spec);
}

/** The platform realm and every city's realm. Returns the realms the provider had to create. */
export async function provisionAllRealms(options: ProvisionOptions): Promise<string[]> {
  const cities = await withPlatformAdmin(
    (tx) => tx.city.findMany({ select: { id: true, identityRealm: true }, orderBy: { slug: "asc" } }),
    options.database,
  );
  const created: string[] = [];
  const realms: [string, string | null][] = [[PLATFORM_REALM, null], ...cities.map((c): [string, string] => [c.identityRealm, c.id])];
  for (const [realm, cityId] of realms) {
    const result = await provisionRealm(realm, cityId, options);
    if (result.created) created.push(realm);
  }
  return created;
}

// --- Demo users ------------------------------------------------------------------------------

const demoUser = z.strictObject({
  username: z.string().regex(/^[a-z0-9._-]{1,64}$/, "lower-case letters, digits, dot, dash, underscore"),
  firstName: z.string().min(1).optional(),
  lastName: z.string().min(1).optional(),
  email: z.email().optional(),
  locale: z.string().min(2).optional(),
  roles: z.array(z.string().min(1)).default([]),
});

const demoFile = z.strictObject({
  password: z.string().min(1),
  realms: z.record(z.string(), z.array(demoUser)),
});

export type DemoUsersReport = { realm: string; username: string; created: boolean }[];

/**
 * Creates the demo users of `file` that do not exist yet, in realms that exist (a realm with no
 * city is skipped, so removing a demo city does not break start). Embedded provider only: the
 * caller checks.
 */
export async function seedDemoUsers(file: string, options: ProvisionOptions): Promise<DemoUsersReport> {
  const parsed = demoFile.safeParse(parse(await readFile(file, "utf8")));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new Error(`${file} is not a valid demo users file:\n${problems}`);
  }
  const { realms, existing } = await withPlatformAdmin(
    async (tx) => ({
      realms: new Set((await tx.identityRealm.findMany({ select: { realm: true } })).map((row) => row.realm)),
      existing: new Set((await tx.identityUser.findMany({ select: { realm: true, username: true } })).map((row) => `${row.realm}/${row.username}`)),
    }),
    options.database,
  );
  const report: DemoUsersReport = [];
  for (const [realm, users] of Object.entries(parsed.data.realms)) {
    if (!realms.has(realm)) continue;
    for (const user of users) {
      // Created once: a demo user's password or roles changed since are theirs to keep.
      if (existing.has(`${realm}/${user.username}`)) {
        report.push({ realm, username: user.username, created: false });
        continue;
      }
      const { created } = await options.backend.ensureUser(realm, {
        username: user.username,
        firstName: user.firstName,
        lastName: user.lastName,
        email: user.email,
        locale: user.locale,
        password: parsed.data.password,
        realmRoles: user.roles,
      });
      report.push({ realm, username: user.username, created });
    }
  }
  return report;
}

/**
 * At start and by `db:seed`: every realm exists and is up to date; with the embedded provider,
 * the demo users of `{tenantsDir}/demo/users.yaml` too (never sent to a real Keycloak).
 */
export async function provisionIdentity({
  backend,
  database,
  tenantsDir,
  demoUsers,
  log,
}: ProvisionOptions & { tenantsDir: string; demoUsers: boolean; log: (line: string) => void }): Promise<void> {
  log(backend.kind === "keycloak" ? `identity: Keycloak realms at ${backend.issuer("{realm}")}` : `identity: embedded provider at ${backend.issuer("{realm}")}`);
  const created = await provisionAllRealms({ backend, database });
  if (created.length > 0) log(`identity: created realms ${created.join(", ")}`);
  if (backend.kind !== "embedded" || !demoUsers) return;
  const file = path.join(tenantsDir, "demo", "users.yaml");
  if (!existsSync(file)) return;
  const users = await seedDemoUsers(file, { backend, database });
  const added = users.filter((user) => user.created);
  if (added.length > 0) {
    log(`identity: demo users ${added.map((user) => `${user.username}@${user.realm}`).join(", ")} (password in ${file})`);
  }
}
