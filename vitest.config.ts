// One suite, two backends: every test runs on embedded PGlite, and again on PostgreSQL when
// DATABASE_URL names a server (CI always sets it; see .ci/run).
import path from "node:path";
import { defineConfig } from "vitest/config";

const shared = {
  include: ["app/**/*.test.{ts,tsx}", "tests/**/*.test.{ts,tsx}", "tenants/**/*.test.ts", "plugins/**/*.test.{ts,tsx}", "graphql/**/*.test.ts", "scripts/**/*.test.ts"],
  exclude: ["tests/e2e/**", "node_modules/**"],
  setupFiles: ["tests/support/setup.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

const backends = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

export default defineConfig({
  resolve: {
    alias: {
      "~": path.resolve("app"),
      // Node loads graphql's CommonJS build for every importer (the package has no "exports");
      // Vite would pick its ".mjs" for our files: two copies, and graphql refuses to mix them.
      graphql: path.resolve("node_modules/graphql/index.js"),
    },
  },
  test: {
    // CI keeps a machine-readable result for its summary line (see .ci/run).
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results/vitest.json" }]] : ["default"],
    projects: backends.map((backend) => ({
      extends: true,
      test: { ...shared, name: backend, env: { CIVITAS_TEST_BACKEND: backend } },
    })),
  },
});
