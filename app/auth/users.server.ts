// A city's people: created from the realm's token on first sign-in (as residents), kept in step
// with the provider (email) on later ones, and editing their own profile. The provider owns the
// email; the display name and language are the person's own once set in Civitas, so a sign-in
// fills them only while empty.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { withTenant, type Tx } from "../db/database.server";
import { REALM_ROLES } from "../identity/realm";
import { Forbidden, NotFound, parseInput, ValidationFailed } from "./errors";
import { requireCityPermission, type Principal } from "./permissions";
import type { ServiceContext } from "./principal.server";
import type { VerifiedToken } from "./verify.server";

/** The longest display name a person may give themselves. */
export const MAX_DISPLAY_NAME = 100;

/** An email address as Civitas keeps it: trimmed, lower-cased, at most 254 characters. */
export const emailSchema = z
  .string({ error: "must be an email address" })
  .trim()
  .toLowerCase()
  .max(254, { error: "must be at most 254 characters" })
  .pipe(z.email({ error: "must be an email address" }));
const MAX_EMAIL = 320;

function clip(value: string | undefined, max: number): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed.slice(0, max) : null;
}

/**
 * For the sign-in callback, inside the city's unit of work: the person's users row (created with
 * a resident membership on first sign-in, audited as user.created) and whether it was created.
 */
export async function signInUser(
  tx: Tx,
  tenantId: string,
  verified: VerifiedToken,
): Promise<{ userId: string; created: boolean }> {
  if (verified.tenantId !== tenantId || verified.kind !== "user") {
    throw new TypeError("signInUser needs a person's token verified for this city.");
  }
  const city = await tx.city.findFirst({ where: { id: tenantId }, select: { enabledLocales: true } });
  const email = clip(verified.email, MAX_EMAIL);
  const displayName = clip(verified.name ?? verified.username, MAX_DISPLAY_NAME);
  const locale = verified.locale && city?.enabledLocales.includes(verified.locale) ? verified.locale : null;
  const providerRoles = providerRolesOf(verified);
  const key = { tenantId, realm: verified.realm, subject: verified.subject };

  // ON CONFLICT DO NOTHING: two first sign-ins at once create one user; only that one audits.
  const inserted = await tx.user.createMany({
    data: [{ ...key, id: randomUUID(), email, displayName, locale, providerRoles }],
    skipDuplicates: true,
  });
  const user = await tx.user.findUniqueOrThrow({
    where: { tenantId_realm_subject: key },
    select: { id: true, email: true, displayName: true, locale: true, providerRoles: true },
  });
  await tx.membership.createMany({ data: [{ tenantId, userId: user.id, role: "resident" }], skipDuplicates: true });

  if (inserted.count === 1) {
    await recordAudit(tx, tenantId, {
      actor: { type: "user", id: user.id },
      action: "user.created",
      subject: { type: "user", id: user.id },
      after: { realm: verified.realm, email, displayName, locale, roles: ["resident"], providerRoles },
    });
    return { userId: user.id, created: true };
  }

  // Roles granted or withdrawn in the realm since the last sign-in: recorded, and audited.
  if (user.providerRoles.join() !== providerRoles.join()) {
    await tx.user.updateMany({ where: { tenantId, id: user.id }, data: { providerRoles } });
    await recordAudit(tx, tenantId, {
      actor: { type: "system", id: `realm:${verified.realm}` },
      action: "membership.provider_roles_changed",
      subject: { type: "user", id: user.id },
      before: { providerRoles: user.providerRoles },
      after: { providerRoles },
    });
  }

  const changes = {
    ...(user.email !== email && { email }),
    ...(user.displayName === null && displayName !== null && { displayName }),
    ...(user.locale === null && locale !== null && { locale }),
  };
  if (Object.keys(changes).length > 0) {
    await tx.user.updateMany({ where: { tenantId, id: user.id }, data: changes });
    const before = Object.fromEntries(Object.keys(changes).map((field) => [field, user[field as keyof typeof changes]]));
    await recordAudit(tx, tenantId, {
      actor: { type: "user", id: user.id },
      action: "user.updated_from_provider",
      subject: { type: "user", id: user.id },
      before,
      after: changes,
    });
  }
  return { userId: user.id, created: false };
}

/** The city roles the token's realm roles grant (staff, admin), in a stable order. */
function providerRolesOf(verified: VerifiedToken): ("staff" | "admin")[] {
  const roles: ("staff" | "admin")[] = [];
  if (verified.realmRoles.includes(REALM_ROLES.staff)) roles.push("staff");
  if (verified.realmRoles.includes(REALM_ROLES.admin)) roles.push("admin");
  return roles;
}

// --- Own profile ----------------------------------------------------------------------------

export type ProfileInput = {
  /** null clears it (pages then show the username). */
  displayName?: string | null;
  /** One of the city's languages; null goes back to the browser's choice. */
  locale?: string | null;
};

export type Profile = { userId: string; email: string | null; displayName: string | null; locale: string | null };

const profileSchema = z
  .object({
    displayName: z
      .string({ error: "must be text" })
      .trim()
      .min(1, { error: "must not be empty" })
      .max(MAX_DISPLAY_NAME, { error: `must be at most ${MAX_DISPLAY_NAME} characters` })
      .nullable()
      .optional(),
    locale: z.string({ error: "must be a language tag" }).nullable().optional(),
  })
  .strict()
  .refine((input) => input.displayName !== undefined || input.locale !== undefined, {
    error: "nothing to change",
  });

/** A person's own profile, as they see it on "my account". */
export async function ownProfile(
  principal: Principal,
  { tenantId: requestTenant, database }: ServiceContext = {},
): Promise<Profile> {
  const actor = requireCityPermission(principal, requestTenant, "profile.edit_own");
  if (actor.kind !== "user") throw new Forbidden("profile.edit_own");
  const { tenantId, userId } = actor;
  return withTenant(
    tenantId,
    async (tx) => {
      const user = await tx.user.findFirst({
        where: { tenantId, id: userId },
        select: { email: true, displayName: true, locale: true },
      });
      if (!user) throw new NotFound("user");
      return { userId, ...user };
    },
    database,
  );
}

/** A person changes their own display name or language (audited as user.profile_updated). */
export async function updateOwnProfile(
  principal: Principal,
  input: ProfileInput,
  { tenantId: requestTenant, requestId, database }: ServiceContext = {},
): Promise<Profile> {
  const actor = requireCityPermission(principal, requestTenant, "profile.edit_own");
  // API clients have no profile (and no client scope grants this permission).
  if (actor.kind !== "user") throw new Forbidden("profile.edit_own");
  const { tenantId } = actor;
  const changes = parseInput(profileSchema, input);
  return withTenant(
    tenantId,
    async (tx) => {
      if (changes.locale !== undefined && changes.locale !== null) {
        const city = await tx.city.findFirst({ where: { id: tenantId }, select: { enabledLocales: true } });
        if (!city?.enabledLocales.includes(changes.locale)) {
          throw new ValidationFailed({ locale: [`must be one of this city's languages: ${city?.enabledLocales.join(", ") ?? ""}`] });
        }
      }
      const select = { id: true, email: true, displayName: true, locale: true } as const;
      const before = await tx.user.findFirst({ where: { tenantId, id: actor.userId }, select });
      if (!before) throw new NotFound("user");
      const data = {
        ...(changes.displayName !== undefined && { displayName: changes.displayName }),
        ...(changes.locale !== undefined && { locale: changes.locale }),
      };
      const { count } = await tx.user.updateMany({ where: { tenantId, id: actor.userId }, data });
      if (count === 0) throw new NotFound("user");
      await recordAudit(tx, tenantId, {
        actor: { type: "user", id: actor.userId },
        action: "user.profile_updated",
        subject: { type: "user", id: actor.userId },
        before: Object.fromEntries(Object.keys(data).map((field) => [field, before[field as keyof typeof data]])),
        after: data,
        requestId,
      });
      return { userId: before.id, email: before.email, displayName: before.displayName, locale: before.locale, ...data };
    },
    database,
  );
}
