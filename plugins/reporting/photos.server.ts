// Photos of reports: JPEG, PNG or WebP recognised by their first bytes (not by a name or a
// declared type), within the city's size and count limits, and re-encoded before they are
// stored, so that no EXIF, GPS position, camera serial or comment a phone wrote leaves with them.
import { createRequire } from "node:module";
import { NotFound, ValidationFailed } from "../../app/auth/errors";
import type { Principal } from "../../app/auth/permissions";
import type { ServiceContext } from "../../app/auth/principal.server";
import { UUID_PATTERN, withTenant } from "../../app/db/database.server";
import { readerCity } from "./categories.server";
import { reportingSettings, type ReportingSettings } from "./settings.server";

// Loaded through Node's own require: the classic compiler's bundler (an older esbuild) walks the
// pages' imports for the browser build and cannot parse sharp's ES module (import attributes).
const sharp = createRequire(import.meta.url)("sharp") as typeof import("sharp").default;

export type PhotoType = "image/jpeg" | "image/png" | "image/webp";

export type PreparedPhoto = { contentType: PhotoType; bytes: Uint8Array; byteSize: number; width: number; height: number };

/** The longest side kept: enough to see a pothole, not a 50-megapixel original. */
export const MAX_PHOTO_SIDE = 2560;
// Decompression bombs: a tiny file that claims a gigantic picture is refused before decoding.
const MAX_INPUT_PIXELS = 50_000_000;

/** The image type from the file's magic bytes, or null. */
export function photoType(bytes: Uint8Array): PhotoType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((byte, i) => bytes[i] === byte)) return "image/png";
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return null;
}

/**
 * Checks and re-encodes photos (in the same format, turned upright, metadata dropped). Problems
 * are answered per photo (`photos`: "photo 2: …").
 */
export async function preparePhotos(photos: readonly Uint8Array[], settings: Pick<ReportingSettings, "photoMaxBytes" | "photoMaxCount">): Promise<PreparedPhoto[]> {
  if (photos.length > settings.photoMaxCount) {
    throw new ValidationFailed({ photos: [settings.photoMaxCount === 0 ? "this city takes no photos" : `at most ${settings.photoMaxCount} photos`] });
  }
  const problems: string[] = [];
  const prepared: PreparedPhoto[] = [];
  for (const [index, bytes] of photos.entries()) {
    const label = `photo ${index + 1}`;
    if (bytes.length === 0) {
      problems.push(`${label}: is empty`);
      continue;
    }
    if (bytes.length > settings.photoMaxBytes) {
      problems.push(`${label}: must be at most ${Math.floor(settings.photoMaxBytes / 1000)} kB`);
      continue;
    }
    const type = photoType(bytes);
    if (!type) {
      problems.push(`${label}: must be a JPEG, PNG or WebP image`);
      continue;
    }
    try {
      prepared.push(await reencode(bytes, type));
    } catch {
      problems.push(`${label}: could not be read as an image`);
    }
  }
  if (problems.length > 0) throw new ValidationFailed({ photos: problems });
  return prepared;
}

async function reencode(bytes: Uint8Array, type: PhotoType): Promise<PreparedPhoto> {
  // sharp writes no metadata unless asked (withMetadata/keepExif): re-encoding is the stripping.
  // rotate() first applies the EXIF orientation, which would otherwise be lost with the EXIF.
  let image = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" })
    .rotate()
    .resize({ width: MAX_PHOTO_SIDE, height: MAX_PHOTO_SIDE, fit: "inside", withoutEnlargement: true });
  if (type === "image/jpeg") image = image.jpeg({ quality: 85, mozjpeg: true });
  else if (type === "image/png") image = image.png({ compressionLevel: 9 });
  else image = image.webp({ quality: 85 });
  const { data, info } = await image.toBuffer({ resolveWithObject: true });
  return { contentType: type, bytes: new Uint8Array(data), byteSize: data.length, width: info.width, height: info.height };
}

/** A stored photo's bytes, for its public address. Photos are as public as their request. */
export async function getPhoto(
  principal: Principal,
  input: { id: string },
  context: ServiceContext = {},
): Promise<{ id: string; contentType: string; bytes: Uint8Array; byteSize: number; createdAt: Date }> {
  const tenantId = readerCity(principal, context);
  await reportingSettings(tenantId, context.database);
  const id = String(input.id ?? "");
  if (!UUID_PATTERN.test(id)) throw new NotFound("photo");
  const photo = await withTenant(
    tenantId,
    (tx) => tx.reportingPhoto.findFirst({ where: { tenantId, id: id.toLowerCase() }, select: { id: true, contentType: true, bytes: true, byteSize: true, createdAt: true } }),
    context.database,
  );
  if (!photo) throw new NotFound("photo");
  return { ...photo, bytes: new Uint8Array(photo.bytes) };
}
