// The frame of every page: skip link, header in the city's colours (name and logo, language
// switcher, account), the site's navigation, the main landmark and the footer.
import { Link, NavLink } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { Account } from "~/auth/account.server";
import type { Locale } from "~/i18n/locales";
import { AccountMenu } from "./account-menu";
import { LanguageSwitcher } from "./language-switcher";

export type SiteFrameProps = {
  name: string;
  /** The language of the name when it is not the page's. */
  nameLang: string | undefined;
  homeHref: string;
  logoUrl: string | null;
  locale: Locale;
  languages: readonly Locale[];
  languageAction: string | null;
  statementHref: string | null;
  account: Account | null;
  children: ReactNode;
};

export function SiteFrame(props: SiteFrameProps) {
  const { name, nameLang, homeHref, logoUrl, locale, languages, languageAction, statementHref, account, children } = props;
  const { t } = useTranslation();
  const accountHref = account?.viewer?.kind === "user" ? account.accountHref : null;
  const consoleHref = account?.viewer ? account.consoleHref : null;
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
          <div className="site-header__tools">
            {languageAction && account && languages.length > 1 ? (
              <LanguageSwitcher action={languageAction} languages={languages} current={locale} csrf={account.csrf} />
            ) : null}
            {account ? <AccountMenu account={account} /> : null}
          </div>
        </div>
      </header>
      <nav className="site-nav" aria-label={t("layout.nav.label")}>
        <ul className="container site-nav__list">
          <li>
            <NavLink className="site-nav__link" to={homeHref} end>
              {t("layout.nav.home")}
            </NavLink>
          </li>
          {accountHref ? (
            <li>
              <NavLink className="site-nav__link" to={accountHref}>
                {t("layout.nav.account")}
              </NavLink>
            </li>
          ) : null}
          {consoleHref ? (
            <li>
              <NavLink className="site-nav__link" to={consoleHref}>
                {account?.viewer?.kind === "operator" ? t("layout.nav.platform") : t("layout.nav.admin")}
              </NavLink>
            </li>
          ) : null}
        </ul>
      </nav>
      <main id="main" className="container site-main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        <div className="container site-footer__inner">
          {statementHref ? (
            <nav aria-label={t("layout.footerNav")}>
              <ul className="site-footer__links">
                <li>
                  <Link to={statementHref}>{t("layout.statement")}</Link>
                </li>
              </ul>
            </nav>
          ) : null}
          <p className="site-footer__credit">{t("layout.footer")}</p>
        </div>
      </footer>
    </>
  );
}
