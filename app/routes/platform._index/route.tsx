// /platform: the operators' console on the platform's address: the cities, their health, and
// the way to onboard a new one.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { PlatformNav, TableScroll } from "~/components/console";
import { SelectField, TextField } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { citiesPage } from "./cities.server";

export const handle: I18nHandle = { i18n: "platform" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return citiesPage({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function PlatformRoute() {
  const page = useLoaderData<typeof loader>();
  const { t } = useTranslation("platform");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const number = new Intl.NumberFormat(page.locale);
  return (
    <div className="prose">
      <PlatformNav />
      <h1>{t("cities.title")}</h1>
      <p className="lead">{t("cities.intro")}</p>
      <p>
        <Link className="button" to="/platform/cities/new">
          {t("cities.onboard")}
        </Link>
      </p>

      <Form method="get" role="search" aria-label={t("cities.searchLabel")}>
        <div className="filters">
          <TextField id="city-search" name="q" type="search" label={t("cities.search")} hint={t("cities.searchHint")} defaultValue={page.search} spellCheck={false} />
          <SelectField
            id="city-status"
            name="status"
            label={t("cities.status")}
            defaultValue={page.status}
            options={[
              { value: "", label: t("cities.statusAny") },
              { value: "active", label: t("status.active") },
              { value: "suspended", label: t("status.suspended") },
            ]}
          />
        </div>
        <button type="submit" className="button button--secondary">
          {t("cities.searchSubmit")}
        </button>
      </Form>

      <h2>{t("cities.listHeading")}</h2>
      {page.cities.length === 0 ? (
        <p className="empty-state">{t("cities.none")}</p>
      ) : (
        <TableScroll label={t("cities.listHeading")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("cities.city")}</th>
                <th scope="col">{t("cities.status")}</th>
                <th scope="col">{t("health.members")}</th>
                <th scope="col">{t("health.admins")}</th>
                <th scope="col">{t("health.pendingInvitations")}</th>
                <th scope="col">{t("health.lastActivity")}</th>
                <th scope="col">{t("health.realm")}</th>
              </tr>
            </thead>
            <tbody>
              {page.cities.map((city) => (
                <tr key={city.slug}>
                  <td>
                    <Link to={`/platform/cities/${city.slug}`} lang={city.nameLocale !== page.locale ? city.nameLocale : undefined}>
                      {city.name}
                    </Link>
                    <div className="hint">
                      <code>{city.slug}</code>
                    </div>
                  </td>
                  <td>
                    <span className={city.status === "suspended" ? "tag tag--suspended" : "tag"}>
                      {city.status === "suspended" ? t("status.suspended") : t("status.active")}
                    </span>
                  </td>
                  <td>{number.format(city.members)}</td>
                  <td>{number.format(city.admins)}</td>
                  <td>{number.format(city.pendingInvitations)}</td>
                  <td>{city.lastActivityAt ? date.format(new Date(city.lastActivityAt)) : t("health.never")}</td>
                  <td>{city.realmProvisioned ? t("health.realmReady") : t("health.realmMissing")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {page.nextHref ? (
        <p className="pagination">
          <Link to={page.nextHref}>{t("cities.next")}</Link>
        </p>
      ) : null}
    </div>
  );
}
