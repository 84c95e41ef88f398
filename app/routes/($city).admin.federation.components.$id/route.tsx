// /admin/federation/components/{id}: one component: its provenance and versions, what importing
// it would do here (created, unchanged, updated, conflicts; settings that differ), the import in
// one step with the option to follow it, and the report after it. The city's own component:
// withdraw it, or publish a new version.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { Fragment } from "react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice } from "~/components/console";
import { ChangeOutcome, DataTable, FederationNav, InstanceName, IntentForm, LanguageList, Localized, PageHeading, SummaryRow } from "~/components/federation";
import type { I18nHandle } from "~/i18n/i18n";
import { changeComponent, componentPage, type ComponentResult } from "./component.server";

export const handle: I18nHandle = { i18n: "federation" };

export const loader = (args: LoaderFunctionArgs) => componentPage(args);
export const action = (args: ActionFunctionArgs) => changeComponent(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

type Page = ReturnType<typeof useLoaderData<typeof loader>>;
type Preview = NonNullable<Page["preview"]>;

export default function FederationComponentRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ComponentResult | undefined;
  const { t } = useTranslation("federation");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const notices = {
    published: t("component.done.published", { version: page.latestVersion }),
    following: t("component.done.following"),
    notFollowing: t("component.done.notFollowing"),
    withdrawn: t("component.withdrawnDone"),
  };
  return (
    <div className="prose">
      <FederationNav base={page.base} />
      <ChangeOutcome answer={result} done={page.done ? notices[page.done] : null} />
      <PageHeading back={{ to: `${page.base}/components`, label: t("backToComponents") }} lead={page.summary.text ? <Localized value={page.summary} /> : null}>
        <Localized value={page.heading} />
      </PageHeading>
      {page.withdrawn ? <p className="notice">{t("component.withdrawn")}</p> : null}

      <section aria-labelledby="provenance-heading">
        <h2 id="provenance-heading">{t("component.provenance")}</h2>
        <dl className="summary-list">
          <SummaryRow term={t("component.city")}>
            <Localized value={page.origin.city} />
          </SummaryRow>
          <SummaryRow term={t("component.instance")} wrap>
            <InstanceName uri={page.origin.instance} local={page.origin.local} />
          </SummaryRow>
          <SummaryRow term={t("component.author")}>{page.origin.author}</SummaryRow>
          <SummaryRow term={t("component.published")}>{date.format(new Date(page.origin.published))}</SummaryRow>
          <SummaryRow term={t("component.service")}>
            {t("components.kindOf", { kind: page.kind, service: page.service })} <code>{page.pluginRange}</code>
          </SummaryRow>
          <SummaryRow term={t("component.languages")}>
            <LanguageList languages={page.languages} />
          </SummaryRow>
          <SummaryRow term={t("component.id")} wrap>
            <code>{page.uri}</code>
          </SummaryRow>
        </dl>
        <p className="hint">{t("component.signed")}</p>
      </section>

      {page.origin.own && !page.withdrawn ? (
        <section aria-labelledby="own-heading">
          <h2 id="own-heading">{t("component.own")}</h2>
          <div className="button-row">
            <Link className="button" to={`${page.base}/components/new?component=${page.id}`}>
              {t("components.newVersion")}
            </Link>
          </div>
          <details>
            <summary>{t("components.withdraw")}</summary>
            <p>{t("component.withdrawExplained")}</p>
            <IntentForm intent="withdraw" look="warning">
              {t("components.withdraw")}
            </IntentForm>
          </details>
        </section>
      ) : null}

      {page.imported ? (
        <section aria-labelledby="following-heading">
          <h2 id="following-heading">{t("component.following.heading")}</h2>
          <p>{t("component.importedVersion", { version: page.imported.version })}</p>
          <p>{page.imported.following ? t("component.following.on") : t("component.following.off")}</p>
          <IntentForm intent={page.imported.following ? "unfollow" : "follow"} look="secondary">
            {page.imported.following ? t("component.following.unfollow") : t("component.following.follow")}
          </IntentForm>
        </section>
      ) : null}

      {result?.kind === "imported" ? <Report report={result.report} /> : null}

      {page.refusal && result?.kind !== "imported" ? (
        <section aria-labelledby="import-heading">
          <h2 id="import-heading">{t("component.import.heading")}</h2>
          <p className="notice">{t(page.refusal)}</p>
        </section>
      ) : null}

      {page.preview && result?.kind !== "imported" ? (
        <section aria-labelledby="import-heading">
          <h2 id="import-heading">{t("component.preview.heading", { version: page.preview.version })}</h2>
          {page.preview.install ? <p>{t("component.preview.install", { service: page.service })}</p> : null}
          <Effects preview={page.preview} />
          <Form method="post">
            <CsrfField />
            <input type="hidden" name="version" value={page.preview.version} />
            <div className="checkbox">
              <input type="checkbox" id="follow" name="follow" value="yes" defaultChecked={page.imported?.following ?? false} />{" "}
              <label htmlFor="follow">{t("component.import.follow")}</label>
            </div>
            <button type="submit" name="intent" value="import" className="button">
              {t("component.import.submit", { version: page.preview.version })}
            </button>
          </Form>
        </section>
      ) : null}

      {!page.preview && page.items ? (
        <section aria-labelledby="items-heading">
          <h2 id="items-heading">{t("component.items")}</h2>
          <ul>
            {page.items.map((item) => (
              <li key={item.key}>
                <Localized value={item.name} /> <code>{item.key}</code>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">{t("component.versions")}</h2>
        <ul>
          {page.versions.map((version) => (
            <li key={version.version}>
              {t("component.versionPublished", { version: version.version, date: date.format(new Date(version.published)), author: version.author })}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

/** What an import does (or did) to each item and setting of the city. */
function Effects({ preview }: { preview: Preview }) {
  const { t } = useTranslation("federation");
  const itemAction = {
    create: t("component.preview.create"),
    unchanged: t("component.preview.unchanged"),
    update: t("component.preview.update"),
    conflict: t("component.preview.conflict"),
  };
  const reason = { differs: t("component.preview.differs"), changed_since_import: t("component.preview.changedSinceImport") };
  const settingAction = {
    set: t("component.preview.settingSet"),
    same: t("component.preview.settingSame"),
    conflict: t("component.preview.settingConflict"),
    dropped: t("component.preview.settingDropped"),
  };
  const count = (action: keyof typeof itemAction) => preview.items.filter((item) => item.action === action).length;
  return (
    <>
      <dl className="facts">
        {(["create", "unchanged", "update", "conflict"] as const).map((action) => (
          <Fragment key={action}>
            <dt>{itemAction[action]}</dt>
            <dd>{count(action)}</dd>
          </Fragment>
        ))}
      </dl>
      {preview.items.length > 0 ? (
        <DataTable label={t("component.preview.itemsHeading")} caption columns={[t("component.preview.item"), t("component.preview.effect")]}>
          {preview.items.map((item) => (
            <tr key={item.key}>
              <td>
                <Localized value={item.name} /> <code>{item.key}</code>
              </td>
              <td>
                <span className={item.action === "conflict" ? "tag tag--suspended" : "tag"}>{itemAction[item.action]}</span>
                {item.reason ? <span className="hint"> {reason[item.reason]}</span> : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {preview.settings.length > 0 ? (
        <DataTable label={t("component.preview.settings")} caption columns={[t("component.preview.setting"), t("component.preview.effect")]}>
          {preview.settings.map((setting) => (
            <tr key={setting.field}>
              <td>
                <code>{setting.field}</code>
              </td>
              <td>
                <span className={setting.action === "conflict" ? "tag tag--suspended" : "tag"}>{settingAction[setting.action]}</span>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </>
  );
}

function Report({ report }: { report: Extract<ComponentResult, { kind: "imported" }>["report"] }) {
  const { t } = useTranslation("federation");
  return (
    <section aria-labelledby="report-heading">
      <SuccessNotice>
        <h2 id="report-heading">{report.changed ? t("component.import.report", { version: report.version }) : t("component.import.unchanged", { version: report.version })}</h2>
        {report.installed ? <p>{t("component.import.installed")}</p> : null}
        <p>{report.following ? t("component.following.on") : t("component.following.off")}</p>
      </SuccessNotice>
      <Effects preview={report} />
    </section>
  );
}
