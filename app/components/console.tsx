// Pieces the consoles share: groups of checkboxes with their error tied to the group, the
// "saved" notice, the CSRF field, tables that scroll inside their own box on small screens and
// the platform console's navigation.
import { NavLink, useRouteLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { CSRF_FIELD } from "~/auth/csrf";
import { describedBy, FieldMessages } from "./form";
import type { loader as rootLoader } from "~/root";

/** The hidden CSRF field every state-changing form carries. */
export function CsrfField() {
  const root = useRouteLoaderData<typeof rootLoader>("root");
  return <input type="hidden" name={CSRF_FIELD} value={root?.csrf ?? ""} />;
}

export type Choice = { value: string; label: string; lang?: string };

/** Checkboxes under one legend; the hint and error belong to the group (aria-describedby). */
export function CheckboxGroup({
  id,
  name,
  legend,
  hint,
  error,
  choices,
  checked,
}: {
  id: string;
  name: string;
  legend: string;
  hint?: string;
  error?: string;
  choices: readonly Choice[];
  checked: readonly string[];
}) {
  return (
    <fieldset className={error ? "field field--error" : "field"} id={id} aria-describedby={describedBy({ id, hint, error })} tabIndex={-1}>
      <legend>{legend}</legend>
      <FieldMessages id={id} hint={hint} error={error} />
      <div className="checkbox-grid">
        {choices.map((choice) => (
          <label key={choice.value} className="checkbox">
            <input type="checkbox" name={name} value={choice.value} defaultChecked={checked.includes(choice.value)} />{" "}
            <span lang={choice.lang}>{choice.label}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** A status message after a change (announced politely). */
export function SuccessNotice({ children }: { children: ReactNode }) {
  return (
    <div className="notice notice--success" role="status">
      {children}
    </div>
  );
}

/** A table that scrolls sideways in its own box (focusable, so keyboards can scroll it too). */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** The platform console's sections, at the top of each of its pages (the current one marked). */
export function PlatformNav() {
  const { t } = useTranslation("platform");
  return (
    <ConsoleNav
      label={t("nav.label")}
      links={[
        { to: "/platform", label: t("nav.cities"), end: true },
        { to: "/platform/federation", label: t("nav.federation") },
      ]}
    />
  );
}

/** A console's own sections as tabs inside the page (the current one marked with aria-current). */
export function ConsoleNav({ label, links }: { label: string; links: readonly { to: string; label: string; end?: boolean }[] }) {
  return (
    <nav className="console-nav" aria-label={label}>
      <ul className="site-nav__list">
        {links.map((link) => (
          <li key={link.to}>
            <NavLink className="site-nav__link" to={link.to} end={link.end}>
              {link.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
