// The document every page shares: language and direction, the site's frame (skip link, header
// in the city's colours, navigation, main landmark, footer), the page's translations for the
// browser, and the 404 / 403 / 503 / error pages.
import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import { useState, type CSSProperties, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useChangeLanguage } from "remix-i18next/react";
import { accountFor } from "~/auth/account.server";
import { SiteFrame } from "~/components/site-frame";
import { payloadJson, TRANSLATIONS_ELEMENT_ID } from "~/i18n/i18n";
import { isSupportedLocale, textDirection } from "~/i18n/locales";
import { TRANSLATIONS_VERSION } from "~/i18n/resources.server";
import { PLATFORM_NAME } from "~/site";
import { siteFor } from "~/site.server";
import stylesHref from "~/styles/app.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesHref },
  // No icon yet: say so, rather than have every page view ask for /favicon.ico.
  { rel: "icon", href: "data:," },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const [site, account] = await Promise.all([siteFor(request, context), accountFor(request, context)]);
  return { ...site, ...account, translationsVersion: TRANSLATIONS_VERSION };
}

// Error responses bring their own headers (no-store; Retry-After on a suspended city).
export const headers: HeadersFunction = ({ errorHeaders }) => errorHeaders ?? new Headers();

function statusOf(error: unknown): number {
  return isRouteErrorResponse(error) ? error.status : 500;
}

export const meta: MetaFunction<typeof loader> = ({ data, error }) => {
  const siteName = data?.name ?? PLATFORM_NAME;
  // Without the root's data (its loader failed) there is no language to title an error in.
  if (!error || !data) return [{ title: siteName }];
  const titles = data.errorTitles;
  const status = statusOf(error);
  const title =
    status === 404 ? titles.missing : status === 403 ? titles.forbidden : status === 503 ? titles.unavailable : titles.unexpected;
  return [{ title: `${title} – ${siteName}` }];
};

/** The page's translations, for the browser to hydrate with (written once, by the server). */
function TranslationsScript({ version }: { version: string }) {
  const { i18n } = useTranslation();
  const [json] = useState(() =>
    payloadJson({ locale: i18n.language, version, resources: { [i18n.language]: i18n.store.data[i18n.language] ?? {} } }),
  );
  return <script id={TRANSLATIONS_ELEMENT_ID} type="application/json" suppressHydrationWarning dangerouslySetInnerHTML={{ __html: json }} />;
}

export function Layout({ children }: { children: ReactNode }) {
  // Undefined only when the root loader itself failed: the error page then keeps the language
  // the server rendered with.
  const site = useRouteLoaderData<typeof loader>("root");
  const { i18n } = useTranslation();
  const locale = site?.locale ?? (isSupportedLocale(i18n.language) ? i18n.language : "en");
  // After a language switch in the browser, the root's data says the new language: follow it.
  useChangeLanguage(locale);
  const brand = site?.branding;
  const style = brand
    ? ({
        "--brand-primary": brand.primaryColor,
        "--brand-accent": brand.accentColor,
        "--brand-on-primary": brand.onPrimaryColor,
      } as CSSProperties)
    : undefined;

  return (
    <html lang={locale} dir={site?.dir ?? textDirection(locale)} style={style}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {brand ? <meta name="theme-color" content={brand.primaryColor} /> : null}
        <Meta />
        <Links />
      </head>
      <body>
        <SiteFrame
          name={site?.name ?? PLATFORM_NAME}
          nameLang={site && site.nameLocale !== locale ? site.nameLocale || undefined : undefined}
          homeHref={site?.homeHref ?? "/"}
          logoUrl={brand?.logoUrl ?? null}
          locale={locale}
          languages={site?.languages ?? []}
          languageAction={site?.languageAction ?? null}
          statementHref={site?.statementHref ?? null}
          account={site ?? null}
        >
          {children}
        </SiteFrame>
        <TranslationsScript version={site?.translationsVersion ?? ""} />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const site = useRouteLoaderData<typeof loader>("root");
  const { t } = useTranslation();
  const status = statusOf(error);

  if (status === 404) {
    return (
      <div className="prose">
        <h1>{t("error.missing.title")}</h1>
        <p>{t("error.missing.body")}</p>
        <p>
          <Link to={site?.homeHref ?? "/"}>{t("error.missing.home")}</Link>
        </p>
      </div>
    );
  }
  if (status === 403) {
    return (
      <div className="prose">
        <h1>{t("error.forbidden.title")}</h1>
        <p>{t("error.forbidden.body")}</p>
        <p>
          <Link to={site?.homeHref ?? "/"}>{t("error.missing.home")}</Link>
        </p>
      </div>
    );
  }
  if (status === 503) {
    return (
      <div className="prose">
        <h1>{t("error.unavailable.title")}</h1>
        <p>{t("error.unavailable.body", { city: site?.name ?? PLATFORM_NAME })}</p>
      </div>
    );
  }
  return (
    <div className="prose">
      <h1>{t("error.unexpected.title")}</h1>
      <p>{t("error.unexpected.body")}</p>
      {site ? <p className="reference">{t("error.unexpected.reference", { reference: site.requestId })}</p> : null}
    </div>
  );
}
