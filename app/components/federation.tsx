// The federation console's shared pieces for a city's admins: its sections as tabs, texts other
// cities wrote per language (marked with their language when it is not the page's), and the
// sharing policy's fields (who may read a dataset).
import { useTranslation } from "react-i18next";
import { CheckboxGroup, ConsoleNav } from "./console";
import { describedBy, FieldMessages } from "./form";

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
  const id = `${idPrefix}-sharing`;
  return (
    <>
      <fieldset className={errors.sharing ? "field field--error" : "field"} id={id} aria-describedby={describedBy({ id, error: errors.sharing })} tabIndex={-1}>
        <legend>{t("publishDataset.sharing")}</legend>
        <FieldMessages id={id} error={errors.sharing} />
        {SHARINGS.map((value) => (
          <div key={value} className="checkbox">
            <input type="radio" id={`${id}-${value}`} name="sharing" value={value} defaultChecked={sharing === value} aria-describedby={`${id}-${value}-hint`} />{" "}
            <label htmlFor={`${id}-${value}`}>{text[value].label}</label>
            <p className="hint" id={`${id}-${value}-hint`}>
              {text[value].hint}
            </p>
          </div>
        ))}
      </fieldset>
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
