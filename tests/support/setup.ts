// Runs before every test file: picks the backend of this vitest project.
if (process.env.CIVITAS_TEST_BACKEND === "pglite") delete process.env.DATABASE_URL;
process.env.CIVITAS_DATA_DIR ??= "memory://";
process.env.NODE_ENV = "test";
