// /admin/settings: the city's names, languages, time zone, colours and logo (city admins).
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CheckboxGroup, CsrfField, SuccessNotice } from "~/components/console";
import { ErrorSummary, SelectField, TextAreaField, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { LOCALE_NAMES, type Locale } from "~/i18n/locales";
import { saveSettings, settingsPage, type FieldError, type SettingsResult } from "./settings.server";

export const handle: I18nHandle = { i18n: "admin" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return settingsPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return saveSettings({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

/** The first field of the summary's links for a group (a fieldset is focusable, its id the group's). */
const ORDER = (locales: readonly string[]) => [...locales.map((locale) => `name-${locale}`), "locales", "default-locale", "time-zone", "primary-color", "accent-color"];

export default function SettingsRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as SettingsResult | undefined;
  const { t } = useTranslation("admin");
  const message = (error: FieldError | undefined) => (error ? t(error.key, error.params) : undefined);
  const settingsErrors = result?.form === "settings" ? result.errors : {};
  const logoErrors = result?.form === "logo" ? result.errors : {};
  const values = result?.form === "settings" ? result.values : page.settings;
  const errors: FormError[] = [
    ...ORDER(page.locales)
      .filter((field) => settingsErrors[field])
      .map((field) => ({ fieldId: field, message: message(settingsErrors[field]) ?? "" })),
    ...(logoErrors.logo ? [{ fieldId: "logo", message: message(logoErrors.logo) ?? "" }] : []),
  ];
  // A language ticked in a refused form keeps its name field, so its error has a field to point at.
  const enabled = [...new Set([...page.settings.enabledLocales, ...values.enabledLocales])];
  const notices: Record<string, string> = {
    settings: t("settings.saved"),
    unchanged: t("settings.unchanged"),
    logo: t("settings.logo.saved"),
    logoRemoved: t("settings.logo.removed"),
  };

  return (
    <div className="prose">
      {errors.length > 0 ? <ErrorSummary key={errors.map((error) => error.message).join()} title={t("errorSummary")} errors={errors} /> : null}
      {page.notice && !result ? (
        <SuccessNotice>
          <p>{notices[page.notice]}</p>
        </SuccessNotice>
      ) : null}
      <p>
        <Link to={`${page.basePath}/admin`}>{t("backToConsole")}</Link>
      </p>
      <h1>{t("settings.title")}</h1>
      <p className="lead">{t("settings.intro")}</p>

      <Form method="post" noValidate>
        <CsrfField />
        <input type="hidden" name="intent" value="settings" />
        <section aria-labelledby="names-heading">
          <h2 id="names-heading">{t("settings.names.heading")}</h2>
          <p className="hint">{t("settings.names.hint")}</p>
          {enabled.map((locale) => (
            <TextField
              key={locale}
              id={`name-${locale}`}
              name={`name.${locale}`}
              lang={locale}
              dir="auto"
              label={t("settings.names.label", { language: LOCALE_NAMES[locale as Locale] ?? locale })}
              error={message(settingsErrors[`name-${locale}`])}
              defaultValue={values.names[locale] ?? ""}
              maxLength={120}
              spellCheck={false}
            />
          ))}
        </section>

        <section aria-labelledby="welcome-heading">
          <h2 id="welcome-heading">{t("settings.welcome.heading")}</h2>
          <p className="hint">{t("settings.welcome.hint")}</p>
          {enabled.map((locale) => (
            <TextAreaField
              key={locale}
              id={`welcome-${locale}`}
              name={`welcome.${locale}`}
              lang={locale}
              dir="auto"
              className="input"
              label={t("settings.welcome.label", { language: LOCALE_NAMES[locale as Locale] ?? locale })}
              error={message(settingsErrors[`welcome-${locale}`])}
              rows={4}
              maxLength={2000}
              defaultValue={values.welcome[locale] ?? ""}
            />
          ))}
        </section>

        <section aria-labelledby="languages-heading">
          <h2 id="languages-heading">{t("settings.languages.heading")}</h2>
          <CheckboxGroup
            id="locales"
            name="enabledLocales"
            legend={t("settings.languages.enabled")}
            hint={t("settings.languages.enabledHint")}
            error={message(settingsErrors.locales)}
            choices={page.locales.map((locale) => ({ value: locale, label: LOCALE_NAMES[locale], lang: locale }))}
            checked={values.enabledLocales}
          />
          <SelectField
            id="default-locale"
            name="defaultLocale"
            label={t("settings.languages.default")}
            hint={t("settings.languages.defaultHint")}
            error={message(settingsErrors["default-locale"])}
            defaultValue={values.defaultLocale}
            options={page.locales.map((locale) => ({ value: locale, label: LOCALE_NAMES[locale], lang: locale }))}
          />
        </section>

        <section aria-labelledby="time-heading">
          <h2 id="time-heading">{t("settings.timeZone.heading")}</h2>
          <SelectField
            id="time-zone"
            name="timeZone"
            label={t("settings.timeZone.label")}
            hint={t("settings.timeZone.hint")}
            error={message(settingsErrors["time-zone"])}
            defaultValue={values.timeZone}
            options={page.timeZones.map((zone) => ({ value: zone, label: zone.replace(/_/g, " ") }))}
          />
        </section>

        <section aria-labelledby="colours-heading">
          <h2 id="colours-heading">{t("settings.colours.heading")}</h2>
          <ColourField
            id="primary-color"
            name="primaryColor"
            label={t("settings.colours.primary")}
            hint={t("settings.colours.primaryHint", { min: `${page.minContrast}:1` })}
            error={message(settingsErrors["primary-color"])}
            value={values.primaryColor}
          />
          <ColourField
            id="accent-color"
            name="accentColor"
            label={t("settings.colours.accent")}
            hint={t("settings.colours.accentHint")}
            error={message(settingsErrors["accent-color"])}
            value={values.accentColor}
          />
        </section>
        <button type="submit" className="button">
          {t("settings.submit")}
        </button>
      </Form>

      <section aria-labelledby="logo-heading">
        <h2 id="logo-heading">{t("settings.logo.heading")}</h2>
        {page.settings.logoUrl ? (
          <>
            <p>{t("settings.logo.current")}</p>
            <p className="logo-preview">
              <img src={page.settings.logoUrl} alt={t("settings.logo.currentAlt")} />
            </p>
            <Form method="post">
              <CsrfField />
              <input type="hidden" name="intent" value="removeLogo" />
              <button type="submit" className="button button--secondary">
                {t("settings.logo.remove")}
              </button>
            </Form>
          </>
        ) : (
          <p>{t("settings.logo.none")}</p>
        )}
        <Form method="post" encType="multipart/form-data" noValidate>
          <CsrfField />
          <div className={logoErrors.logo ? "field field--error" : "field"}>
            <label className="field__label" htmlFor="logo">
              {t("settings.logo.label")}
            </label>
            <p className="hint" id="logo-hint">
              {t("settings.logo.hint", { max: page.maxLogoKb })}
            </p>
            {logoErrors.logo ? (
              <p className="field-error" id="logo-error">
                {message(logoErrors.logo)}
              </p>
            ) : null}
            <input
              id="logo"
              name="logo"
              type="file"
              accept="image/png,image/jpeg,image/webp"
              aria-describedby={logoErrors.logo ? "logo-hint logo-error" : "logo-hint"}
              aria-invalid={logoErrors.logo ? true : undefined}
            />
          </div>
          <button type="submit" className="button">
            {t("settings.logo.upload")}
          </button>
        </Form>
      </section>
    </div>
  );
}

function ColourField({ id, name, label, hint, error, value }: { id: string; name: string; label: string; hint: string; error?: string; value: string }) {
  const described = [`${id}-hint`, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className={error ? "field field--error" : "field"}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
      <div className="colour-field">
        <input
          id={id}
          name={name}
          type="text"
          className="input"
          defaultValue={value}
          maxLength={7}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={described}
          aria-invalid={error ? true : undefined}
        />
        {/^#[0-9a-f]{6}$/i.test(value) ? <span className="swatch" style={{ background: value }} aria-hidden="true" /> : null}
      </div>
    </div>
  );
}
