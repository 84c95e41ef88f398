// Form building blocks with accessible errors: each field has a visible label, an optional hint
// and error tied to the control (aria-describedby, aria-invalid), and a form's errors are listed
// first in a summary linking to the fields (the GOV.UK pattern).
import { useEffect, useRef, type InputHTMLAttributes, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

type FieldText = {
  id: string;
  label: string;
  hint?: string;
  /** The message shown when the value was refused. */
  error?: string;
};

/** The ids of a field's hint and error, as its control's aria-describedby names them. */
export function describedBy({ id, hint, error }: Pick<FieldText, "id" | "hint" | "error">): string | undefined {
  return [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
}

function described(field: FieldText) {
  return { "aria-describedby": describedBy(field), "aria-invalid": field.error ? true : undefined };
}

/** A field's (or a group's) hint and error, with the ids `describedBy` names. */
export function FieldMessages({ id, hint, error }: Pick<FieldText, "id" | "hint" | "error">) {
  return (
    <>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </>
  );
}

function FieldFrame({ id, label, hint, error, children }: FieldText & { children: React.ReactNode }) {
  return (
    <div className={error ? "field field--error" : "field"}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <FieldMessages id={id} hint={hint} error={error} />
      {children}
    </div>
  );
}

export function TextField({ id, label, hint, error, ...input }: FieldText & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldFrame id={id} label={label} hint={hint} error={error}>
      <input id={id} type="text" className="input" {...described({ id, label, hint, error })} {...input} />
    </FieldFrame>
  );
}

export function TextAreaField({ id, label, hint, error, ...textarea }: FieldText & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <FieldFrame id={id} label={label} hint={hint} error={error}>
      <textarea id={id} {...described({ id, label, hint, error })} {...textarea} />
    </FieldFrame>
  );
}

export type SelectOption = { value: string; label: string; lang?: string };

export function SelectField({
  id,
  label,
  hint,
  error,
  options,
  ...select
}: FieldText & { options: readonly SelectOption[] } & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame id={id} label={label} hint={hint} error={error}>
      <select id={id} className="select" {...described({ id, label, hint, error })} {...select}>
        {options.map((option) => (
          <option key={option.value} value={option.value} lang={option.lang}>
            {option.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

export type FormError = { fieldId: string; message: string };

/** The form's errors, first on the page: focused when it appears, each linking to its field. */
export function ErrorSummary({ title, errors }: { title: string; errors: readonly FormError[] }) {
  const summary = useRef<HTMLDivElement>(null);
  useEffect(() => {
    summary.current?.focus();
  }, []);
  return (
    <div className="error-summary" role="alert" aria-labelledby="error-summary-title" tabIndex={-1} ref={summary}>
      <h2 className="error-summary__title" id="error-summary-title">
        {title}
      </h2>
      <ul className="error-summary__list">
        {errors.map((error) => (
          <li key={error.fieldId}>
            <a href={`#${error.fieldId}`}>{error.message}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}
