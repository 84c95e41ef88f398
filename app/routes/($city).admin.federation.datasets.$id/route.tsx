// /admin/federation/datasets/{id}: one dataset: who publishes it and who may read it; the city's
// own: change who may read it, withdraw it; another city's: subscribe or not; its records, paged,
// each with where it comes from.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { Fragment } from "react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice, TableScroll } from "~/components/console";
import { FederationNav, Localized, SharingFields, useSharingText } from "~/components/federation";
import type { DatasetRefused } from "~/components/federation.server";
import { ErrorSummary, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { changeDatasetPage, datasetPage, type SharingResult } from "./dataset.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => datasetPage(args);
export const action = (args: ActionFunctionArgs) => changeDatasetPage(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function FederationDatasetRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as SharingResult | DatasetRefused | undefined;
  const { t } = useTranslation("federation");
  const sharingText = useSharingText();
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const invalid = result?.kind === "invalid" ? result : null;
  const summary: FormError[] = [
    ...(invalid?.errors.sharing ? [{ fieldId: "policy-sharing", message: t(invalid.errors.sharing) }] : []),
    ...(invalid?.errors.cities ? [{ fieldId: "policy-cities", message: t(invalid.errors.cities) }] : []),
  ];
  const notices = {
    published: t("datasets.done.published"),
    sharing: t("datasets.done.sharing"),
    subscribed: t("datasets.done.subscribed"),
    unsubscribed: t("datasets.done.unsubscribed"),
    withdrawn: t("datasets.done.withdrawn"),
  };
  const subscriptionState = { pending: t("datasets.subscriptionState.pending"), active: t("datasets.subscriptionState.active"), refused: t("datasets.subscriptionState.refused") };
  const sharedWith = page.cities.filter((city) => page.sharedWith.includes(city.uri));
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      {summary.length > 0 ? <ErrorSummary key={summary.map((error) => error.message).join()} title={t("errorSummary")} errors={summary} /> : null}
      {result?.kind === "refused" ? (
        <p className="error-summary" role="alert">
          {t(result.error)}
        </p>
      ) : null}
      {page.done && !result ? (
        <SuccessNotice>
          <p>{notices[page.done]}</p>
        </SuccessNotice>
      ) : null}
      <p>
        <Link to={`${page.base}/datasets`}>{t("backToDatasets")}</Link>
      </p>
      <h1>
        <Localized value={page.heading} />
      </h1>
      {page.description.text ? (
        <p className="lead">
          <Localized value={page.description} />
        </p>
      ) : null}
      {page.withdrawn ? <p className="notice">{t("dataset.withdrawnNotice")}</p> : null}

      <section aria-labelledby="about-heading">
        <h2 id="about-heading">{t("dataset.about")}</h2>
        <dl className="summary-list">
          <div className="summary-list__row">
            <dt>{t("dataset.city")}</dt>
            <dd>
              <Localized value={page.city} />
            </dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.instance")}</dt>
            <dd className="wrap-anywhere">
              {page.instance} {page.local ? <span className="tag">{t("thisInstance")}</span> : null}
            </dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.service")}</dt>
            <dd>{page.service}</dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.sharing")}</dt>
            <dd>
              {sharingText[page.sharing].label}
              {page.mine ? <p className="hint">{sharingText[page.sharing].hint}</p> : null}
              {sharedWith.length > 0 ? (
                <ul>
                  {sharedWith.map((city) => (
                    <li key={city.uri} lang={city.lang}>
                      {city.name}
                    </li>
                  ))}
                </ul>
              ) : null}
            </dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.lastSeq")}</dt>
            <dd>{page.lastSeq}</dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.refreshed")}</dt>
            <dd>{page.refreshedAt ? date.format(new Date(page.refreshedAt)) : t("datasets.notRefreshed")}</dd>
          </div>
          <div className="summary-list__row">
            <dt>{t("dataset.id")}</dt>
            <dd className="wrap-anywhere">
              <code>{page.uri}</code>
            </dd>
          </div>
        </dl>
      </section>

      {page.mine && !page.withdrawn ? (
        <>
          <section aria-labelledby="policy-heading">
            <h2 id="policy-heading">{t("dataset.policy.heading")}</h2>
            <Form method="post" noValidate>
              <CsrfField />
              <SharingFields
                idPrefix="policy"
                sharing={invalid?.values.sharing ?? page.sharing}
                sharedWith={invalid?.values.sharedWith ?? page.sharedWith}
                cities={page.cities}
                errors={{ sharing: invalid?.errors.sharing ? t(invalid.errors.sharing) : undefined, cities: invalid?.errors.cities ? t(invalid.errors.cities) : undefined }}
              />
              <button type="submit" name="intent" value="sharing" className="button">
                {t("dataset.policy.submit")}
              </button>
            </Form>
          </section>
          <section aria-labelledby="withdraw-heading">
            <h2 id="withdraw-heading">{t("dataset.withdraw.heading")}</h2>
            <p>{t("dataset.withdraw.explained")}</p>
            <Form method="post">
              <CsrfField />
              <button type="submit" name="intent" value="withdraw" className="button button--warning">
                {t("dataset.withdraw.submit")}
              </button>
            </Form>
          </section>
        </>
      ) : null}

      {!page.mine ? (
        <section aria-labelledby="subscription-heading">
          <h2 id="subscription-heading">{t("dataset.subscription.heading")}</h2>
          <p>{page.subscription ? subscriptionState[page.subscription] : t("dataset.subscription.none")}</p>
          {page.subscription || !page.withdrawn ? (
            <Form method="post">
              <CsrfField />
              <button type="submit" name="intent" value={page.subscription ? "unsubscribe" : "subscribe"} className={page.subscription ? "button button--secondary" : "button"}>
                {page.subscription ? t("datasets.unsubscribe") : t("datasets.subscribe")}
              </button>
            </Form>
          ) : null}
        </section>
      ) : null}

      {page.records ? (
        <section aria-labelledby="records-heading">
          <h2 id="records-heading">{t("dataset.table.heading")}</h2>
          {page.records.items.length === 0 ? (
            <p className="empty-state">{t("dataset.table.none")}</p>
          ) : (
            <>
              <details>
                <summary>{t("dataset.table.fields")}</summary>
                <dl className="facts">
                  {page.records.columns.map((column) => (
                    <Fragment key={column.name}>
                      <dt>
                        <code>{column.name}</code>
                      </dt>
                      <dd>{column.description || "—"}</dd>
                    </Fragment>
                  ))}
                </dl>
              </details>
              <TableScroll label={t("dataset.table.heading")}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t("dataset.table.key")}</th>
                      {page.records.columns.map((column) => (
                        <th scope="col" key={column.name}>
                          <code>{column.name}</code>
                        </th>
                      ))}
                      <th scope="col">{t("dataset.table.provenance")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.records.items.map((record) => (
                      <tr key={record.key}>
                        <th scope="row">
                          <code>{record.key}</code>
                        </th>
                        {record.deleted ? (
                          <td colSpan={page.records!.columns.length}>
                            <span className="tag tag--suspended">{t("dataset.table.deleted")}</span>
                          </td>
                        ) : (
                          page.records!.columns.map((column) => (
                            <td key={column.name}>
                              <Localized value={record.values[column.name] ?? { text: "—" }} />
                            </td>
                          ))
                        )}
                        <td>
                          <span className="wrap-anywhere">{record.city}</span>
                          <div className="hint">{t("dataset.table.change", { seq: record.seq, date: date.format(new Date(record.time)) })}</div>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            </>
          )}
          <p className="pagination">
            {page.records.after > 0 ? <Link to={`${page.base}/datasets/${page.id}`}>{t("dataset.table.first")}</Link> : null}
            {page.records.nextHref ? <Link to={page.records.nextHref}>{t("dataset.table.next")}</Link> : null}
          </p>
        </section>
      ) : null}
    </div>
  );
}
