// Civitas as an OpenID relying party of a realm: the confidential client `civitas-web`, with
// openid-client (a certified implementation). The provider's endpoints follow Keycloak's layout
// whichever provider holds the realm, so no discovery round trip is needed.
import * as oidc from "openid-client";
import { withPlatformAdmin, type Database } from "../db/database.server";
import type { Identity } from "../identity/identity.server";
import { WEB_CLIENT_ID } from "../identity/realm";

export type RelyingParty = { realm: string; issuer: string; configuration: oidc.Configuration };

const CACHE_MS = 60_000;
const cache = new Map<string, { rp: RelyingParty; secret: string; at: number }>();

export function keycloakEndpoints(issuer: string) {
  const base = `${issuer}/protocol/openid-connect`;
  return {
    issuer,
    authorization_endpoint: `${base}/auth`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/certs`,
    userinfo_endpoint: `${base}/userinfo`,
    end_session_endpoint: `${base}/logout`,
    revocation_endpoint: `${base}/revoke`,
    code_challenge_methods_supported: ["S256"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}

/** The relying-party configuration of a realm, with the web client's secret from the database. */
export async function relyingParty(realm: string, { identity, database }: { identity: Identity; database?: Database }): Promise<RelyingParty> {
  const issuer = identity.backend.issuer(realm);
  const cached = cache.get(`${issuer}`);
  if (cached && Date.now() - cached.at < CACHE_MS) return cached.rp;
  const row = await withPlatformAdmin((tx) => tx.identityRealm.findUnique({ where: { realm } }), database);
  if (!row) throw new Error(`Realm ${JSON.stringify(realm)} is not provisioned.`);
  if (cached && cached.secret === row.webClientSecret) {
    cached.at = Date.now();
    return cached.rp;
  }
  const configuration = new oidc.Configuration(
    keycloakEndpoints(issuer),
    WEB_CLIENT_ID,
    { id_token_signed_response_alg: "RS256" },
    oidc.ClientSecretBasic(row.webClientSecret),
  );
  // The embedded provider on a developer machine, or tests, speak plain http.
  if (issuer.startsWith("http:")) oidc.allowInsecureRequests(configuration);
  const rp = { realm, issuer, configuration };
  cache.set(issuer, { rp, secret: row.webClientSecret, at: Date.now() });
  return rp;
}

/** Tests switch databases and providers between suites. */
export function forgetRelyingParties(): void {
  cache.clear();
}
