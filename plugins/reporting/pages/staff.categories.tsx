// /services/reporting/staff/categories: the categories residents choose from; add, archive,
// restore (reporting.configure).
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { ErrorSummary } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import { categoriesAction, categoriesPage, type CategoryFormResult } from "./category-form.server";
import { CATEGORY_FIELD_IDS, CategoryFields } from "./components/category-fields";
import { StaffNav } from "./components/staff-nav";
import stylesHref from "./reporting.css";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => categoriesPage(args);
export const action = (args: ActionFunctionArgs) => categoriesAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function Categories() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as CategoryFormResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const errors = Object.fromEntries(Object.entries(result?.errors ?? {}).map(([field, error]) => [field, t(error.key, error.values)]));
  const summary = Object.entries(errors).map(([field, message]) => ({ fieldId: CATEGORY_FIELD_IDS[field] ?? "code", message }));
  const csrf = <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />;
  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure />
      {summary.length > 0 ? <ErrorSummary key={summary.map((entry) => entry.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      {data.done === "archive" || data.done === "restore" ? (
        <p className="notice notice--success" role="status">
          {t(data.done === "archive" ? "staff.done.archived" : "staff.done.restored")}
        </p>
      ) : null}
      <h1>{t("staff.categories.heading")}</h1>
      {data.categories.length === 0 ? (
        <p className="empty-state">{t("staff.categories.none")}</p>
      ) : (
        <div className="table-scroll" role="region" aria-labelledby="categories-heading" tabIndex={0}>
          <table>
            <caption id="categories-heading" className="visually-hidden">
              {t("staff.categories.heading")}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t("staff.categories.name")}</th>
                <th scope="col">{t("staff.categories.code")}</th>
                <th scope="col">{t("staff.categories.group")}</th>
                <th scope="col">{t("staff.categories.attributes")}</th>
                <th scope="col">{t("staff.categories.state")}</th>
              </tr>
            </thead>
            <tbody>
              {data.categories.map((category) => (
                <tr key={category.id}>
                  <td>
                    <Link to={`${data.servicePath}/staff/categories/${category.id}`}>
                      <span lang={category.name.lang}>{category.name.text || category.code}</span>
                    </Link>
                  </td>
                  <td>
                    <code>{category.code}</code>
                  </td>
                  <td lang={category.group.lang}>{category.group.text}</td>
                  <td>{category.attributes}</td>
                  <td>
                    <Form method="post" className="inline-form">
                      {csrf}
                      <input type="hidden" name="id" value={category.id} />
                      <input type="hidden" name="intent" value={category.archived ? "restore" : "archive"} />
                      <span>{category.archived ? t("staff.categories.archived") : t("staff.categories.active")}</span>
                      <button type="submit" className="button button--secondary" aria-label={t(category.archived ? "staff.categories.restoreNamed" : "staff.categories.archiveNamed", { name: category.name.text || category.code })}>
                        {category.archived ? t("staff.categories.restore") : t("staff.categories.archive")}
                      </button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <section aria-labelledby="new-heading" className="reporting__narrow">
        <h2 id="new-heading">{t("staff.categories.newHeading")}</h2>
        <p className="hint">{t("staff.categories.newHint")}</p>
        <Form method="post" noValidate>
          {csrf}
          <input type="hidden" name="intent" value="create" />
          <div className={errors.code ? "field field--error" : "field"}>
            <label className="field__label" htmlFor="code">
              {t("staff.category.code")}
            </label>
            <p className="hint" id="code-hint">
              {t("staff.category.codeHint")}
            </p>
            {errors.code ? (
              <p className="field-error" id="code-error">
                {errors.code}
              </p>
            ) : null}
            <input
              id="code"
              name="code"
              type="text"
              className="input"
              dir="ltr"
              spellCheck={false}
              maxLength={64}
              defaultValue={result?.values.code ?? ""}
              aria-invalid={errors.code ? true : undefined}
              aria-describedby={errors.code ? "code-hint code-error" : "code-hint"}
            />
          </div>
          <CategoryFields languages={data.languages} values={result?.values ?? {}} errors={errors} />
          <button type="submit" className="button">
            {t("staff.categories.create")}
          </button>
        </Form>
      </section>
    </div>
  );
}
