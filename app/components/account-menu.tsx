// Who is signed in, with sign-out; or the sign-in link, which brings the visitor back here.
import { Form, useLocation } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import type { Account } from "~/auth/account.server";
import { CSRF_FIELD } from "~/auth/csrf";

export function AccountMenu({ account }: { account: Account }) {
  const { t } = useTranslation();
  const location = useLocation();
  if (account.viewer && account.signOutHref) {
    return (
      <div className="account">
        <span className="account__name">{t("auth.signedInAs", { name: account.viewer.name })}</span>
        <Form method="post" action={account.signOutHref} reloadDocument className="account__form">
          <input type="hidden" name={CSRF_FIELD} value={account.csrf} />
          <button type="submit" className="account__button">
            {t("auth.signOut")}
          </button>
        </Form>
      </div>
    );
  }
  if (!account.signInHref) return null;
  const returnTo = `${location.pathname}${location.search}`;
  return (
    <div className="account">
      <a className="account__link" href={`${account.signInHref}?returnTo=${encodeURIComponent(returnTo)}`}>
        {t("auth.signIn")}
      </a>
    </div>
  );
}
