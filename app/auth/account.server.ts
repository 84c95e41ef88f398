// What every page knows about the visitor: who is signed in (if anyone), where to sign in and
// out, and the CSRF token its forms carry.
import type { AppLoadContext } from "@remix-run/node";
import { identity } from "../identity/identity.server";
import { holdsConsole } from "./console";
import { csrfToken } from "./csrf.server";
import type { Principal } from "./principal.server";
import { webScope } from "./sign-in.server";
import { carriesSessionCookie, currentSession, type WebScope, type WebSession } from "./web-session.server";

export type Viewer = {
  name: string;
  kind: "user" | "operator";
  roles: string[];
};

export type Account = {
  viewer: Viewer | null;
  csrf: string;
  /** null where nobody can sign in (an unknown city's 404 page). */
  signInHref: string | null;
  signOutHref: string | null;
  /** "My account" of a city's resident; null on the platform and where nobody can sign in. */
  accountHref: string | null;
  /** The admin console (a city's admins and staff) or the platform console (operators); null for others. */
  consoleHref: string | null;
};

function scopeOf(context: AppLoadContext): WebScope | null {
  try {
    return webScope(context, {});
  } catch {
    return null;
  }
}

function viewerOf(session: WebSession): Viewer {
  const { verified, principal } = session;
  // The name the person chose in Civitas, else what their sign-in account says.
  const name = session.displayName ?? verified.name ?? verified.username ?? verified.email ?? verified.subject;
  const roles = principal.kind === "user" ? [...principal.roles] : principal.kind === "operator" ? ["operator"] : [];
  return { name, kind: principal.kind === "operator" ? "operator" : "user", roles };
}

// The root loader and the page's loader both ask: one lookup per request.
const sessions = new WeakMap<AppLoadContext, Promise<WebSession | null>>();

/** The session of this request's scope, or null; never throws for a broken session. */
export function sessionOf(request: Request, context: AppLoadContext): Promise<WebSession | null> {
  const known = sessions.get(context);
  if (known) return known;
  const scope = scopeOf(context);
  // Most requests carry no session at all: no need to touch identity or the database for them.
  const lookup = scope && carriesSessionCookie(request.headers.get("Cookie"))
    ? currentSession(request, scope, { identity: identity() }).catch((error: unknown) => {
        console.error(`[${context.requestId}] reading the session failed:`, error);
        return null;
      })
    : Promise.resolve(null);
  sessions.set(context, lookup);
  return lookup;
}

function consoleHref(scope: WebScope, principal: Principal): string | null {
  if (scope.kind === "platform") return principal.kind === "operator" ? "/platform" : null;
  return holdsConsole(principal) ? `${scope.basePath}/admin` : null;
}

export async function accountFor(request: Request, context: AppLoadContext): Promise<Account> {
  const scope = scopeOf(context);
  const session = await sessionOf(request, context);
  return {
    viewer: session ? viewerOf(session) : null,
    csrf: await csrfToken(context.csrfSeed),
    signInHref: scope ? `${scope.basePath}/auth/login` : null,
    signOutHref: scope ? `${scope.basePath}/auth/logout` : null,
    accountHref: scope?.kind === "city" ? `${scope.basePath}/account` : null,
    consoleHref: scope && session ? consoleHref(scope, session.principal) : null,
  };
}

/** The principal of this request's session (anonymous when none). */
export async function principalOf(request: Request, context: AppLoadContext): Promise<Principal> {
  const session = await sessionOf(request, context);
  return session?.principal ?? { kind: "anonymous" };
}
