// One suite, two backends: every test that opens a database runs on embedded PGlite, and again on
// PostgreSQL when DATABASE_URL names a server (CI always sets it; see .ci/run). The files listed in
// tests/support/database-free.ts open none, so they run once, in their own project.
import { availableParallelism } from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";
import { DATABASE_FREE_TESTS } from "./tests/support/database-free";

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
    // Two test files at a time at least: they spend much of their time waiting for PostgreSQL,
    // Chromium or child instances, and vitest's default (one per core but one) would run them
    // one by one on a two-core machine. Measured there: one worker 634 s, two 482 s, three 464 s
    // (no better than two, and every file slower).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // CI keeps a machine-readable result for its summary line (see .ci/run).
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results/vitest.json" }]] : ["default"],
    projects: [
      {
        extends: true,
        test: {
          ...shared,
          name: "database-free",
          include: DATABASE_FREE_TESTS,
          // Opening a database fails the file here (see the list).
          setupFiles: [...shared.setupFiles, "tests/support/setup-database-free.ts"],
          env: { CIVITAS_TEST_BACKEND: "none" },
        },
      },
      ...backends.map((backend) => ({
        extends: true as const,
        test: {
          ...shared,
          name: backend,
          exclude: [...shared.exclude, ...DATABASE_FREE_TESTS],
          // Migrated databases made once per run, for test files to copy (tests/support/templates.ts).
          globalSetup: ["tests/support/global-setup.ts"],
          env: { CIVITAS_TEST_BACKEND: backend },
        },
      })),
    ],
  },
});
