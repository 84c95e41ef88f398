// The sign-in and consent steps of the embedded provider (Keycloak's "login-actions"): the
// pages, and their answers handed back to oidc-provider. Every step is bound to its interaction
// by oidc-provider's interaction cookie (interactionDetails refuses a request without it).
import type { Request, Response } from "express";
import { errors, type Provider } from "oidc-provider";
import { recordCityAudit, recordPlatformAudit, type AuditEntry } from "../../audit/audit.server";
import type { Database } from "../../db/database.server";
import { BROWSER_CLIENT_ID, type RealmSpec } from "../realm";
import { checkSignIn, findAccount, findSignInCandidate, normaliseUsername, type Authentication, type SignInCandidate } from "./accounts.server";
import { consentPage, errorPage, loginPage, type LoginError, type Page, type PageFrame } from "./pages.server";
import { interactionPath, rememberConsent } from "./provider.server";
import { clientBucket, type BucketKind, type SignInThrottle } from "./throttle.server";
import type { LocaleRequest } from "./translations.server";

export type InteractionContext = {
  realm: string;
  spec: RealmSpec;
  provider: Provider;
  database?: Database;
  throttle: SignInThrottle;
  frame(request: LocaleRequest): Promise<PageFrame>;
};

type Details = Awaited<ReturnType<Provider["interactionDetails"]>>;

// Longer input is no username or password anyone has; refusing it keeps hashing bounded.
const MAX_FIELD = 1024;

export function sendPage(res: Response, page: Page): void {
  res.status(page.status).set(page.headers).send(page.html);
}

function field(body: unknown, name: string): string {
  const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : "";
}

function localeRequest(req: Request, details: Details | null): LocaleRequest {
  const chosen = field(req.body, "kc_locale") || (typeof req.query.kc_locale === "string" ? req.query.kc_locale : "");
  const params = details?.params ?? {};
  return {
    chosen: chosen || (typeof params.kc_locale === "string" ? params.kc_locale : null),
    uiLocales: typeof params.ui_locales === "string" ? params.ui_locales : null,
    acceptLanguage: req.get("accept-language") ?? null,
  };
}

/**
 * The interaction this request belongs to, or null after answering with the "expired" page
 * (no interaction cookie, an interaction that ended, or one of another step).
 */
async function currentInteraction(
  req: Request,
  res: Response,
  context: InteractionContext,
  step?: "login" | "consent",
): Promise<Details | null> {
  let details: Details | null = null;
  try {
    details = await context.provider.interactionDetails(req, res);
  } catch (error) {
    if (!(error instanceof errors.SessionNotFound)) throw error;
  }
  const uid = req.params.uid;
  if (!details || details.uid !== uid || (step && details.prompt.name !== step)) {
    const frame = await context.frame(localeRequest(req, null));
    sendPage(res, errorPage(frame, { status: 400, expired: true }));
    return null;
  }
  return details;
}

function languageHref(context: InteractionContext, uid: string) {
  return (locale: string) => `${interactionPath(context.realm, uid)}?kc_locale=${encodeURIComponent(locale)}`;
}

/** The scopes the consent step asks about, from oidc-provider's prompt details. */
function requestedScopes(details: Details): string[] {
  const prompt = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const scopes = [...(prompt.missingOIDCScope ?? []), ...Object.values(prompt.missingResourceScopes ?? {}).flat()];
  return [...new Set(scopes)];
}

async function renderStep(req: Request, res: Response, context: InteractionContext, details: Details): Promise<void> {
  const uid = details.uid;
  const base = await context.frame(localeRequest(req, details));
  const frame: PageFrame = { ...base, languageHref: languageHref(context, uid) };
  if (details.prompt.name === "login") {
    const hint = typeof details.params.login_hint === "string" ? details.params.login_hint.slice(0, MAX_FIELD) : "";
    sendPage(res, loginPage(frame, { action: `${interactionPath(context.realm, uid)}/login`, username: hint }));
    return;
  }
  if (details.prompt.name === "consent") {
    const accountId = details.session?.accountId;
    const account = accountId ? await findAccount(context.realm, accountId, context.database) : null;
    if (!account) {
      sendPage(res, errorPage(frame, { status: 400, expired: true }));
      return;
    }
    sendPage(
      res,
      consentPage(frame, {
        action: `${interactionPath(context.realm, uid)}/consent`,
        client: details.params.client_id === BROWSER_CLIENT_ID ? "browser" : "web",
        username: account.username,
        scopes: requestedScopes(details),
      }),
    );
    return;
  }
  sendPage(res, errorPage(frame, { status: 400, code: "interaction_required" }));
}

/** GET /realms/{realm}/login-actions/{uid}: the page of the step oidc-provider asks for. */
export async function showInteraction(req: Request, res: Response, context: InteractionContext): Promise<void> {
  const details = await currentInteraction(req, res, context);
  if (!details) return;
  await renderStep(req, res, context, details);
}

/**
 * Records a refused sign-in. The subject is the account the login named, never the typed text
 * itself: people type passwords into the username field, and the log must not keep them.
 */
async function auditFailedSignIn(
  context: InteractionContext,
  candidate: SignInCandidate | null,
  refusal: { reason: string; limitedBy?: BucketKind },
  requestId: unknown,
) {
  const throttled = refusal.limitedBy ? { limitedBy: refusal.limitedBy } : {};
  const entry: AuditEntry = {
    actor: { type: "system" },
    action: "auth.sign_in_failed",
    subject: { type: "identity_user", id: candidate?.id ?? null },
    after: candidate ? { reason: refusal.reason, username: candidate.username, ...throttled } : { reason: refusal.reason, ...throttled },
    requestId: typeof requestId === "string" ? requestId : null,
  };
  if (context.spec.tenantId) await recordCityAudit(context.spec.tenantId, entry, context.database);
  else await recordPlatformAudit(entry, context.database);
}

/**
 * POST /realms/{realm}/login-actions/{uid}/login: checks the password, then resumes the flow.
 * The attempt is reserved with the throttle (by the account the login names, and by the
 * client's address) before the password is checked, so parallel guesses wait their turn.
 */
export async function submitLogin(req: Request, res: Response, context: InteractionContext): Promise<void> {
  const details = await currentInteraction(req, res, context, "login");
  if (!details) return;
  const base = await context.frame(localeRequest(req, details));
  const frame: PageFrame = { ...base, languageHref: languageHref(context, details.uid) };
  const action = `${interactionPath(context.realm, details.uid)}/login`;
  const username = field(req.body, "username").slice(0, MAX_FIELD);
  const password = field(req.body, "password");
  const refuse = (error: LoginError, status: number) => sendPage(res, loginPage(frame, { action, username, error, status }));

  if (username.trim() === "" || password === "") return refuse("missing", 400);
  const requestId = res.locals.requestId;
  const candidate = await findSignInCandidate(context.realm, username, context.database);
  const reservation = context.throttle.reserve({
    realm: context.realm,
    account: candidate ? `id:${candidate.id}` : `login:${normaliseUsername(username)}`,
    client: clientBucket(req.ip ?? req.socket.remoteAddress),
  });
  if (!reservation.ok) {
    // Once per lock, not per refused request: a flood of refusals would flood the log.
    if (reservation.firstRefusal) {
      await auditFailedSignIn(context, candidate, { reason: "too_many_attempts", limitedBy: reservation.limitedBy }, requestId);
    }
    res.set("Retry-After", String(Math.max(1, Math.ceil(reservation.retryAfterMs / 1000))));
    return refuse("throttled", 429);
  }
  const { attempt } = reservation;
  let result: Authentication;
  try {
    result =
      password.length > MAX_FIELD
        ? { ok: false, reason: candidate ? "invalid_password" : "unknown_account" }
        : await checkSignIn(candidate, password);
  } catch (error) {
    attempt.abandoned();
    throw error;
  }
  if (!result.ok) {
    attempt.failed();
    await auditFailedSignIn(context, candidate, { reason: result.reason }, requestId);
    return refuse(result.reason === "user_disabled" ? "disabled" : "invalid", 401);
  }
  attempt.succeeded();
  await context.provider.interactionFinished(req, res, { login: { accountId: result.account.id } }, { mergeWithLastSubmission: false });
}

/** POST /realms/{realm}/login-actions/{uid}/consent: records the person's answer. */
export async function submitConsent(req: Request, res: Response, context: InteractionContext): Promise<void> {
  const details = await currentInteraction(req, res, context, "consent");
  if (!details) return;
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (!accountId || typeof clientId !== "string") {
    const frame = await context.frame(localeRequest(req, details));
    return sendPage(res, errorPage(frame, { status: 400, expired: true }));
  }
  if (field(req.body, "decision") !== "allow") {
    await context.provider.interactionFinished(
      req,
      res,
      { error: "access_denied", error_description: "End-User denied the authorization request" },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const { Grant } = context.provider;
  const grant = (details.grantId ? await Grant.find(details.grantId) : undefined) ?? new Grant({ accountId, clientId });
  const prompt = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (prompt.missingOIDCScope?.length) grant.addOIDCScope(prompt.missingOIDCScope.join(" "));
  if (prompt.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) {
    if (scopes.length > 0) grant.addResourceScope(indicator, scopes.join(" "));
  }
  const grantId = await grant.save();
  await rememberConsent(context.realm, { accountId, clientId, scopes: requestedScopes(details) }, context.database);
  await context.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
