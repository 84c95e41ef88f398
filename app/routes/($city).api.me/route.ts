// GET /api/me (and /{slug}/api/me): who the bearer token says you are, at this city (or, on
// the platform host, as an operator). The smallest authenticated API endpoint: developers
// check their token with it; the GraphQL API authenticates the same way.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { TokenRejected } from "~/auth/errors";
import { principalFromToken } from "~/auth/principal.server";
import { webScope } from "~/auth/sign-in.server";
import { bearerToken } from "~/auth/verify.server";
import { expectedFor } from "~/auth/web-session.server";
import { identity } from "~/identity/identity.server";

const NO_STORE = { "Cache-Control": "no-store" };

function unauthorized(error: "invalid_request" | "invalid_token", description: string) {
  return json(
    { error, error_description: description },
    {
      status: 401,
      headers: { ...NO_STORE, "WWW-Authenticate": `Bearer error="${error}", error_description="${description}"` },
    },
  );
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const scope = webScope(context, params);
  let token: string | null;
  try {
    token = bearerToken(request);
  } catch {
    return unauthorized("invalid_request", "malformed Authorization header");
  }
  if (!token) return unauthorized("invalid_request", "a Bearer token is required");
  let verified;
  try {
    verified = await identity().verifier.verify(token, expectedFor(scope));
  } catch (error) {
    if (error instanceof TokenRejected) return unauthorized("invalid_token", "the token is not valid here");
    throw error;
  }
  const principal = await principalFromToken(verified);
  const base = { realm: verified.realm, subject: verified.subject, clientId: verified.clientId, scopes: verified.scopes, expiresAt: verified.expiresAt };
  switch (principal.kind) {
    case "user":
      return json({ ...base, kind: "user", username: verified.username ?? null, roles: [...principal.roles].sort(), permissions: [...principal.permissions].sort() }, { headers: NO_STORE });
    case "client":
      return json({ ...base, kind: "client", permissions: [...principal.permissions].sort() }, { headers: NO_STORE });
    case "operator":
      return json({ ...base, kind: "operator", username: verified.username ?? null, permissions: [...principal.permissions].sort() }, { headers: NO_STORE });
    default:
      return unauthorized("invalid_token", "the token names nobody here");
  }
}
