// The fields of a category, shared by "new category" and "edit category": texts per language,
// keywords, order, and (when editing) its questions, each a group of fields, plus an empty one.
import { useTranslation } from "react-i18next";
import { FieldMessages } from "../../../../app/components/form";

export type Language = { code: string; name: string };

const DATATYPE_KEYS: Record<string, string> = {
  string: "reporting:staff.datatype.string",
  number: "reporting:staff.datatype.number",
  datetime: "reporting:staff.datatype.datetime",
  text: "reporting:staff.datatype.text",
  singlevaluelist: "reporting:staff.datatype.singlevaluelist",
  multivaluelist: "reporting:staff.datatype.multivaluelist",
};

/** Where the error summary sends each refused field of a category. */
export const CATEGORY_FIELD_IDS: Record<string, string> = { code: "code", names: "name", descriptions: "description", groupNames: "group", keywords: "keywords", position: "position", attributes: "attributes" };

type Props = {
  languages: readonly Language[];
  values: Record<string, string>;
  errors: Record<string, string | undefined>;
};

const describedBy = (id: string, hint?: string, error?: string) => [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;

/** One text per language, in a group with its own legend and error. */
export function TranslatedFields({
  id,
  name,
  legend,
  languages,
  values,
  error,
  multiline = false,
  hint,
}: {
  id: string;
  name: string;
  legend: string;
  languages: readonly Language[];
  values: Record<string, string>;
  error?: string;
  multiline?: boolean;
  hint?: string;
}) {
  return (
    <fieldset className={error ? "field field--error" : "field"} aria-describedby={describedBy(id, hint, error)}>
      <legend>{legend}</legend>
      <FieldMessages id={id} hint={hint} error={error} />
      {languages.map((language, index) => {
        const fieldId = index === 0 ? id : `${id}-${language.code}`;
        return (
          <div key={language.code} className="field">
            <label className="field__label" htmlFor={fieldId}>
              {language.name}
            </label>
            {multiline ? (
              <textarea id={fieldId} name={`${name}.${language.code}`} lang={language.code} rows={3} maxLength={2000} defaultValue={values[`${name}.${language.code}`] ?? ""} aria-invalid={error ? true : undefined} />
            ) : (
              <input id={fieldId} name={`${name}.${language.code}`} lang={language.code} type="text" className="input" maxLength={500} defaultValue={values[`${name}.${language.code}`] ?? ""} aria-invalid={error ? true : undefined} />
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

export function CategoryFields({ languages, values, errors }: Props) {
  const { t } = useTranslation("reporting");
  return (
    <>
      <TranslatedFields id="name" name="name" legend={t("staff.category.names")} hint={t("staff.category.namesHint")} languages={languages} values={values} error={errors.names} />
      <TranslatedFields id="description" name="description" legend={t("staff.category.descriptions")} languages={languages} values={values} error={errors.descriptions} multiline />
      <TranslatedFields id="group" name="group" legend={t("staff.category.groups")} hint={t("staff.category.groupsHint")} languages={languages} values={values} error={errors.groupNames} />
      <div className={errors.keywords ? "field field--error" : "field"}>
        <label className="field__label" htmlFor="keywords">
          {t("staff.category.keywords")}
        </label>
        <FieldMessages id="keywords" hint={t("staff.category.keywordsHint")} error={errors.keywords} />
        <input id="keywords" name="keywords" type="text" className="input" defaultValue={values.keywords ?? ""} aria-describedby={describedBy("keywords", "hint", errors.keywords)} aria-invalid={errors.keywords ? true : undefined} />
      </div>
      <div className={errors.position ? "field field--error" : "field"}>
        <label className="field__label" htmlFor="position">
          {t("staff.category.position")}
        </label>
        <FieldMessages id="position" hint={t("staff.category.positionHint")} error={errors.position} />
        <input id="position" name="position" type="number" min={0} max={10000} step={1} defaultValue={values.position ?? "0"} aria-describedby={describedBy("position", "hint", errors.position)} aria-invalid={errors.position ? true : undefined} />
      </div>
    </>
  );
}

/** The category's questions: one group per attribute, and an empty one to add another. */
export function AttributeEditor({
  count,
  languages,
  datatypes,
  values,
  error,
}: {
  count: number;
  languages: readonly Language[];
  datatypes: readonly string[];
  values: Record<string, string>;
  error?: string;
}) {
  const { t } = useTranslation("reporting");
  return (
    <section aria-labelledby="attributes-heading" className="attribute-editor">
      <h2 id="attributes-heading">{t("staff.category.attributes")}</h2>
      <p className="hint">{t("staff.category.attributesHint")}</p>
      {error ? (
        <p className="field-error" id="attributes-error">
          {error}
        </p>
      ) : null}
      {Array.from({ length: count + 1 }, (_, index) => {
        const prefix = `attr.${index}`;
        const id = `attr-${index}`;
        const existing = index < count && Boolean(values[`${prefix}.code`]);
        const legend = existing ? t("staff.category.attribute", { code: values[`${prefix}.code`] }) : t("staff.category.newAttribute");
        return (
          <fieldset key={index} className="fieldset">
            <legend>{legend}</legend>
            <div className="field">
              <label className="field__label" htmlFor={index === 0 ? "attributes" : `${id}-code`}>
                {t("staff.category.attributeCode")}
              </label>
              <p className="hint" id={`${id}-code-hint`}>
                {t("staff.category.attributeCodeHint")}
              </p>
              <input
                id={index === 0 ? "attributes" : `${id}-code`}
                name={`${prefix}.code`}
                type="text"
                className="input"
                dir="ltr"
                spellCheck={false}
                maxLength={64}
                defaultValue={values[`${prefix}.code`] ?? ""}
                aria-describedby={`${id}-code-hint`}
              />
            </div>
            <div className="field">
              <label className="field__label" htmlFor={`${id}-datatype`}>
                {t("staff.category.datatype")}
              </label>
              <select id={`${id}-datatype`} name={`${prefix}.datatype`} className="select" defaultValue={values[`${prefix}.datatype`] ?? "string"}>
                {datatypes.map((datatype) => (
                  <option key={datatype} value={datatype}>
                    {t(DATATYPE_KEYS[datatype] ?? "staff.datatype.string")}
                  </option>
                ))}
              </select>
            </div>
            <label className="choice">
              <input type="checkbox" name={`${prefix}.required`} value="1" defaultChecked={values[`${prefix}.required`] === "1"} />
              <span className="choice__text">{t("staff.category.required")}</span>
            </label>
            <label className="choice">
              <input type="checkbox" name={`${prefix}.info`} value="1" defaultChecked={values[`${prefix}.info`] === "1"} />
              <span className="choice__text">{t("staff.category.informationOnly")}</span>
            </label>
            <div className="field">
              <label className="field__label" htmlFor={`${id}-order`}>
                {t("staff.category.order")}
              </label>
              <input id={`${id}-order`} name={`${prefix}.order`} type="number" min={1} max={1000} step={1} defaultValue={values[`${prefix}.order`] ?? ""} />
            </div>
            <TranslatedFields id={`${id}-label`} name={`${prefix}.label`} legend={t("staff.category.attributeLabel")} languages={languages} values={values} />
            <TranslatedFields id={`${id}-hint`} name={`${prefix}.hint`} legend={t("staff.category.attributeHint")} languages={languages} values={values} />
            <TranslatedFields
              id={`${id}-choices`}
              name={`${prefix}.choices`}
              legend={t("staff.category.choices")}
              hint={t("staff.category.choicesHint")}
              languages={languages}
              values={values}
              multiline
            />
            {existing ? (
              <label className="choice">
                <input type="checkbox" name={`${prefix}.remove`} value="1" />
                <span className="choice__text">{t("staff.category.remove")}</span>
              </label>
            ) : null}
          </fieldset>
        );
      })}
    </section>
  );
}
