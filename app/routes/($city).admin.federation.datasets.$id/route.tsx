// /admin/federation/datasets/{id}: one dataset: who publishes it and who may read it; the city's
// own: change who may read it, withdraw it; another city's: subscribe or not; its records, paged,
// each with where it comes from.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { Fragment } from "react";
import { useTranslation } from "react-i18next";
import { CsrfField } from "~/components/console";
import {
  ChangeOutcome,
  DataTable,
  FederationNav,
  FormErrorSummary,
  InstanceName,
  IntentForm,
  Localized,
  PageHeading,
  Pager,
  SharingFields,
  SummaryRow,
  useDatasetDoneText,
  useSharingText,
  useSubscriptionText,
} from "~/components/federation";
import type { DatasetRefused } from "~/components/federation.server";
import type { FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { changeDatasetPage, datasetPage, type SharingResult } from "./dataset.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => datasetPage(args);
export const action = (args: ActionFunctionArgs) => changeDatasetPage(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function FederationDatasetRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as SharingResult | DatasetRefused | undefined;
  const { t } = useTranslation("federation");
  const sharingText = useSharingText();
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const invalid = result?.kind === "invalid" ? result : null;
  const summary: FormError[] = [
    ...(invalid?.errors.sharing ? [{ fieldId: "policy-sharing", message: t(invalid.errors.sharing) }] : []),
    ...(invalid?.errors.cities ? [{ fieldId: "policy-cities", message: t(invalid.errors.cities) }] : []),
  ];
  const notices = useDatasetDoneText();
  const subscriptionState = useSubscriptionText();
  const sharedWith = page.cities.filter((city) => page.sharedWith.includes(city.uri));
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <FormErrorSummary errors={summary} />
      <ChangeOutcome answer={result} done={page.done ? notices[page.done] : null} />
      <PageHeading back={{ to: `${page.base}/datasets`, label: t("backToDatasets") }} lead={page.description.text ? <Localized value={page.description} /> : null}>
        <Localized value={page.heading} />
      </PageHeading>
      {page.withdrawn ? <p className="notice">{t("dataset.withdrawnNotice")}</p> : null}

      <section aria-labelledby="about-heading">
        <h2 id="about-heading">{t("dataset.about")}</h2>
        <dl className="summary-list">
          <SummaryRow term={t("dataset.city")}>
            <Localized value={page.city} />
          </SummaryRow>
          <SummaryRow term={t("dataset.instance")} wrap>
            <InstanceName uri={page.instance} local={page.local} />
          </SummaryRow>
          <SummaryRow term={t("dataset.service")}>{page.service}</SummaryRow>
          <SummaryRow term={t("dataset.sharing")}>
            {sharingText[page.sharing].label}
            {page.mine ? <p className="hint">{sharingText[page.sharing].hint}</p> : null}
            {sharedWith.length > 0 ? (
              <ul>
                {sharedWith.map((city) => (
                  <li key={city.uri} lang={city.lang}>
                    {city.name}
                  </li>
                ))}
              </ul>
            ) : null}
          </SummaryRow>
          <SummaryRow term={t("dataset.lastSeq")}>{page.lastSeq}</SummaryRow>
          <SummaryRow term={t("dataset.refreshed")}>{page.refreshedAt ? date.format(new Date(page.refreshedAt)) : t("datasets.notRefreshed")}</SummaryRow>
          <SummaryRow term={t("dataset.id")} wrap>
            <code>{page.uri}</code>
          </SummaryRow>
        </dl>
      </section>

      {page.mine && !page.withdrawn ? (
        <>
          <section aria-labelledby="policy-heading">
            <h2 id="policy-heading">{t("dataset.policy.heading")}</h2>
            <Form method="post" noValidate>
              <CsrfField />
              <SharingFields
                idPrefix="policy"
                sharing={invalid?.values.sharing ?? page.sharing}
                sharedWith={invalid?.values.sharedWith ?? page.sharedWith}
                cities={page.cities}
                errors={{ sharing: invalid?.errors.sharing ? t(invalid.errors.sharing) : undefined, cities: invalid?.errors.cities ? t(invalid.errors.cities) : undefined }}
              />
              <button type="submit" name="intent" value="sharing" className="button">
                {t("dataset.policy.submit")}
              </button>
            </Form>
          </section>
          <section aria-labelledby="withdraw-heading">
            <h2 id="withdraw-heading">{t("dataset.withdraw.heading")}</h2>
            <p>{t("dataset.withdraw.explained")}</p>
            <IntentForm intent="withdraw" look="warning">
              {t("dataset.withdraw.submit")}
            </IntentForm>
          </section>
        </>
      ) : null}

      {!page.mine ? (
        <section aria-labelledby="subscription-heading">
          <h2 id="subscription-heading">{t("dataset.subscription.heading")}</h2>
          <p>{page.subscription ? subscriptionState[page.subscription] : t("dataset.subscription.none")}</p>
          {page.subscription || !page.withdrawn ? (
            <IntentForm intent={page.subscription ? "unsubscribe" : "subscribe"} look={page.subscription ? "secondary" : "primary"}>
              {page.subscription ? t("datasets.unsubscribe") : t("datasets.subscribe")}
            </IntentForm>
          ) : null}
        </section>
      ) : null}

      {page.records ? (
        <section aria-labelledby="records-heading">
          <h2 id="records-heading">{t("dataset.table.heading")}</h2>
          {page.records.items.length === 0 ? (
            <p className="empty-state">{t("dataset.table.none")}</p>
          ) : (
            <>
              <details>
                <summary>{t("dataset.table.fields")}</summary>
                <dl className="facts">
                  {page.records.columns.map((column) => (
                    <Fragment key={column.name}>
                      <dt>
                        <code>{column.name}</code>
                      </dt>
                      <dd>{column.description || "—"}</dd>
                    </Fragment>
                  ))}
                </dl>
              </details>
              <DataTable
                label={t("dataset.table.heading")}
                columns={[t("dataset.table.key"), ...page.records.columns.map((column) => <code>{column.name}</code>), t("dataset.table.provenance")]}
              >
                {page.records.items.map((record) => (
                  <tr key={record.key}>
                    <th scope="row">
                      <code>{record.key}</code>
                    </th>
                    {record.deleted ? (
                      <td colSpan={page.records!.columns.length}>
                        <span className="tag tag--suspended">{t("dataset.table.deleted")}</span>
                      </td>
                    ) : (
                      page.records!.columns.map((column) => (
                        <td key={column.name}>
                          <Localized value={record.values[column.name] ?? { text: "—" }} />
                        </td>
                      ))
                    )}
                    <td>
                      <span className="wrap-anywhere">{record.city}</span>
                      <div className="hint">{t("dataset.table.change", { seq: record.seq, date: date.format(new Date(record.time)) })}</div>
                    </td>
                  </tr>
                ))}
              </DataTable>
            </>
          )}
          <Pager
            first={page.records.after > 0 ? `${page.base}/datasets/${page.id}` : null}
            firstLabel={t("dataset.table.first")}
            next={page.records.nextHref}
            nextLabel={t("dataset.table.next")}
          />
        </section>
      ) : null}
    </div>
  );
}
