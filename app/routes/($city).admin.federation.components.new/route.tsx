// /admin/federation/components/new: publish a component from what the city runs (or, with
// ?component=, the next version of one of its components): what, a title and a summary per
// city language. Refused values come back on their fields.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField } from "~/components/console";
import { FederationNav, FormErrorSummary, PageHeading, SummaryRow } from "~/components/federation";
import { describedBy, FieldMessages, SelectField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { isSupportedLocale, LOCALE_NAMES } from "~/i18n/locales";
import { publish, publishPage, SUMMARY_MAX, TITLE_MAX, type PublishResult } from "./publish.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => publishPage(args);
export const action = (args: ActionFunctionArgs) => publish(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function PublishComponentRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as PublishResult | undefined;
  const { t } = useTranslation("federation");
  const errors = result?.errors ?? {};
  const message = (key: string | undefined) => (key ? t(key, { max: key.endsWith("summaryTooLong") ? SUMMARY_MAX : TITLE_MAX }) : undefined);
  const firstTitle = `title-${page.defaultLocale}`;
  const summaryErrors: FormError[] = [
    ...(errors.form ? [{ fieldId: page.existing ? firstTitle : "source", message: t(errors.form) }] : []),
    ...(errors.source ? [{ fieldId: "source", message: t(errors.source) }] : []),
    ...(errors.title ? [{ fieldId: firstTitle, message: message(errors.title)! }] : []),
    ...(errors.summary ? [{ fieldId: `summary-${page.defaultLocale}`, message: message(errors.summary)! }] : []),
  ];
  const language = (code: string) => (isSupportedLocale(code) ? LOCALE_NAMES[code] : code);
  const values = result?.values;
  const title = values?.title ?? page.existing?.title ?? {};
  const summary = values?.summary ?? page.existing?.summary ?? {};
  const nothing = !page.existing && page.sources.length === 0;
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <FormErrorSummary errors={summaryErrors} />
      <PageHeading back={{ to: `${page.base}/components`, label: t("backToComponents") }} lead={t("publish.intro")}>
        {page.heading}
      </PageHeading>
      {nothing ? (
        <p className="empty-state">{t("publish.nothing")}</p>
      ) : (
        <Form method="post" noValidate>
          <CsrfField />
          {page.existing ? (
            <>
              <input type="hidden" name="componentId" value={page.existing.id} />
              <dl className="summary-list">
                <SummaryRow term={t("publish.source")}>{page.existing.label}</SummaryRow>
                <SummaryRow term={t("components.column.version")}>{page.existing.version}</SummaryRow>
              </dl>
            </>
          ) : (
            <SelectField
              id="source"
              name="source"
              label={t("publish.source")}
              hint={t("publish.sourceHint")}
              error={errors.source ? t(errors.source) : undefined}
              defaultValue={values?.source ?? ""}
              options={[{ value: "", label: t("publish.choose") }, ...page.sources.map((source) => ({ value: source.value, label: source.label }))]}
            />
          )}
          <TextsField
            id="title"
            name="title"
            legend={t("publish.titles")}
            hint={t("publish.titlesHint")}
            error={message(errors.title)}
            locales={page.cityLocales}
            values={title}
            label={(code) => t("publish.titleIn", { language: language(code) })}
            maxLength={TITLE_MAX + 20}
          />
          <TextsField
            id="summary"
            name="summary"
            legend={t("publish.summaries")}
            hint={t("publish.summariesHint")}
            error={message(errors.summary)}
            locales={page.cityLocales}
            values={summary}
            label={(code) => t("publish.summaryIn", { language: language(code) })}
            multiline
          />
          <button type="submit" className="button">
            {page.existing ? t("publish.submitNewVersion") : t("publish.submit")}
          </button>
        </Form>
      )}
    </div>
  );
}

/** One text per city language under one legend; the group's hint and error tied to each input. */
function TextsField({
  id,
  name,
  legend,
  hint,
  error,
  locales,
  values,
  label,
  maxLength,
  multiline = false,
}: {
  id: string;
  name: string;
  legend: string;
  hint: string;
  error?: string;
  locales: readonly string[];
  values: Record<string, string>;
  label: (code: string) => string;
  maxLength?: number;
  multiline?: boolean;
}) {
  const described = { "aria-describedby": describedBy({ id, hint, error }), "aria-invalid": error ? (true as const) : undefined };
  return (
    <fieldset className={error ? "field field--error" : "field"}>
      <legend>{legend}</legend>
      <FieldMessages id={id} hint={hint} error={error} />
      {locales.map((code) => (
        <div className="field" key={code}>
          <label className="field__label" htmlFor={`${id}-${code}`}>
            {label(code)}
          </label>
          {multiline ? (
            <textarea className="input" id={`${id}-${code}`} name={`${name}.${code}`} lang={code} rows={3} defaultValue={values[code] ?? ""} {...described} />
          ) : (
            <input className="input" id={`${id}-${code}`} name={`${name}.${code}`} lang={code} maxLength={maxLength} defaultValue={values[code] ?? ""} {...described} />
          )}
        </div>
      ))}
    </fieldset>
  );
}
