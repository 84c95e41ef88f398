// Staff define the categories residents choose from (reporting.configure): names, descriptions
// and groups in each of the city's languages, keywords, display order, and the category's own
// questions (Open311 attributes: a type, required or not, a label and hint per language, the
// choices of lists). One plain form per category; an attribute is a group of fields, with one
// empty group to add the next.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "../../../app/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "../../../app/auth/errors";
import { isSupportedLocale, LOCALE_NAMES } from "../../../app/i18n/locales";
import { notFound } from "../../../app/tenancy/guard.server";
import { ATTRIBUTE_DATATYPES, type CategoryAttribute } from "../attributes";
import {
  archiveServiceCategory,
  defineServiceCategory,
  getServiceCategory,
  listServiceCategories,
  updateServiceCategory,
  type ServiceCategory,
} from "../categories.server";
import type { FieldError } from "./index.server";
import { localText, NO_STORE, pageTitle, staffPage, text, type ReportingPage } from "./page.server";


/** The form's fields by name, as typed (also what is shown again after a refusal). */
export type CategoryFormValues = Record<string, string>;

export type CategoryFormResult = { errors: Record<string, FieldError>; values: CategoryFormValues; attributeCount: number };

export const MAX_ATTRIBUTES = 50;

function languagesOf(page: ReportingPage) {
  const codes = [page.city.defaultLocale, ...page.city.enabledLocales].filter(isSupportedLocale);
  return [...new Set(codes)].map((code) => ({ code, name: LOCALE_NAMES[code] }));
}

/** A stored category as the form's fields. */
export function formValuesOf(category: ServiceCategory): CategoryFormValues {
  const values: CategoryFormValues = { code: category.code, keywords: category.keywords.join(", "), position: String(category.position) };
  const put = (prefix: string, translated: Record<string, string | undefined>) => {
    for (const [locale, value] of Object.entries(translated)) if (value) values[`${prefix}.${locale}`] = value;
  };
  put("name", category.names);
  put("description", category.descriptions);
  put("group", category.groupNames);
  category.attributes.forEach((attribute, index) => {
    const prefix = `attr.${index}`;
    values[`${prefix}.code`] = attribute.code;
    values[`${prefix}.datatype`] = attribute.datatype;
    values[`${prefix}.order`] = String(attribute.order);
    if (attribute.required) values[`${prefix}.required`] = "1";
    if (!attribute.variable) values[`${prefix}.info`] = "1";
    put(`${prefix}.label`, attribute.description);
    put(`${prefix}.hint`, attribute.datatypeDescription);
    const locales = new Set(attribute.values.flatMap((value) => Object.keys(value.name)));
    for (const locale of locales) {
      values[`${prefix}.choices.${locale}`] = attribute.values
        .filter((value) => value.name[locale])
        .map((value) => `${value.key} = ${value.name[locale]}`)
        .join("\n");
    }
  });
  return values;
}

function translated(form: FormData, prefix: string, locales: readonly string[]): Record<string, string> {
  return Object.fromEntries(locales.flatMap((locale) => {
    const value = text(form, `${prefix}.${locale}`).trim();
    return value ? [[locale, value]] : [];
  }));
}

/** "key = label" lines per language → choices with their label in each language. */
function choicesOf(form: FormData, prefix: string, locales: readonly string[]) {
  const choices: { key: string; name: Record<string, string> }[] = [];
  for (const locale of locales) {
    for (const line of text(form, `${prefix}.choices.${locale}`).split(/\r?\n/)) {
      if (!line.trim()) continue;
      const at = line.indexOf("=");
      const key = (at < 0 ? line : line.slice(0, at)).trim();
      const label = (at < 0 ? line : line.slice(at + 1)).trim();
      const choice = choices.find((candidate) => candidate.key === key) ?? choices[choices.push({ key, name: {} }) - 1]!;
      if (label) choice.name[locale] = label;
    }
  }
  return choices;
}

/** The attributes of the form: groups with a code, those not marked for removal. */
function attributesOf(form: FormData, locales: readonly string[]): unknown[] {
  const attributes: unknown[] = [];
  for (let index = 0; index <= MAX_ATTRIBUTES; index += 1) {
    const prefix = `attr.${index}`;
    const code = text(form, `${prefix}.code`).trim();
    if (!code || text(form, `${prefix}.remove`) === "1") continue;
    const order = Number(text(form, `${prefix}.order`).trim());
    const datatype = text(form, `${prefix}.datatype`);
    const information = text(form, `${prefix}.info`) === "1";
    attributes.push({
      code,
      datatype,
      required: !information && text(form, `${prefix}.required`) === "1",
      variable: !information,
      ...(text(form, `${prefix}.order`).trim() && { order: Number.isInteger(order) ? order : Number.NaN }),
      description: translated(form, `${prefix}.label`, locales),
      datatypeDescription: translated(form, `${prefix}.hint`, locales),
      values: datatype === "singlevaluelist" || datatype === "multivaluelist" ? choicesOf(form, prefix, locales) : [],
    });
  }
  return attributes;
}

function categoryInput(form: FormData, locales: readonly string[]) {
  const position = text(form, "position").trim();
  return {
    names: translated(form, "name", locales),
    descriptions: translated(form, "description", locales),
    groupNames: translated(form, "group", locales),
    keywords: text(form, "keywords").split(",").map((word) => word.trim()).filter(Boolean),
    attributes: attributesOf(form, locales),
    position: position === "" ? 0 : Number.isInteger(Number(position)) ? Number(position) : Number.NaN,
  };
}

const FIELD_ERRORS: Record<string, string> = {
  code: "reporting:staff.errors.code",
  names: "reporting:staff.errors.names",
  descriptions: "reporting:staff.errors.descriptions",
  groupNames: "reporting:staff.errors.groupNames",
  keywords: "reporting:staff.errors.keywords",
  attributes: "reporting:staff.errors.attributes",
  position: "reporting:staff.errors.position",
};

function refused(error: ValidationFailed | Conflict, form: FormData): CategoryFormResult {
  const errors: Record<string, FieldError> =
    error instanceof Conflict ? { code: { key: "reporting:staff.errors.codeTaken" } } : Object.fromEntries(Object.keys(error.fields).map((field) => [field, { key: FIELD_ERRORS[field] ?? "reporting:form.errors.generic" }]));
  const values = Object.fromEntries([...form.entries()].filter(([name, value]) => name !== "csrf" && typeof value === "string")) as CategoryFormValues;
  const attributeCount = Math.min(MAX_ATTRIBUTES, Math.max(0, ...[...form.keys()].map((name) => /^attr\.(\d+)\./.exec(name)).map((match) => (match ? Number(match[1]) + 1 : 0))));
  return { errors, values, attributeCount };
}

// --- The list, and a new category ---------------------------------------------------------

export async function categoriesPage(args: LoaderFunctionArgs) {
  const page = await staffPage(args, "reporting.configure");
  const categories = await listServiceCategories(page.principal, { includeArchived: true }, page.service);
  const url = new URL(args.request.url);
  return json(
    {
      title: pageTitle(page, "reporting:staff.categories.title"),
      servicePath: page.servicePath,
      languages: languagesOf(page),
      done: url.searchParams.get("done"),
      categories: categories.map((category) => ({
        id: category.id,
        code: category.code,
        name: localText(page, category.names),
        group: localText(page, category.groupNames),
        attributes: category.attributes.length,
        archived: category.archivedAt !== null,
      })),
    },
    { headers: NO_STORE },
  );
}

export async function categoriesAction(args: ActionFunctionArgs) {
  const page = await staffPage(args, "reporting.configure");
  const form = await readCheckedForm(args.request);
  const intent = text(form, "intent");
  try {
    if (intent === "archive" || intent === "restore") {
      await archiveServiceCategory(page.principal, { id: text(form, "id"), archived: intent === "archive" }, page.service);
      return redirect(`${page.servicePath}/staff/categories?done=${intent}`, { status: 303, headers: NO_STORE });
    }
    if (intent !== "create") return new Response("Bad Request: unknown intent\n", { status: 400, headers: { "Content-Type": "text/plain", ...NO_STORE } });
    const locales = languagesOf(page).map((language) => language.code);
    const created = await defineServiceCategory(page.principal, { code: text(form, "code"), ...categoryInput(form, locales) }, page.service);
    return redirect(`${page.servicePath}/staff/categories/${created.id}?done=created`, { status: 303, headers: NO_STORE });
  } catch (error) {
    if (error instanceof ValidationFailed || error instanceof Conflict) return json(refused(error, form), { status: 400, headers: NO_STORE });
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

// --- One category -------------------------------------------------------------------------

async function categoryOf(page: ReportingPage, id: string): Promise<ServiceCategory> {
  try {
    return await getServiceCategory(page.principal, { id }, page.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

export async function categoryPage(args: LoaderFunctionArgs) {
  const page = await staffPage(args, "reporting.configure");
  const category = await categoryOf(page, args.params.categoryId ?? "");
  const url = new URL(args.request.url);
  return json(
    {
      title: pageTitle(page, "reporting:staff.category.title", { category: localText(page, category.names).text || category.code }),
      servicePath: page.servicePath,
      languages: languagesOf(page),
      datatypes: ATTRIBUTE_DATATYPES,
      id: category.id,
      code: category.code,
      name: localText(page, category.names),
      archived: category.archivedAt !== null,
      values: formValuesOf(category),
      attributeCount: category.attributes.length,
      done: url.searchParams.get("done"),
    },
    { headers: NO_STORE },
  );
}

export async function categoryAction(args: ActionFunctionArgs) {
  const page = await staffPage(args, "reporting.configure");
  const category = await categoryOf(page, args.params.categoryId ?? "");
  const form = await readCheckedForm(args.request);
  if (text(form, "intent") !== "save") return new Response("Bad Request: unknown intent\n", { status: 400, headers: { "Content-Type": "text/plain", ...NO_STORE } });
  const locales = languagesOf(page).map((language) => language.code);
  try {
    await updateServiceCategory(page.principal, { id: category.id, ...categoryInput(form, locales) }, page.service);
  } catch (error) {
    if (error instanceof ValidationFailed) return json(refused(error, form), { status: 400, headers: NO_STORE });
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
  return redirect(`${page.servicePath}/staff/categories/${category.id}?done=saved`, { status: 303, headers: NO_STORE });
}

export type { CategoryAttribute };
