// The document every page shares: language and direction, the site's frame (skip link, header
// in the city's colours, main landmark, footer), and the 404 / 503 / error pages.
import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
  useLocation,
  useRouteLoaderData,
} from "@remix-run/react";
import { useMemo, type CSSProperties, type ReactNode } from "react";
import { I18nextProvider, useTranslation } from "react-i18next";
import { accountFor, type Account } from "~/auth/account.server";
import { CSRF_FIELD } from "~/auth/csrf";
import { createI18n } from "~/i18n/i18n";
import { PLATFORM_NAME } from "~/site";
import { siteFor } from "~/site.server";
import stylesHref from "~/styles/app.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesHref },
  // No icon yet: say so, rather than have every page view ask for /favicon.ico.
  { rel: "icon", href: "data:," },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  return { ...siteFor(request, context), ...(await accountFor(request, context)) };
}

// Error responses bring their own headers (no-store; Retry-After on a suspended city).
export const headers: HeadersFunction = ({ errorHeaders }) => errorHeaders ?? new Headers();

function statusOf(error: unknown): number {
  return isRouteErrorResponse(error) ? error.status : 500;
}

export const meta: MetaFunction<typeof loader> = ({ data, error }) => {
  const siteName = data?.name ?? PLATFORM_NAME;
  if (!error) return [{ title: siteName }];
  const { t } = createI18n(data?.locale ?? "en", data?.translations);
  const status = statusOf(error);
  const title =
    status === 404
      ? t("error.missing.title")
      : status === 403
        ? t("error.forbidden.title")
      : status === 503
        ? t("error.unavailable.title")
        : t("error.unexpected.title");
  return [{ title: `${title} – ${siteName}` }];
};

export function Layout({ children }: { children: ReactNode }) {
  // Undefined only when the root loader itself failed: the error page then falls back to English.
  const site = useRouteLoaderData<typeof loader>("root");
  const locale = site?.locale ?? "en";
  const translations = site?.translations;
  const i18n = useMemo(() => createI18n(locale, translations), [locale, translations]);
  const brand = site?.branding;
  const style = brand
    ? ({
        "--brand-primary": brand.primaryColor,
        "--brand-accent": brand.accentColor,
        "--brand-on-primary": brand.onPrimaryColor,
      } as CSSProperties)
    : undefined;

  return (
    <html lang={locale} dir={site?.dir ?? "ltr"} style={style}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {brand ? <meta name="theme-color" content={brand.primaryColor} /> : null}
        <Meta />
        <Links />
      </head>
      <body>
        <I18nextProvider i18n={i18n}>
          <SiteFrame
            name={site?.name ?? PLATFORM_NAME}
            nameLang={site && site.nameLocale !== locale ? site.nameLocale : undefined}
            homeHref={site?.homeHref ?? "/"}
            logoUrl={brand?.logoUrl ?? null}
            account={site ?? null}
          >
            {children}
          </SiteFrame>
        </I18nextProvider>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

type SiteFrameProps = {
  name: string;
  nameLang: string | undefined;
  homeHref: string;
  logoUrl: string | null;
  account: Account | null;
  children: ReactNode;
};

function AccountMenu({ account }: { account: Account }) {
  const { t } = useTranslation();
  const location = useLocation();
  if (account.viewer && account.signOutHref) {
    return (
      <div className="account">
        <span className="account__name">{t("auth.signedInAs", { name: account.viewer.name })}</span>
        <Form method="post" action={account.signOutHref} reloadDocument className="account__form">
          <input type="hidden" name={CSRF_FIELD} value={account.csrf} />
          <button type="submit" className="account__button">
            {t("auth.signOut")}
          </button>
        </Form>
      </div>
    );
  }
  if (!account.signInHref) return null;
  const returnTo = `${location.pathname}${location.search}`;
  return (
    <div className="account">
      <a className="account__link" href={`${account.signInHref}?returnTo=${encodeURIComponent(returnTo)}`}>
        {t("auth.signIn")}
      </a>
    </div>
  );
}

function SiteFrame({ name, nameLang, homeHref, logoUrl, account, children }: SiteFrameProps) {
  const { t } = useTranslation();
  return (
    <>
      <a className="skip-link" href="#main">
        {t("layout.skip")}
      </a>
      <header className="site-header">
        <div className="container site-header__inner">
          <Link className="site-header__brand" to={homeHref}>
            {/* Decorative: the name next to it says the same. */}
            {logoUrl ? <img className="site-header__logo" src={logoUrl} alt="" /> : null}
            <span lang={nameLang}>{name}</span>
          </Link>
          {account ? <AccountMenu account={account} /> : null}
        </div>
      </header>
      <main id="main" className="container site-main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        <div className="container">{t("layout.footer")}</div>
      </footer>
    </>
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
