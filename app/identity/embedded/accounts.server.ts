// The embedded provider's user accounts (identity_users): creating them for demos and tests,
// checking a password at sign-in, and the claims tokens carry about them, shaped like Keycloak's.
import { randomUUID } from "node:crypto";
import { withPlatformAdmin, type Database, UUID_PATTERN } from "../../db/database.server";
import { Prisma } from "../../db/generated/client.ts";
import type { IdentityUserSpec } from "../backend.server";
import { hashPassword, verifyPassword } from "./passwords.server";

export type Account = {
  id: string;
  username: string;
  email: string | null;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  enabled: boolean;
  realmRoles: string[];
};

const ACCOUNT_COLUMNS = {
  id: true,
  username: true,
  email: true,
  emailVerified: true,
  firstName: true,
  lastName: true,
  locale: true,
  enabled: true,
  realmRoles: true,
} as const;

const USERNAME_MAX = 255;

/** Usernames compare without case, as in Keycloak: they are stored lower-cased. */
export function normaliseUsername(username: string): string {
  return username.normalize("NFC").trim().toLowerCase();
}

export async function findAccount(realm: string, id: string, database?: Database): Promise<Account | null> {
  if (!UUID_PATTERN.test(id)) return null;
  return withPlatformAdmin(
    (tx) => tx.identityUser.findUnique({ where: { realm_id: { realm, id } }, select: ACCOUNT_COLUMNS }),
    database,
  );
}

/** Keycloak-shaped identity claims of a user (ID tokens, access tokens, userinfo). */
export function accountClaims(account: Account): Record<string, unknown> {
  const name = [account.firstName, account.lastName].filter((part) => part && part.trim() !== "").join(" ");
  return {
    sub: account.id,
    preferred_username: account.username,
    ...(account.email ? { email: account.email } : {}),
    email_verified: account.emailVerified,
    ...(name ? { name } : {}),
    ...(account.firstName ? { given_name: account.firstName } : {}),
    ...(account.lastName ? { family_name: account.lastName } : {}),
    ...(account.locale ? { locale: account.locale } : {}),
  };
}

function checkUserSpec(user: IdentityUserSpec): string {
  if (typeof user.username !== "string") throw new Error("A user needs a username.");
  const username = normaliseUsername(user.username);
  if (username === "" || username.length > USERNAME_MAX || /[\s\p{Cc}]/u.test(username)) {
    throw new Error(
      `Not a username: ${JSON.stringify(user.username.slice(0, 100))} (1 to ${USERNAME_MAX} characters, no spaces or control characters).`,
    );
  }
  if (user.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(user.email)) {
    throw new Error(`Not an email address: ${JSON.stringify(user.email.slice(0, 100))}.`);
  }
  for (const role of user.realmRoles ?? []) {
    if (typeof role !== "string" || role.trim() === "" || role.length > 255) {
      throw new Error(`Not a realm role: ${JSON.stringify(role)}.`);
    }
  }
  return username;
}

/**
 * Creates or updates a user by username. Given fields replace the stored ones, roles are added
 * to those held (never removed), the password is replaced when one is given. Returns the id,
 * which is the `sub` of the user's tokens.
 */
export async function ensureAccount(
  realm: string,
  user: IdentityUserSpec,
  database?: Database,
): Promise<{ id: string; created: boolean }> {
  const username = checkUserSpec(user);
  const passwordHash = user.password !== undefined ? await hashPassword(user.password) : undefined;
  const fields = {
    ...(user.email !== undefined ? { email: user.email.trim(), emailVerified: true } : {}),
    ...(user.firstName !== undefined ? { firstName: user.firstName } : {}),
    ...(user.lastName !== undefined ? { lastName: user.lastName } : {}),
    ...(user.locale !== undefined ? { locale: user.locale } : {}),
    ...(passwordHash !== undefined ? { passwordHash } : {}),
  };
  const roles = [...new Set(user.realmRoles ?? [])];
  const attempt = () =>
    withPlatformAdmin(async (tx) => {
      const realmRow = await tx.identityRealm.findUnique({ where: { realm }, select: { realm: true } });
      if (!realmRow) throw new Error(`Realm ${JSON.stringify(realm)} does not exist: provision it before adding users.`);
      const existing = await tx.identityUser.findUnique({
        where: { realm_username: { realm, username } },
        select: { id: true, realmRoles: true },
      });
      if (existing) {
        const realmRoles = [...new Set([...existing.realmRoles, ...roles])];
        await tx.identityUser.update({
          where: { realm_id: { realm, id: existing.id } },
          data: { ...fields, realmRoles },
        });
        return { id: existing.id, created: false };
      }
      const id = randomUUID();
      await tx.identityUser.create({ data: { realm, id, username, ...fields, realmRoles: roles } });
      return { id, created: true };
    }, database);
  try {
    return await attempt();
  } catch (error) {
    // Created by a concurrent call between our read and insert: now it is an update.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") return attempt();
    throw error;
  }
}

export type Authentication =
  | { ok: true; account: Account }
  | { ok: false; reason: "unknown_account" | "invalid_password" | "user_disabled" };

/**
 * The first password of an account (created when missing); an account that has one keeps it.
 * One statement decides, so two attempts at once cannot both set it.
 */
export async function setFirstPassword(
  realm: string,
  user: { username: string; email: string; password: string; locale?: string },
  database?: Database,
): Promise<"set" | "has_password"> {
  const username = checkUserSpec({ username: user.username, email: user.email });
  const passwordHash = await hashPassword(user.password);
  const existing = await withPlatformAdmin(
    (tx) => tx.identityUser.findUnique({ where: { realm_username: { realm, username } }, select: { id: true } }),
    database,
  );
  // A new account gets no password here: the statement below sets it only where none is, so an
  // account someone else made a moment ago keeps theirs. An existing account is left as it is.
  if (!existing) await ensureAccount(realm, { username, email: user.email, ...(user.locale && { locale: user.locale }) }, database);
  const { count } = await withPlatformAdmin(
    (tx) => tx.identityUser.updateMany({ where: { realm, username, passwordHash: null }, data: { passwordHash } }),
    database,
  );
  return count === 1 ? "set" : "has_password";
}

/** The account a sign-in names, with its password hash: to throttle and audit by, then to check. */
export type SignInCandidate = Account & { passwordHash: string | null };

/**
 * The account a typed login names: the username, or the email address when it names exactly
 * one account (as Keycloak allows). Null when it names none.
 */
export async function findSignInCandidate(realm: string, login: string, database?: Database): Promise<SignInCandidate | null> {
  const username = normaliseUsername(login);
  if (username === "") return null;
  return withPlatformAdmin(async (tx) => {
    const byUsername = await tx.identityUser.findUnique({
      where: { realm_username: { realm, username } },
      select: { ...ACCOUNT_COLUMNS, passwordHash: true },
    });
    if (byUsername || !username.includes("@")) return byUsername;
    const byEmail = await tx.identityUser.findMany({
      where: { realm, email: { equals: username, mode: "insensitive" } },
      select: { ...ACCOUNT_COLUMNS, passwordHash: true },
      take: 2,
    });
    return byEmail.length === 1 ? (byEmail[0] ?? null) : null;
  }, database);
}

/**
 * Checks the password of a sign-in candidate. Always spends one password hash, candidate or
 * not, so that response times do not reveal which logins exist; a disabled account is reported
 * only to someone who knows its password.
 */
export async function checkSignIn(candidate: SignInCandidate | null, password: string): Promise<Authentication> {
  const matches = await verifyPassword(password, candidate?.passwordHash ?? null);
  if (!candidate) return { ok: false, reason: "unknown_account" };
  if (!matches) return { ok: false, reason: "invalid_password" };
  const { passwordHash: _hash, ...account } = candidate;
  if (!account.enabled) return { ok: false, reason: "user_disabled" };
  return { ok: true, account };
}
