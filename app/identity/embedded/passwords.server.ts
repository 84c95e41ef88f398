// Password hashes of the embedded provider's users: scrypt (node:crypto), in a self-describing
// string `scrypt$N$r$p$salt$hash` so that stronger parameters can come later without breaking
// the hashes already stored.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const SCHEME = "scrypt";
/** 2^15 × 8 × 128 bytes = 32 MiB of memory per hash, a few tens of milliseconds. */
const DEFAULT_PARAMETERS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
// Ceilings on what a stored hash may ask for, so a tampered row cannot exhaust the process.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }, length: number): Promise<Buffer> {
  const scryptOptions: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, scryptOptions, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== "string" || password.length === 0) throw new Error("A password cannot be empty.");
  if (password.length > 1024) throw new Error("A password cannot be longer than 1024 characters.");
  const salt = randomBytes(SALT_LENGTH);
  const { N, r, p } = DEFAULT_PARAMETERS;
  const key = await derive(password, salt, DEFAULT_PARAMETERS, KEY_LENGTH);
  return [SCHEME, N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

type ParsedHash = { N: number; r: number; p: number; salt: Buffer; key: Buffer };

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== SCHEME) return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,8}$/.test(part) ? Number(part) : NaN));
  if (N === undefined || r === undefined || p === undefined) return null;
  const powerOfTwo = Number.isInteger(Math.log2(N));
  if (!powerOfTwo || N < 2 || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return null;
  const salt = Buffer.from(parts[4] ?? "", "base64url");
  const key = Buffer.from(parts[5] ?? "", "base64url");
  // A truncated hash would still match (a prefix of the derived key): refuse short ones.
  if (salt.length < SALT_LENGTH || key.length < KEY_LENGTH) return null;
  return { N, r, p, salt, key };
}

// Spent when there is no hash to check (unknown user, no password set), so the answer takes
// as long as a real check and response times do not tell which usernames exist.
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`. With `stored` null (unknown user, or a user without a
 * password) it still spends one hash and answers false.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored ? parseHash(stored) : null;
  if (!parsed) {
    decoy ??= hashPassword(randomBytes(16).toString("hex"));
    const fallback = parseHash(await decoy);
    if (fallback) await derive(String(password), fallback.salt, fallback, fallback.key.length);
    return false;
  }
  const candidate = await derive(String(password), parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(candidate, parsed.key);
}
