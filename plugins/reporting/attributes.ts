// Custom attributes of a category (Open311 GeoReport v2 service definitions): how staff define
// them, and how the values a resident gives are checked against them, per Open311 datatype.
import { z } from "zod";
import { translatedSetting } from "../../app/plugins/sdk.server";

export const ATTRIBUTE_DATATYPES = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] as const;
export type AttributeDatatype = (typeof ATTRIBUTE_DATATYPES)[number];

export type Translated = Partial<Record<string, string>>;

export type AttributeValueOption = { key: string; name: Translated };

export type CategoryAttribute = {
  /** Open311 `code`: the key of the value (attribute[code]=…). */
  code: string;
  datatype: AttributeDatatype;
  required: boolean;
  /** False: only information shown to the resident, no input. */
  variable: boolean;
  /** 1 is shown first. */
  order: number;
  /** The label (Open311 `description`), per locale. */
  description: Translated;
  datatypeDescription: Translated;
  /** The choices of a singlevaluelist or multivaluelist. */
  values: AttributeValueOption[];
};

/** What a value is, once checked: numbers as numbers, datetimes as ISO text, lists as key arrays. */
export type AttributeValue = string | number | string[];
export type AttributeValues = Record<string, AttributeValue>;

const CODE = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
const LIST_TYPES: readonly AttributeDatatype[] = ["singlevaluelist", "multivaluelist"];

const optionSchema = z.strictObject({
  key: z
    .string({ error: "must be a key" })
    .trim()
    .min(1, { error: "is required" })
    .max(100, { error: "must be at most 100 characters" }),
  name: translatedSetting({ maxLength: 200, required: true }),
});

export const attributeSchema = z
  .strictObject({
    code: z.string({ error: "must be a code" }).trim().regex(CODE, { error: "must be a letter then letters, digits, - or _ (at most 64)" }),
    datatype: z.enum(ATTRIBUTE_DATATYPES, { error: `must be one of ${ATTRIBUTE_DATATYPES.join(", ")}` }),
    required: z.boolean({ error: "must be true or false" }).default(false),
    variable: z.boolean({ error: "must be true or false" }).default(true),
    order: z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(1000, { error: "must be at most 1000" }).optional(),
    description: translatedSetting({ maxLength: 500, required: true }),
    datatypeDescription: translatedSetting({ maxLength: 500 }).default({}),
    values: z.array(optionSchema, { error: "must be a list of choices" }).max(200, { error: "must have at most 200 choices" }).default([]),
  })
  .superRefine((attribute, ctx) => {
    const isList = LIST_TYPES.includes(attribute.datatype);
    if (isList && attribute.values.length === 0) ctx.addIssue({ code: "custom", path: ["values"], message: "a list needs at least one choice" });
    if (!isList && attribute.values.length > 0) ctx.addIssue({ code: "custom", path: ["values"], message: "only lists have choices" });
    const keys = attribute.values.map((value) => value.key);
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", path: ["values"], message: "choices must have different keys" });
    if (!attribute.variable && attribute.required) ctx.addIssue({ code: "custom", path: ["required"], message: "an information-only attribute cannot be required" });
  });

/** A category's attribute list: codes and orders unique; orders filled in where missing. */
export const attributesSchema = z
  .array(attributeSchema, { error: "must be a list of attributes" })
  .max(50, { error: "must have at most 50 attributes" })
  .superRefine((attributes, ctx) => {
    const codes = attributes.map((attribute) => attribute.code);
    if (new Set(codes).size !== codes.length) ctx.addIssue({ code: "custom", message: "attribute codes must be different" });
    const orders = attributes.flatMap((attribute) => (attribute.order === undefined ? [] : [attribute.order]));
    if (new Set(orders).size !== orders.length) ctx.addIssue({ code: "custom", message: "attribute orders must be different" });
  })
  .transform((attributes): CategoryAttribute[] => {
    let next = Math.max(0, ...attributes.map((attribute) => attribute.order ?? 0));
    return attributes
      .map((attribute) => ({
        ...attribute,
        description: attribute.description as Translated,
        datatypeDescription: attribute.datatypeDescription as Translated,
        values: attribute.values.map((value) => ({ key: value.key, name: value.name as Translated })),
        order: attribute.order ?? (next += 1),
      }))
      .sort((a, b) => a.order - b.order);
  });

/** A stored attribute list (jsonb), read defensively: anything malformed is left out. */
export function storedAttributes(column: unknown): CategoryAttribute[] {
  const parsed = attributesSchema.safeParse(column);
  return parsed.success ? parsed.data : [];
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string" && value.includes(",")) return value.split(",").map((part) => part.trim());
  return [value];
}

function empty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

/**
 * Checks the values given for a category's attributes. Answers the cleaned values, or the
 * problems per attribute code (`attributes.<code>`), with messages a resident can act on.
 * Values for codes the category does not define are refused, as are values of information-only
 * attributes. Numbers and datetimes may come as text (forms, Open311's form encoding).
 */
export function checkAttributeValues(
  attributes: readonly CategoryAttribute[],
  given: Record<string, unknown> | null | undefined,
): { values: AttributeValues; problems: Record<string, string[]> } {
  const values: AttributeValues = {};
  const problems: Record<string, string[]> = {};
  const problem = (code: string, message: string) => (problems[`attributes.${code}`] ??= []).push(message);
  const input = given ?? {};
  const known = new Map(attributes.map((attribute) => [attribute.code, attribute]));
  for (const code of Object.keys(input)) {
    const attribute = known.get(code);
    if (!attribute) problem(code, "is not an attribute of this category");
    else if (!attribute.variable && !empty(input[code])) problem(code, "is information only and takes no value");
  }
  for (const attribute of attributes) {
    if (!attribute.variable) continue;
    const raw = input[attribute.code];
    if (empty(raw)) {
      if (attribute.required) problem(attribute.code, "is required");
      continue;
    }
    const keys = new Set(attribute.values.map((value) => value.key));
    switch (attribute.datatype) {
      case "string":
      case "text": {
        if (typeof raw !== "string") {
          problem(attribute.code, "must be text");
          break;
        }
        const text = raw.trim();
        const max = attribute.datatype === "string" ? 500 : 4000;
        if (attribute.datatype === "string" && /[\r\n]/.test(text)) problem(attribute.code, "must be on one line");
        else if (text.length > max) problem(attribute.code, `must be at most ${max} characters`);
        else if (text === "") {
          if (attribute.required) problem(attribute.code, "is required");
        } else values[attribute.code] = text;
        break;
      }
      case "number": {
        const number = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw.trim()) : Number.NaN;
        if (!Number.isFinite(number)) problem(attribute.code, "must be a number");
        else values[attribute.code] = number;
        break;
      }
      case "datetime": {
        const text = raw instanceof Date ? raw.toISOString() : typeof raw === "string" ? raw.trim() : "";
        const time = ISO_DATETIME.test(text) ? new Date(text) : null;
        if (!time || Number.isNaN(time.getTime())) problem(attribute.code, "must be a date and time (ISO 8601)");
        else values[attribute.code] = time.toISOString();
        break;
      }
      case "singlevaluelist": {
        const list = asList(raw);
        const key = list.length === 1 ? String(list[0]) : null;
        if (key === null) problem(attribute.code, "takes only one choice");
        else if (!keys.has(key)) problem(attribute.code, "is not one of the choices");
        else values[attribute.code] = key;
        break;
      }
      case "multivaluelist": {
        const chosen = [...new Set(asList(raw).map(String))];
        const unknown = chosen.filter((key) => !keys.has(key));
        if (unknown.length > 0) problem(attribute.code, `has choices that do not exist: ${unknown.join(", ")}`);
        else values[attribute.code] = chosen;
        break;
      }
    }
  }
  return { values, problems };
}
