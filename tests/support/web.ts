// Calling route loaders the way the server does: a Request, and a load context built by the
// real tenant resolver from the request's host and path.
import { randomUUID } from "node:crypto";
import type { AppLoadContext } from "@remix-run/node";
import { CSRF_COOKIE, CSRF_FIELD, csrfToken } from "../../app/auth/csrf.server";
import { createIssuerDirectory } from "../../app/auth/issuers.server";
import { principalFromToken } from "../../app/auth/principal.server";
import { signInUser } from "../../app/auth/users.server";
import { createTokenVerifier } from "../../app/auth/verify.server";
import { startSession } from "../../app/auth/web-session.server";
import { withPlatformAdmin, withTenant } from "../../app/db/database.server";
import { identity, setIdentity } from "../../app/identity/identity.server";
import { createLoadContext } from "../../app/load-context.server";
import type { TenantResolver } from "../../app/tenancy/resolve.server";
import { createFakeIdentity, type FakeIdentity } from "./identity";

/** The CSRF seed loaders see in tests (a well-formed one; send it as the civitas_csrf cookie). */
export const TEST_CSRF_SEED = "t".repeat(43);

export type LoaderArgs = { request: Request; context: AppLoadContext; params: Record<string, string> };

export async function loaderArgs(
  resolver: TenantResolver,
  url: string,
  options: { params?: Record<string, string>; headers?: Record<string, string>; method?: string; body?: BodyInit } = {},
): Promise<LoaderArgs> {
  const request = new Request(url, { headers: options.headers, method: options.method, body: options.body });
  const { host, pathname } = new URL(url);
  const context = await createLoadContext({
    host,
    pathname,
    requestId: "test-request",
    csrfSeed: TEST_CSRF_SEED,
    resolve: resolver.resolve,
  });
  return { request, context, params: options.params ?? {} };
}

/** The Response a loader threw (404, 503...); fails if it returned or threw something else. */
export async function thrownResponse(work: Promise<unknown> | unknown): Promise<Response> {
  try {
    await work;
  } catch (error) {
    if (error instanceof Response) return error;
    throw error;
  }
  throw new Error("expected the loader to throw a Response, but it returned");
}

export type CitySpec = {
  slug: string;
  names: Record<string, string>;
  defaultLocale: string;
  enabledLocales: string[];
  status?: "active" | "suspended";
  branding?: Record<string, string>;
  domains?: string[];
};

/** Inserts a city into the process database (a platform operation). */
export async function insertCity(spec: CitySpec): Promise<string> {
  const id = randomUUID();
  await withPlatformAdmin((tx) =>
    tx.city.create({
      data: {
        id,
        slug: spec.slug,
        names: spec.names,
        status: spec.status ?? "active",
        defaultLocale: spec.defaultLocale,
        enabledLocales: spec.enabledLocales,
        timeZone: "Europe/Paris",
        branding: spec.branding ?? {},
        identityRealm: spec.slug,
        domains: { create: (spec.domains ?? []).map((hostname, index) => ({ hostname, isPrimary: index === 0 })) },
      },
    }),
  );
  return id;
}

/** Form fields as an action reads them, with the CSRF token matching TEST_CSRF_SEED. */
export async function formBody(fields: Record<string, string>): Promise<URLSearchParams> {
  return new URLSearchParams({ [CSRF_FIELD]: await csrfToken(TEST_CSRF_SEED), ...fields });
}

/** Headers of a same-origin form post from a browser holding TEST_CSRF_SEED (and `cookie`, if any). */
export function formHeaders(url: string, cookie = ""): Record<string, string> {
  return {
    "Content-Type": "application/x-www-form-urlencoded",
    Origin: new URL(url).origin,
    Cookie: [`${CSRF_COOKIE}=${TEST_CSRF_SEED}`, cookie].filter(Boolean).join("; "),
  };
}

/**
 * Process identity services backed by a fake provider (tests/support/identity.ts): tokens its
 * realms sign verify as a real provider's would. Undo with setIdentity(undefined).
 */
export async function useFakeIdentity(): Promise<FakeIdentity> {
  const backend = createFakeIdentity();
  const issuers = createIssuerDirectory({ backend });
  await setIdentity({ backend, router: null, issuers, verifier: createTokenVerifier({ backend, issuers }), close: async () => undefined });
  return backend;
}

/**
 * A person signed in at a city, as the sign-in callback leaves them: their users row (created
 * from the token, as on a first sign-in) and the session cookie ("name=value") for `basePath`.
 */
export async function signedInResident(
  fake: FakeIdentity,
  city: { id: string; realm: string; basePath: string; url: string },
  token: Parameters<FakeIdentity["accessToken"]>[1] = {},
): Promise<{ userId: string; cookie: string }> {
  await fake.addRealm(city.realm);
  const accessToken = await fake.accessToken(city.realm, { subject: randomUUID(), ...token });
  const verified = await identity().verifier.verify(accessToken, { tenantId: city.id });
  const { userId } = await withTenant(city.id, (tx) => signInUser(tx, city.id, verified));
  const scope = { kind: "city", tenantId: city.id, citySlug: city.realm, realm: city.realm, basePath: city.basePath } as const;
  const setCookie = await startSession(new Request(city.url), scope, userId, {
    accessToken,
    refreshToken: null,
    idToken: null,
    accessExpiresAt: Date.now() + 300_000,
  });
  return { userId, cookie: setCookie.split(";")[0] ?? "" };
}

/** Headers of a same-origin multipart post (the body, a FormData, brings its own Content-Type). */
export function multipartHeaders(url: string, cookie = ""): Record<string, string> {
  const { "Content-Type": _type, ...headers } = formHeaders(url, cookie);
  return headers;
}

/** Form fields and files as a multipart body, with the CSRF token matching TEST_CSRF_SEED (unless `csrf` is false). */
export async function multipartBody(fields: Record<string, string | File>, { csrf = true } = {}): Promise<FormData> {
  const body = new FormData();
  if (csrf) body.set(CSRF_FIELD, await csrfToken(TEST_CSRF_SEED));
  for (const [name, value] of Object.entries(fields)) body.set(name, value);
  return body;
}

/** An operator signed in on the platform's address, as the sign-in callback leaves them. */
export async function signedInOperator(fake: FakeIdentity, url = "http://localhost/platform"): Promise<{ operatorId: string; cookie: string }> {
  await fake.addRealm("platform");
  const accessToken = await fake.accessToken("platform", { subject: randomUUID(), realmRoles: ["platform-operator"], username: "operator" });
  const verified = await identity().verifier.verify(accessToken, { platform: true });
  const principal = await principalFromToken(verified);
  if (principal.kind !== "operator") throw new Error("not an operator");
  const scope = { kind: "platform", realm: "platform", basePath: "" } as const;
  const setCookie = await startSession(new Request(url), scope, principal.operatorId, {
    accessToken,
    refreshToken: null,
    idToken: null,
    accessExpiresAt: Date.now() + 300_000,
  });
  return { operatorId: principal.operatorId, cookie: setCookie.split(";")[0] ?? "" };
}
