// /services/reporting/requests/{trackingId}: a report's public page, to follow its progress.
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import { ErrorSummary } from "../../../app/components/form";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import { coordinate, dateTime } from "./components/format";
import { History } from "./components/history";
import { CLOSE_REASON_LABELS } from "../labels";
import { Photos } from "./components/photos";
import { StatusTag } from "./components/status-tag";
import stylesHref from "./reporting.css";
import { followAction, trackingPage, type FollowResult } from "./tracking.server";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => trackingPage(args);
export const action = (args: ActionFunctionArgs) => followAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function TrackingPage() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as FollowResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const { request, display } = data;
  const emailError = result?.errors.email ? t(result.errors.email.key) : undefined;
  const reason = request.closeReason ? CLOSE_REASON_LABELS[request.closeReason] : undefined;

  return (
    <div className="reporting">
      {emailError ? <ErrorSummary key={emailError} title={t("form.errors.summary")} errors={[{ fieldId: "follow-email", message: emailError }]} /> : null}
      {data.notice === "reported" ? (
        <div className="panel" role="status">
          <h2 className="panel__title">{t("page.tracking.reported")}</h2>
          <p>
            {t("page.tracking.yourId")} <strong className="tracking-id" data-testid="tracking-id">{request.trackingId}</strong>
          </p>
          <p>{t("page.tracking.keep")}</p>
        </div>
      ) : null}
      {data.notice === "following" ? (
        <p className="notice notice--success" role="status">
          {t("page.tracking.nowFollowing")}
        </p>
      ) : null}
      {data.notice === "unfollowed" ? (
        <p className="notice" role="status">
          {t("page.tracking.unfollowed")}
        </p>
      ) : null}

      <h1>
        {t("page.tracking.heading")} <span className="tracking-id">{request.trackingId}</span>
      </h1>
      {data.staffHref ? (
        <p>
          <Link to={data.staffHref}>{t("page.tracking.staffView")}</Link>
        </p>
      ) : null}

      {request.mergedInto ? (
        <p className="notice">
          {t("page.tracking.merged")}{" "}
          <Link to={`${data.servicePath}/requests/${request.mergedInto}`}>
            <span className="tracking-id-inline">{request.mergedInto}</span>
          </Link>
        </p>
      ) : null}

      <dl className="summary-list reporting__narrow">
        <div className="summary-list__row">
          <dt>{t("page.tracking.status")}</dt>
          <dd>
            <StatusTag status={request.status} />
            {reason ? <p className="hint">{t(reason)}</p> : null}
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
          </dd>
        </div>
        {request.expectedAt ? (
          <div className="summary-list__row">
            <dt>{t("page.tracking.expected")}</dt>
            <dd>
              <time dateTime={request.expectedAt}>{dateTime(display, request.expectedAt)}</time>
            </dd>
          </div>
        ) : null}
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
      </dl>

      <Photos photos={request.photos} />

      <section aria-labelledby="history-heading" className="reporting__narrow">
        <h2 id="history-heading">{t("page.tracking.history")}</h2>
        <History events={data.history} display={display} />
      </section>

      <section aria-labelledby="follow-heading" className="reporting__narrow">
        <h2 id="follow-heading">{t("page.tracking.followHeading")}</h2>
        {data.follow === "account" ? (
          <Form method="post">
            <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
            <p>{data.following ? t("page.tracking.youFollow") : t("page.tracking.followAccountHint")}</p>
            <input type="hidden" name="intent" value={data.following ? "unfollow" : "follow"} />
            <button type="submit" className={data.following ? "button button--secondary" : "button"}>
              {data.following ? t("form.unfollow") : t("form.follow")}
            </button>
          </Form>
        ) : data.follow === "email" ? (
          <Form method="post" noValidate>
            <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
            <input type="hidden" name="intent" value="follow" />
            <div className={emailError ? "field field--error" : "field"}>
              <label className="field__label" htmlFor="follow-email">
                {t("form.followEmail")}
              </label>
              <p className="hint" id="follow-email-hint">
                {t("form.followEmailHint")}
              </p>
              {emailError ? (
                <p className="field-error" id="follow-email-error">
                  {emailError}
                </p>
              ) : null}
              <input
                id="follow-email"
                name="email"
                type="email"
                autoComplete="email"
                spellCheck={false}
                defaultValue={result?.email ?? ""}
                aria-invalid={emailError ? true : undefined}
                aria-describedby={emailError ? "follow-email-hint follow-email-error" : "follow-email-hint"}
              />
            </div>
            <button type="submit" className="button">
              {t("form.follow")}
            </button>
          </Form>
        ) : (
          <p>
            <a href={data.signInHref}>{t("page.tracking.signInToFollow")}</a>
          </p>
        )}
      </section>

      <p className="actions">
        <Link to={data.servicePath}>{t("page.tracking.another")}</Link>
      </p>
    </div>
  );
}
