// /services/reporting/staff/requests/{trackingId}: one report for staff, with its full history
// and the forms to triage it.
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { ErrorSummary, SelectField, TextAreaField, TextField } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import { coordinate, dateTime } from "./components/format";
import { History } from "./components/history";
import { StaffNav } from "./components/staff-nav";
import { CLOSE_REASON_LABELS, STATUS_LABELS } from "../labels";
import { Photos } from "./components/photos";
import { StatusTag } from "./components/status-tag";
import stylesHref from "./reporting.css";
import { staffRequestAction, staffRequestPage, type StaffActionResult, type StaffForm } from "./staff-request.server";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => staffRequestPage(args);
export const action = (args: ActionFunctionArgs) => staffRequestAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

const DONE_KEYS: Record<StaffForm, string> = {
  status: "reporting:staff.done.status",
  assign: "reporting:staff.done.assign",
  note: "reporting:staff.done.note",
  update: "reporting:staff.done.update",
  merge: "reporting:staff.done.merge",
};

export default function StaffRequest() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as StaffActionResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const { request, display } = data;
  const errorOf = (form: StaffForm, field: string) => {
    const error = result?.form === form ? result.errors[field] : undefined;
    return error ? t(error.key, error.values) : undefined;
  };
  const valueOf = (form: StaffForm, field: string, fallback = "") => (result?.form === form ? (result.values[field] ?? fallback) : fallback);
  const summary = result
    ? Object.entries(result.errors).map(([field, error]) => ({ fieldId: field === "form" ? `${result.form}-submit` : `${result.form}-${field}`, message: t(error.key, error.values) }))
    : [];

  const csrf = <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />;
  const textArea = (form: StaffForm, field: string, label: string, hint?: string) => (
    <TextAreaField id={`${form}-${field}`} name={field} label={label} hint={hint} error={errorOf(form, field)} rows={4} maxLength={4000} defaultValue={valueOf(form, field)} />
  );
  const section = (form: StaffForm, heading: string, children: ReactNode, submit: string) => (
    <section aria-labelledby={`${form}-heading`}>
      <h2 id={`${form}-heading`}>{heading}</h2>
      {/* A new form after each change: what was typed in the last one is done with. */}
      <Form key={data.history.length} method="post" noValidate>
        {csrf}
        <input type="hidden" name="intent" value={form} />
        {children}
        <button type="submit" id={`${form}-submit`} className="button">
          {submit}
        </button>
      </Form>
    </section>
  );
  const reason = request.closeReason ? CLOSE_REASON_LABELS[request.closeReason] : undefined;

  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure={data.canConfigure} />
      {summary.length > 0 ? <ErrorSummary key={summary.map((entry) => entry.message).join()} title={t("form.errors.summary")} errors={summary} /> : null}
      {data.done && !result ? (
        <p className="notice notice--success" role="status">
          {t(DONE_KEYS[data.done])}
        </p>
      ) : null}
      <p>
        <Link to={`${data.servicePath}/staff`}>{t("staff.request.back")}</Link>
      </p>
      <h1>
        {t("page.tracking.heading")} <span className="tracking-id">{request.trackingId}</span>
      </h1>
      <p>
        <Link to={`${data.servicePath}/requests/${request.trackingId}`}>{t("staff.request.publicPage")}</Link>
      </p>

      <div className="staff-grid">
        <div>
          <dl className="summary-list">
            <div className="summary-list__row">
              <dt>{t("page.tracking.status")}</dt>
              <dd>
                <StatusTag status={request.status} />
                {reason ? <p className="hint">{t(reason)}</p> : null}
                {request.mergedInto ? (
                  <p className="hint">
                    {t("page.tracking.merged")}{" "}
                    <Link to={`${data.servicePath}/staff/requests/${request.mergedInto}`}>
                      <span className="tracking-id-inline">{request.mergedInto}</span>
                    </Link>
                  </p>
                ) : null}
              </dd>
            </div>
            <div className="summary-list__row">
              <dt>{t("page.tracking.category")}</dt>
              <dd lang={request.category.lang}>{request.category.text}</dd>
            </div>
            <div className="summary-list__row">
              <dt>{t("page.tracking.reportedOn")}</dt>
              <dd>
                <time dateTime={request.createdAt}>{dateTime(display, request.createdAt)}</time>
                <p className="hint">{t("staff.request.source", { source: request.source })}</p>
              </dd>
            </div>
            <div className="summary-list__row">
              <dt>{t("staff.request.assignee")}</dt>
              <dd>{request.assignee ?? t("staff.list.unassigned")}</dd>
            </div>
            <div className="summary-list__row">
              <dt>{t("page.tracking.place")}</dt>
              <dd>
                {request.address ? <p>{request.address}</p> : null}
                {request.latitude !== null && request.longitude !== null ? (
                  <p className="hint">{t("page.tracking.coordinates", { latitude: coordinate(display, request.latitude), longitude: coordinate(display, request.longitude) })}</p>
                ) : null}
              </dd>
            </div>
            <div className="summary-list__row">
              <dt>{t("page.tracking.description")}</dt>
              <dd className="description">{request.description}</dd>
            </div>
            {request.attributes.map((attribute) => (
              <div key={attribute.code} className="summary-list__row">
                <dt lang={attribute.label.lang}>{attribute.label.text}</dt>
                <dd>{attribute.datatype === "datetime" ? dateTime(display, attribute.value) : attribute.value}</dd>
              </div>
            ))}
            <div className="summary-list__row">
              <dt>{t("staff.request.reporter")}</dt>
              <dd>
                {request.reporter.name ? <p>{request.reporter.name}</p> : null}
                {request.reporter.email ? (
                  <p>
                    <a href={`mailto:${request.reporter.email}`}>{request.reporter.email}</a>
                  </p>
                ) : null}
                {request.reporter.phone ? <p>{request.reporter.phone}</p> : null}
                {request.reporter.account ? <p className="hint">{t("staff.request.reporterAccount")}</p> : null}
                {!request.reporter.name && !request.reporter.email && !request.reporter.phone && !request.reporter.account ? t("staff.request.anonymous") : null}
              </dd>
            </div>
          </dl>

          <Photos photos={request.photos} />
          {request.mediaUrl ? (
            <p>
              {t("staff.request.mediaUrl")} <span dir="ltr">{request.mediaUrl}</span>
            </p>
          ) : null}

          <section aria-labelledby="history-heading">
            <h2 id="history-heading">{t("page.tracking.history")}</h2>
            <History events={data.history} display={display} staff />
          </section>
        </div>

        <div>
          {data.nextStatuses.length > 0
            ? section(
                "status",
                t("staff.request.statusHeading"),
                <>
                  <SelectField
                    id="status-status"
                    name="status"
                    label={t("staff.request.newStatus")}
                    defaultValue={valueOf("status", "status", data.nextStatuses[0])}
                    error={errorOf("status", "status")}
                    options={data.nextStatuses.map((status) => ({ value: status, label: t(STATUS_LABELS[status]) }))}
                  />
                  <SelectField
                    id="status-reason"
                    name="reason"
                    label={t("staff.request.reason")}
                    hint={t("staff.request.reasonHint")}
                    defaultValue={valueOf("status", "reason")}
                    error={errorOf("status", "reason")}
                    options={[{ value: "", label: t("staff.request.noReason") }, ...data.closeReasons.map((key) => ({ value: key, label: t(CLOSE_REASON_LABELS[key] ?? key) }))]}
                  />
                  {textArea("status", "note", t("staff.request.statusNote"), t("staff.request.statusNoteHint"))}
                </>,
                t("staff.request.changeStatus"),
              )
            : null}

          {section(
            "assign",
            t("staff.request.assignHeading"),
            <SelectField
              id="assign-assignee"
              name="assignee"
              label={t("staff.request.assignTo")}
              defaultValue={valueOf("assign", "assignee", request.assigneeUserId ?? "")}
              error={errorOf("assign", "assignee")}
              options={[{ value: "", label: t("staff.request.nobody") }, ...data.staff.map((member) => ({ value: member.userId, label: member.name }))]}
            />,
            t("staff.request.assign"),
          )}

          {section("update", t("staff.request.updateHeading"), textArea("update", "body", t("staff.request.updateBody"), t("staff.request.updateHint")), t("staff.request.postUpdate"))}

          {section("note", t("staff.request.noteHeading"), textArea("note", "body", t("staff.request.noteBody"), t("staff.request.noteHint")), t("staff.request.addNote"))}

          {!request.mergedInto
            ? section(
                "merge",
                t("staff.request.mergeHeading"),
                <>
                  {data.duplicates.length > 0 ? (
                    <div className="notice">
                      <p>{t("staff.request.nearby")}</p>
                      <ul>
                        {data.duplicates.map((candidate) => (
                          <li key={candidate.trackingId}>
                            <Link to={`${data.servicePath}/staff/requests/${candidate.trackingId}`}>
                              <span className="tracking-id-inline">{candidate.trackingId}</span>
                            </Link>{" "}
                            <StatusTag status={candidate.status} /> {t("staff.request.nearbyDistance", { distance: candidate.distanceMeters })}
                            <p className="hint">{candidate.description}</p>
                          </li>
                        ))}
                      </ul>
                    </div>
                  ) : null}
                  <TextField
                    id="merge-into"
                    name="into"
                    label={t("staff.request.mergeInto")}
                    hint={t("staff.request.mergeHint")}
                    defaultValue={valueOf("merge", "into")}
                    error={errorOf("merge", "into")}
                    autoComplete="off"
                    spellCheck={false}
                  />
                  {textArea("merge", "note", t("staff.request.mergeNote"))}
                </>,
                t("staff.request.merge"),
              )
            : null}
        </div>
      </div>
    </div>
  );
}
