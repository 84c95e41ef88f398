// Protection of every state-changing form against cross-site request forgery: a signed
// double-submit token plus an Origin check.
//
// Express gives each browser a random, httpOnly `civitas_csrf` cookie (csrfSeed below). Forms
// carry HMAC(secret, seed) in a hidden field; an action accepts a POST only when that field
// matches the cookie's seed, and when the browser's Origin (if sent) is this very origin. A
// site that cannot read the cookie cannot forge the field, and the HMAC stops a sibling
// subdomain from planting a seed it knows.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { CSRF_FIELD } from "./csrf";
import { Forbidden } from "./errors";
import { cookieSecrets } from "./secrets.server";

export const CSRF_COOKIE = "civitas_csrf";
const SEED_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export class CsrfError extends Forbidden {
  static override readonly brand: string = "CsrfError";
  override name = "CsrfError";

  constructor(message: string) {
    super(undefined, message);
  }
}

function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** Express: makes sure the browser has a seed, and hands it to Remix (res.locals.csrfSeed). */
export const csrfSeed: RequestHandler = (req, res, next) => {
  const sent = readCookie(req.headers.cookie, CSRF_COOKIE);
  let seed = sent && SEED_PATTERN.test(sent) ? sent : "";
  // Probes and API calls (a Bearer token, no forms) get no cookie: nothing to protect there,
  // and a Set-Cookie would make their answers uncacheable for nothing. ("" signs no valid form.)
  const machine = req.path === "/healthz" || req.path === "/readyz" || req.headers.authorization !== undefined;
  if (!seed && !machine) {
    seed = randomBytes(32).toString("base64url");
    res.cookie(CSRF_COOKIE, seed, { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/" });
  }
  res.locals.csrfSeed = seed;
  next();
};

function sign(secret: string, seed: string): string {
  return createHmac("sha256", secret).update(`csrf:${seed}`).digest("base64url");
}

/** The token forms put in their `csrf` field. */
export async function csrfToken(seed: string): Promise<string> {
  const [secret] = await cookieSecrets();
  if (!secret) throw new Error("No cookie secret");
  return sign(secret, seed);
}

function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("Origin");
  // Browsers send Origin on every cross-origin POST; its absence means same-origin or a
  // non-browser client, which has no ambient cookie to abuse unless it holds the seed.
  if (origin === null) return true;
  return origin === new URL(request.url).origin;
}

/**
 * Throws CsrfError unless the request is a same-origin form post carrying the right token.
 * Call it first in every action; `form` is the parsed body (read it once).
 */
export async function verifyCsrf(request: Request, form: FormData): Promise<void> {
  if (!sameOrigin(request)) throw new CsrfError("Cross-origin form submission refused.");
  const seed = readCookie(request.headers.get("Cookie"), CSRF_COOKIE);
  const field = form.get(CSRF_FIELD);
  if (!seed || !SEED_PATTERN.test(seed) || typeof field !== "string") {
    throw new CsrfError("Missing form token.");
  }
  const given = Buffer.from(field);
  for (const secret of await cookieSecrets()) {
    const expected = Buffer.from(sign(secret, seed));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return;
  }
  throw new CsrfError("Invalid form token.");
}

export { CSRF_FIELD, readCookie };

/**
 * The form of a state-changing request, read once and CSRF-checked: a body that is no form is
 * a 400, a missing or wrong token a 403 (both thrown as responses, for actions to let through).
 */
export async function readCheckedForm(request: Request): Promise<FormData> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw new Response("Bad Request: expected a form\n", { status: 400, headers: { "Content-Type": "text/plain" } });
  }
  try {
    await verifyCsrf(request, form);
  } catch (error) {
    if (error instanceof CsrfError) throw new Response(`Forbidden: ${error.message}\n`, { status: 403, headers: { "Content-Type": "text/plain" } });
    throw error;
  }
  return form;
}
