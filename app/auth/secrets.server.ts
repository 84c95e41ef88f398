// Secrets that sign cookies: CIVITAS_SESSION_SECRET (comma-separated, newest first, so a new one
// can be introduced while cookies signed with the old one still verify), else one generated on
// first use and kept in the database so restarts and other processes agree.
import { randomBytes } from "node:crypto";
import { config } from "../config.server";
import { withPlatformAdmin, type Database } from "../db/database.server";

/** A generated secret, created once per instance (first writer wins under concurrency). */
export async function instanceSecret(name: string, database?: Database): Promise<string> {
  return withPlatformAdmin(async (tx) => {
    const existing = await tx.instanceSecret.findUnique({ where: { name } });
    if (existing) return existing.value;
    await tx.$executeRaw`INSERT INTO instance_secrets (name, value) VALUES (${name}, ${randomBytes(32).toString("base64url")}) ON CONFLICT (name) DO NOTHING`;
    const row = await tx.instanceSecret.findUniqueOrThrow({ where: { name } });
    return row.value;
  }, database);
}

const globalStore = globalThis as typeof globalThis & { __civitasCookieSecrets?: Promise<string[]> };

/** The secrets cookies are signed with, newest first. */
export function cookieSecrets(): Promise<string[]> {
  globalStore.__civitasCookieSecrets ??= (async () => {
    const configured = config().CIVITAS_SESSION_SECRET;
    if (configured) return configured.split(",").map((secret) => secret.trim()).filter(Boolean);
    return [await instanceSecret("cookie-secret")];
  })().catch((error: unknown) => {
    globalStore.__civitasCookieSecrets = undefined;
    throw error;
  });
  return globalStore.__civitasCookieSecrets;
}

/** Tests point the process at a new database: forget what was read from the old one. */
export function forgetCookieSecrets(): void {
  globalStore.__civitasCookieSecrets = undefined;
}
