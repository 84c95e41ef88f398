// GET /auth/callback: the provider sends the browser back here. Success redirects into the site
// with a session; anything else is explained, with a way to try again.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { finishSignIn, webScope, type SignInFailure } from "~/auth/sign-in.server";
import { identity } from "~/identity/identity.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const scope = webScope(context, params);
  const outcome = await finishSignIn(request, scope, { identity: identity(), requestId: context.requestId });
  if (outcome instanceof Response) return outcome;
  const { clearCookie, ...failure } = outcome;
  return json(failure, { status: outcome.error === "expired" ? 400 : 401, headers: { "Cache-Control": "no-store", "Set-Cookie": clearCookie } });
}

export const meta: MetaFunction = () => [{ name: "robots", content: "noindex" }];

// Keys by failure, spelled out: translation keys are never built at run time.
const FAILURE_TEXT: Record<SignInFailure["error"], string> = {
  expired: "common:auth.failed.expired",
  denied: "common:auth.failed.denied",
  failed: "common:auth.failed.failed",
};

export default function SignInFailed() {
  // The loader's other answer is a redirect: a page only ever shows a failure.
  const { error, retryHref } = useLoaderData<typeof loader>() as Pick<SignInFailure, "error" | "retryHref">;
  const { t } = useTranslation();
  return (
    <div className="prose">
      <h1>{t("auth.failed.title")}</h1>
      <p role="alert">{t(FAILURE_TEXT[error])}</p>
      <p>
        <Link to={retryHref}>{t("auth.failed.retry")}</Link>
      </p>
    </div>
  );
}
