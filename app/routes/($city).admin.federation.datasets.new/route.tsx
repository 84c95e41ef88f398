// /admin/federation/datasets/new: publish a dataset a service the city runs declares, with who
// may read it. Refused values come back on their fields.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField } from "~/components/console";
import { FederationNav, FormErrorSummary, PageHeading, RadioGroup, SharingFields } from "~/components/federation";
import type { FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { publishDatasetAction, publishDatasetPage, type PublishDatasetResult } from "./publish.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => publishDatasetPage(args);
export const action = (args: ActionFunctionArgs) => publishDatasetAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function PublishDatasetRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as PublishDatasetResult | undefined;
  const { t } = useTranslation("federation");
  const errors = result?.errors ?? {};
  const summary: FormError[] = [
    ...(errors.dataset ? [{ fieldId: "dataset", message: t(errors.dataset) }] : []),
    ...(errors.sharing ? [{ fieldId: "publish-sharing", message: t(errors.sharing) }] : []),
    ...(errors.cities ? [{ fieldId: "publish-cities", message: t(errors.cities) }] : []),
  ];
  const chosen = result?.values.dataset ?? page.datasets[0]?.value ?? "";
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <FormErrorSummary errors={summary} />
      <PageHeading back={{ to: `${page.base}/datasets`, label: t("backToDatasets") }} lead={t("publishDataset.intro")}>
        {t("publishDataset.title")}
      </PageHeading>
      {page.datasets.length === 0 ? (
        <p className="empty-state">{t("publishDataset.nothing")}</p>
      ) : (
        <Form method="post" noValidate>
          <CsrfField />
          <RadioGroup
            id="dataset"
            name="dataset"
            legend={t("publishDataset.dataset")}
            hint={t("publishDataset.datasetHint")}
            error={errors.dataset ? t(errors.dataset) : undefined}
            choices={page.datasets.map((dataset) => ({ value: dataset.value, label: dataset.label, hint: dataset.description }))}
            checked={chosen}
          />
          <SharingFields
            idPrefix="publish"
            sharing={result?.values.sharing ?? "federation"}
            sharedWith={result?.values.sharedWith ?? []}
            cities={page.cities}
            errors={{ sharing: errors.sharing ? t(errors.sharing) : undefined, cities: errors.cities ? t(errors.cities) : undefined }}
          />
          <button type="submit" className="button">
            {t("publishDataset.submit")}
          </button>
        </Form>
      )}
    </div>
  );
}
