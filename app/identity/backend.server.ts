// One interface in front of whichever provider holds the realms: a real Keycloak (KEYCLOAK_URL
// set) through its admin API, or the embedded Keycloak-compatible provider. Everything else in
// Civitas (onboarding, sign-in, token checks, API clients) talks to this interface only.
import type { JWTVerifyGetKey } from "jose";
import type { ApiScope, RealmSpec } from "./realm";

export type IdentityUserSpec = {
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  locale?: string;
  /** Only for the embedded provider's demo users and tests; Keycloak users set their own. */
  password?: string;
  realmRoles?: string[];
};

export type IdentityBackend = {
  readonly kind: "embedded" | "keycloak";
  /** The issuer of a realm's tokens: `{base}/realms/{realm}`. */
  issuer(realm: string): string;
  /**
   * Keys that verify a realm's tokens (jose). Callers ask only for realms on the allow-list
   * built from the city table; an implementation never derives a key URL from a token.
   */
  verificationKeys(realm: string): JWTVerifyGetKey;
  /**
   * Creates the realm when missing (client civitas-web, and civitas-js in a city's realm; realm
   * roles; the read/write scopes; the civitas-api audience) and brings an existing one up to
   * date with `spec` (redirect addresses, names, locales, web client secret). Idempotent. A
   * Keycloak realm Civitas did not create for this city is refused, never adopted.
   */
  ensureRealm(spec: RealmSpec): Promise<{ created: boolean }>;
  /** Creates or updates a user (roles are added, never removed). Returns the provider's id. */
  ensureUser(realm: string, user: IdentityUserSpec): Promise<{ id: string; created: boolean }>;
  /**
   * Gives a person their first password (an invitee choosing one on the invitation page): the
   * account is created when missing; one that has a password already keeps it ("has_password":
   * its owner signs in instead, so an invitation link cannot take an account over). Only the
   * embedded provider offers it; with Keycloak, people set passwords there.
   */
  setFirstPassword?(
    realm: string,
    user: { username: string; email: string; password: string; locale?: string },
  ): Promise<"set" | "has_password">;
  /** Registers a machine client (client credentials) and returns its secret, shown once. */
  createMachineClient(
    realm: string,
    client: { clientId: string; name: string; scopes: ApiScope[] },
  ): Promise<{ clientSecret: string }>;
  /** Removes a machine client: it can get no new token. Missing is not an error. */
  deleteMachineClient(realm: string, clientId: string): Promise<void>;
};
