// /services/reporting/unsubscribe: stop a report's emails to one address, from the email's link.
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "../../../app/auth/csrf";
import type { I18nHandle } from "../../../app/i18n/i18n";
import type { loader as rootLoader } from "../../../app/root";
import stylesHref from "./reporting.css";
import { unsubscribeAction, unsubscribePage, type UnsubscribeView } from "./unsubscribe.server";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => unsubscribePage(args);
export const action = (args: ActionFunctionArgs) => unsubscribeAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function Unsubscribe() {
  const loaded = useLoaderData<typeof loader>() as UnsubscribeView;
  const acted = useActionData<typeof action>() as UnsubscribeView | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation("reporting");
  const view = acted ?? loaded;
  const { trackingId, email } = view.link;
  return (
    <div className="prose reporting">
      <h1>{t("page.unsubscribe.title")}</h1>
      {view.state === "invalid" ? <p className="error-summary" role="alert">{t("page.unsubscribe.invalid")}</p> : null}
      {view.state === "done" ? (
        <p className="notice notice--success" role="status">
          {t("page.unsubscribe.done", { email, trackingId })}
        </p>
      ) : null}
      {view.state === "confirm" ? (
        <Form method="post">
          <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
          <input type="hidden" name="r" value={trackingId} />
          <input type="hidden" name="e" value={email} />
          <input type="hidden" name="t" value={view.link.token} />
          <p>{t("page.unsubscribe.confirm", { email, trackingId })}</p>
          <button type="submit" className="button">
            {t("page.unsubscribe.button")}
          </button>
        </Form>
      ) : null}
    </div>
  );
}
