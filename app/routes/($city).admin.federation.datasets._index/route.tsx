// /admin/federation/datasets: what the city publishes (who may read it, withdraw), what other
// cities share with it (subscribe, unsubscribe), and its subscriptions.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice, TableScroll } from "~/components/console";
import { FederationNav, Localized, useSharingText } from "~/components/federation";
import type { DatasetRefused } from "~/components/federation.server";
import type { I18nHandle } from "~/i18n/i18n";
import { changeDatasets, datasetsPage } from "./datasets.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => datasetsPage(args);
export const action = (args: ActionFunctionArgs) => changeDatasets(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

type Page = ReturnType<typeof useLoaderData<typeof loader>>;
type Row = Page["mine"][number];

export default function FederationDatasetsRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as DatasetRefused | undefined;
  const { t } = useTranslation("federation");
  const notices = {
    published: t("datasets.done.published"),
    sharing: t("datasets.done.sharing"),
    subscribed: t("datasets.done.subscribed"),
    unsubscribed: t("datasets.done.unsubscribed"),
    withdrawn: t("datasets.done.withdrawn"),
  };
  return (
    <div className="prose">
      <FederationNav base={page.base} />
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
      <h1>{t("city.datasets")}</h1>
      <p className="lead">{t("datasets.intro")}</p>
      <p>
        <Link className="button" to={`${page.base}/datasets/new`}>
          {t("datasets.publishLink")}
        </Link>
      </p>

      <section aria-labelledby="mine-heading">
        <h2 id="mine-heading">{t("datasets.mine.heading", { city: page.cityName })}</h2>
        {page.mine.length === 0 ? (
          <p className="empty-state">{t("datasets.mine.none")}</p>
        ) : (
          <DatasetTable label={t("datasets.mine.heading", { city: page.cityName })} rows={page.mine} base={page.base} locale={page.locale} own />
        )}
      </section>

      <section aria-labelledby="visible-heading">
        <h2 id="visible-heading">{t("datasets.visible.heading", { city: page.cityName })}</h2>
        {page.visible.length === 0 ? (
          <p className="empty-state">{t("datasets.visible.none")}</p>
        ) : (
          <DatasetTable label={t("datasets.visible.heading", { city: page.cityName })} rows={page.visible} base={page.base} locale={page.locale} />
        )}
        {page.nextHref ? (
          <p className="pagination">
            <Link to={page.nextHref}>{t("datasets.next")}</Link>
          </p>
        ) : null}
      </section>

      <section aria-labelledby="subscriptions-heading">
        <h2 id="subscriptions-heading">{t("datasets.subscriptions.heading")}</h2>
        {page.subscriptions.length === 0 ? (
          <p className="empty-state">{t("datasets.subscriptions.none")}</p>
        ) : (
          <DatasetTable label={t("datasets.subscriptions.heading")} rows={page.subscriptions} base={page.base} locale={page.locale} />
        )}
      </section>
    </div>
  );
}

function DatasetTable({ label, rows, base, locale, own = false }: { label: string; rows: readonly Row[]; base: string; locale: string; own?: boolean }) {
  const { t } = useTranslation("federation");
  const sharing = useSharingText();
  const date = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const state = { pending: t("datasets.subscriptionState.pending"), active: t("datasets.subscriptionState.active"), refused: t("datasets.subscriptionState.refused") };
  return (
    <TableScroll label={label}>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("datasets.column.title")}</th>
            {own ? <th scope="col">{t("datasets.column.sharing")}</th> : <th scope="col">{t("datasets.column.city")}</th>}
            <th scope="col">{t("datasets.column.refreshed")}</th>
            <th scope="col">{t("datasets.column.state")}</th>
            <th scope="col">{t("datasets.column.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <td>
                <Link to={`${base}/datasets/${row.id}`}>
                  <Localized value={row.title} />
                </Link>
                <div className="hint">{row.service}</div>
              </td>
              <td>
                {own ? (
                  sharing[row.sharing].label
                ) : (
                  <>
                    <Localized value={row.city} />
                    {row.instance ? <div className="hint wrap-anywhere">{row.instance}</div> : null}
                  </>
                )}
              </td>
              <td>{row.refreshedAt ? date.format(new Date(row.refreshedAt)) : t("datasets.notRefreshed")}</td>
              <td>
                {row.withdrawn ? (
                  <span className="tag tag--suspended">{t("datasets.withdrawn")}</span>
                ) : own ? (
                  <span className="tag">{t("datasets.published")}</span>
                ) : row.subscription ? (
                  <span className={row.subscription === "refused" ? "tag tag--suspended" : "tag"}>{state[row.subscription]}</span>
                ) : (
                  <span className="tag">{t("datasets.notSubscribed")}</span>
                )}
              </td>
              <td>
                <DatasetAction row={row} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** The one change a row offers: withdraw the city's own, subscribe to or leave another's. */
function DatasetAction({ row }: { row: Row }) {
  const { t } = useTranslation("federation");
  const intent = row.mine ? (row.withdrawn ? null : "withdraw") : row.subscription ? "unsubscribe" : row.withdrawn ? null : "subscribe";
  if (!intent) return null;
  const label = { withdraw: t("datasets.withdraw"), unsubscribe: t("datasets.unsubscribe"), subscribe: t("datasets.subscribe") }[intent];
  return (
    <Form method="post" className="inline-form">
      <CsrfField />
      <input type="hidden" name="datasetId" value={row.id} />
      <button type="submit" name="intent" value={intent} className={intent === "subscribe" ? "button" : "button button--secondary"}>
        {label}
        <span className="visually-hidden">
          {" "}
          — <Localized value={row.title} />
        </span>
      </button>
    </Form>
  );
}
