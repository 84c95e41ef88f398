// /admin/federation: the city's place in the federation: what it publishes and imports, what it
// shares and subscribes to, and the imported components with a newer version waiting.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { ComponentLink, FederationNav, PageHeading } from "~/components/federation";
import type { I18nHandle } from "~/i18n/i18n";
import { overviewPage } from "./overview.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => overviewPage(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function FederationOverviewRoute() {
  const page = useLoaderData<typeof loader>();
  const { t } = useTranslation("federation");
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <PageHeading lead={t("city.intro", { city: page.cityName })}>{t("title")}</PageHeading>
      <ul className="section-list">
        <li className="section-list__item">
          <h2>
            <Link to={`${page.base}/components`}>{t("city.components")}</Link>
          </h2>
          <p>{t("city.componentsBody")}</p>
          <dl className="facts">
            <dt>{t("city.summary.published")}</dt>
            <dd>{page.counts.published}</dd>
            <dt>{t("city.summary.imports")}</dt>
            <dd>{page.counts.imports}</dd>
          </dl>
        </li>
        <li className="section-list__item">
          <h2>
            <Link to={`${page.base}/datasets`}>{t("city.datasets")}</Link>
          </h2>
          <p>{t("city.datasetsBody")}</p>
          <dl className="facts">
            <dt>{t("city.summary.datasets")}</dt>
            <dd>{page.counts.datasets}</dd>
            <dt>{t("city.summary.subscriptions")}</dt>
            <dd>{page.counts.subscriptions}</dd>
          </dl>
        </li>
      </ul>
      <h2>{t("city.updates")}</h2>
      {page.updates.length === 0 ? (
        <p className="empty-state">{t("city.noUpdates")}</p>
      ) : (
        <ul>
          {page.updates.map((update) => (
            <li key={update.id}>
              <ComponentLink base={page.base} id={update.id} title={update.title} />{" "}
              — {t("components.imports.updateAvailable", { version: update.latest })}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
