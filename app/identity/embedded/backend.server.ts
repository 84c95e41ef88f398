// The embedded Keycloak-compatible OpenID provider: what Civitas runs when no KEYCLOAK_URL is
// set. Each realm (the platform's, one per city) is an oidc-provider instance served under
// Keycloak's layout, /realms/{realm}/..., with its own signing key, its state in the database,
// and sign-in pages of its own in the city's languages and colours.
import { randomBytes } from "node:crypto";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { createLocalJWKSet, type JWTVerifyGetKey } from "jose";
import type { Provider } from "oidc-provider";
import { config, publicUrl, type Config } from "../../config.server";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import { Prisma } from "../../db/generated/client.ts";
import type { IdentityBackend, IdentityUserSpec } from "../backend.server";
import { API_SCOPES, BROWSER_CLIENT_ID, WEB_CLIENT_ID, type ApiScope, type RealmSpec } from "../realm";
import { realmSpec } from "../sites.server";
import { ensureAccount, setFirstPassword } from "./accounts.server";
import { cookieKeys, ensureSigningKey, realmKeys } from "./keys.server";
import { showInteraction, submitConsent, submitLogin, sendPage, type InteractionContext } from "./interactions.server";
import { brandingFor, errorPage, realmBrandingColumns, type PageFrame } from "./pages.server";
import { createRealmProvider, PROTOCOL_PATH } from "./provider.server";
import { createSignInThrottle } from "./throttle.server";
import { pageLocale, type LocaleRequest } from "./translations.server";
import { answerUserinfo } from "./userinfo.server";

export type EmbeddedBackend = IdentityBackend & {
  readonly kind: "embedded";
  /** Serves /realms/{realm}/...; anything else goes to next(). Mount it at the root. */
  router(): express.Router;
  /** Forgets every cached provider and key (the database stays as it is). */
  close(): Promise<void>;
};

export type EmbeddedBackendOptions = {
  database?: Database;
  /** The instance's public origin (issuers are `{publicUrl}/realms/{realm}`); default publicUrl(). */
  publicUrl?: string;
  /** Behind a reverse proxy: trust its X-Forwarded-Proto/Host (oidc-provider's `proxy`). */
  trustProxy?: boolean;
};

/**
 * The embedded provider is for development and evaluation: in production it must be asked for
 * explicitly. Server start calls this before serving anything.
 */
export function assertEmbeddedProviderAllowed(env: Pick<Config, "NODE_ENV" | "CIVITAS_EMBEDDED_IDP"> = config()): void {
  if (env.NODE_ENV === "production" && env.CIVITAS_EMBEDDED_IDP !== "allow") {
    throw new Error(
      "Civitas is running with NODE_ENV=production but without an identity provider: set KEYCLOAK_URL " +
        "(with KEYCLOAK_ADMIN_CLIENT_ID and KEYCLOAK_ADMIN_CLIENT_SECRET) to use Keycloak, or set " +
        "CIVITAS_EMBEDDED_IDP=allow to run the embedded provider on an evaluation instance.",
    );
  }
}

// A realm's spec (clients' addresses, names, languages) is re-read this often at most; ensureRealm
// forgets it at once.
const SPEC_TTL_MS = 5_000;
// An unknown kid reloads a realm's public keys at most this often (a key created by another
// process), so tokens with made-up kids cannot make every request query the database.
const KEY_RELOAD_MS = 5_000;

const REALM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

type RealmEntry = { provider: Provider; handle: (req: Request, res: Response) => Promise<void> };
type KeySet = { at: number; kids: Set<string>; getKey: JWTVerifyGetKey };
type RealmLocals = { realm: string; spec: RealmSpec; entry: RealmEntry };

function realmNotFound(res: Response): void {
  // Keycloak's answer for a realm it does not hold.
  res.status(404).set("Cache-Control", "no-store").json({ error: "Realm does not exist" });
}

function asyncRoute(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

function checkRealmName(realm: string): void {
  if (typeof realm !== "string" || !REALM_NAME.test(realm)) throw new Error(`Not a realm name: ${JSON.stringify(realm)}.`);
}

export function createEmbeddedBackend(options: EmbeddedBackendOptions = {}): EmbeddedBackend {
  const { database } = options;
  const trustProxy = options.trustProxy ?? false;
  const base = () => (options.publicUrl ?? publicUrl()).replace(/\/+$/, "");
  const issuer = (realm: string) => `${base()}/realms/${realm}`;

  const specs = new Map<string, { at: number; spec: Promise<RealmSpec | null> }>();
  const providers = new Map<string, Promise<RealmEntry>>();
  const keySets = new Map<string, Promise<KeySet>>();
  const throttle = createSignInThrottle();
  let sharedCookieKeys: Promise<string[]> | undefined;
  let builtRouter: express.Router | undefined;

  function specOf(realm: string): Promise<RealmSpec | null> {
    const cached = specs.get(realm);
    if (cached && Date.now() - cached.at < SPEC_TTL_MS) return cached.spec;
    const spec = realmSpec(realm, { database, publicUrl: base() });
    specs.set(realm, { at: Date.now(), spec });
    spec.catch(() => specs.delete(realm));
    return spec;
  }

  function forget(realm: string): void {
    specs.delete(realm);
    providers.delete(realm);
    keySets.delete(realm);
  }

  async function frameFor(realm: string, request: LocaleRequest): Promise<PageFrame | null> {
    const spec = await specOf(realm);
    if (!spec) return null;
    const locale = pageLocale(spec, request);
    const columns = await realmBrandingColumns(spec, database);
    return { locale, spec, branding: brandingFor(spec, columns, locale) };
  }

  function providerOf(realm: string): Promise<RealmEntry> {
    let entry = providers.get(realm);
    if (entry) return entry;
    entry = (async () => {
      // A realm provisioned before its key existed (or by an older version) gets one now.
      await ensureSigningKey(realm, database);
      sharedCookieKeys ??= cookieKeys(database).catch((error: unknown) => {
        sharedCookieKeys = undefined;
        throw error;
      });
      const [keys, cookies] = await Promise.all([realmKeys(realm, database), sharedCookieKeys]);
      const provider = createRealmProvider({
        realm,
        issuer: issuer(realm),
        database,
        spec: () => specOf(realm),
        keys,
        cookieKeys: cookies,
        trustProxy,
        frame: (request) => frameFor(realm, request),
      });
      const callback = provider.callback();
      return { provider, handle: async (req: Request, res: Response) => void (await callback(req, res)) };
    })();
    providers.set(realm, entry);
    entry.catch(() => {
      if (providers.get(realm) === entry) providers.delete(realm);
    });
    return entry;
  }

  function keySetOf(realm: string, reload: boolean): Promise<KeySet> {
    const cached = keySets.get(realm);
    if (cached && !reload) return cached;
    const loading = realmKeys(realm, database).then((keys) => ({
      at: Date.now(),
      kids: new Set(keys.map((key) => key.kid)),
      getKey: createLocalJWKSet({ keys: keys.map((key) => ({ ...key.publicJwk, kid: key.kid })) }),
    }));
    keySets.set(realm, loading);
    loading.catch(() => {
      if (keySets.get(realm) === loading) keySets.delete(realm);
    });
    return loading;
  }

  // --- HTTP ----------------------------------------------------------------------------------

  const loadRealm: RequestHandler = (req, res, next) => {
    const realm = req.params.realm ?? "";
    if (!REALM_NAME.test(realm)) return realmNotFound(res);
    (async () => {
      const spec = await specOf(realm);
      if (!spec) return realmNotFound(res);
      const entry = await providerOf(realm);
      const locals: RealmLocals = { realm, spec, entry };
      res.locals.embeddedRealm = locals;
      next();
    })().catch(next);
  };

  const realmOf = (res: Response): RealmLocals => res.locals.embeddedRealm as RealmLocals;

  function interactionContext(res: Response): InteractionContext {
    const { realm, spec, entry } = realmOf(res);
    return {
      realm,
      spec,
      provider: entry.provider,
      database,
      throttle,
      frame: async (request) => {
        const frame = await frameFor(realm, request);
        if (!frame) throw new Error(`Realm ${realm} disappeared during a sign-in.`);
        return frame;
      },
    };
  }

  // Bodies of our own forms only: oidc-provider reads its requests' bodies itself.
  const urlencoded = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });
  const parseForm: RequestHandler = (req, res, next) => {
    urlencoded(req, res, (error?: unknown) => {
      if (!error) return next();
      (async () => {
        const { realm } = realmOf(res);
        const frame = await frameFor(realm, { acceptLanguage: req.get("accept-language") ?? null });
        if (!frame) return realmNotFound(res);
        sendPage(res, errorPage(frame, { status: 400, code: "invalid_request" }));
      })().catch(next);
    });
  };

  function buildRouter(): express.Router {
    const realmRouter = express.Router({ mergeParams: true });
    realmRouter.use(loadRealm);
    realmRouter.get(
      "/login-actions/:uid",
      asyncRoute((req, res) => showInteraction(req, res, interactionContext(res))),
    );
    realmRouter.post(
      "/login-actions/:uid/login",
      parseForm,
      asyncRoute((req, res) => submitLogin(req, res, interactionContext(res))),
    );
    realmRouter.post(
      "/login-actions/:uid/consent",
      parseForm,
      asyncRoute((req, res) => submitConsent(req, res, interactionContext(res))),
    );
    realmRouter.all(
      `${PROTOCOL_PATH}/userinfo`,
      (req, res, next) => (req.method === "POST" ? parseForm(req, res, next) : next()),
      asyncRoute(async (req, res) => {
        const { realm, spec } = realmOf(res);
        await answerUserinfo(req, res, { realm, spec, issuer: issuer(realm), keys: backend.verificationKeys(realm), database });
      }),
    );
    // Everything else of the realm is oidc-provider's (discovery, auth, token, certs, logout...).
    realmRouter.use((req: Request, res: Response, next: NextFunction) => {
      realmOf(res).entry.handle(req, res).catch(next);
    });
    const router = express.Router();
    router.use("/realms/:realm", realmRouter);
    return router;
  }

  // --- IdentityBackend -------------------------------------------------------------------------

  const backend: EmbeddedBackend = {
    kind: "embedded",

    issuer,

    verificationKeys(realm: string): JWTVerifyGetKey {
      return async (header, token) => {
        let keySet = await keySetOf(realm, false);
        if (header.kid !== undefined && !keySet.kids.has(header.kid) && Date.now() - keySet.at >= KEY_RELOAD_MS) {
          keySet = await keySetOf(realm, true);
        }
        return keySet.getKey(header, token);
      };
    },

    async ensureRealm(spec: RealmSpec): Promise<{ created: boolean }> {
      checkRealmName(spec?.realm);
      const created = await ensureSigningKey(spec.realm, database);
      // Clients' addresses, names and secret are read from the database on use: dropping the
      // realm's provider and cached spec is all an update needs.
      forget(spec.realm);
      return { created };
    },

    async ensureUser(realm: string, user: IdentityUserSpec): Promise<{ id: string; created: boolean }> {
      checkRealmName(realm);
      return ensureAccount(realm, user, database);
    },

    async setFirstPassword(realm, user) {
      checkRealmName(realm);
      return setFirstPassword(realm, user, database);
    },

    async createMachineClient(
      realm: string,
      client: { clientId: string; name: string; scopes: ApiScope[] },
    ): Promise<{ clientSecret: string }> {
      checkRealmName(realm);
      const { clientId } = client;
      if (typeof clientId !== "string" || !CLIENT_ID.test(clientId) || clientId === WEB_CLIENT_ID || clientId === BROWSER_CLIENT_ID) {
        throw new Error(`Not a client id for a machine client: ${JSON.stringify(clientId)}.`);
      }
      const scopes = [...new Set(client.scopes)];
      if (scopes.length === 0 || !scopes.every((scope) => (API_SCOPES as readonly string[]).includes(scope))) {
        throw new Error(`A machine client's scopes are one or more of ${API_SCOPES.join(", ")}; got ${JSON.stringify(client.scopes)}.`);
      }
      const clientSecret = randomBytes(32).toString("base64url");
      try {
        await withPlatformAdmin(async (tx) => {
          const realmRow = await tx.identityRealm.findUnique({ where: { realm }, select: { realm: true } });
          if (!realmRow) throw new Error(`Realm ${JSON.stringify(realm)} does not exist.`);
          await tx.identityClient.create({ data: { realm, clientId, secret: clientSecret, scopes } });
        }, database);
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
          throw new Error(`Realm ${JSON.stringify(realm)} already has a client ${JSON.stringify(clientId)}.`);
        }
        throw error;
      }
      return { clientSecret };
    },

    async deleteMachineClient(realm: string, clientId: string): Promise<void> {
      checkRealmName(realm);
      if (clientId === WEB_CLIENT_ID || clientId === BROWSER_CLIENT_ID) {
        throw new Error(`${clientId} is one of the realm's own clients, not a machine client.`);
      }
      // Its refresh-less tokens (client credentials) expire within ACCESS_TOKEN_TTL; Civitas'
      // verifier also refuses the tokens of a revoked API client at once.
      await withPlatformAdmin((tx) => tx.identityClient.deleteMany({ where: { realm, clientId } }), database);
    },

    router(): express.Router {
      builtRouter ??= buildRouter();
      return builtRouter;
    },

    async close(): Promise<void> {
      specs.clear();
      providers.clear();
      keySets.clear();
      sharedCookieKeys = undefined;
    },
  };

  return backend;
}
