// Who may open the consoles: a city's admin console (`/admin/...`, a city's people holding the
// page's permission) and the platform console (`/platform/...`, operators on the platform's
// address). Nobody signed in is sent to sign in and back; someone without the permission gets
// the 403 page. A session of another city is nobody here (sessions are per city), and the
// services check the city again.
import type { AppLoadContext } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { notFound } from "../tenancy/guard.server";
import { principalOf } from "./account.server";
import { Forbidden, Unauthenticated } from "./errors";
import { can, requireCityPermission, requirePermission, type CityPrincipal, type OperatorPrincipal } from "./permissions";

export { CONSOLE_SECTIONS, holdsConsole, type ConsoleSection } from "./console";
import { webScope } from "./sign-in.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

export type CityConsole = { principal: CityPrincipal; tenantId: string; citySlug: string; basePath: string };

const NO_STORE = { "Cache-Control": "no-store" };

function forbidden(): Response {
  return new Response(null, { status: 403, headers: NO_STORE });
}

function toSignIn(request: Request, basePath: string): Response {
  const url = new URL(request.url);
  return redirect(`${basePath}/auth/login?returnTo=${encodeURIComponent(`${url.pathname}${url.search}`)}`, { headers: NO_STORE });
}

/**
 * The signed-in person of this city holding `permission` (one of them, when a list: the landing
 * page opens for any section). Throws the redirect, 403 or 404 response otherwise.
 */
export async function requireCityConsole({ request, context, params }: Args, permission: string | readonly string[]): Promise<CityConsole> {
  const scope = webScope(context, params);
  if (scope.kind !== "city") throw notFound();
  const principal = await principalOf(request, context);
  const wanted = typeof permission === "string" ? [permission] : permission;
  const held = wanted.find((candidate) => can(principal, candidate)) ?? wanted[0] ?? "";
  try {
    return { principal: requireCityPermission(principal, scope.tenantId, held), tenantId: scope.tenantId, citySlug: scope.citySlug, basePath: scope.basePath };
  } catch (error) {
    if (error instanceof Unauthenticated) throw toSignIn(request, scope.basePath);
    if (error instanceof Forbidden) throw forbidden();
    throw error;
  }
}

/** An operator signed in on the platform's address; the console is no page of a city (404 there). */
export async function requireOperatorConsole({ request, context, params }: Args): Promise<{ principal: OperatorPrincipal }> {
  const scope = webScope(context, params);
  if (scope.kind !== "platform") throw notFound();
  const principal = await principalOf(request, context);
  try {
    requirePermission(principal, "platform.cities.manage");
  } catch (error) {
    if (error instanceof Unauthenticated) throw toSignIn(request, "");
    if (error instanceof Forbidden) throw forbidden();
    throw error;
  }
  if (principal.kind !== "operator") throw forbidden();
  return { principal };
}
