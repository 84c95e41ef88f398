// /admin/federation/datasets: what the city publishes (who may read it, withdraw), what other
// cities share with it (subscribe, unsubscribe), and its subscriptions.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import {
  ChangeOutcome,
  DataTable,
  FederationNav,
  IntentForm,
  Localized,
  PageHeading,
  Pager,
  useDatasetDoneText,
  useSharingText,
  useSubscriptionText,
} from "~/components/federation";
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
  const notices = useDatasetDoneText();
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <ChangeOutcome answer={result} done={page.done ? notices[page.done] : null} />
      <PageHeading lead={t("datasets.intro")}>{t("city.datasets")}</PageHeading>
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
        <Pager next={page.nextHref} nextLabel={t("datasets.next")} />
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
  const state = useSubscriptionText();
  return (
    <DataTable
      label={label}
      columns={[
        t("datasets.column.title"),
        own ? t("datasets.column.sharing") : t("datasets.column.city"),
        t("datasets.column.refreshed"),
        t("datasets.column.state"),
        t("datasets.column.actions"),
      ]}
    >
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
    </DataTable>
  );
}

/** The one change a row offers: withdraw the city's own, subscribe to or leave another's. */
function DatasetAction({ row }: { row: Row }) {
  const { t } = useTranslation("federation");
  const intent = row.mine ? (row.withdrawn ? null : "withdraw") : row.subscription ? "unsubscribe" : row.withdrawn ? null : "subscribe";
  if (!intent) return null;
  const label = { withdraw: t("datasets.withdraw"), unsubscribe: t("datasets.unsubscribe"), subscribe: t("datasets.subscribe") }[intent];
  return (
    <IntentForm intent={intent} fields={{ datasetId: row.id }} look={intent === "subscribe" ? "primary" : "secondary"} inline about={<Localized value={row.title} />}>
      {label}
    </IntentForm>
  );
}
