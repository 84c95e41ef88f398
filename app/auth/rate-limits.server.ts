// Rate limits: the one way a point is counted (GraphQL, Open311 and pages' actions each answer a
// refusal in their own terms), and the limits of pages' actions anyone may take without signing
// in (filing a report, following one by email), per client address.
import type { AppLoadContext } from "@remix-run/node";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** Counts one point for `key`: null within the limit, else the seconds until a point is free again. */
export async function overLimit(limiter: RateLimiterMemory, key: string): Promise<number | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  }
}

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
  const wait = await overLimit(limiter, context.clientAddress);
  if (wait === null) return;
  throw new Response("Too many requests: please try again later.\n", {
    status: 429,
    headers: { "Retry-After": String(wait), "Content-Type": "text/plain", "Cache-Control": "no-store" },
  });
}
