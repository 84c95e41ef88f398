// /auth/logout: GET asks (signing out changes state, so it takes a form); POST, with its CSRF
// token, ends the session here and at the provider.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { Form, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { sessionOf } from "~/auth/account.server";
import { CSRF_FIELD } from "~/auth/csrf";
import { readCheckedForm } from "~/auth/csrf.server";
import { signOut, webScope } from "~/auth/sign-in.server";
import { identity } from "~/identity/identity.server";
import type { loader as rootLoader } from "~/root";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const scope = webScope(context, params);
  if (!(await sessionOf(request, context))) throw redirect(scope.basePath || "/");
  return json({ action: `${scope.basePath}/auth/logout` }, { headers: { "Cache-Control": "no-store" } });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const scope = webScope(context, params);
  await readCheckedForm(request);
  return signOut(request, scope, { identity: identity(), requestId: context.requestId });
}

export default function SignOutPage() {
  const { action } = useLoaderData<typeof loader>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation();
  return (
    <div className="prose">
      <h1>{t("auth.signOut")}</h1>
      <p>{t("auth.signOutQuestion", { site: root?.name ?? "" })}</p>
      <Form method="post" action={action} reloadDocument>
        <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
        <button type="submit" className="button">
          {t("auth.signOut")}
        </button>
      </Form>
    </div>
  );
}
