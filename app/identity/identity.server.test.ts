import { describe, expect, it } from "vitest";
import type { Config } from "../config.server";
import { createIdentity } from "./identity.server";

const base = { NODE_ENV: "development", PORT: 3000, CIVITAS_DATA_DIR: "memory://", CIVITAS_DOMAIN: "localhost", CIVITAS_TENANTS_DIR: "tenants", CIVITAS_SEED_ON_START: true } as Config;

describe("choosing the identity provider", () => {
  it("serves the embedded provider when no Keycloak is configured", async () => {
    const identity = createIdentity({ env: base, publicUrl: "http://localhost:3000" });
    expect(identity.backend.kind).toBe("embedded");
    expect(identity.router).not.toBeNull();
    expect(identity.backend.issuer("paris")).toBe("http://localhost:3000/realms/paris");
    await identity.close();
  });

  it("refuses the embedded provider in production unless explicitly allowed", async () => {
    expect(() => createIdentity({ env: { ...base, NODE_ENV: "production" } })).toThrow(/KEYCLOAK_URL/);
    const allowed = createIdentity({ env: { ...base, NODE_ENV: "production", CIVITAS_EMBEDDED_IDP: "allow" }, publicUrl: "https://civitas.example" });
    expect(allowed.backend.kind).toBe("embedded");
    await allowed.close();
  });

  it("uses Keycloak when KEYCLOAK_URL is set, and needs its admin client", async () => {
    expect(() => createIdentity({ env: { ...base, KEYCLOAK_URL: "https://sso.example" } })).toThrow(/KEYCLOAK_ADMIN_CLIENT_ID/);
    const identity = createIdentity({
      env: { ...base, NODE_ENV: "production", KEYCLOAK_URL: "https://sso.example", KEYCLOAK_ADMIN_CLIENT_ID: "civitas", KEYCLOAK_ADMIN_CLIENT_SECRET: "secret" },
    });
    expect(identity.backend.kind).toBe("keycloak");
    expect(identity.router).toBeNull();
    expect(identity.backend.issuer("paris")).toBe("https://sso.example/realms/paris");
    await identity.close();
  });
});
