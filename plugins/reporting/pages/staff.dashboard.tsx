// /services/reporting/staff/dashboard: the city's reporting figures for staff.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { ErrorSummary, TextField } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import { dashboardPage } from "./dashboard.server";
import { count, date, duration } from "./components/format";
import { StaffNav } from "./components/staff-nav";
import { STATUS_LABELS } from "../labels";
import stylesHref from "./reporting.css";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => dashboardPage(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function Dashboard() {
  const data = useLoaderData<typeof loader>();
  const { t } = useTranslation("reporting");
  const { display, backlog } = data;
  const error = (field: string) => {
    const found = data.errors[field];
    return found ? t(found.key, found.values) : undefined;
  };
  const summary = Object.keys(data.errors).map((field) => ({ fieldId: `period-${field}`, message: error(field) ?? "" }));
  const time = (seconds: number | null) => (seconds === null ? t("staff.dashboard.noData") : duration(display, seconds));

  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure={data.canConfigure} />
      {summary.length > 0 ? <ErrorSummary key={summary.map((entry) => entry.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      <h1>{t("staff.dashboard.heading")}</h1>
      <p className="lead">{t("staff.dashboard.period", { from: date(display, data.period.from), to: date(display, data.period.to) })}</p>

      <Form method="get" className="filters">
        <TextField id="period-from" name="from" type="date" label={t("staff.list.from")} defaultValue={data.typed.from} error={error("from")} />
        <TextField id="period-to" name="to" type="date" label={t("staff.list.to")} defaultValue={data.typed.to} error={error("to")} />
        <div className="actions">
          <button type="submit" className="button">
            {t("staff.dashboard.show")}
          </button>
        </div>
      </Form>

      <h2>{t("staff.dashboard.figures")}</h2>
      <ul className="kpis">
        <li>
          <span className="kpi__value">{count(display, data.total)}</span>
          <span className="kpi__label">{t("staff.dashboard.total")}</span>
        </li>
        <li>
          <span className="kpi__value">{time(data.medianSecondsToAcknowledge)}</span>
          <span className="kpi__label">{t("kpi.medianAcknowledge")}</span>
        </li>
        <li>
          <span className="kpi__value">{time(data.medianSecondsToClose)}</span>
          <span className="kpi__label">{t("kpi.medianClose")}</span>
        </li>
        <li>
          <span className="kpi__value">{count(display, backlog.open)}</span>
          <span className="kpi__label">{t("kpi.backlog")}</span>
        </li>
      </ul>

      <h2 id="volume-heading">{t("kpi.volume")}</h2>
      {data.volume.length === 0 ? (
        <p className="empty-state">{t("staff.dashboard.noReports")}</p>
      ) : (
        <div className="table-scroll" role="region" aria-labelledby="volume-heading" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("staff.list.category")}</th>
                {data.statuses.map((status) => (
                  <th key={status} scope="col">
                    {t(STATUS_LABELS[status])}
                  </th>
                ))}
                <th scope="col">{t("staff.dashboard.totalColumn")}</th>
              </tr>
            </thead>
            <tbody>
              {data.volume.map((row) => (
                <tr key={row.code}>
                  <th scope="row" lang={row.name.lang}>
                    {row.name.text || row.code}
                  </th>
                  {data.statuses.map((status) => (
                    <td key={status}>{count(display, row.counts[status] ?? 0)}</td>
                  ))}
                  <td>{count(display, row.total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>{t("staff.dashboard.backlogHeading")}</h2>
      <dl className="summary-list">
        <div className="summary-list__row">
          <dt>{t("staff.dashboard.oldest")}</dt>
          <dd>{time(backlog.oldestAgeSeconds)}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("staff.dashboard.medianAge")}</dt>
          <dd>{time(backlog.medianAgeSeconds)}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("staff.dashboard.under7")}</dt>
          <dd>{count(display, backlog.under7Days)}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("staff.dashboard.from7To30")}</dt>
          <dd>{count(display, backlog.from7To30Days)}</dd>
        </div>
        <div className="summary-list__row">
          <dt>{t("staff.dashboard.over30")}</dt>
          <dd>{count(display, backlog.over30Days)}</dd>
        </div>
      </dl>
    </div>
  );
}
