// /admin: the city's admin console, linking the sections the signed-in person may open.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CONSOLE_SECTIONS, requireCityConsole } from "~/auth/console.server";
import { can } from "~/auth/permissions";
import type { I18nHandle } from "~/i18n/i18n";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";

export const handle: I18nHandle = { i18n: "admin" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { principal, basePath } = await requireCityConsole(
    { request, context, params },
    CONSOLE_SECTIONS.map((section) => section.permission),
  );
  const locale = await pageLocale(request, context);
  const city = siteName(context, locale);
  return json(
    {
      title: `${translator(locale, "admin")("console.title")} – ${city.text}`,
      cityName: city.text,
      sections: CONSOLE_SECTIONS.filter((section) => can(principal, section.permission)).map((section) => ({
        id: section.id,
        href: `${basePath}${section.path}`,
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function ConsoleRoute() {
  const page = useLoaderData<typeof loader>();
  const { t } = useTranslation("admin");
  // Keys spelt out: the translation check reads them.
  const text = {
    settings: { title: t("console.settings.title"), body: t("console.settings.body") },
    members: { title: t("console.members.title"), body: t("console.members.body") },
    audit: { title: t("console.audit.title"), body: t("console.audit.body") },
    apiClients: { title: t("console.apiClients.title"), body: t("console.apiClients.body") },
    services: { title: t("console.services.title"), body: t("console.services.body") },
    federation: { title: t("console.federation.title"), body: t("console.federation.body") },
  };
  return (
    <div className="prose">
      <h1>{t("console.title")}</h1>
      <p className="lead">{t("console.intro", { city: page.cityName })}</p>
      <ul className="section-list">
        {page.sections.map((section) => (
          <li key={section.id} className="section-list__item">
            <h2>
              {/* The plugin catalogue is another page of the console (its own route, built separately). */}
              <Link to={section.href} reloadDocument={section.id === "services"}>
                {text[section.id].title}
              </Link>
            </h2>
            <p>{text[section.id].body}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
