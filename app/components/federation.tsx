// The federation consoles' shared pieces. For a city's admins: its sections as tabs, texts other
// cities wrote per language (marked with their language when it is not the page's), and the
// sharing policy's fields (who may read a dataset). For those pages and the operators' one: what
// each page repeats: its heading (with the way back), the outcome of the last change, the error
// summary, tables, summary rows, pagers and one-button forms.
import { Form, Link } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { CheckboxGroup, ConsoleNav, CsrfField, SuccessNotice, TableScroll } from "./console";
import { describedBy, ErrorSummary, FieldMessages, type FormError } from "./form";

/** A text picked from a language map; `lang` when it is not in the page's language. */
export type LocalText = { text: string; lang?: string };

export function Localized({ value }: { value: LocalText }) {
  return <span lang={value.lang}>{value.text}</span>;
}

/** Overview, components and datasets: the federation section's tabs. */
export function FederationNav({ base }: { base: string }) {
  const { t } = useTranslation("federation");
  return (
    <ConsoleNav
      label={t("city.nav")}
      links={[
        { to: base, label: t("city.overview"), end: true },
        { to: `${base}/components`, label: t("city.components") },
        { to: `${base}/datasets`, label: t("city.datasets") },
      ]}
    />
  );
}

export const SHARINGS = ["public", "federation", "cities"] as const;
export type Sharing = (typeof SHARINGS)[number];

/** The policy's words: its name and what it means. */
export function useSharingText() {
  const { t } = useTranslation("federation");
  return {
    public: { label: t("sharing.public"), hint: t("sharingHint.public") },
    federation: { label: t("sharing.federation"), hint: t("sharingHint.federation") },
    cities: { label: t("sharing.cities"), hint: t("sharingHint.cities") },
  } satisfies Record<Sharing, { label: string; hint: string }>;
}

export type RadioChoice = { value: string; label: string; hint: string };

/**
 * Radios under one legend, each with its hint; the group's hint and error belong to the group
 * (aria-describedby), which the error summary links to (its id). A choice's id is the group's
 * and its value, made safe for selectors ("reporting:stats" → "dataset-reporting-stats").
 */
export function RadioGroup({
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
  choices: readonly RadioChoice[];
  checked: string;
}) {
  return (
    <fieldset className={error ? "field field--error" : "field"} id={id} aria-describedby={describedBy({ id, hint, error })} tabIndex={-1}>
      <legend>{legend}</legend>
      <FieldMessages id={id} hint={hint} error={error} />
      {choices.map((choice) => {
        const choiceId = `${id}-${choice.value.replace(/[^a-z0-9-]/gi, "-")}`;
        return (
          <div key={choice.value} className="checkbox">
            <input type="radio" id={choiceId} name={name} value={choice.value} defaultChecked={checked === choice.value} aria-describedby={`${choiceId}-hint`} />{" "}
            <label htmlFor={choiceId}>{choice.label}</label>
            <p className="hint" id={`${choiceId}-hint`}>
              {choice.hint}
            </p>
          </div>
        );
      })}
    </fieldset>
  );
}

export type CityChoice = { uri: string; name: string; lang?: string; instance: string | null };

/**
 * Who may read a dataset: one of the three policies (radios under one legend), and the cities
 * it is shared with when named (checkboxes, grouped by instance in their labels).
 */
export function SharingFields({
  idPrefix,
  sharing,
  sharedWith,
  cities,
  errors,
}: {
  idPrefix: string;
  sharing: string;
  sharedWith: readonly string[];
  cities: readonly CityChoice[];
  errors: { sharing?: string; cities?: string };
}) {
  const { t } = useTranslation("federation");
  const text = useSharingText();
  return (
    <>
      <RadioGroup
        id={`${idPrefix}-sharing`}
        name="sharing"
        legend={t("publishDataset.sharing")}
        error={errors.sharing}
        choices={SHARINGS.map((value) => ({ value, ...text[value] }))}
        checked={sharing}
      />
      <CheckboxGroup
        id={`${idPrefix}-cities`}
        name="sharedWith"
        legend={t("publishDataset.cities")}
        hint={cities.length > 0 ? t("publishDataset.citiesHint") : t("publishDataset.noCities")}
        error={errors.cities}
        choices={cities.map((city) => ({ value: city.uri, label: city.instance ? `${city.name} (${city.instance})` : city.name, lang: city.lang }))}
        checked={sharedWith}
      />
    </>
  );
}

/** What datasets' pages say after a change (the redirect's `done`). */
export function useDatasetDoneText() {
  const { t } = useTranslation("federation");
  return {
    published: t("datasets.done.published"),
    sharing: t("datasets.done.sharing"),
    subscribed: t("datasets.done.subscribed"),
    unsubscribed: t("datasets.done.unsubscribed"),
    withdrawn: t("datasets.done.withdrawn"),
  };
}

/** The state of a city's subscription to a dataset, in words. */
export function useSubscriptionText() {
  const { t } = useTranslation("federation");
  return { pending: t("datasets.subscriptionState.pending"), active: t("datasets.subscriptionState.active"), refused: t("datasets.subscriptionState.refused") };
}

/** A page's heading: the link back to where it belongs (if any) above it, its lead paragraph under it. */
export function PageHeading({ back, lead, children }: { back?: { to: string; label: string }; lead?: ReactNode; children: ReactNode }) {
  return (
    <>
      {back ? (
        <p>
          <Link to={back.to}>{back.label}</Link>
        </p>
      ) : null}
      <h1>{children}</h1>
      {lead ? <p className="lead">{lead}</p> : null}
    </>
  );
}

/**
 * The outcome of the last change: why it was refused when the form's answer says so, else what
 * was done (`done`, from the redirect after it) unless the form was answered otherwise.
 */
export function ChangeOutcome({ answer, done }: { answer: { kind: string; error?: string } | undefined; done: string | null }) {
  const { t } = useTranslation("federation");
  if (answer?.kind === "refused" && answer.error) {
    return (
      <p className="error-summary" role="alert">
        {t(answer.error)}
      </p>
    );
  }
  if (answer || !done) return null;
  return (
    <SuccessNotice>
      <p>{done}</p>
    </SuccessNotice>
  );
}

/** The form's errors first on the page, when there are any; a new set is a new summary (focused again). */
export function FormErrorSummary({ errors }: { errors: readonly FormError[] }) {
  const { t } = useTranslation("federation");
  if (errors.length === 0) return null;
  return <ErrorSummary key={errors.map((error) => error.message).join()} title={t("errorSummary")} errors={errors} />;
}

/** A table in its own scrolling box, named by `label` (its caption too, with `caption`). */
export function DataTable({ label, caption = false, columns, children }: { label: string; caption?: boolean; columns: readonly ReactNode[]; children: ReactNode }) {
  return (
    <TableScroll label={label}>
      <table>
        {caption ? <caption>{label}</caption> : null}
        <thead>
          <tr>
            {columns.map((column, index) => (
              <th scope="col" key={index}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </TableScroll>
  );
}

/** One row of a summary list; `wrap` for long addresses and ids, which may break anywhere. */
export function SummaryRow({ term, wrap = false, children }: { term: string; wrap?: boolean; children: ReactNode }) {
  return (
    <div className="summary-list__row">
      <dt>{term}</dt>
      <dd className={wrap ? "wrap-anywhere" : undefined}>{children}</dd>
    </div>
  );
}

/** The instance something comes from, marked when it is this one. */
export function InstanceName({ uri, local }: { uri: string; local: boolean }) {
  const { t } = useTranslation("federation");
  return (
    <>
      {uri} {local ? <span className="tag">{t("thisInstance")}</span> : null}
    </>
  );
}

export type Language = { code: string; name: string };

/** Languages by their own names, each marked as in its language. */
export function LanguageList({ languages }: { languages: readonly Language[] }) {
  return (
    <>
      {languages.map((language, index) => (
        <span key={language.code}>
          {index > 0 ? ", " : null}
          <span lang={language.code}>{language.name}</span>
        </span>
      ))}
    </>
  );
}

/** A component's title, linking to its page. */
export function ComponentLink({ base, id, title }: { base: string; id: string; title: LocalText }) {
  return (
    <Link to={`${base}/components/${id}`}>
      <Localized value={title} />
    </Link>
  );
}

/** Links to the first page of a list (when not on it) and to the next one (when there is one). */
export function Pager({ next, nextLabel, first = null, firstLabel = "" }: { next: string | null; nextLabel: string; first?: string | null; firstLabel?: string }) {
  if (!first && !next) return null;
  return (
    <p className="pagination">
      {first ? <Link to={first}>{firstLabel}</Link> : null}
      {next ? <Link to={next}>{nextLabel}</Link> : null}
    </p>
  );
}

const LOOKS = { primary: "button", secondary: "button button--secondary", warning: "button button--warning" } as const;

/**
 * A form of one button posting its `intent`, with hidden `fields` naming what it acts on;
 * `inline` in a row of buttons. `about` names the thing for screen readers after the visible
 * text, which stays first in the button's name.
 */
export function IntentForm({
  intent,
  fields = {},
  look = "primary",
  inline = false,
  about,
  children,
}: {
  intent: string;
  fields?: Record<string, string>;
  look?: keyof typeof LOOKS;
  inline?: boolean;
  about?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Form method="post" className={inline ? "inline-form" : undefined}>
      <CsrfField />
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <button type="submit" name="intent" value={intent} className={LOOKS[look]}>
        {children}
        {about ? (
          <span className="visually-hidden">
            {" "}
            — {about}
          </span>
        ) : null}
      </button>
    </Form>
  );
}
