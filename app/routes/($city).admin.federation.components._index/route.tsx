// /admin/federation/components: what the city published (withdraw it, publish a new version),
// what it imported (and whether a newer version waits), and the federated catalogue to browse.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice, TableScroll } from "~/components/console";
import { FederationNav, Localized } from "~/components/federation";
import { SelectField } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { changeComponents, componentsPage, type ComponentsResult } from "./components.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => componentsPage(args);
export const action = (args: ActionFunctionArgs) => changeComponents(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

type Page = ReturnType<typeof useLoaderData<typeof loader>>;
type Entry = Page["catalogue"][number];

export default function FederationComponentsRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ComponentsResult | undefined;
  const { t } = useTranslation("federation");
  const any = { value: "", label: t("components.catalogue.any") };
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      {result?.kind === "refused" ? (
        <p className="error-summary" role="alert">
          {t(result.error)}
        </p>
      ) : null}
      {page.done && !result ? (
        <SuccessNotice>
          <p>{t("component.withdrawnDone")}</p>
        </SuccessNotice>
      ) : null}
      <h1>{t("city.components")}</h1>
      <p className="lead">{t("components.intro")}</p>
      <p>
        <Link className="button" to={`${page.base}/components/new`}>
          {t("components.publishLink")}
        </Link>
      </p>

      <section aria-labelledby="published-heading">
        <h2 id="published-heading">{t("components.mine.heading", { city: page.cityName })}</h2>
        {page.published.length === 0 ? (
          <p className="empty-state">{t("components.mine.none")}</p>
        ) : (
          <TableScroll label={t("components.mine.heading", { city: page.cityName })}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("components.column.title")}</th>
                  <th scope="col">{t("components.column.kind")}</th>
                  <th scope="col">{t("components.column.version")}</th>
                  <th scope="col">{t("components.column.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {page.published.map((entry) => (
                  <tr key={entry.id}>
                    <td>
                      <Link to={`${page.base}/components/${entry.id}`}>
                        <Localized value={entry.title} />
                      </Link>
                    </td>
                    <td>{t("components.kindOf", { kind: entry.kind, service: entry.service })}</td>
                    <td>{entry.version}</td>
                    <td>
                      <div className="button-row">
                        <Link className="button button--secondary" to={`${page.base}/components/new?component=${entry.id}`}>
                          {t("components.newVersion")}
                        </Link>
                        <Form method="post" className="inline-form">
                          <CsrfField />
                          <input type="hidden" name="componentId" value={entry.id} />
                          <button type="submit" name="intent" value="withdraw" className="button button--secondary">
                            {t("components.withdraw")}
                            <span className="visually-hidden">
                              {" "}
                              — <Localized value={entry.title} />
                            </span>
                          </button>
                        </Form>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>

      <section aria-labelledby="imports-heading">
        <h2 id="imports-heading">{t("components.imports.heading", { city: page.cityName })}</h2>
        {page.imports.length === 0 ? (
          <p className="empty-state">{t("components.imports.none")}</p>
        ) : (
          <TableScroll label={t("components.imports.heading", { city: page.cityName })}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("components.column.title")}</th>
                  <th scope="col">{t("components.catalogue.city")}</th>
                  <th scope="col">{t("components.imports.imported")}</th>
                  <th scope="col">{t("components.column.state")}</th>
                </tr>
              </thead>
              <tbody>
                {page.imports.map((entry) => (
                  <tr key={entry.id}>
                    <td>
                      <Link to={`${page.base}/components/${entry.id}`}>
                        <Localized value={entry.title} />
                      </Link>
                    </td>
                    <td>
                      <Localized value={entry.city} />
                    </td>
                    <td>{entry.imported}</td>
                    <td>
                      {entry.updateAvailable ? (
                        <Link to={`${page.base}/components/${entry.id}`} className="tag">
                          {t("components.imports.updateAvailable", { version: entry.version })}
                        </Link>
                      ) : (
                        <span className="tag">{t("components.imports.upToDate")}</span>
                      )}{" "}
                      {entry.following ? <span className="tag">{t("components.imports.following")}</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>

      <section aria-labelledby="catalogue-heading">
        <h2 id="catalogue-heading">{t("components.catalogue.heading")}</h2>
        <Form method="get" role="search" aria-label={t("components.catalogue.filters")}>
          <div className="filters">
            <SelectField id="filter-service" name="service" label={t("components.catalogue.plugin")} defaultValue={page.filters.service} options={[any, ...page.filters.services]} />
            <SelectField id="filter-language" name="language" label={t("components.catalogue.language")} defaultValue={page.filters.language} options={[any, ...page.filters.languages]} />
            <SelectField id="filter-city" name="city" label={t("components.catalogue.city")} defaultValue={page.filters.city} options={[any, ...page.filters.cities]} />
          </div>
          <div className="button-row">
            <button type="submit" className="button button--secondary">
              {t("components.catalogue.apply")}
            </button>
          </div>
        </Form>
        {page.catalogue.length === 0 ? (
          <p className="empty-state">{t("components.catalogue.none")}</p>
        ) : (
          <ul className="card-list">
            {page.catalogue.map((entry) => (
              <li key={entry.id} className="card">
                <CatalogueCard entry={entry} base={page.base} />
              </li>
            ))}
          </ul>
        )}
        {page.nextHref ? (
          <p className="pagination">
            <Link to={page.nextHref}>{t("components.catalogue.next")}</Link>
          </p>
        ) : null}
      </section>
    </div>
  );
}

function CatalogueCard({ entry, base }: { entry: Entry; base: string }) {
  const { t } = useTranslation("federation");
  return (
    <>
      <h3 className="card__title">
        <Link to={`${base}/components/${entry.id}`}>
          <Localized value={entry.title} />
        </Link>
      </h3>
      {entry.summary.text ? (
        <p>
          <Localized value={entry.summary} />
        </p>
      ) : null}
      <p className="hint">
        {t("components.catalogue.from", { city: entry.city.text })}
        {entry.instance ? (
          <>
            {" "}
            · <span className="wrap-anywhere">{entry.instance}</span>
          </>
        ) : null}
      </p>
      <p className="hint">
        {t("components.kindOf", { kind: entry.kind, service: entry.service })} · {t("components.latest", { version: entry.version })} ·{" "}
        {entry.languages.map((language, index) => (
          <span key={language.code}>
            {index > 0 ? ", " : null}
            <span lang={language.code}>{language.name}</span>
          </span>
        ))}
      </p>
    </>
  );
}
