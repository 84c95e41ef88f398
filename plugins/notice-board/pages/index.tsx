// /services/notice-board: the city's current notices; staff post and withdraw them here.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { TextAreaField, TextField } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import { pickTranslation } from "../../../app/i18n/translated";
import type { loader as rootLoader } from "../../../app/root";
import { noticeBoardAction, noticeBoardPage, type NoticeBoardResult } from "./index.server";

export const handle: I18nHandle = { i18n: "notice-board" };

export const loader = (args: LoaderFunctionArgs) => noticeBoardPage(args);
export const action = (args: ActionFunctionArgs) => noticeBoardAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }] : []);

export default function NoticeBoard() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as NoticeBoardResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("notice-board");
  const date = new Intl.DateTimeFormat(data.locale, { dateStyle: "long", timeZone: data.timeZone });
  const pick = (texts: Record<string, string>) => pickTranslation(texts, data.locale, data.defaultLocale);
  const heading = pick(data.heading);
  const invalid = result?.kind === "invalid" ? result : null;
  return (
    <div className="prose">
      <h1>{heading ? <span lang={heading.locale}>{heading.text}</span> : t("page.title")}</h1>
      {result?.kind === "posted" ? <p className="notice" role="status">{t("page.posted")}</p> : null}
      {result?.kind === "withdrawn" ? <p className="notice" role="status">{t("page.withdrawn")}</p> : null}
      {data.notices.length === 0 ? (
        <p>{t("page.empty")}</p>
      ) : (
        <ul className="card-list">
          {data.notices.map((notice) => {
            const title = pick(notice.title);
            const body = pick(notice.body);
            return (
              <li key={notice.id} className="card">
                <article aria-labelledby={`notice-${notice.id}`}>
                  <h2 id={`notice-${notice.id}`} lang={title?.locale}>
                    {title?.text}
                  </h2>
                  <p className="hint">
                    {t("page.postedOn", { date: date.format(new Date(notice.publishedAt)) })}
                    {notice.expiresAt ? ` · ${t("page.until", { date: date.format(new Date(notice.expiresAt)) })}` : null}
                  </p>
                  {body ? <p lang={body.locale}>{body.text}</p> : null}
                  {data.canPublish ? (
                    <Form method="post" className="inline-form">
                      <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
                      <input type="hidden" name="intent" value="withdraw" />
                      <input type="hidden" name="id" value={notice.id} />
                      <button type="submit" className="button button--secondary">
                        {t("form.withdraw")}
                      </button>
                    </Form>
                  ) : null}
                </article>
              </li>
            );
          })}
        </ul>
      )}
      {data.canPublish ? (
        <section aria-labelledby="post-heading">
          <h2 id="post-heading">{t("page.postHeading")}</h2>
          {invalid ? (
            <p role="alert" className="error-summary">
              {invalid.fields.title ? t("form.needTitle") : Object.values(invalid.fields)[0]}
            </p>
          ) : null}
          <Form method="post" noValidate>
            <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
            <input type="hidden" name="intent" value="post" />
            {data.languages.map((language) => (
              <fieldset key={language.code} className="fieldset" lang={language.code}>
                <legend>{language.name}</legend>
                <TextField
                  id={`title-${language.code}`}
                  name={`title.${language.code}`}
                  label={t("form.title", { language: language.name })}
                  maxLength={120}
                  defaultValue={invalid?.values[`title.${language.code}`] ?? ""}
                  error={invalid?.fields.title && language === data.languages[0] ? t("form.needTitle") : undefined}
                />
                <TextAreaField
                  id={`body-${language.code}`}
                  name={`body.${language.code}`}
                  label={t("form.body", { language: language.name })}
                  rows={4}
                  maxLength={2000}
                  defaultValue={invalid?.values[`body.${language.code}`] ?? ""}
                />
              </fieldset>
            ))}
            <TextField
              id="expires-at"
              name="expiresAt"
              type="date"
              label={t("form.expiresAt")}
              defaultValue={invalid?.values.expiresAt ?? ""}
              error={invalid?.fields.expiresAt}
            />
            <button type="submit" className="button">
              {t("form.submit")}
            </button>
          </Form>
        </section>
      ) : null}
    </div>
  );
}
