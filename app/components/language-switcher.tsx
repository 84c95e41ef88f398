// The language switcher of every page: a plain form, so it works without JavaScript too. The
// server remembers the choice (cookie, and the profile when signed in) and sends the browser
// back to the page it was on.
import { Form, useLocation } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "~/auth/csrf";
import { LOCALE_NAMES, type Locale } from "~/i18n/locales";

type LanguageSwitcherProps = {
  action: string;
  languages: readonly Locale[];
  current: Locale;
  csrf: string;
};

export function LanguageSwitcher({ action, languages, current, csrf }: LanguageSwitcherProps) {
  const { t } = useTranslation();
  const location = useLocation();
  return (
    <Form method="post" action={action} className="language-switcher">
      <input type="hidden" name={CSRF_FIELD} value={csrf} />
      <input type="hidden" name="returnTo" value={`${location.pathname}${location.search}`} />
      <label htmlFor="language-switcher" className="language-switcher__label">
        <GlobeIcon />
        {t("layout.language.label")}
      </label>
      {/* Keyed by the language: after a switch it shows the new one, not the old selection. */}
      <select id="language-switcher" name="lng" defaultValue={current} key={current} className="language-switcher__select">
        {languages.map((code) => (
          // Each language named in itself, marked as such for screen readers.
          <option key={code} value={code} lang={code}>
            {LOCALE_NAMES[code]}
          </option>
        ))}
      </select>
      <button type="submit" className="language-switcher__button">
        {t("layout.language.submit")}
      </button>
    </Form>
  );
}

/** A language symbol recognisable whatever language the page is in; the label says it in words. */
function GlobeIcon() {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
        d="M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Zm0 0c2.5 2.4 3.8 5.4 3.8 9s-1.3 6.6-3.8 9m0-18C9.5 5.4 8.2 8.4 8.2 12s1.3 6.6 3.8 9M3.5 9h17M3.5 15h17"
      />
    </svg>
  );
}
