// Generates the Prisma client on install, from the core's schema and the plugins' (see
// scripts/prisma-schema.mjs). The Prisma CLI insists on downloading a native schema engine
// before every command; `generate` never runs it, so any existing file satisfies the check
// (see docs/decisions/002-migrations-without-the-prisma-engine.md).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { COMBINED_SCHEMA, combinedSchema } from "./prisma-schema.mjs";

const require = createRequire(import.meta.url);
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE ??= "1";
env.CHECKPOINT_DISABLE ??= "1";

writeFileSync(COMBINED_SCHEMA, combinedSchema());
const cli = require.resolve("prisma/build/index.js");
const result = spawnSync(process.execPath, [cli, "generate", "--schema", COMBINED_SCHEMA], { stdio: "inherit", env });
process.exit(result.status ?? 1);
