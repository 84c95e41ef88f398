// /admin/federation/components: what the city published (withdraw it, publish a new version),
// what it imported (and whether a newer version waits), and the federated catalogue to browse.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { ChangeOutcome, ComponentLink, DataTable, FederationNav, IntentForm, LanguageList, Localized, PageHeading, Pager } from "~/components/federation";
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
      <ChangeOutcome answer={result} done={page.done ? t("component.withdrawnDone") : null} />
      <PageHeading lead={t("components.intro")}>{t("city.components")}</PageHeading>
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
          <DataTable
            label={t("components.mine.heading", { city: page.cityName })}
            columns={[t("components.column.title"), t("components.column.kind"), t("components.column.version"), t("components.column.actions")]}
          >
            {page.published.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <ComponentLink base={page.base} id={entry.id} title={entry.title} />
                </td>
                <td>{t("components.kindOf", { kind: entry.kind, service: entry.service })}</td>
                <td>{entry.version}</td>
                <td>
                  <div className="button-row">
                    <Link className="button button--secondary" to={`${page.base}/components/new?component=${entry.id}`}>
                      {t("components.newVersion")}
                    </Link>
                    <IntentForm intent="withdraw" fields={{ componentId: entry.id }} look="secondary" inline about={<Localized value={entry.title} />}>
                      {t("components.withdraw")}
                    </IntentForm>
                  </div>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>

      <section aria-labelledby="imports-heading">
        <h2 id="imports-heading">{t("components.imports.heading", { city: page.cityName })}</h2>
        {page.imports.length === 0 ? (
          <p className="empty-state">{t("components.imports.none")}</p>
        ) : (
          <DataTable
            label={t("components.imports.heading", { city: page.cityName })}
            columns={[t("components.column.title"), t("components.catalogue.city"), t("components.imports.imported"), t("components.column.state")]}
          >
            {page.imports.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <ComponentLink base={page.base} id={entry.id} title={entry.title} />
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
          </DataTable>
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
        <Pager next={page.nextHref} nextLabel={t("components.catalogue.next")} />
      </section>
    </div>
  );
}

function CatalogueCard({ entry, base }: { entry: Entry; base: string }) {
  const { t } = useTranslation("federation");
  return (
    <>
      <h3 className="card__title">
        <ComponentLink base={base} id={entry.id} title={entry.title} />
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
        <LanguageList languages={entry.languages} />
      </p>
    </>
  );
}
