// GET /auth/login (and /{slug}/auth/login): off to the realm's sign-in page.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { startSignIn, webScope } from "~/auth/sign-in.server";
import { identity } from "~/identity/identity.server";
import { pageLocale } from "~/site.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const scope = webScope(context, params);
  return startSignIn(request, scope, await pageLocale(request, context), { identity: identity(), requestId: context.requestId });
}
