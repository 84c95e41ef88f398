// Rate limits of pages' actions anyone may take without signing in (filing a report, following
// one by email): per client address, so one machine cannot flood a city's staff or its mail.
import type { AppLoadContext } from "@remix-run/node";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

const limiters = new Map<string, RateLimiterMemory>();

/**
 * Counts one `action` for the request's client address; past `points` within `seconds`, throws a
 * 429 response saying when to come back.
 */
export async function limitAction(context: Pick<AppLoadContext, "clientAddress">, action: string, points: number, seconds: number): Promise<void> {
  // The server always knows the address; a loader called without one (a test) is not limited.
  if (!context.clientAddress) return;
  const key = `${action}/${points}/${seconds}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiterMemory({ points, duration: seconds, keyPrefix: action });
    limiters.set(key, limiter);
  }
  try {
    await limiter.consume(context.clientAddress);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    throw new Response("Too many requests: please try again later.\n", {
      status: 429,
      headers: { "Retry-After": String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))), "Content-Type": "text/plain", "Cache-Control": "no-store" },
    });
  }
}
