// /services/reporting/staff: the reports to triage, as a list with filters (no map needed).
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { ErrorSummary, SelectField, TextField } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import { coordinate, date } from "./components/format";
import { StaffNav } from "./components/staff-nav";
import { STATUS_LABELS } from "../labels";
import { StatusTag } from "./components/status-tag";
import stylesHref from "./reporting.css";
import { staffListPage } from "./staff.server";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => staffListPage(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

const FIELD_IDS: Record<string, string> = { status: "filter-status", category: "filter-category", from: "filter-from", to: "filter-to", lat: "filter-lat", long: "filter-long", radius: "filter-radius" };

export default function StaffList() {
  const data = useLoaderData<typeof loader>();
  const { t } = useTranslation("reporting");
  const { filters, display } = data;
  const error = (field: string) => {
    const found = data.errors[field];
    return found ? t(found.key, found.values) : undefined;
  };
  const summary = Object.keys(data.errors).map((field) => ({ fieldId: FIELD_IDS[field] ?? "filter-q", message: error(field) ?? "" }));

  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure={data.canConfigure} />
      {summary.length > 0 ? <ErrorSummary key={summary.map((entry) => entry.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      <h1>{t("staff.list.heading")}</h1>

      <Form method="get" className="filters" aria-labelledby="filters-heading">
        <h2 id="filters-heading" className="visually-hidden">
          {t("staff.list.filters")}
        </h2>
        <SelectField
          id="filter-status"
          name="status"
          label={t("staff.list.status")}
          defaultValue={filters.status}
          error={error("status")}
          options={[
            { value: "", label: t("staff.list.anyStatus") },
            { value: "active", label: t("staff.list.notClosed") },
            ...(["open", "acknowledged", "in_progress", "closed"] as const).map((status) => ({ value: status, label: t(STATUS_LABELS[status]) })),
          ]}
        />
        <SelectField
          id="filter-category"
          name="category"
          label={t("staff.list.category")}
          defaultValue={filters.category}
          options={[{ value: "", label: t("staff.list.anyCategory") }, ...data.categories.map((category) => ({ value: category.code, label: category.name.text, lang: category.name.lang }))]}
        />
        <SelectField
          id="filter-assignee"
          name="assignee"
          label={t("staff.list.assignee")}
          defaultValue={filters.assignee}
          options={[
            { value: "", label: t("staff.list.anyone") },
            ...(data.signedInStaff ? [{ value: "me", label: t("staff.list.me") }] : []),
            { value: "none", label: t("staff.list.unassigned") },
            ...data.staff.map((member) => ({ value: member.userId, label: member.name })),
          ]}
        />
        <TextField id="filter-q" name="q" type="search" label={t("staff.list.search")} hint={t("staff.list.searchHint")} defaultValue={filters.q} maxLength={200} />
        <TextField id="filter-from" name="from" type="date" label={t("staff.list.from")} defaultValue={filters.from} error={error("from")} />
        <TextField id="filter-to" name="to" type="date" label={t("staff.list.to")} defaultValue={filters.to} error={error("to")} />
        <fieldset className="filters__group" aria-describedby="filter-area-hint">
          <legend>{t("staff.list.area")}</legend>
          <p className="hint" id="filter-area-hint">
            {t("staff.list.radiusHint")}
          </p>
          <TextField id="filter-lat" name="lat" inputMode="decimal" label={t("staff.list.latitude")} defaultValue={filters.lat} error={error("lat")} />
          <TextField id="filter-long" name="long" inputMode="decimal" label={t("staff.list.longitude")} defaultValue={filters.long} error={error("long")} />
          <TextField id="filter-radius" name="radius" inputMode="numeric" label={t("staff.list.radius")} defaultValue={filters.radius} error={error("radius")} />
        </fieldset>
        <div className="actions">
          <button type="submit" className="button">
            {t("staff.list.apply")}
          </button>
          {data.filtered ? <Link to={`${data.servicePath}/staff`}>{t("staff.list.clear")}</Link> : null}
        </div>
      </Form>

      <h2 id="results-heading">{t("staff.list.results")}</h2>
      {data.requests.length === 0 ? (
        <p className="empty-state">{data.filtered ? t("staff.list.noneMatching") : t("staff.list.none")}</p>
      ) : (
        // Keyboard users can scroll the table on a narrow screen.
        <div className="table-scroll" role="region" aria-labelledby="results-heading" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("staff.list.trackingId")}</th>
                <th scope="col">{t("staff.list.category")}</th>
                <th scope="col">{t("staff.list.status")}</th>
                <th scope="col">{t("staff.list.reported")}</th>
                <th scope="col">{t("staff.list.place")}</th>
                <th scope="col">{t("staff.list.assignee")}</th>
              </tr>
            </thead>
            <tbody>
              {data.requests.map((request) => (
                <tr key={request.trackingId}>
                  <td>
                    <Link to={`${data.servicePath}/staff/requests/${request.trackingId}`}>
                      <span className="tracking-id-inline">{request.trackingId}</span>
                    </Link>
                  </td>
                  <td>
                    <span lang={request.category.lang}>{request.category.text}</span>
                    <p className="hint">{request.description}</p>
                  </td>
                  <td>
                    <StatusTag status={request.status} />
                  </td>
                  <td>
                    <time dateTime={request.createdAt}>{date(display, request.createdAt)}</time>
                  </td>
                  <td>
                    {request.address ??
                      (request.latitude !== null && request.longitude !== null
                        ? t("page.tracking.coordinates", { latitude: coordinate(display, request.latitude), longitude: coordinate(display, request.longitude) })
                        : null)}
                  </td>
                  <td>{request.assignee ?? t("staff.list.unassigned")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data.nextHref || data.firstHref ? (
        <nav className="pagination" aria-label={t("staff.list.pages")}>
          {data.firstHref ? <Link to={data.firstHref}>{t("staff.list.first")}</Link> : null}
          {data.nextHref ? <Link to={data.nextHref}>{t("staff.list.next")}</Link> : null}
        </nav>
      ) : null}
    </div>
  );
}
