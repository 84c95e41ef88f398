// /account (and /{slug}/account): "my account" of a city's resident: their name and language.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "~/auth/csrf";
import { ErrorSummary, SelectField, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { LOCALE_NAMES } from "~/i18n/locales";
import type { loader as rootLoader } from "~/root";
import { accountPage, saveProfile, type ProfileFormResult } from "./account.server";

export const handle: I18nHandle = { i18n: "account" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return accountPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return saveProfile({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) =>
  data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : [];

export default function AccountRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ProfileFormResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("account");
  const max = page.maxDisplayName;
  const values = result?.values ?? page.profile;
  const errors = result?.errors ?? {};
  const messages: FormError[] = [
    ...(errors.displayName ? [{ fieldId: "display-name", message: t(errors.displayName, { max }) }] : []),
    ...(errors.locale ? [{ fieldId: "language", message: t(errors.locale) }] : []),
  ];

  return (
    <div className="prose">
      {messages.length > 0 ? <ErrorSummary key={messages.map((m) => m.message).join()} title={t("errors.summary")} errors={messages} /> : null}
      {page.saved && !result ? (
        <div className="notice notice--success" role="status">
          <p>{t("saved")}</p>
        </div>
      ) : null}
      <h1>{t("title")}</h1>
      <p className="lead">{t("intro", { city: page.cityName })}</p>

      <section aria-labelledby="profile-heading">
        <h2 id="profile-heading">{t("profile.heading")}</h2>
        <dl className="summary-list">
          <div className="summary-list__row">
            <dt>{t("profile.email")}</dt>
            <dd>
              {page.profile.email ?? t("profile.emailNone")}
              <p className="hint">{t("profile.emailHint")}</p>
            </dd>
          </div>
        </dl>
        <Form method="post" noValidate>
          <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
          <TextField
            id="display-name"
            name="displayName"
            label={t("profile.displayName")}
            hint={t("profile.displayNameHint", { max })}
            error={errors.displayName ? t(errors.displayName, { max }) : undefined}
            defaultValue={values.displayName}
            autoComplete="name"
            spellCheck={false}
          />
          <SelectField
            id="language"
            name="locale"
            label={t("profile.language")}
            hint={t("profile.languageHint")}
            error={errors.locale ? t(errors.locale) : undefined}
            defaultValue={values.locale}
            options={[
              { value: "", label: t("profile.languageAutomatic") },
              ...page.languages.map((code) => ({ value: code, label: LOCALE_NAMES[code], lang: code })),
            ]}
          />
          <button type="submit" className="button">
            {t("profile.submit")}
          </button>
        </Form>
      </section>

      {page.sections.length === 0 ? (
        <section aria-labelledby="activity-heading">
          <h2 id="activity-heading">{t("activity.heading")}</h2>
          <p className="empty-state">{t("activity.empty")}</p>
        </section>
      ) : (
        page.sections.map((section, index) => (
          <section key={section.title} aria-labelledby={`activity-${index}`}>
            <h2 id={`activity-${index}`}>{section.title}</h2>
            {section.items.length === 0 ? (
              <p className="empty-state">{section.empty}</p>
            ) : (
              <ul className="activity-list">
                {section.items.map((item) => (
                  <li key={item.href}>
                    <Link to={item.href}>{item.label}</Link>
                    <p className="hint">{item.detail}</p>
                  </li>
                ))}
              </ul>
            )}
            {section.more ? (
              <p>
                <Link to={section.more.href}>{section.more.label}</Link>
              </p>
            ) : null}
          </section>
        ))
      )}
    </div>
  );
}
