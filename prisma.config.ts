// Prisma 7 configuration. The datasource URL is only read by CLI commands that talk
// to a database (unused here: Civitas applies its own SQL migrations, see ADR 002).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/civitas" },
});
