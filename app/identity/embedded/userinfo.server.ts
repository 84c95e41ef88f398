// The userinfo endpoint of a realm, answered here rather than by oidc-provider: its own refuses
// access tokens issued for a resource server, and every access token of a Civitas realm is one
// (audience civitas-api), exactly as Keycloak's userinfo accepts them. The token is checked as
// any Civitas API checks it: this realm's keys, issuer, audience, RS256, expiry.
import type { Request, Response } from "express";
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Database } from "../../db/database.server";
import { API_AUDIENCE, webOrigins, type RealmSpec } from "../realm";
import { accountClaims, findAccount } from "./accounts.server";
import { SIGNING_ALGORITHM } from "./keys.server";

export type UserinfoContext = {
  realm: string;
  issuer: string;
  spec: RealmSpec;
  keys: JWTVerifyGetKey;
  database?: Database;
};

function refuse(res: Response, realm: string, status: number, error: string, description: string): void {
  const challenge = `Bearer realm="${realm}", error="${error}", error_description="${description}"`;
  res.status(status).set({ "WWW-Authenticate": challenge, "Cache-Control": "no-store" }).json({ error, error_description: description });
}

/** CORS for the realm's browser code (keycloak-js on a city's pages). True when answered. */
function cors(req: Request, res: Response, spec: RealmSpec): boolean {
  const origin = req.get("origin");
  res.vary("Origin");
  const allowed = origin !== undefined && webOrigins(spec.sites).includes(origin);
  if (allowed) {
    res.set({ "Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "WWW-Authenticate" });
  }
  if (req.method !== "OPTIONS") return false;
  if (allowed) {
    res.set({
      "Access-Control-Allow-Methods": "GET, POST",
      "Access-Control-Allow-Headers": "Authorization, Content-Type",
      "Access-Control-Max-Age": "3600",
    });
  }
  res.status(204).end();
  return true;
}

function bearerToken(req: Request): { token?: string; problem?: string } {
  const header = req.get("authorization");
  const fromBody = req.method === "POST" && typeof req.body?.access_token === "string" ? (req.body.access_token as string) : undefined;
  if (header !== undefined && fromBody !== undefined) return { problem: "Token given twice" };
  if (fromBody !== undefined) return { token: fromBody };
  if (header === undefined) return { problem: "Token not provided" };
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match?.[1] ? { token: match[1] } : { problem: "Malformed Authorization header" };
}

export async function answerUserinfo(req: Request, res: Response, context: UserinfoContext): Promise<void> {
  if (cors(req, res, context.spec)) return;
  if (req.method !== "GET" && req.method !== "POST") {
    res.status(405).set("Allow", "GET, POST, OPTIONS").json({ error: "invalid_request", error_description: "Method not allowed" });
    return;
  }
  const { token, problem } = bearerToken(req);
  if (!token) return refuse(res, context.realm, 401, "invalid_token", problem ?? "Token not provided");

  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(token, context.keys, {
      issuer: context.issuer,
      audience: API_AUDIENCE,
      algorithms: [SIGNING_ALGORITHM],
      requiredClaims: ["sub", "exp"],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) return refuse(res, context.realm, 401, "invalid_token", "Token verification failed");
    throw error;
  }
  if (claims.typ !== "Bearer" || typeof claims.sub !== "string") {
    return refuse(res, context.realm, 401, "invalid_token", "Not an access token");
  }

  res.set("Cache-Control", "no-store");
  // A client's own token (client credentials) describes its service account, as in Keycloak.
  if (typeof claims.azp === "string" && claims.sub === claims.azp && claims.preferred_username === `service-account-${claims.azp}`) {
    res.json({ sub: claims.sub, preferred_username: claims.preferred_username });
    return;
  }
  const account = await findAccount(context.realm, claims.sub, context.database);
  if (!account || !account.enabled) return refuse(res, context.realm, 401, "invalid_token", "User not found or disabled");
  res.json(accountClaims(account));
}
