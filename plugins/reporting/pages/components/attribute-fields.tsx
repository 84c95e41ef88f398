// A category's own questions (Open311 attributes) as form fields, one per datatype: a line of
// text, a number, a date and time, a paragraph, one choice (radios) or several (checkboxes).
// Information-only attributes are shown as text. Each is labelled, its hint and error tied to it.
import { useTranslation } from "react-i18next";
import type { LocalText } from "./format";

export type AttributeFieldView = {
  code: string;
  datatype: "string" | "number" | "datetime" | "text" | "singlevaluelist" | "multivaluelist";
  required: boolean;
  variable: boolean;
  label: LocalText;
  hint: LocalText | null;
  choices: { key: string; label: LocalText }[];
};

export const attributeFieldId = (code: string) => `attribute-${code}`;

function Label({ text, required }: { text: LocalText; required: boolean }) {
  const { t } = useTranslation("reporting");
  return (
    <>
      <span lang={text.lang}>{text.text}</span>
      {required ? null : ` ${t("form.optional")}`}
    </>
  );
}

export function AttributeFields({
  fields,
  values,
  errors,
}: {
  fields: readonly AttributeFieldView[];
  values: Record<string, string[]>;
  errors: Record<string, string | undefined>;
}) {
  const { t } = useTranslation("reporting");
  if (fields.length === 0) return null;
  return (
    <fieldset className="fieldset">
      <legend>{t("form.details")}</legend>
      {fields.map((field) => {
        const id = attributeFieldId(field.code);
        const name = `attribute.${field.code}`;
        const error = errors[`attribute.${field.code}`];
        const given = values[field.code] ?? [];
        const hintId = field.hint ? `${id}-hint` : null;
        const errorId = error ? `${id}-error` : null;
        const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
        const hint = field.hint ? (
          <p className="hint" id={`${id}-hint`} lang={field.hint.lang}>
            {field.hint.text}
          </p>
        ) : null;
        const message = error ? (
          <p className="field-error" id={`${id}-error`}>
            {error}
          </p>
        ) : null;
        if (!field.variable) {
          return (
            <div key={field.code} className="notice">
              <p lang={field.label.lang}>{field.label.text}</p>
              {field.hint ? <p lang={field.hint.lang}>{field.hint.text}</p> : null}
            </div>
          );
        }
        if (field.datatype === "singlevaluelist" || field.datatype === "multivaluelist") {
          const multiple = field.datatype === "multivaluelist";
          return (
            // The group's first control carries the id the error summary links to.
            <fieldset key={field.code} className={error ? "field field--error" : "field"} aria-describedby={describedBy}>
              <legend>
                <Label text={field.label} required={field.required} />
              </legend>
              {hint}
              {message}
              {field.choices.map((choice, index) => (
                <label key={choice.key} className="choice">
                  <input
                    id={index === 0 ? id : undefined}
                    type={multiple ? "checkbox" : "radio"}
                    name={name}
                    value={choice.key}
                    defaultChecked={given.includes(choice.key)}
                    aria-invalid={error ? true : undefined}
                  />
                  <span className="choice__text" lang={choice.label.lang}>
                    {choice.label.text}
                  </span>
                </label>
              ))}
            </fieldset>
          );
        }
        const common = {
          id,
          name,
          defaultValue: given[0] ?? "",
          "aria-describedby": describedBy,
          "aria-invalid": error ? true : undefined,
        } as const;
        return (
          <div key={field.code} className={error ? "field field--error" : "field"}>
            <label className="field__label" htmlFor={id}>
              <Label text={field.label} required={field.required} />
            </label>
            {hint}
            {message}
            {field.datatype === "text" ? (
              <textarea {...common} rows={4} maxLength={4000} />
            ) : field.datatype === "number" ? (
              <input {...common} type="text" inputMode="decimal" className="input" />
            ) : field.datatype === "datetime" ? (
              <input {...common} type="datetime-local" />
            ) : (
              <input {...common} type="text" className="input" maxLength={500} />
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
