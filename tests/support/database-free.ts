// Test files that open no database at all, directly or through a harness: pure functions,
// translations, schema printing, signatures, rendering without data, mocks of other services.
// The backend cannot change what they do, so they run once, in the "database-free" project
// (vitest.config.ts), instead of once per backend; every other file runs on PGlite and again on
// PostgreSQL. Importing a module that could reach the database is fine (most do); opening one is
// not: in that project, connecting to PGlite or PostgreSQL throws and fails the file
// (setup-database-free.ts). A file that needs a database stays off this list.
export const DATABASE_FREE_TESTS = [
  "app/auth/permissions.test.ts",
  "app/auth/rate-limits.server.test.ts",
  "app/auth/sign-in.server.test.ts",
  "app/cities/contrast.test.ts",
  "app/federation/canonical.test.ts",
  "app/federation/signatures.server.test.ts",
  "app/i18n/i18n.server.test.ts",
  "app/i18n/translated.test.ts",
  "app/identity/embedded/passwords.server.test.ts",
  "app/identity/embedded/throttle.server.test.ts",
  "app/identity/identity.server.test.ts",
  "app/identity/keycloak/backend.server.test.ts",
  "app/identity/sites.server.test.ts",
  "app/routes/healthz/route.test.ts",
  "app/routes/locales.$lng.$ns/route.test.ts",
  "app/routes/readyz/readiness.server.test.ts",
  "app/tenancy/city-file.server.test.ts",
  "plugins/catalogue.test.ts",
  "scripts/i18n-check.test.ts",
  "tests/database-free.test.ts",
  "tests/graphql/contract.test.ts",
];
