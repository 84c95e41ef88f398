// /developer (and /{slug}/developer): a city's page for developers. It shows who is signed in
// and gets a token for the API in the browser with keycloak-js, unchanged, against the city's
// realm (the embedded provider or a real Keycloak): the public client civitas-js, code + PKCE.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { sessionOf } from "~/auth/account.server";
import { webScope } from "~/auth/sign-in.server";
import { identity } from "~/identity/identity.server";
import { AUTH_PATHS, BROWSER_CLIENT_ID } from "~/identity/realm";
import { pageLocale } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const scope = webScope(context, params);
  if (scope.kind !== "city") throw notFound();
  const session = await sessionOf(request, context);
  const issuer = identity().backend.issuer(scope.realm);
  const origin = new URL(request.url).origin;
  return json(
    {
      signedInAs: session ? (session.verified.username ?? session.verified.subject) : null,
      keycloak: {
        // keycloak-js wants the server's base URL and the realm, and builds Keycloak's paths itself.
        url: issuer.slice(0, issuer.lastIndexOf(`/realms/${scope.realm}`)),
        realm: scope.realm,
        clientId: BROWSER_CLIENT_ID,
      },
      redirectUri: `${origin}${scope.basePath}${AUTH_PATHS.developer}`,
      apiUrl: `${scope.basePath}/api/me`,
      locale: await pageLocale(request, context),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export const meta: MetaFunction = () => [{ name: "robots", content: "noindex" }];

type KeycloakInstance = import("keycloak-js").default;
type Status = "loading" | "signed-out" | "signed-in" | "error";

export default function DeveloperPage() {
  const data = useLoaderData<typeof loader>();
  const { t } = useTranslation();
  const keycloak = useRef<KeycloakInstance | null>(null);
  const [status, setStatus] = useState<Status>("loading");
  const [token, setToken] = useState<string | null>(null);
  const [claims, setClaims] = useState<Record<string, unknown> | null>(null);
  const [apiAnswer, setApiAnswer] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      // Loaded in the browser only: keycloak-js needs window and Web Crypto.
      const { default: Keycloak } = await import("keycloak-js");
      const kc = new Keycloak(data.keycloak);
      keycloak.current = kc;
      const authenticated = await kc.init({
        pkceMethod: "S256",
        checkLoginIframe: false,
        redirectUri: data.redirectUri,
        responseMode: "fragment",
      });
      if (cancelled) return;
      if (authenticated && kc.token) {
        setToken(kc.token);
        setClaims((kc.tokenParsed as Record<string, unknown> | undefined) ?? null);
        setStatus("signed-in");
      } else {
        setStatus("signed-out");
      }
    })().catch((error: unknown) => {
      console.error("keycloak-js:", error);
      if (!cancelled) setStatus("error");
    });
    return () => {
      cancelled = true;
    };
  }, [data.keycloak, data.redirectUri]);

  async function callApi() {
    const kc = keycloak.current;
    if (!kc) return;
    await kc.updateToken(30).catch(() => undefined);
    const response = await fetch(data.apiUrl, { headers: { Authorization: `Bearer ${kc.token ?? ""}` } });
    setApiAnswer(`${response.status} ${JSON.stringify(await response.json(), null, 2)}`);
  }

  const roles = (claims?.realm_access as { roles?: string[] } | undefined)?.roles ?? [];
  return (
    <div className="prose">
      <h1>{t("developer.title")}</h1>
      <p className="lead">{t("developer.intro")}</p>
      <p>{data.signedInAs ? t("developer.sessionUser", { name: data.signedInAs }) : t("developer.sessionNone")}</p>
      <noscript>
        <p>{t("developer.needsScript")}</p>
      </noscript>
      <section aria-labelledby="developer-token" aria-live="polite" aria-busy={status === "loading"}>
        <h2 id="developer-token">{t("developer.tokenHeading")}</h2>
        {status === "error" ? <p role="alert">{t("developer.error")}</p> : null}
        {status === "signed-out" ? (
          <button type="button" className="button" onClick={() => void keycloak.current?.login({ redirectUri: data.redirectUri, locale: data.locale })}>
            {t("developer.getToken")}
          </button>
        ) : null}
        {status === "signed-in" && token ? (
          <>
            <dl className="facts" data-testid="token-facts">
              <dt>{t("developer.username")}</dt>
              <dd data-testid="token-username">{String(claims?.preferred_username ?? "")}</dd>
              <dt>{t("developer.roles")}</dt>
              <dd>{roles.join(", ") || "–"}</dd>
              <dt>{t("developer.expires")}</dt>
              <dd>{typeof claims?.exp === "number" ? new Date(claims.exp * 1000).toLocaleTimeString(data.locale) : "–"}</dd>
            </dl>
            <label htmlFor="developer-access-token">{t("developer.accessToken")}</label>
            <textarea id="developer-access-token" readOnly rows={6} value={token} className="token" />
            <p>{t("developer.example")}</p>
            <pre>
              <code>{`curl -H "Authorization: Bearer $TOKEN" ${typeof window === "undefined" ? "" : window.location.origin}${data.apiUrl}`}</code>
            </pre>
            <p>
              <button type="button" className="button" onClick={() => void callApi()}>
                {t("developer.callApi")}
              </button>{" "}
              <button type="button" className="button button--secondary" onClick={() => void keycloak.current?.logout({ redirectUri: data.redirectUri })}>
                {t("developer.forget")}
              </button>
            </p>
            {apiAnswer ? (
              <pre data-testid="api-answer">
                <code>{apiAnswer}</code>
              </pre>
            ) : null}
          </>
        ) : null}
      </section>
    </div>
  );
}
