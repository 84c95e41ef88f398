// /services/reporting: report an issue (choose a category, then describe it) and find a report
// by its tracking id. Works without JavaScript: GET forms to choose, a multipart POST to send.
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { ErrorSummary, type FormError } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import { AttributeFields, attributeFieldId } from "./components/attribute-fields";
import { date, size, type LocalText } from "./components/format";
import { StatusTag } from "./components/status-tag";
import { reportFormPage, sendReport, type CategoryChoice, type FieldError, type ReportResult, type ReportValues } from "./index.server";
import stylesHref from "./reporting.css";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => reportFormPage(args);
export const action = (args: ActionFunctionArgs) => sendReport(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }] : []);

const EMPTY: ReportValues = { description: "", address: "", latitude: "", longitude: "", email: "", attributes: {} };

function Text({ value }: { value: LocalText }) {
  return <span lang={value.lang}>{value.text}</span>;
}

/** Categories under their group's heading, in the city's order. */
function grouped(categories: readonly CategoryChoice[]): { group: LocalText | null; categories: CategoryChoice[] }[] {
  const groups: { group: LocalText | null; categories: CategoryChoice[] }[] = [];
  for (const category of categories) {
    const existing = groups.find((entry) => (entry.group?.text ?? "") === (category.group?.text ?? ""));
    if (existing) existing.categories.push(category);
    else groups.push({ group: category.group, categories: [category] });
  }
  return groups;
}

export default function ReportPage() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ReportResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const message = (error: FieldError | null | undefined) => (error ? t(error.key, error.values) : undefined);
  const csrf = <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />;

  if (!data.chosen) {
    const errors: FormError[] = [
      ...(data.categoryError ? [{ fieldId: "category-choice", message: message(data.categoryError) ?? "" }] : []),
      ...(data.trackError ? [{ fieldId: "track", message: message(data.trackError) ?? "" }] : []),
    ];
    return (
      <div className="reporting">
        {errors.length > 0 ? <ErrorSummary key={errors.map((error) => error.message).join()} title={t("form.errors.summary")} errors={errors} /> : null}
        <h1>{t("page.report.title")}</h1>
        <p className="lead reporting__narrow">{t("page.report.intro")}</p>
        <p className="notice reporting__narrow">{t("page.report.emergency")}</p>

        {data.mayReport ? (
          data.categories.length === 0 ? (
            <p className="empty-state">{t("page.report.noCategories")}</p>
          ) : (
            <Form method="get" action={data.servicePath} className="reporting__narrow">
              <fieldset className={data.categoryError ? "field field--error" : "field"} aria-describedby={data.categoryError ? "category-choice-error" : undefined}>
                <legend>
                  <h2 className="choice-group__title">{t("form.categoryQuestion")}</h2>
                </legend>
                {data.categoryError ? (
                  <p className="field-error" id="category-choice-error">
                    {message(data.categoryError)}
                  </p>
                ) : null}
                {grouped(data.categories).map((entry, groupIndex) => (
                  <div key={entry.group?.text ?? ""} className="choice-group">
                    {entry.group ? (
                      <h3 className="choice-group__title" lang={entry.group.lang}>
                        {entry.group.text}
                      </h3>
                    ) : null}
                    {entry.categories.map((category, index) => (
                      <label key={category.code} className="choice">
                        <input
                          id={groupIndex === 0 && index === 0 ? "category-choice" : undefined}
                          type="radio"
                          name="category"
                          value={category.code}
                          required
                          aria-describedby={category.description ? `category-${category.code}-hint` : undefined}
                        />
                        <span className="choice__text">
                          <Text value={category.name} />
                          {category.description ? (
                            <span className="hint" id={`category-${category.code}-hint`} lang={category.description.lang}>
                              {category.description.text}
                            </span>
                          ) : null}
                        </span>
                      </label>
                    ))}
                  </div>
                ))}
              </fieldset>
              <button type="submit" className="button">
                {t("form.continue")}
              </button>
            </Form>
          )
        ) : (
          <div className="notice reporting__narrow">
            <p>{t("page.report.signInNeeded")}</p>
            <p>
              <a href={data.signInHref}>{t("page.report.signIn")}</a>
            </p>
          </div>
        )}

        <section aria-labelledby="track-heading" className="reporting__narrow">
          <h2 id="track-heading">{t("page.track.heading")}</h2>
          <Form method="get" action={data.servicePath}>
            <div className={data.trackError ? "field field--error" : "field"}>
              <label className="field__label" htmlFor="track">
                {t("form.trackingId")}
              </label>
              <p className="hint" id="track-hint">
                {t("form.trackingIdHint")}
              </p>
              {data.trackError ? (
                <p className="field-error" id="track-error">
                  {message(data.trackError)}
                </p>
              ) : null}
              <input
                id="track"
                name="track"
                type="text"
                className="input"
                autoComplete="off"
                spellCheck={false}
                defaultValue={data.track}
                aria-invalid={data.trackError ? true : undefined}
                aria-describedby={data.trackError ? "track-hint track-error" : "track-hint"}
              />
            </div>
            <button type="submit" className="button button--secondary">
              {t("form.track")}
            </button>
          </Form>
        </section>
      </div>
    );
  }

  const chosen = data.chosen;
  const invalid = result?.kind === "invalid" ? result : null;
  const duplicates = result?.kind === "duplicates" ? result : null;
  const values = result?.values ?? EMPTY;
  const errorOf = (field: string) => message(invalid?.errors[field]);
  const fieldIds: Record<string, string> = { category: "description", form: "description" };
  const summary: FormError[] = invalid
    ? Object.entries(invalid.errors).map(([field, error]) => ({
        fieldId: field.startsWith("attribute.") ? attributeFieldId(field.slice("attribute.".length)) : (fieldIds[field] ?? field),
        message: t(error.key, error.values),
      }))
    : [];
  const attributeErrors = Object.fromEntries(Object.entries(invalid?.errors ?? {}).map(([field, error]) => [field, t(error.key, error.values)]));
  const described = (id: string, hint: boolean) => {
    const ids = [hint ? `${id}-hint` : null, errorOf(id) ? `${id}-error` : null].filter(Boolean).join(" ");
    return { "aria-describedby": ids || undefined, "aria-invalid": errorOf(id) ? true : undefined };
  };
  const fieldClass = (id: string) => (errorOf(id) ? "field field--error" : "field");
  const fieldError = (id: string) =>
    errorOf(id) ? (
      <p className="field-error" id={`${id}-error`}>
        {errorOf(id)}
      </p>
    ) : null;
  const actionHref = `${data.servicePath}?category=${encodeURIComponent(chosen.code)}`;

  return (
    <div className="reporting">
      {summary.length > 0 ? <ErrorSummary key={summary.map((error) => error.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      {duplicates ? (
        <section className="panel" aria-labelledby="duplicates-heading">
          <h2 id="duplicates-heading" className="panel__title">
            {t("page.duplicates.heading")}
          </h2>
          <p>{t("page.duplicates.intro")}</p>
          <ul className="duplicate-list">
            {duplicates.candidates.map((candidate) => (
              <li key={candidate.trackingId}>
                <p>
                  <Link to={`${data.servicePath}/requests/${candidate.trackingId}`}>
                    <span className="tracking-id-inline">{candidate.trackingId}</span>
                  </Link>{" "}
                  <StatusTag status={candidate.status} />
                </p>
                <p className="hint">
                  {t("page.duplicates.where", { distance: candidate.distanceMeters, date: date(data.display, candidate.createdAt) })}
                  {candidate.address ? ` · ${candidate.address}` : null}
                </p>
                <p className="description">{candidate.description}</p>
                <Form method="post" action={`${data.servicePath}/requests/${candidate.trackingId}`} className="duplicate-list__follow">
                  {csrf}
                  <input type="hidden" name="intent" value="follow" />
                  {data.signedIn ? null : values.email.trim() ? (
                    <input type="hidden" name="email" value={values.email} />
                  ) : (
                    <div className="field">
                      <label className="field__label" htmlFor={`follow-email-${candidate.trackingId}`}>
                        {t("form.followEmail")}
                      </label>
                      <input id={`follow-email-${candidate.trackingId}`} name="email" type="email" autoComplete="email" spellCheck={false} />
                    </div>
                  )}
                  <button type="submit" className="button">
                    {t("form.followThis", { trackingId: candidate.trackingId })}
                  </button>
                </Form>
              </li>
            ))}
          </ul>
          <p>{t("page.duplicates.different")}</p>
          {duplicates.hadPhotos ? <p className="hint">{t("page.duplicates.photosAgain")}</p> : null}
        </section>
      ) : null}

      <p>
        <Link to={data.servicePath}>{t("form.changeCategory")}</Link>
      </p>
      <h1>
        {t("page.report.heading")} <Text value={chosen.name} />
      </h1>
      {chosen.description ? (
        <p className="lead reporting__narrow" lang={chosen.description.lang}>
          {chosen.description.text}
        </p>
      ) : null}

      <Form method="post" action={actionHref} encType="multipart/form-data" noValidate className="reporting__narrow">
        {csrf}
        <input type="hidden" name="intent" value="report" />
        <input type="hidden" name="category" value={chosen.code} />
        {duplicates ? <input type="hidden" name="confirmNotDuplicate" value="1" /> : null}

        <div className={fieldClass("description")}>
          <label className="field__label" htmlFor="description">
            {t("form.description")}
          </label>
          <p className="hint" id="description-hint">
            {t("form.descriptionHint", { max: data.limits.description })}
          </p>
          {fieldError("description")}
          <textarea id="description" name="description" rows={6} maxLength={data.limits.description} defaultValue={values.description} {...described("description", true)} />
        </div>

        <fieldset className="fieldset" aria-describedby="location-hint">
          <legend>{t("form.location")}</legend>
          <p className="hint" id="location-hint">
            {t("form.locationHint")}
          </p>
          <div className={fieldClass("address")}>
            <label className="field__label" htmlFor="address">
              {t("form.address")}
            </label>
            {fieldError("address")}
            <input id="address" name="address" type="text" className="input" maxLength={500} autoComplete="street-address" defaultValue={values.address} {...described("address", false)} />
          </div>
          <p className="or-divider">{t("form.or")}</p>
          <div className="field-row">
            <div className={fieldClass("latitude")}>
              <label className="field__label" htmlFor="latitude">
                {t("form.latitude")}
              </label>
              {fieldError("latitude")}
              <input id="latitude" name="latitude" type="text" inputMode="decimal" className="input" defaultValue={values.latitude} {...described("latitude", false)} />
            </div>
            <div className={fieldClass("longitude")}>
              <label className="field__label" htmlFor="longitude">
                {t("form.longitude")}
              </label>
              {fieldError("longitude")}
              <input id="longitude" name="longitude" type="text" inputMode="decimal" className="input" defaultValue={values.longitude} {...described("longitude", false)} />
            </div>
          </div>
        </fieldset>

        <AttributeFields fields={chosen.attributes} values={values.attributes} errors={attributeErrors} />

        {data.limits.photoMaxCount > 0 ? (
          <div className={fieldClass("photos")}>
            <label className="field__label" htmlFor="photos">
              {t("form.photos")} {t("form.optional")}
            </label>
            <p className="hint" id="photos-hint">
              {t("form.photosHint", { max: data.limits.photoMaxCount, size: size(data.display, data.limits.photoMaxBytes) })}
            </p>
            {fieldError("photos")}
            <input id="photos" name="photos" type="file" accept="image/jpeg,image/png,image/webp" multiple={data.limits.photoMaxCount > 1} {...described("photos", true)} />
          </div>
        ) : null}

        {data.signedIn ? (
          <p className="hint">{t("form.followingByAccount")}</p>
        ) : (
          <div className={fieldClass("email")}>
            <label className="field__label" htmlFor="email">
              {t("form.email")} {t("form.optional")}
            </label>
            <p className="hint" id="email-hint">
              {t("form.emailHint")}
            </p>
            {fieldError("email")}
            <input id="email" name="email" type="email" className="input" autoComplete="email" spellCheck={false} defaultValue={values.email} {...described("email", true)} />
          </div>
        )}

        <div className="actions">
          <button type="submit" className="button">
            {duplicates ? t("form.sendAnyway") : t("form.send")}
          </button>
        </div>
      </Form>
    </div>
  );
}
