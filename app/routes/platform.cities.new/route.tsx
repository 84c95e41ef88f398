// /platform/cities/new: onboarding a city (operators), in one form of numbered steps.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CheckboxGroup, CsrfField, SuccessNotice } from "~/components/console";
import { ErrorSummary, SelectField, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { LOCALE_NAMES } from "~/i18n/locales";
import { onboard, onboardingPage, type FieldError, type OnboardingResult } from "./onboarding.server";

export const handle: I18nHandle = { i18n: "platform" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return onboardingPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return onboard({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function OnboardingRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as OnboardingResult | undefined;
  const { t } = useTranslation("platform");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "long" });

  if (result?.kind === "onboarded") {
    return (
      <div className="prose">
        <SuccessNotice>
          <h1>{t("onboard.done.title", { city: result.name })}</h1>
          <p>{t("onboard.done.addresses")}</p>
          <ul>
            {result.addresses.map((address) => (
              <li key={address} className="wrap-anywhere">
                <a href={address}>{address}</a>
              </li>
            ))}
          </ul>
        </SuccessNotice>
        <h2>{t("onboard.done.adminHeading")}</h2>
        <p>{t("onboard.done.adminBody", { email: result.adminEmail, date: date.format(new Date(result.expiresAt)) })}</p>
        <p>
          <label htmlFor="invitation-link" className="field__label">
            {t("onboard.done.link")}
          </label>
          <input id="invitation-link" className="input token" readOnly value={result.invitationLink} data-testid="invitation-link" />
        </p>
        <p className="button-row">
          <Link to={`/platform/cities/${result.slug}`}>{t("onboard.done.details")}</Link>
          <Link to="/platform">{t("backToCities")}</Link>
        </p>
      </div>
    );
  }

  const errors = result?.kind === "invalid" ? result.errors : {};
  const values = result?.kind === "invalid" ? result.values : null;
  const message = (error: FieldError | undefined) => (error ? t(error.key, error.params) : undefined);
  const order = ["slug", "locales", "default-locale", ...page.locales.map((locale) => `name-${locale}`), "time-zone", "admin-email", "admin-name"];
  const summary: FormError[] = order.filter((field) => errors[field]).map((field) => ({ fieldId: field, message: message(errors[field]) ?? "" }));

  return (
    <div className="prose">
      {summary.length > 0 ? <ErrorSummary key={summary.map((error) => error.message).join()} title={t("errorSummary")} errors={summary} /> : null}
      <p>
        <Link to="/platform">{t("backToCities")}</Link>
      </p>
      <h1>{t("onboard.title")}</h1>
      <p className="lead">{t("onboard.intro")}</p>
      <Form method="post" noValidate>
        <CsrfField />
        <section aria-labelledby="step-address">
          <h2 id="step-address">{t("onboard.steps.address")}</h2>
          <TextField
            id="slug"
            name="slug"
            label={t("onboard.slug")}
            hint={t("onboard.slugHint")}
            error={message(errors.slug)}
            defaultValue={values?.slug ?? ""}
            maxLength={63}
            autoComplete="off"
            spellCheck={false}
          />
        </section>
        <section aria-labelledby="step-languages">
          <h2 id="step-languages">{t("onboard.steps.languages")}</h2>
          <CheckboxGroup
            id="locales"
            name="enabledLocales"
            legend={t("onboard.enabled")}
            hint={t("onboard.enabledHint")}
            error={message(errors.locales)}
            choices={page.locales.map((locale) => ({ value: locale, label: LOCALE_NAMES[locale], lang: locale }))}
            checked={values?.enabledLocales ?? []}
          />
          <SelectField
            id="default-locale"
            name="defaultLocale"
            label={t("onboard.default")}
            hint={t("onboard.defaultHint")}
            error={message(errors["default-locale"])}
            defaultValue={values?.defaultLocale ?? ""}
            options={[{ value: "", label: t("onboard.choose") }, ...page.locales.map((locale) => ({ value: locale, label: LOCALE_NAMES[locale], lang: locale }))]}
          />
        </section>
        <section aria-labelledby="step-names">
          <h2 id="step-names">{t("onboard.steps.names")}</h2>
          <p className="hint">{t("onboard.namesHint")}</p>
          {page.locales.map((locale) => (
            <TextField
              key={locale}
              id={`name-${locale}`}
              name={`name.${locale}`}
              lang={locale}
              dir="auto"
              label={t("onboard.name", { language: LOCALE_NAMES[locale] })}
              error={message(errors[`name-${locale}`])}
              defaultValue={values?.names[locale] ?? ""}
              maxLength={120}
              spellCheck={false}
            />
          ))}
        </section>
        <section aria-labelledby="step-time">
          <h2 id="step-time">{t("onboard.steps.time")}</h2>
          <SelectField
            id="time-zone"
            name="timeZone"
            label={t("onboard.timeZone")}
            error={message(errors["time-zone"])}
            defaultValue={values?.timeZone ?? ""}
            options={[{ value: "", label: t("onboard.choose") }, ...page.timeZones.map((zone) => ({ value: zone, label: zone.replace(/_/g, " ") }))]}
          />
        </section>
        <section aria-labelledby="step-admin">
          <h2 id="step-admin">{t("onboard.steps.admin")}</h2>
          <p className="hint">{t("onboard.adminHint")}</p>
          <TextField
            id="admin-email"
            name="adminEmail"
            type="email"
            label={t("onboard.adminEmail")}
            error={message(errors["admin-email"])}
            defaultValue={values?.adminEmail ?? ""}
            autoComplete="off"
            spellCheck={false}
          />
          <TextField
            id="admin-name"
            name="adminName"
            label={t("onboard.adminName")}
            hint={t("onboard.adminNameHint")}
            error={message(errors["admin-name"])}
            defaultValue={values?.adminName ?? ""}
            maxLength={120}
          />
        </section>
        <button type="submit" className="button">
          {t("onboard.submit")}
        </button>
      </Form>
    </div>
  );
}
