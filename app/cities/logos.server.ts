// A city's logo, uploaded by its admins and served by its site. The image is checked from its
// bytes (PNG, JPEG or WebP; SVG is refused, since it may carry scripts), never from the type or
// name the browser declared, and kept in city_logos; the branding's logoUrl points at the
// site's address for it with the image's hash, so each version can be cached for good.
import { createHash } from "node:crypto";
import { ValidationFailed } from "../auth/errors";
import { requireCityPermission, type Principal } from "../auth/permissions";
import { withTenant, type Database } from "../db/database.server";
import { updateCitySettings, type CitySettingsChange, type SettingsContext } from "./settings.server";

/** The largest logo the console takes: a header image, not a poster. */
export const MAX_LOGO_BYTES = 512 * 1024;

export type LogoType = "image/png" | "image/jpeg" | "image/webp";

export type LogoProblem = "empty" | "too_large" | "unsupported_type";

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((byte, index) => bytes[offset + index] === byte);

/** The image type the bytes really are (their magic numbers), or null for anything else (SVG included). */
export function detectLogoType(bytes: Uint8Array): LogoType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  // RIFF....WEBP
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  return null;
}

/** Why these bytes cannot be a logo, or null when they can. */
export function logoProblem(bytes: Uint8Array): LogoProblem | null {
  if (bytes.length === 0) return "empty";
  if (bytes.length > MAX_LOGO_BYTES) return "too_large";
  return detectLogoType(bytes) ? null : "unsupported_type";
}

/** Where a city's site serves its logo (any of its addresses resolves /{slug}/...). */
export function logoPath(slug: string, sha256: string): string {
  return `/${slug}/branding/logo?v=${sha256.slice(0, 16)}`;
}

/**
 * Replaces the city's logo (admins: city.settings.update) and points the branding at it. Bytes
 * that are no PNG, JPEG or WebP, or too large, are a ValidationFailed on `logo` whose message is
 * the LogoProblem; nothing is written then.
 */
export async function saveCityLogo(
  principal: Principal,
  input: { bytes: Uint8Array },
  context: SettingsContext & { tenantId: string },
): Promise<CitySettingsChange> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "city.settings.update");
  const problem = logoProblem(input.bytes);
  const type = detectLogoType(input.bytes);
  if (problem || !type) throw new ValidationFailed({ logo: [problem ?? "unsupported_type"] });
  const sha256 = createHash("sha256").update(input.bytes).digest("hex");
  const bytes = new Uint8Array(input.bytes);
  const slug = await withTenant(
    tenantId,
    async (tx) => {
      await tx.cityLogo.upsert({
        where: { tenantId },
        create: { tenantId, contentType: type, bytes, sha256 },
        update: { contentType: type, bytes, sha256, updatedAt: new Date() },
      });
      const city = await tx.city.findFirstOrThrow({ where: { id: tenantId }, select: { slug: true } });
      return city.slug;
    },
    context.database,
  );
  // The settings service audits the branding change (the new logoUrl carries the new hash).
  return updateCitySettings(principal, { branding: { logoUrl: logoPath(slug, sha256) } }, context);
}

/** Removes the city's logo (admins): the branding has none, and the stored image goes. */
export async function removeCityLogo(principal: Principal, context: SettingsContext & { tenantId: string }): Promise<CitySettingsChange> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "city.settings.update");
  const change = await updateCitySettings(principal, { branding: { logoUrl: null } }, context);
  await withTenant(tenantId, (tx) => tx.cityLogo.deleteMany({ where: { tenantId } }), context.database);
  return change;
}

export type StoredLogo = { contentType: LogoType; bytes: Uint8Array; sha256: string; updatedAt: Date };

/** The city's logo, for its site to serve (public: the site shows it to everyone). */
export async function readCityLogo(tenantId: string, database?: Database): Promise<StoredLogo | null> {
  const row = await withTenant(
    tenantId,
    (tx) => tx.cityLogo.findFirst({ where: { tenantId }, select: { contentType: true, bytes: true, sha256: true, updatedAt: true } }),
    database,
  );
  return row ? { ...row, contentType: row.contentType as LogoType } : null;
}
