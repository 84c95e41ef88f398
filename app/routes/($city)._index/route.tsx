// "/" on a city host or the platform host, and "/{slug}" on the platform host.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { homePage, type CityHome, type PlatformHome } from "./home.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return homePage({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }] : []);

export default function HomeRoute() {
  const page = useLoaderData<typeof loader>();
  return page.kind === "platform" ? <PlatformHomePage page={page} /> : <CityHomePage page={page} />;
}

function PlatformHomePage({ page }: { page: PlatformHome }) {
  const { t, i18n } = useTranslation();
  return (
    <div className="prose">
      <h1>{t("platform.title")}</h1>
      <p className="lead">{t("platform.intro")}</p>
      {page.cities.length === 0 ? (
        <p>{t("platform.empty")}</p>
      ) : (
        <ul className="city-list">
          {page.cities.map((city) => (
            <li key={city.slug}>
              <Link to={city.href} lang={city.nameLocale && city.nameLocale !== i18n.language ? city.nameLocale : undefined}>
                {city.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function CityHomePage({ page }: { page: CityHome }) {
  const { t } = useTranslation();
  return (
    <div className="prose">
      <h1>{t("home.welcome", { city: page.city.name })}</h1>
      {page.welcome ? (
        <p className="lead welcome" lang={page.welcome.locale}>
          {page.welcome.text}
        </p>
      ) : (
        <p className="lead">{t("home.intro", { city: page.city.name })}</p>
      )}
      <section aria-labelledby="services-heading">
        <h2 id="services-heading">{t("home.services.heading")}</h2>
        {page.services.length === 0 ? (
          <p className="empty-state">{t("home.services.empty")}</p>
        ) : (
          <ul className="card-list service-list">
            {page.services.map((service) => (
              <li key={service.id} className="card">
                <h3 className="card__title">
                  <Link to={service.href}>{service.name}</Link>
                </h3>
                {service.description ? <p>{service.description}</p> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      {page.languages.length > 1 ? (
        <>
          <p>{t("home.languageCount", { count: page.languages.length })}</p>
          <ul className="language-list">
            {page.languages.map((language) => (
              <li key={language.locale}>
                {/* The name is in its own script; isolating it keeps the list's direction. */}
                <bdi lang={language.locale}>{language.name}</bdi>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
