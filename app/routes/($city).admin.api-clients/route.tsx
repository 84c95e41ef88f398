// /admin/api-clients: a city admin creates and revokes the city's API clients (client
// credentials for integrations). The secret is shown once, right after creation.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { createApiClient, listApiClients, revokeApiClient } from "~/auth/api-clients.server";
import { CSRF_FIELD } from "~/auth/csrf";
import { readCheckedForm } from "~/auth/csrf.server";
import { requireCityConsole } from "~/auth/console.server";
import { ValidationFailed } from "~/auth/errors";
import { identity } from "~/identity/identity.server";
import type { loader as rootLoader } from "~/root";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

async function adminOf(request: Request, args: Pick<LoaderFunctionArgs, "context" | "params">) {
  return requireCityConsole({ request, context: args.context, params: args.params }, "api_clients.manage");
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { principal, tenantId } = await adminOf(request, { context, params });
  const clients = await listApiClients(principal, { tenantId });
  const locale = await pageLocale(request, context);
  return json(
    {
      title: `${translator(locale)("apiClients.title")} – ${siteName(context, locale).text}`,
      locale,
      clients: clients.map((client) => ({
        id: client.id,
        name: client.name,
        clientId: client.clientId,
        scopes: client.scopes,
        createdAt: client.createdAt.toISOString(),
        revokedAt: client.revokedAt ? client.revokedAt.toISOString() : null,
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

type ActionResult =
  | { kind: "created"; name: string; clientId: string; clientSecret: string }
  | { kind: "revoked"; name: string }
  | { kind: "invalid"; fields: Record<string, string>; values: { name: string; scopes: string[] } };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { principal, tenantId } = await adminOf(request, { context, params });
  const form = await readCheckedForm(request);
  const deps = { backend: identity().backend, verifier: identity().verifier, requestId: context.requestId, tenantId };
  const intent = form.get("intent");
  const noStore = { headers: { "Cache-Control": "no-store" } };
  if (intent === "revoke") {
    const id = String(form.get("id") ?? "");
    const revoked = await revokeApiClient(principal, id, deps);
    if (!revoked) throw notFound();
    return json<ActionResult>({ kind: "revoked", name: revoked.name }, noStore);
  }
  if (intent !== "create") return json({ error: "unknown intent" }, { status: 400 });
  const name = String(form.get("name") ?? "");
  const scopes = form.getAll("scopes").map(String);
  try {
    const created = await createApiClient(principal, { name, scopes }, deps);
    return json<ActionResult>({ kind: "created", name: name.trim(), clientId: created.clientId, clientSecret: created.clientSecret }, noStore);
  } catch (error) {
    if (error instanceof ValidationFailed) {
      const fields = Object.fromEntries(Object.entries(error.fields).map(([field, messages]) => [field, messages[0] ?? ""]));
      return json<ActionResult>({ kind: "invalid", fields, values: { name, scopes } }, { status: 400, ...noStore });
    }
    throw error;
  }
}

export const meta: MetaFunction<typeof loader> = ({ data }) => [...(data ? [{ title: data.title }] : []), { name: "robots", content: "noindex" }];

export default function ApiClientsPage() {
  const { clients, locale } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ActionResult | undefined;
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const { t } = useTranslation();
  const csrf = <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />;
  const invalid = result?.kind === "invalid" ? result : null;
  const date = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  return (
    <div className="prose">
      <h1>{t("apiClients.title")}</h1>
      <p className="lead">{t("apiClients.intro")}</p>

      {result?.kind === "created" ? (
        <div className="notice" role="status">
          <p>{t("apiClients.created")}</p>
          <dl className="facts">
            <dt>{t("apiClients.clientId")}</dt>
            <dd>
              <code data-testid="created-client-id">{result.clientId}</code>
            </dd>
            <dt>{t("apiClients.clientSecret")}</dt>
            <dd>
              <code data-testid="created-client-secret">{result.clientSecret}</code>
            </dd>
          </dl>
        </div>
      ) : null}
      {result?.kind === "revoked" ? (
        <p className="notice" role="status">
          {t("apiClients.revoked", { name: result.name })}
        </p>
      ) : null}

      <h2>{t("apiClients.listHeading")}</h2>
      {clients.length === 0 ? (
        <p>{t("apiClients.none")}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("apiClients.name")}</th>
              <th scope="col">{t("apiClients.clientId")}</th>
              <th scope="col">{t("apiClients.scopes")}</th>
              <th scope="col">{t("apiClients.createdAt")}</th>
              <th scope="col">{t("apiClients.status")}</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((client) => (
              <tr key={client.id}>
                <td>{client.name}</td>
                <td>
                  <code>{client.clientId}</code>
                </td>
                <td>{client.scopes.map((scope) => t(scope === "write" ? "apiClients.scopeWrite" : "apiClients.scopeRead")).join(", ")}</td>
                <td>{date.format(new Date(client.createdAt))}</td>
                <td>
                  {client.revokedAt ? (
                    t("apiClients.revokedOn", { date: date.format(new Date(client.revokedAt)) })
                  ) : (
                    <Form method="post" className="inline-form">
                      {csrf}
                      <input type="hidden" name="intent" value="revoke" />
                      <input type="hidden" name="id" value={client.id} />
                      <span>{t("apiClients.active")}</span>{" "}
                      <button type="submit" className="button button--secondary" aria-label={t("apiClients.revokeNamed", { name: client.name })}>
                        {t("apiClients.revoke")}
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>{t("apiClients.createHeading")}</h2>
      {invalid ? (
        <p role="alert" className="error-summary">
          {t("apiClients.invalid")}
        </p>
      ) : null}
      <Form method="post" noValidate>
        {csrf}
        <input type="hidden" name="intent" value="create" />
        <div className="field">
          <label htmlFor="client-name">{t("apiClients.name")}</label>
          <p className="hint" id="client-name-hint">
            {t("apiClients.nameHint")}
          </p>
          {invalid?.fields.name ? (
            <p className="field-error" id="client-name-error">
              {invalid.fields.name}
            </p>
          ) : null}
          <input
            id="client-name"
            name="name"
            type="text"
            maxLength={100}
            required
            defaultValue={invalid?.values.name ?? ""}
            aria-invalid={invalid?.fields.name ? true : undefined}
            aria-describedby={invalid?.fields.name ? "client-name-hint client-name-error" : "client-name-hint"}
          />
        </div>
        <fieldset className="field" aria-describedby={invalid?.fields.scopes ? "client-scopes-error" : undefined}>
          <legend>{t("apiClients.scopes")}</legend>
          {invalid?.fields.scopes ? (
            <p className="field-error" id="client-scopes-error">
              {invalid.fields.scopes}
            </p>
          ) : null}
          {(["read", "write"] as const).map((scope) => (
            <label key={scope} className="checkbox">
              <input type="checkbox" name="scopes" value={scope} defaultChecked={invalid ? invalid.values.scopes.includes(scope) : scope === "read"} />{" "}
              {t(scope === "write" ? "apiClients.scopeWrite" : "apiClients.scopeRead")}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="button">
          {t("apiClients.create")}
        </button>
      </Form>
    </div>
  );
}
