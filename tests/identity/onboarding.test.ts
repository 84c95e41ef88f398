// Onboarding a city creates its realm, whichever provider holds the realms: the Keycloak admin
// API (against an HTTP stand-in for Keycloak, since none runs here) or the embedded provider.
// The cities come from city files, as at start and in `npm run db:seed`.
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { createEmbeddedBackend } from "../../app/identity/embedded/backend.server";
import { createKeycloakBackend } from "../../app/identity/keycloak/backend.server";
import { provisionIdentity } from "../../app/identity/provision.server";
import { applyCityFiles } from "../../app/tenancy/city-files.server";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startKeycloakMock, type KeycloakMock } from "../support/keycloak-mock";

const PUBLIC_URL = "http://localhost:3000";
let dir: string;

beforeAll(async () => {
  // The demo cities and their demo users, plus room for a city onboarded later.
  dir = await mkdtemp(path.join(tmpdir(), "civitas-onboarding-"));
  await cp("tenants", dir, { recursive: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function onboard(database: TestDatabase): Promise<void> {
  await applyCityFiles({ dir, mode: "create-missing", database, platformDomain: "localhost" });
}

const lyon = `slug: lyon
names: { fr: Lyon, en: Lyon }
locales: { default: fr, enabled: [fr, en] }
timeZone: Europe/Paris
branding: { primaryColor: "#c8102e", accentColor: "#1d1d1b" }
`;

describe("realms at a real Keycloak (admin API)", () => {
  let database: TestDatabase;
  let keycloak: KeycloakMock;

  beforeAll(async () => {
    database = await createTestDatabase();
    keycloak = await startKeycloakMock({ adminClientId: "civitas-admin", adminClientSecret: "admin-secret" });
  });

  afterAll(async () => {
    await keycloak?.close();
    await database?.drop();
  });

  it("creates the platform realm and one realm per city, with Civitas' clients, and no demo users", async () => {
    await onboard(database);
    const backend = createKeycloakBackend({ url: keycloak.url, adminClientId: "civitas-admin", adminClientSecret: "admin-secret" });
    const lines: string[] = [];
    await provisionIdentity({ backend, database, publicUrl: PUBLIC_URL, tenantsDir: dir, demoUsers: true, log: (line) => lines.push(line) });

    for (const realm of ["platform", "paris", "baltimore", "budapest"]) expect(keycloak.realmSettings(realm), realm).toBeDefined();
    const web = keycloak.client("paris", "civitas-web");
    expect(web?.redirectUris).toEqual(expect.arrayContaining(["http://paris.localhost:3000/auth/callback", "http://localhost:3000/paris/auth/callback"]));
    const secrets = await withPlatformAdmin((tx) => tx.identityRealm.findMany({ orderBy: { realm: "asc" } }), database);
    expect(secrets.map((row) => row.realm)).toEqual(["baltimore", "budapest", "paris", "platform"]);
    expect(web?.secret).toBe(secrets.find((row) => row.realm === "paris")?.webClientSecret);
    expect(keycloak.realmRoleNames("paris")).toEqual(expect.arrayContaining(["city-staff", "city-admin"]));
    // Demo users are for the embedded provider only: a real Keycloak never gets them.
    expect(keycloak.user("paris", "resident")).toBeUndefined();
    expect(lines.join("\n")).toMatch(/created realms platform, baltimore, budapest, paris/);
  });

  it("creates only the new city's realm when a city is onboarded later, and nothing on a rerun", async () => {
    const backend = createKeycloakBackend({ url: keycloak.url, adminClientId: "civitas-admin", adminClientSecret: "admin-secret" });
    await writeFile(path.join(dir, "lyon.yaml"), lyon);
    try {
      await onboard(database);
      const lines: string[] = [];
      await provisionIdentity({ backend, database, publicUrl: PUBLIC_URL, tenantsDir: dir, demoUsers: false, log: (line) => lines.push(line) });
      expect(keycloak.realmSettings("lyon")).toBeDefined();
      expect(lines.join("\n")).toMatch(/created realms lyon$/m);
      const before = keycloak.requests.filter((request) => request.method === "POST").length;
      await provisionIdentity({ backend, database, publicUrl: PUBLIC_URL, tenantsDir: dir, demoUsers: false, log: () => undefined });
      expect(keycloak.requests.filter((request) => request.method === "POST").length).toBe(before);
    } finally {
      await rm(path.join(dir, "lyon.yaml"));
    }
  });
});

describe("realms in the embedded provider", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it("creates every realm with its own signing key, and the demo users", async () => {
    await onboard(database);
    const backend = createEmbeddedBackend({ database, publicUrl: PUBLIC_URL });
    try {
      await provisionIdentity({ backend, database, publicUrl: PUBLIC_URL, tenantsDir: dir, demoUsers: true, log: () => undefined });
      const state = await withPlatformAdmin(
        async (tx) => ({
          keys: await tx.identitySigningKey.findMany({ select: { realm: true, kid: true } }),
          users: await tx.identityUser.findMany({ select: { realm: true, username: true, realmRoles: true }, orderBy: [{ realm: "asc" }, { username: "asc" }] }),
        }),
        database,
      );
      expect(new Set(state.keys.map((key) => key.realm))).toEqual(new Set(["platform", "paris", "baltimore", "budapest"]));
      expect(new Set(state.keys.map((key) => key.kid)).size).toBe(state.keys.length);
      expect(state.users.filter((user) => user.realm === "paris")).toEqual([
        { realm: "paris", username: "admin", realmRoles: ["city-admin"] },
        { realm: "paris", username: "resident", realmRoles: [] },
        { realm: "paris", username: "staff", realmRoles: ["city-staff"] },
      ]);
      expect(state.users.find((user) => user.realm === "platform")).toMatchObject({ username: "operator", realmRoles: ["platform-operator"] });

      // Restarting changes nothing: same keys, no new users.
      await provisionIdentity({ backend, database, publicUrl: PUBLIC_URL, tenantsDir: dir, demoUsers: true, log: () => undefined });
      const keys = await withPlatformAdmin((tx) => tx.identitySigningKey.count(), database);
      expect(keys).toBe(state.keys.length);
    } finally {
      await backend.close?.();
    }
  });
});
