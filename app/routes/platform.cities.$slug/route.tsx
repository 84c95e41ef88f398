// /platform/cities/{slug}: one city for operators: addresses, health, suspend or resume.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice } from "~/components/console";
import { ErrorSummary, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { LOCALE_NAMES, isSupportedLocale } from "~/i18n/locales";
import { changeCityStatus, cityPage, type StatusFormResult } from "./city.server";

export const handle: I18nHandle = { i18n: "platform" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return cityPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return changeCityStatus({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function PlatformCityRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as StatusFormResult | undefined;
  const { t } = useTranslation("platform");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const suspended = page.status === "suspended";
  const errors: FormError[] = [
    ...(result?.errors.confirm ? [{ fieldId: "confirm", message: t(result.errors.confirm) }] : []),
    ...(result?.errors.reason ? [{ fieldId: "reason", message: t(result.errors.reason) }] : []),
  ];
  const language = (code: string) => (isSupportedLocale(code) ? LOCALE_NAMES[code] : code);
  return (
    <div className="prose">
      {errors.length > 0 ? <ErrorSummary key={errors.map((error) => error.message).join()} title={t("errorSummary")} errors={errors} /> : null}
      {page.changed && !result ? (
        <SuccessNotice>
          <p>{page.changed === "suspended" ? t("city.suspended", { city: page.name }) : t("city.resumed", { city: page.name })}</p>
        </SuccessNotice>
      ) : null}
      <p>
        <Link to="/platform">{t("backToCities")}</Link>
      </p>
      <h1 lang={page.nameLocale !== page.locale ? page.nameLocale : undefined}>{page.name}</h1>
      <dl className="summary-list">
        <div className="summary-list__row">
          <dt>{t("cities.status")}</dt>
          <dd>
            <span className={suspended ? "tag tag--suspended" : "tag"}>{suspended ? t("status.suspended") : t("status.active")}</span>
          </dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("city.addresses")}</dt>
          <dd>
            <ul>
              {page.addresses.map((address) => (
                <li key={address} className="wrap-anywhere">
                  {suspended ? <code>{address}</code> : <a href={address}>{address}</a>}
                </li>
              ))}
            </ul>
          </dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("city.languages")}</dt>
          <dd>
            {page.enabledLocales.map(language).join(", ")} — {t("city.defaultLanguage", { language: language(page.defaultLocale) })}
          </dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("city.timeZone")}</dt>
          <dd>{page.timeZone}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("health.realm")}</dt>
          <dd>
            <code>{page.realm}</code> — {page.health.realmProvisioned ? t("health.realmReady") : t("health.realmMissing")}
          </dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("health.members")}</dt>
          <dd>{page.health.members}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("health.admins")}</dt>
          <dd>{page.health.admins}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("health.pendingInvitations")}</dt>
          <dd>{page.health.pendingInvitations}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("health.lastActivity")}</dt>
          <dd>{page.health.lastActivityAt ? date.format(new Date(page.health.lastActivityAt)) : t("health.never")}</dd>
        </div>
      </dl>

      <section aria-labelledby="status-heading">
        <h2 id="status-heading">{suspended ? t("city.resumeHeading") : t("city.suspendHeading")}</h2>
        <p>{suspended ? t("city.resumeExplained") : t("city.suspendExplained")}</p>
        <Form method="post" noValidate>
          <CsrfField />
          <input type="hidden" name="intent" value={suspended ? "resume" : "suspend"} />
          <TextField
            id="reason"
            name="reason"
            label={t("city.reason")}
            hint={t("city.reasonHint")}
            error={result?.errors.reason ? t(result.errors.reason) : undefined}
            defaultValue={result?.values.reason ?? ""}
            maxLength={600}
          />
          <div className={result?.errors.confirm ? "field field--error" : "field"}>
            {result?.errors.confirm ? (
              <p className="field-error" id="confirm-error">
                {t(result.errors.confirm)}
              </p>
            ) : null}
            <label className="checkbox">
              <input
                type="checkbox"
                id="confirm"
                name="confirm"
                value="yes"
                aria-describedby={result?.errors.confirm ? "confirm-error" : undefined}
                aria-invalid={result?.errors.confirm ? true : undefined}
              />{" "}
              {suspended ? t("city.confirmResume", { city: page.name }) : t("city.confirmSuspend", { city: page.name })}
            </label>
          </div>
          <button type="submit" className={suspended ? "button" : "button button--warning"}>
            {suspended ? t("city.resume") : t("city.suspend")}
          </button>
        </Form>
      </section>
    </div>
  );
}
