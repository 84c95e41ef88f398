// Every environment variable Civitas reads, with its default. The README's table mirrors this.
import { z } from "zod";
import { normalisePlatformDomain } from "./tenancy/host.server";

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Address to listen on; unset: every interface. `npm start`'s evaluation mode uses 127.0.0.1. */
  HOST: z.string().min(1).optional(),
  /** PostgreSQL URL used by request work. Unset: embedded PGlite. */
  DATABASE_URL: z.string().url().optional(),
  /** PostgreSQL URL of the migration owner. Defaults to DATABASE_URL. */
  DATABASE_OWNER_URL: z.string().url().optional(),
  /** PostgreSQL URL for platform operations (a login granted app_admin). Defaults to DATABASE_URL. */
  DATABASE_ADMIN_URL: z.string().url().optional(),
  /** Where the embedded database lives (`memory://` keeps it in memory). */
  CIVITAS_DATA_DIR: z.string().min(1).default("./data"),
  /** Platform domain: cities answer at {slug}.{CIVITAS_DOMAIN}. A bare host name, lower-cased here. */
  CIVITAS_DOMAIN: z
    .string()
    .default("localhost")
    .transform((value, ctx) => {
      const domain = normalisePlatformDomain(value);
      if (domain !== null) return domain;
      ctx.addIssue({
        code: "custom",
        input: value,
        message:
          `must be a bare host name such as civitas.example (no scheme, port, path or ` +
          `trailing dot), got ${JSON.stringify(value.slice(0, 100))}`,
      });
      return z.NEVER;
    }),
  /** Folder of declarative city files applied at start and by `npm run db:seed`. */
  CIVITAS_TENANTS_DIR: z.string().min(1).default("./tenants"),
  /**
   * Express `trust proxy`: unset trusts no proxy, so clients cannot pick a city through
   * X-Forwarded-Host. Behind a reverse proxy, name it: `loopback`, an address, or a hop count.
   */
  CIVITAS_TRUST_PROXY: z.string().min(1).optional(),
  /** Apply the city files when the server starts (only cities not yet known are created). */
  CIVITAS_SEED_ON_START: z
    .enum(["true", "false"])
    .default("true")
    .transform((value) => value === "true"),
  /**
   * The address people reach this instance at (scheme, host, port; no path). Issuers of the
   * embedded identity provider and the redirect addresses of sign-in derive from it.
   * Default: http://{CIVITAS_DOMAIN}:{PORT}.
   */
  CIVITAS_PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .refine((value) => value === undefined || /^https?:\/\/[^/?#]+\/?$/.test(value), {
      message: "must be an http(s) origin such as https://civitas.example (no path, query or fragment)",
    })
    .transform((value) => value?.replace(/\/$/, "")),
  /**
   * The instance's name in its federation discovery document (what peers' operators see).
   * Default: "Civitas" and the public URL's host.
   */
  CIVITAS_INSTANCE_NAME: z.string().trim().min(1).max(200).optional(),
  /**
   * Federation over plain http to hosts other than loopback (a private test network). Off:
   * peers are reached over https only, loopback addresses (development, tests) excepted.
   */
  CIVITAS_FEDERATION_ALLOW_HTTP: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((value) => value === "true" || value === "1"),
  /**
   * Federation with peers at private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7:
   * a private test network). Off: outgoing federation requests refuse every address that is not
   * public, loopback excepted when this instance itself is on loopback. Link-local (cloud
   * metadata), multicast and unspecified addresses are refused either way.
   */
  CIVITAS_FEDERATION_ALLOW_PRIVATE: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((value) => value === "true" || value === "1"),
  /**
   * A real Keycloak (26) holding the realms, e.g. https://sso.example. Unset: Civitas serves its
   * embedded Keycloak-compatible provider at /realms/{realm}.
   */
  KEYCLOAK_URL: z
    .string()
    .url()
    .optional()
    .transform((value) => value?.replace(/\/+$/, "")),
  /** Keycloak admin API credentials (a client in the master realm with the `admin` role). */
  KEYCLOAK_ADMIN_CLIENT_ID: z.string().min(1).optional(),
  KEYCLOAK_ADMIN_CLIENT_SECRET: z.string().min(1).optional(),
  /**
   * `allow` lets the embedded provider run with NODE_ENV=production (an evaluation instance).
   * Without it, production mode with no KEYCLOAK_URL refuses to start.
   */
  CIVITAS_EMBEDDED_IDP: z.enum(["allow"]).optional(),
  /**
   * Create the demo sign-ins of tenants/demo/users.yaml (embedded provider only). Default: on
   * outside production, and in `npm start`'s evaluation mode; off in any other production.
   */
  CIVITAS_DEMO_USERS: z
    .enum(["true", "false"])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === "true")),
  /**
   * Secret(s) signing session and CSRF cookies, comma-separated, newest first (rotation).
   * Unset: generated once and kept in the database.
   */
  CIVITAS_SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function config(): Config {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `  ${issue.path.join(".")}: ${issue.message}`)
      .join("\n");
    throw new Error(`Invalid environment:\n${problems}`);
  }
  cached = parsed.data;
  return cached;
}

/**
 * The platform domain host names are compared with: `given` (checked and lower-cased; callers
 * that serve another domain, such as tests, pass one), else CIVITAS_DOMAIN as config() checked it.
 */
export function platformDomain(given?: string): string {
  if (given === undefined) return config().CIVITAS_DOMAIN;
  const domain = normalisePlatformDomain(given);
  if (domain === null) throw new Error(`Not a platform domain: ${JSON.stringify(given)}`);
  return domain;
}

/** The instance's public origin: CIVITAS_PUBLIC_URL, else http://{CIVITAS_DOMAIN}:{PORT}. */
export function publicUrl(): string {
  const env = config();
  return env.CIVITAS_PUBLIC_URL ?? `http://${env.CIVITAS_DOMAIN}:${env.PORT}`;
}

/** CIVITAS_TRUST_PROXY in Express' own forms: a hop count, true/false, or addresses and subnet names. */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Whether demo sign-ins are created: CIVITAS_DEMO_USERS, else outside production only. */
export function demoUsersEnabled(env: Config = config()): boolean {
  return env.CIVITAS_DEMO_USERS ?? env.NODE_ENV !== "production";
}

/** Tests change the environment between suites; this forgets what was read. */
export function resetConfig(): void {
  cached = undefined;
}
