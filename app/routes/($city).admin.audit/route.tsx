// /admin/audit: the city's audit log (admins), filtered and a page at a time.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { TableScroll } from "~/components/console";
import { ErrorSummary, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { auditPage } from "./audit.server";

export const handle: I18nHandle = { i18n: "admin" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return auditPage({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function AuditRoute() {
  const page = useLoaderData<typeof loader>();
  const { t } = useTranslation("admin");
  const time = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "medium", timeZone: page.timeZone });
  const fields = ["filter-action", "filter-actor", "filter-from", "filter-to"];
  const errors: FormError[] = fields.filter((field) => page.errors[field]).map((field) => ({ fieldId: field, message: t(page.errors[field] ?? "") }));
  const error = (field: string) => (page.errors[field] ? t(page.errors[field] ?? "") : undefined);
  const actorKind = (type: string) =>
    type === "user" ? t("audit.actors.user") : type === "client" ? t("audit.actors.client") : type === "operator" ? t("audit.actors.operator") : t("audit.actors.system");

  return (
    <div className="prose">
      {errors.length > 0 ? <ErrorSummary key={errors.map((item) => item.message).join()} title={t("errorSummary")} errors={errors} /> : null}
      <p>
        <Link to={`${page.basePath}/admin`}>{t("backToConsole")}</Link>
      </p>
      <h1>{t("audit.title")}</h1>
      <p className="lead">{t("audit.intro", { timeZone: page.timeZone })}</p>

      <Form method="get" className="filters-form">
        <fieldset className="field">
          <legend>{t("audit.filters")}</legend>
          <div className="filters">
            <TextField id="filter-action" name="action" label={t("audit.action")} hint={t("audit.actionHint")} error={error("filter-action")} defaultValue={page.filters.action} spellCheck={false} />
            <TextField id="filter-actor" name="actor" label={t("audit.actor")} hint={t("audit.actorHint")} error={error("filter-actor")} defaultValue={page.filters.actor} spellCheck={false} />
            <TextField id="filter-from" name="from" type="date" label={t("audit.from")} error={error("filter-from")} defaultValue={page.filters.from} />
            <TextField id="filter-to" name="to" type="date" label={t("audit.to")} error={error("filter-to")} defaultValue={page.filters.to} />
          </div>
        </fieldset>
        <div className="button-row">
          <button type="submit" className="button">
            {t("audit.apply")}
          </button>
          <Link to={`${page.basePath}/admin/audit`}>{t("audit.clear")}</Link>
        </div>
      </Form>

      <h2>{t("audit.events")}</h2>
      {page.events.length === 0 ? (
        <p className="empty-state">{t("audit.none")}</p>
      ) : (
        <TableScroll label={t("audit.events")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("audit.when")}</th>
                <th scope="col">{t("audit.action")}</th>
                <th scope="col">{t("audit.actor")}</th>
                <th scope="col">{t("audit.subject")}</th>
              </tr>
            </thead>
            <tbody>
              {page.events.map((event) => (
                <tr key={event.id}>
                  <td>
                    <time dateTime={event.occurredAt}>{time.format(new Date(event.occurredAt))}</time>
                  </td>
                  <td>
                    <code>{event.action}</code>
                  </td>
                  <td className="wrap-anywhere">
                    {actorKind(event.actorType)}
                    {event.actor ? <div className="hint">{event.actor}</div> : null}
                  </td>
                  <td className="wrap-anywhere">
                    <code>{event.subject}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <nav className="pagination" aria-label={t("audit.pages")}>
        {page.firstHref ? <Link to={page.firstHref}>{t("firstPage")}</Link> : null}
        {page.nextHref ? <Link to={page.nextHref}>{t("nextPage")}</Link> : null}
      </nav>
    </div>
  );
}
