// /services/reporting/staff/categories/{id}: one category's texts and questions (reporting.configure).
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { ErrorSummary } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import { categoryAction, categoryPage, type CategoryFormResult } from "./category-form.server";
import { AttributeEditor, CATEGORY_FIELD_IDS, CategoryFields } from "./components/category-fields";
import { StaffNav } from "./components/staff-nav";
import stylesHref from "./reporting.css";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => categoryPage(args);
export const action = (args: ActionFunctionArgs) => categoryAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function Category() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as CategoryFormResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const errors = Object.fromEntries(Object.entries(result?.errors ?? {}).map(([field, error]) => [field, t(error.key, error.values)]));
  const summary = Object.entries(errors).map(([field, message]) => ({ fieldId: CATEGORY_FIELD_IDS[field] ?? "name", message }));
  const values = result?.values ?? data.values;
  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure />
      {summary.length > 0 ? <ErrorSummary key={summary.map((entry) => entry.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      {data.done && !result ? (
        <p className="notice notice--success" role="status">
          {t(data.done === "created" ? "staff.done.created" : "staff.done.saved")}
        </p>
      ) : null}
      <p>
        <Link to={`${data.servicePath}/staff/categories`}>{t("staff.category.back")}</Link>
      </p>
      <h1>
        <span lang={data.name.lang}>{data.name.text || data.code}</span>
      </h1>
      <p>
        {t("staff.category.code")}: <code>{data.code}</code>
        {data.archived ? ` · ${t("staff.categories.archived")}` : null}
      </p>
      <Form method="post" noValidate className="reporting__narrow">
        <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
        <input type="hidden" name="intent" value="save" />
        <CategoryFields languages={data.languages} values={values} errors={errors} />
        <AttributeEditor count={result?.attributeCount ?? data.attributeCount} languages={data.languages} datatypes={data.datatypes} values={values} error={errors.attributes} />
        <button type="submit" className="button">
          {t("staff.category.save")}
        </button>
      </Form>
    </div>
  );
}
