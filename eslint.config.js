// Lint: TypeScript-aware recommended rules, React hooks, and the boundary that keeps
// server-only code out of browser bundles (the classic compiler only empties *.server files).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const serverOnlyFolders = ["graphql", "tenants", "plugins", "prisma", "scripts"].flatMap((folder) => [
  `**/${folder}`,
  `**/${folder}/**`,
]);

const serverOnlyPackages = [
  "pg",
  "@prisma/client",
  "@prisma/adapter-pg",
  "pglite-prisma-adapter",
  "@electric-sql/pglite",
  "dbgate-query-splitter",
  "express",
  "node:fs",
  "node:fs/promises",
  "node:child_process",
];

export default tseslint.config(
  {
    ignores: ["build/**", "public/build/**", "app/db/generated/**", "node_modules/**", "data/**", ".cache/**", "test-results/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-definitions": ["error", "type"],
    },
  },
  {
    files: ["app/**/*.tsx"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
    },
  },
  {
    // Browser-reachable modules of the web layer: anything in app/ that is not *.server.* and
    // not a test. They may import *.server modules (Remix empties those in the browser build)
    // but never server-only folders or packages directly.
    files: ["app/**/*.{ts,tsx}"],
    ignores: ["app/**/*.server.{ts,tsx}", "app/**/*.server/**", "app/**/*.test.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: serverOnlyFolders,
              message: "Server-only code: import it from a *.server.ts module in app/ instead.",
            },
          ],
          paths: serverOnlyPackages.map((name) => ({
            name,
            message: "Server-only package: use it from a *.server.ts module.",
          })),
        },
      ],
    },
  },
);
