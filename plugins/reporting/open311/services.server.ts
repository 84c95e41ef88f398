// The city's categories as Open311 services and service definitions, in the language the client
// asked for (Accept-Language, within the city's languages; the city's default otherwise).
import { pickTranslation } from "../../../app/i18n/translated";
import type { CategoryAttribute, ServiceCategory, Translated } from "../categories.server";
import type { Element } from "./format.server";

export type Language = { locale: string; cityDefault: string };

export function translate(text: Translated, { locale, cityDefault }: Language): string | null {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(text)) if (typeof value === "string") clean[key] = value;
  return pickTranslation(clean, locale, cityDefault)?.text ?? null;
}

/** One `service` of GET services, in the spec's element order. */
export function serviceElement(category: ServiceCategory, language: Language): Element {
  return {
    service_code: category.code,
    service_name: translate(category.names, language) ?? category.code,
    description: translate(category.descriptions, language),
    // Any attribute, information-only ones included, is worth the definition call.
    metadata: category.attributes.length > 0,
    // Civitas stores a request as it is posted: the id comes back at once.
    type: "realtime",
    keywords: category.keywords.length > 0 ? category.keywords.join(", ") : null,
    group: translate(category.groupNames, language),
  };
}

const isList = (attribute: CategoryAttribute) => attribute.datatype === "singlevaluelist" || attribute.datatype === "multivaluelist";

/** GET services/{code}: the `service_definition`. */
export function serviceDefinition(category: ServiceCategory, language: Language): Element {
  return {
    service_code: category.code,
    attributes: category.attributes.map((attribute) => ({
      variable: attribute.variable,
      code: attribute.code,
      datatype: attribute.datatype,
      required: attribute.required,
      datatype_description: translate(attribute.datatypeDescription, language),
      order: attribute.order,
      description: translate(attribute.description, language) ?? attribute.code,
      ...(isList(attribute) && {
        values: attribute.values.map((value) => ({ key: value.key, name: translate(value.name, language) ?? value.key })),
      }),
    })),
  };
}

/** The XML names of the definition's repeated elements. */
export const DEFINITION_LISTS = { attributes: "attribute", values: "value" };
