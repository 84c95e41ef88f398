// /admin/services: the shared catalogue as this city runs it. A city admin installs, enables,
// disables, configures, upgrades and uninstalls services; each step is one form (no script needed).
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "~/auth/csrf";
import { describedBy, FieldMessages } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { LOCALE_NAMES, isSupportedLocale } from "~/i18n/locales";
import type { loader as rootLoader } from "~/root";
import { servicesAction, servicesPage, type ServicesResult, type SettingField } from "./services.server";

export const handle: I18nHandle = { i18n: "services" };

export const loader = (args: LoaderFunctionArgs) => servicesPage(args);
export const action = (args: ActionFunctionArgs) => servicesAction(args);

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

type Service = ReturnType<typeof useLoaderData<typeof loader>>["services"][number];

export default function ServicesPage() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ServicesResult | undefined;
  const { t } = useTranslation("services");
  const nameOf = (id: string) => data.services.find((service) => service.id === id)?.name ?? id;
  return (
    <div className="prose">
      <h1>{t("title")}</h1>
      <p className="lead">{t("intro")}</p>
      {result ? <Outcome result={result} service={nameOf(result.pluginId)} /> : null}
      {data.services.length === 0 ? (
        <p className="empty-state">{t("empty")}</p>
      ) : (
        <ul className="card-list card-list--wide">
          {data.services.map((service) => (
            <li key={service.id} className="card">
              <ServiceCard service={service} cityLocales={data.cityLocales} servicesBase={data.servicesBase} invalid={result?.kind === "invalid" && result.pluginId === service.id ? result.fields : null} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Outcome({ result, service }: { result: ServicesResult; service: string }) {
  const { t } = useTranslation("services");
  if (result.kind === "refused") return <p className="error-summary" role="alert">{t("refused", { service, message: result.message })}</p>;
  if (result.kind === "invalid") return <p className="error-summary" role="alert">{t("invalid", { service })}</p>;
  const messages: Record<typeof result.step, string> = {
    installed: t("result.installed", { service }),
    enabled: t("result.enabled", { service }),
    disabled: t("result.disabled", { service }),
    configured: t("result.configured", { service }),
    upgraded: t("result.upgraded", { service }),
    uninstalled: t("result.uninstalled", { service }),
    purged: t("result.purged", { service }),
  };
  return (
    <p className="notice" role="status">
      {messages[result.step]}
    </p>
  );
}

function StepForm({ pluginId, intent, children, secondary }: { pluginId: string; intent: string; children: ReactNode; secondary?: boolean }) {
  const root = useRouteLoaderData<typeof rootLoader>("root");
  return (
    <Form method="post" className="inline-form">
      <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
      <input type="hidden" name="pluginId" value={pluginId} />
      <button type="submit" name="intent" value={intent} className={secondary ? "button button--secondary" : "button"}>
        {children}
      </button>
    </Form>
  );
}

function ServiceCard({ service, cityLocales, servicesBase, invalid }: { service: Service; cityLocales: string[]; servicesBase: string; invalid: Record<string, string> | null }) {
  const { t } = useTranslation("services");
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const headingId = `service-${service.id}`;
  const stateLabel = { available: t("state.available"), enabled: t("state.enabled"), disabled: t("state.disabled") }[service.state];
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId} className="card__title">
        {service.name}
      </h2>
      <p>{service.description}</p>
      <p className="hint">
        <strong>{stateLabel}</strong> ·{" "}
        {service.upgradable && service.installedVersion
          ? t("versionBehind", { installed: service.installedVersion, version: service.version })
          : t("version", { version: service.installedVersion ?? service.version })}
      </p>
      {service.requires.length > 0 ? <p className="hint">{t("requires", { list: service.requires.join(", ") })}</p> : null}
      <div className="button-row">
        {service.state === "available" ? (
          <StepForm pluginId={service.id} intent="install">
            {t("install")}
          </StepForm>
        ) : null}
        {service.state === "disabled" ? (
          <StepForm pluginId={service.id} intent="enable">
            {t("enable")}
          </StepForm>
        ) : null}
        {service.state === "enabled" ? (
          <>
            <Link className="button button--secondary" to={`${servicesBase}/${service.id}`}>
              {t("open")}
            </Link>
            <StepForm pluginId={service.id} intent="disable" secondary>
              {t("disable")}
            </StepForm>
          </>
        ) : null}
        {service.upgradable ? (
          <StepForm pluginId={service.id} intent="upgrade">
            {t("upgrade", { version: service.version })}
          </StepForm>
        ) : null}
      </div>
      {service.state !== "available" && service.settings.length > 0 ? (
        <details open={invalid !== null}>
          <summary>{t("configure")}</summary>
          <Form method="post" noValidate>
            <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
            <input type="hidden" name="pluginId" value={service.id} />
            {service.settings.map((field) => (
              <SettingInput key={field.name} serviceId={service.id} field={field as SettingField} cityLocales={cityLocales} error={invalid?.[field.name]} />
            ))}
            <button type="submit" name="intent" value="configure" className="button">
              {t("save")}
            </button>
          </Form>
        </details>
      ) : null}
      {service.state !== "available" ? (
        <details>
          <summary>{t("uninstall")}</summary>
          <Form method="post">
            <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />
            <input type="hidden" name="pluginId" value={service.id} />
            <div className="checkbox">
              <input type="checkbox" id={`purge-${service.id}`} name="purge" />
              <label htmlFor={`purge-${service.id}`}>{t("purge")}</label>
            </div>
            <div className="field">
              <label className="field__label" htmlFor={`confirm-${service.id}`}>
                {t("confirmPurge", { id: service.id })}
              </label>
              <input className="input" id={`confirm-${service.id}`} name="confirmPurge" autoComplete="off" />
            </div>
            <button type="submit" name="intent" value="uninstall" className="button button--secondary">
              {t("uninstall")}
            </button>
          </Form>
        </details>
      ) : null}
    </section>
  );
}

function SettingInput({ serviceId, field, cityLocales, error }: { serviceId: string; field: SettingField; cityLocales: string[]; error?: string }) {
  const { t } = useTranslation("services");
  const id = `setting-${serviceId}-${field.name}`;
  const name = `setting.${field.name}`;
  const described = error ? { "aria-describedby": describedBy({ id, error }), "aria-invalid": true as const } : {};
  const errorText = <FieldMessages id={id} error={error} />;
  if (field.kind === "translated") {
    return (
      <fieldset className="field">
        <legend>
          <code>{field.name}</code>
        </legend>
        {errorText}
        {cityLocales.map((locale) => (
          <div className="field" key={locale}>
            <label className="field__label" htmlFor={`${id}-${locale}`}>
              {isSupportedLocale(locale) ? LOCALE_NAMES[locale] : locale}
            </label>
            <input className="input" id={`${id}-${locale}`} name={`${name}.${locale}`} lang={locale} defaultValue={field.value[locale] ?? ""} {...described} />
          </div>
        ))}
      </fieldset>
    );
  }
  if (field.kind === "boolean") {
    return (
      <div className="checkbox">
        <input type="checkbox" id={id} name={name} defaultChecked={field.value === true} {...described} />
        <label htmlFor={id}>
          <code>{field.name}</code> · {t("yes")}
        </label>
        {errorText}
      </div>
    );
  }
  const label = (
    <label className="field__label" htmlFor={id}>
      <code>{field.name}</code>
    </label>
  );
  if (field.kind === "choice") {
    return (
      <div className="field">
        {label}
        {errorText}
        <select className="select" id={id} name={name} defaultValue={String(field.value ?? "")} {...described}>
          {field.choices.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      </div>
    );
  }
  if (field.kind === "json") {
    return (
      <div className="field">
        {label}
        {errorText}
        <textarea className="input" id={id} name={name} rows={4} defaultValue={field.value === undefined ? "" : JSON.stringify(field.value, null, 2)} {...described} />
      </div>
    );
  }
  return (
    <div className="field">
      {label}
      {errorText}
      <input
        className="input"
        id={id}
        name={name}
        type={field.kind === "number" ? "number" : field.kind === "secret" ? "password" : "text"}
        defaultValue={field.value === undefined || field.value === null ? "" : String(field.value)}
        autoComplete="off"
        {...described}
      />
    </div>
  );
}
