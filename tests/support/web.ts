// Calling route loaders the way the server does: a Request, and a load context built by the
// real tenant resolver from the request's host and path.
import { randomUUID } from "node:crypto";
import type { AppLoadContext } from "@remix-run/node";
import { withPlatformAdmin } from "../../app/db/database.server";
import { createLoadContext } from "../../app/load-context.server";
import type { TenantResolver } from "../../app/tenancy/resolve.server";

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
