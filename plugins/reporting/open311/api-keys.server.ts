// Open311 api_keys: each of a city's API clients has one, `{client_id}.{mac}`, where the MAC is an
// HMAC-SHA256 of the city and the client id under an instance secret. Nothing new is stored: the
// key is derived when an admin asks for it and recomputed (constant-time compared) when a client
// uses it; the api_clients row decides whether it still works (revoked → refused) and what it may
// do (its scopes). A key names its city: Paris' key is not a key at Budapest.
//
// Demo clients (ensureDemoOpen311Client, evaluation instances only) have a published key instead,
// like the demo users' password; it is refused wherever demo users are not enabled.
import { createHmac, timingSafeEqual } from "node:crypto";
import { config, demoUsersEnabled } from "../../../app/config.server";
import { instanceSecret } from "../../../app/auth/secrets.server";
import { permissionsForClientScopes, type ClientPrincipal } from "../../../app/auth/permissions";
import type { Tx, Database } from "../../../app/db/database.server";
import { API_SCOPES, type ApiScope } from "../../../app/identity/realm";

/** The demo client's id at a city, and its published key's secret part. */
const DEMO_SUFFIX = "-open311-demo";
export const demoClientId = (slug: string) => `${slug}${DEMO_SUFFIX}`;
export const DEMO_KEY_SECRET = "demo";

const KEY_SECRET_NAME = "open311-api-keys";
const processState = globalThis as typeof globalThis & { __civitasOpen311KeySecret?: Promise<string> };

/** The instance's key secret: CIVITAS_OPEN311_KEY_SECRET, else one generated once and kept. */
function keySecret(database?: Database): Promise<string> {
  const configured = process.env.CIVITAS_OPEN311_KEY_SECRET;
  if (configured) return Promise.resolve(configured);
  processState.__civitasOpen311KeySecret ??= instanceSecret(KEY_SECRET_NAME, database).catch((error: unknown) => {
    processState.__civitasOpen311KeySecret = undefined;
    throw error;
  });
  return processState.__civitasOpen311KeySecret;
}

/** Tests point the process at another database: forget the secret read from the old one. */
export function forgetOpen311KeySecret(): void {
  processState.__civitasOpen311KeySecret = undefined;
}

function mac(secret: string, tenantId: string, clientId: string): Buffer {
  return createHmac("sha256", secret).update(`open311-api-key:v1:${tenantId.toLowerCase()}:${clientId}`).digest();
}

/**
 * The Open311 api_key of one of the city's API clients: what the admin hands the integrator (the
 * admin console shows it next to the client). Derived, so it is the same every time it is asked.
 */
export async function open311ApiKey(options: { tenantId: string; clientId: string; database?: Database }): Promise<string> {
  const secret = await keySecret(options.database);
  return `${options.clientId}.${mac(secret, options.tenantId, options.clientId).toString("base64url")}`;
}

export type KeyCheck =
  | { ok: true; principal: ClientPrincipal }
  | { ok: false; reason: "missing" | "malformed" | "unknown" | "revoked" };

const CLIENT_ID = /^[a-z][a-z0-9-]{1,127}$/;
const MAC_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** An api_key that is the city's: the client it names, whose row still decides (clientOfKey). */
export type KeyClaim = { ok: true; clientId: string } | { ok: false; reason: "missing" | "malformed" | "unknown" };

/**
 * The first half of checking an api_key at a city, without the database: its form and MAC (or
 * the demo key where demo users are). A claim that holds names a client of that city.
 */
export async function claimOfKey(options: { tenantId: string; apiKey: string | undefined; database?: Database }): Promise<KeyClaim> {
  const { tenantId, apiKey } = options;
  if (!apiKey) return { ok: false, reason: "missing" };
  const dot = apiKey.lastIndexOf(".");
  const clientId = apiKey.slice(0, dot);
  const given = apiKey.slice(dot + 1);
  if (dot <= 0 || !CLIENT_ID.test(clientId)) return { ok: false, reason: "malformed" };

  // Clients an admin creates are named `{slug}-{12 hex digits}`: "-open311-demo" is never one of
  // them, only the client ensureDemoOpen311Client makes.
  const isDemo = given === DEMO_KEY_SECRET && clientId.endsWith(DEMO_SUFFIX);
  if (isDemo) {
    if (!demoUsersEnabled(config())) return { ok: false, reason: "unknown" };
  } else {
    if (!MAC_TEXT.test(given)) return { ok: false, reason: "malformed" };
    const expected = mac(await keySecret(options.database), tenantId, clientId);
    if (!timingSafeEqual(Buffer.from(given, "base64url"), expected)) return { ok: false, reason: "unknown" };
  }
  return { ok: true, clientId };
}

/** What of an api_clients row decides a key (read in the caller's unit of work). */
export type ApiClientRow = { id: string; scopes: readonly string[]; revokedAt: Date | null };

/** The second half: the client principal a claim stands for, by its city's api_clients row (none: unknown). */
export function clientOfKey(tenantId: string, clientId: string, client: ApiClientRow | null): KeyCheck {
  if (!client) return { ok: false, reason: "unknown" };
  if (client.revokedAt) return { ok: false, reason: "revoked" };
  const scopes = API_SCOPES.filter((scope): scope is ApiScope => client.scopes.includes(scope));
  return {
    ok: true,
    principal: {
      kind: "client",
      tenantId,
      apiClientId: client.id,
      clientId,
      scopes,
      permissions: permissionsForClientScopes(scopes),
    },
  };
}

/**
 * Checks an api_key at a city, inside the request's unit of work (`tx`, bound to the city): the
 * client principal it stands for, or why it is refused. Every refusal reads the same to the
 * client; `reason` is for the log.
 */
export async function checkOpen311ApiKey(
  tx: Tx,
  options: { tenantId: string; apiKey: string | undefined; database?: Database },
): Promise<KeyCheck> {
  const claim = await claimOfKey(options);
  if (!claim.ok) return claim;
  const client = await tx.apiClient.findFirst({
    where: { tenantId: options.tenantId, clientId: claim.clientId },
    select: { id: true, scopes: true, revokedAt: true },
  });
  return clientOfKey(options.tenantId, claim.clientId, client);
}
