// /services/reporting/staff/open311: the city's Open311 GeoReport v2 endpoint and api_keys.
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import type { I18nHandle } from "../../../app/i18n/i18n";
import { StaffNav } from "./components/staff-nav";
import { open311Page } from "./open311.server";
import stylesHref from "./reporting.css";

export const handle: I18nHandle = { i18n: "reporting" };

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesHref }];

export const loader = (args: LoaderFunctionArgs) => open311Page(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function Open311Keys() {
  const data = useLoaderData<typeof loader>();
  const { t } = useTranslation("reporting");
  return (
    <div className="reporting">
      <StaffNav servicePath={data.servicePath} canConfigure={data.canConfigure} />
      <h1>{t("staff.open311.heading")}</h1>
      <p className="lead">{t("staff.open311.intro")}</p>
      <dl className="facts">
        <dt>{t("staff.open311.endpoint")}</dt>
        <dd>
          <code>{data.endpoint}</code>
        </dd>
        <dt>{t("staff.open311.discovery")}</dt>
        <dd>
          <code>{data.discovery}</code>
        </dd>
        <dt>{t("staff.open311.jurisdiction")}</dt>
        <dd>
          <code>{data.jurisdictionId}</code>
        </dd>
      </dl>
      <h2>{t("staff.open311.keys")}</h2>
      {data.clients.length === 0 ? (
        <p className="empty-state">
          {t("staff.open311.none")} <Link to={data.consolePath}>{t("staff.open311.console")}</Link>
        </p>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label={t("staff.open311.keys")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("staff.open311.client")}</th>
                <th scope="col">{t("staff.open311.apiKey")}</th>
              </tr>
            </thead>
            <tbody>
              {data.clients.map((client) => (
                <tr key={client.clientId}>
                  <td>
                    {client.name} (<code>{client.clientId}</code>)
                  </td>
                  <td>
                    <code>{client.apiKey}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
