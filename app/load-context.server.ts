// What the server hands every loader and action: the request id (for logs and error pages) and
// the city this request is for, resolved once by the server before Remix routes the request.
import { resolveTenant, type TenantResolution, type TenantSelector } from "./tenancy/resolve.server";

declare module "@remix-run/node" {
  // Declaration merging is the only way to type Remix's context, and it needs an interface.
  // eslint-disable-next-line @typescript-eslint/consistent-type-definitions
  interface AppLoadContext {
    requestId: string;
    tenant: TenantResolution;
    /** This browser's CSRF seed (see app/auth/csrf.server.ts); forms sign it. */
    csrfSeed: string;
    /** The client's address (behind a trusted proxy, the one it reports): for rate limits. */
    clientAddress?: string;
  }
}

export type LoadContextInput = TenantSelector & {
  requestId: string;
  csrfSeed: string;
  clientAddress?: string;
  /** Defaults to the process resolver; tests pass one bound to their database. */
  resolve?: (selector: TenantSelector) => Promise<TenantResolution>;
};

export async function createLoadContext({ host, pathname, requestId, csrfSeed, clientAddress, resolve = resolveTenant }: LoadContextInput) {
  return { requestId, csrfSeed, clientAddress, tenant: await resolve({ host, pathname }) };
}
