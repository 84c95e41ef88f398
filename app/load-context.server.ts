// What the server hands every loader and action: the request id (for logs and error pages) and
// the city this request is for, resolved once by the server before Remix routes the request.
import { resolveTenant, type TenantResolution, type TenantSelector } from "./tenancy/resolve.server";

declare module "@remix-run/node" {
  // Declaration merging is the only way to type Remix's context, and it needs an interface.
  // eslint-disable-next-line @typescript-eslint/consistent-type-definitions
  interface AppLoadContext {
    requestId: string;
    tenant: TenantResolution;
  }
}

export type LoadContextInput = TenantSelector & {
  requestId: string;
  /** Defaults to the process resolver; tests pass one bound to their database. */
  resolve?: (selector: TenantSelector) => Promise<TenantResolution>;
};

export async function createLoadContext({ host, pathname, requestId, resolve = resolveTenant }: LoadContextInput) {
  return { requestId, tenant: await resolve({ host, pathname }) };
}
