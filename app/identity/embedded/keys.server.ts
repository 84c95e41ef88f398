// The embedded provider's keys, kept in the database so that a restart keeps tokens valid and
// browsers signed in: one RS256 signing key per realm (Keycloak's default algorithm), and the
// instance-wide keys that sign oidc-provider's cookies.
import { randomBytes, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import { Prisma } from "../../db/generated/client.ts";

export const SIGNING_ALGORITHM = "RS256";
const COOKIE_KEYS_SECRET = "oidc-cookie-keys";

export type RealmKey = { kid: string; privateJwk: JWK; publicJwk: JWK; retired: boolean };

function isJwk(value: unknown): value is JWK {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as JWK).kty === "string";
}

/** The realm's keys, the signing one (newest, not retired) first. */
export async function realmKeys(realm: string, database?: Database): Promise<RealmKey[]> {
  const rows = await withPlatformAdmin(
    (tx) =>
      tx.identitySigningKey.findMany({
        where: { realm, alg: SIGNING_ALGORITHM },
        select: { kid: true, privateJwk: true, publicJwk: true, retiredAt: true, createdAt: true },
        orderBy: { createdAt: "desc" },
      }),
    database,
  );
  const keys = rows.flatMap((row): RealmKey[] =>
    isJwk(row.privateJwk) && isJwk(row.publicJwk)
      ? [{ kid: row.kid, privateJwk: row.privateJwk, publicJwk: row.publicJwk, retired: row.retiredAt !== null }]
      : [],
  );
  return [...keys.filter((key) => !key.retired), ...keys.filter((key) => key.retired)];
}

/**
 * Creates the realm's signing key unless it has one in service. The realm's identity_realms row
 * must exist (provisioning inserts it). Returns whether a key was created.
 */
export async function ensureSigningKey(realm: string, database?: Database): Promise<boolean> {
  const existing = await withPlatformAdmin(
    (tx) => tx.identitySigningKey.count({ where: { realm, alg: SIGNING_ALGORITHM, retiredAt: null } }),
    database,
  );
  if (existing > 0) return false;
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true, modulusLength: 2048 });
  const kid = randomUUID();
  const common = { kid, alg: SIGNING_ALGORITHM, use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), ...common };
  const publicJwk = { ...(await exportJWK(publicKey)), ...common };
  return withPlatformAdmin(async (tx) => {
    const realmRow = await tx.identityRealm.findUnique({ where: { realm }, select: { realm: true } });
    if (!realmRow) {
      throw new Error(
        `Realm ${JSON.stringify(realm)} has no identity_realms row: provision the realm (which stores its web client secret) before ensureRealm.`,
      );
    }
    // Another process may have created one meanwhile: the one in service stays.
    const raced = await tx.identitySigningKey.count({ where: { realm, alg: SIGNING_ALGORITHM, retiredAt: null } });
    if (raced > 0) return false;
    await tx.identitySigningKey.create({
      data: { realm, kid, alg: SIGNING_ALGORITHM, privateJwk: privateJwk as Prisma.InputJsonObject, publicJwk: publicJwk as Prisma.InputJsonObject },
    });
    return true;
  }, database);
}

/** Keys signing oidc-provider's cookies, generated once per instance. */
export async function cookieKeys(database?: Database): Promise<string[]> {
  const read = () =>
    withPlatformAdmin((tx) => tx.instanceSecret.findUnique({ where: { name: COOKIE_KEYS_SECRET }, select: { value: true } }), database);
  let row = await read();
  if (!row) {
    const value = JSON.stringify([randomBytes(32).toString("base64url")]);
    try {
      await withPlatformAdmin((tx) => tx.instanceSecret.create({ data: { name: COOKIE_KEYS_SECRET, value } }), database);
    } catch (error) {
      // Created by another process in between: use theirs.
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")) throw error;
    }
    row = await read();
  }
  const keys: unknown = row ? JSON.parse(row.value) : null;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === "string" && key.length >= 32)) {
    throw new Error(`The instance secret ${COOKIE_KEYS_SECRET} is not a JSON list of keys; delete the row to generate new ones.`);
  }
  return keys as string[];
}
