// /accessibility (and /{slug}/accessibility): the accessibility statement (WCAG 2.1 AA status,
// what works, whom to tell) and the legal information (publisher, software, data, cookies).
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import type { I18nHandle } from "~/i18n/i18n";
import { statementPage } from "./statement.server";

export const handle: I18nHandle = { i18n: "legal" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return statementPage({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }] : []);

export default function StatementRoute() {
  const { siteName: site } = useLoaderData<typeof loader>();
  const { t } = useTranslation("legal");
  return (
    <div className="prose">
      <h1>{t("title")}</h1>
      <p className="lead">{t("intro", { site })}</p>

      <section aria-labelledby="accessibility-heading">
        <h2 id="accessibility-heading">{t("accessibility.heading")}</h2>
        <p>{t("accessibility.commitment", { site })}</p>
        <h3>{t("accessibility.statusHeading")}</h3>
        <p>{t("accessibility.status")}</p>
        <h3>{t("accessibility.featuresHeading")}</h3>
        <ul>
          <li>{t("accessibility.features.keyboard")}</li>
          <li>{t("accessibility.features.zoom")}</li>
          <li>{t("accessibility.features.screenReader")}</li>
          <li>{t("accessibility.features.languages")}</li>
          <li>{t("accessibility.features.noScript")}</li>
        </ul>
        <h3>{t("accessibility.feedbackHeading")}</h3>
        <p>{t("accessibility.feedback", { site })}</p>
        <h3>{t("accessibility.enforcementHeading")}</h3>
        <p>{t("accessibility.enforcement")}</p>
      </section>

      <section aria-labelledby="legal-heading">
        <h2 id="legal-heading">{t("legal.heading")}</h2>
        <h3>{t("legal.publisherHeading")}</h3>
        <p>{t("legal.publisher", { site })}</p>
        <h3>{t("legal.softwareHeading")}</h3>
        <p>{t("legal.software")}</p>
        <h3>{t("legal.dataHeading")}</h3>
        <p>{t("legal.data")}</p>
        <p>{t("legal.cookiesIntro")}</p>
        <ul>
          <li>{t("legal.cookies.session")}</li>
          <li>{t("legal.cookies.security")}</li>
          <li>{t("legal.cookies.language")}</li>
        </ul>
        <p>{t("legal.noTracking")}</p>
      </section>
    </div>
  );
}
