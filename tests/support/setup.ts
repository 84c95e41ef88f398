// Runs before every test file: picks the backend of this vitest project.
import { inject } from "vitest";

// PGlite, and the database-free project (which must not depend on any server), have no DATABASE_URL.
if (process.env.CIVITAS_TEST_BACKEND !== "postgres") delete process.env.DATABASE_URL;
process.env.CIVITAS_DATA_DIR ??= "memory://";
process.env.NODE_ENV = "test";
// What this run's global setup prepared for the helpers in tests/support (global-setup.ts).
Object.assign(process.env, inject("testEnv"));
