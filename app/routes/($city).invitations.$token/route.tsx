// /invitations/{token}: an invitation to join the city as staff or admin.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField } from "~/components/console";
import { ErrorSummary, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { invitationAction, invitationPage, type InvitationResult, type InvitationState } from "./invitation.server";

export const handle: I18nHandle = { i18n: ["invitation", "admin"] };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return invitationPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return invitationAction({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) =>
  data ? [{ title: data.title }, { name: "robots", content: "noindex" }, { name: "referrer", content: "same-origin" }] : [];

export default function InvitationRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as InvitationResult | undefined;
  const { t } = useTranslation("invitation");
  const state: InvitationState = result?.kind === "closed" ? result.state : page.state;
  const closedText: Record<Exclude<InvitationState, "pending">, string> = {
    accepted: t("closed.accepted"),
    revoked: t("closed.revoked"),
    expired: t("closed.expired"),
    unknown: t("closed.unknown"),
  };

  if (state !== "pending") {
    return (
      <div className="prose">
        <h1>{t("closed.title")}</h1>
        <p className="lead" role={result ? "alert" : undefined}>
          {closedText[state]}
        </p>
        <p>
          <Link to={page.homeHref}>{t("home", { city: page.cityName })}</Link>
        </p>
      </div>
    );
  }

  const invalid = result?.kind === "invalid" ? result.errors : {};
  const errors: FormError[] = [
    ...(invalid.password ? [{ fieldId: "password", message: t(invalid.password, { min: page.minPassword }) }] : []),
    ...(invalid.confirmation ? [{ fieldId: "confirmation", message: t(invalid.confirmation) }] : []),
  ];
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "long" });
  const role = page.role === "admin" ? t("admin:roles.admin") : t("admin:roles.staff");
  return (
    <div className="prose">
      {errors.length > 0 ? <ErrorSummary key={errors.map((error) => error.message).join()} title={t("errors.summary")} errors={errors} /> : null}
      {result?.kind === "hasPassword" ? (
        <div className="notice" role="alert">
          <p>{t("hasPassword")}</p>
          <p>
            <a href={page.signInHref}>{t("signIn")}</a>
          </p>
        </div>
      ) : null}
      <h1>{t("heading", { city: page.cityName })}</h1>
      <p className="lead">{t("intro", { city: page.cityName, role })}</p>
      <dl className="summary-list">
        <div className="summary-list__row">
          <dt>{t("for")}</dt>
          <dd className="wrap-anywhere">{page.email}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("role")}</dt>
          <dd>{role}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("expires")}</dt>
          <dd>{page.expiresAt ? date.format(new Date(page.expiresAt)) : null}</dd>
        </div>
      </dl>

      {page.signedIn ? (
        <Form method="post">
          <CsrfField />
          <input type="hidden" name="intent" value="accept" />
          <button type="submit" className="button">
            {t("accept")}
          </button>
        </Form>
      ) : (
        <>
          {page.canSetPassword ? (
            <section aria-labelledby="password-heading">
              <h2 id="password-heading">{t("password.heading")}</h2>
              <p>{t("password.intro", { email: page.email })}</p>
              {/* A document post: its answer sends the browser on to the provider's sign-in page. */}
              <Form method="post" noValidate reloadDocument>
                <CsrfField />
                <input type="hidden" name="intent" value="password" />
                {/* For password managers: the account the password belongs to. */}
                <input type="hidden" name="username" value={page.email ?? ""} autoComplete="username" />
                <TextField
                  id="password"
                  name="password"
                  type="password"
                  label={t("password.label")}
                  hint={t("password.hint", { min: page.minPassword })}
                  error={invalid.password ? t(invalid.password, { min: page.minPassword }) : undefined}
                  autoComplete="new-password"
                />
                <TextField
                  id="confirmation"
                  name="confirmation"
                  type="password"
                  label={t("password.confirmation")}
                  error={invalid.confirmation ? t(invalid.confirmation) : undefined}
                  autoComplete="new-password"
                />
                <button type="submit" className="button">
                  {t("password.submit")}
                </button>
              </Form>
            </section>
          ) : null}
          <section aria-labelledby="sign-in-heading">
            <h2 id="sign-in-heading">{t("existing.heading")}</h2>
            <p>{t("existing.body")}</p>
            <p>
              <a className="button button--secondary" href={page.signInHref}>
                {t("signIn")}
              </a>
            </p>
          </section>
        </>
      )}
    </div>
  );
}
