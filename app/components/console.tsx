// Pieces the consoles share: groups of checkboxes with their error tied to the group, the
// "saved" notice, the CSRF field and tables that scroll inside their own box on small screens.
import { useRouteLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
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
