// The process' identity services: the provider holding the realms (Keycloak when KEYCLOAK_URL
// is set, else the embedded one), the issuer allow-list and the token verifier built on it.
// Created once, on first use, from the environment; tests build their own with createIdentity.
import type { RequestHandler } from "express";
import { createIssuerDirectory, type IssuerDirectory } from "../auth/issuers.server";
import { createTokenVerifier, type TokenVerifier } from "../auth/verify.server";
import { config, publicUrl, trustProxySetting, type Config } from "../config.server";
import type { Database } from "../db/database.server";
import type { IdentityBackend } from "./backend.server";
import { assertEmbeddedProviderAllowed, createEmbeddedBackend } from "./embedded/backend.server";
import { createKeycloakBackend } from "./keycloak/backend.server";

export type Identity = {
  backend: IdentityBackend;
  /** Serves the embedded provider at /realms/{realm}; null when a real Keycloak does. */
  router: RequestHandler | null;
  issuers: IssuerDirectory;
  verifier: TokenVerifier;
  close(): Promise<void>;
};

export type IdentityOptions = {
  env?: Config;
  database?: Database;
  /** Defaults to publicUrl(): the issuer base of the embedded provider. */
  publicUrl?: string;
};

export function createIdentity({ env = config(), database, publicUrl: base }: IdentityOptions = {}): Identity {
  let backend: IdentityBackend;
  let router: RequestHandler | null = null;
  let closeBackend = async () => undefined as void;
  if (env.KEYCLOAK_URL) {
    if (!env.KEYCLOAK_ADMIN_CLIENT_ID || !env.KEYCLOAK_ADMIN_CLIENT_SECRET) {
      throw new Error(
        "KEYCLOAK_URL is set but KEYCLOAK_ADMIN_CLIENT_ID / KEYCLOAK_ADMIN_CLIENT_SECRET are not: Civitas needs " +
          "a client of the master realm with the admin role to create cities' realms and API clients.",
      );
    }
    backend = createKeycloakBackend({
      url: env.KEYCLOAK_URL,
      adminClientId: env.KEYCLOAK_ADMIN_CLIENT_ID,
      adminClientSecret: env.KEYCLOAK_ADMIN_CLIENT_SECRET,
    });
  } else {
    assertEmbeddedProviderAllowed(env);
    const embedded = createEmbeddedBackend({
      database,
      publicUrl: base ?? publicUrl(),
      // Express' own reading of the setting ("0" and "false" trust nobody).
      trustProxy: Boolean(trustProxySetting(env.CIVITAS_TRUST_PROXY)),
    });
    backend = embedded;
    router = embedded.router();
    closeBackend = async () => embedded.close?.();
  }
  const issuers = createIssuerDirectory({ backend, database });
  const verifier = createTokenVerifier({ backend, issuers, database });
  return { backend, router, issuers, verifier, close: closeBackend };
}

// One per process, kept across `remix dev` rebuilds of the route modules.
const globalStore = globalThis as typeof globalThis & { __civitasIdentity?: Identity };

export function identity(): Identity {
  globalStore.__civitasIdentity ??= createIdentity();
  return globalStore.__civitasIdentity;
}

/** Tests swap the process' identity services (and restore them with `undefined`). */
export async function setIdentity(next: Identity | undefined): Promise<void> {
  const previous = globalStore.__civitasIdentity;
  globalStore.__civitasIdentity = next;
  if (previous && previous !== next) await previous.close();
}

/** Express middleware serving the embedded provider, if this process runs it. */
export const identityRoutes: RequestHandler = (req, res, next) => {
  if (!req.path.startsWith("/realms/")) return next();
  const { router } = identity();
  if (!router) return next();
  router(req, res, next);
};
