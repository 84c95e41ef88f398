// What the reporting plugin shares with other cities (ARCHITECTURE.md §5): its categories as a
// component one city publishes and others import, and monthly request statistics as a dataset.
// Definitions are plain JSON checked by the same rules as categories typed by staff.
import { createHash } from "node:crypto";
import { z } from "zod";
import { Conflict, ValidationFailed } from "../../app/auth/errors";
import { canonicalJson } from "../../app/federation/canonical";
import type { Tx } from "../../app/db/database.server";
import type { Prisma } from "../../app/db/generated/client.ts";
import type { ComponentHandler, ComponentItem, DatasetHandler, DatasetRecord, PluginCityContext } from "../../app/plugins/sdk.server";
import type { CategoryAttribute, Translated } from "./attributes";
import { categoryDefinitionSchema, insertCategory, toServiceCategory } from "./categories.server";

/** At most this many categories in one component: more than any city's list of issues. */
export const MAX_COMPONENT_CATEGORIES = 200;

/** How far back the statistics go: this month and the 23 before it, in the city's time zone. */
export const STATISTICS_MONTHS = 24;

/** One category as it travels: its content, without ids, dates or archiving. */
export type CategoryDefinition = {
  code: string;
  names: Record<string, string>;
  descriptions: Record<string, string>;
  groupNames: Record<string, string>;
  keywords: string[];
  attributes: CategoryAttribute[];
  position: number;
};

export type CategoryDefinitions = { categories: CategoryDefinition[] };

const ORDER: Prisma.ReportingCategoryOrderByWithRelationInput[] = [{ position: "asc" }, { code: "asc" }];

// --- Categories component -------------------------------------------------------------------

/** Texts per locale without the empty ones: { en: "Pothole", fr: "" } means { en: "Pothole" }. */
function texts(value: Translated | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(value ?? {}).flatMap(([locale, text]) => (typeof text === "string" && text.trim() !== "" ? [[locale, text]] : [])));
}

type CategoryContent = {
  code: string;
  names: Translated;
  descriptions?: Translated | null;
  groupNames?: Translated | null;
  keywords?: string[] | null;
  attributes?: CategoryAttribute[] | null;
  position?: number | null;
};

/** The one shape both sides hash: defaults filled in, empty texts left out. */
function definitionOf(category: CategoryContent): CategoryDefinition {
  return {
    code: category.code,
    names: texts(category.names),
    descriptions: texts(category.descriptions),
    groupNames: texts(category.groupNames),
    keywords: [...(category.keywords ?? [])],
    attributes: (category.attributes ?? []).map((attribute) => ({
      ...attribute,
      description: texts(attribute.description),
      datatypeDescription: texts(attribute.datatypeDescription),
      values: attribute.values.map((value) => ({ key: value.key, name: texts(value.name) })),
    })),
    position: category.position ?? 0,
  };
}

type CategoryRow = Parameters<typeof toServiceCategory>[0];

/**
 * A stored category as a definition, read through the staff rules when it passes them (so the
 * city's side is normalised exactly as an import is), as stored otherwise.
 */
function storedDefinition(row: CategoryRow): CategoryDefinition {
  const category = toServiceCategory(row);
  const content = {
    code: category.code,
    names: category.names,
    descriptions: category.descriptions,
    groupNames: category.groupNames,
    keywords: category.keywords,
    attributes: category.attributes,
    position: category.position,
  };
  const checked = categoryDefinitionSchema.safeParse(content);
  return definitionOf(checked.success ? checked.data : content);
}

const definitionsSchema = z.strictObject(
  {
    categories: z
      .array(categoryDefinitionSchema, { error: "must be a list of categories" })
      .max(MAX_COMPONENT_CATEGORIES, { error: `must have at most ${MAX_COMPONENT_CATEGORIES} categories` })
      .superRefine((categories, ctx) => {
        const seen = new Set<string>();
        categories.forEach((category, index) => {
          if (seen.has(category.code)) ctx.addIssue({ code: "custom", path: [index, "code"], message: `${category.code} is given twice` });
          seen.add(category.code);
        });
      }),
  },
  { error: "category definitions must be an object with a list of categories" },
);


/**
 * sha-256 (hex) of the category's canonical JSON. A city's archived category hashes with
 * `archived: true`, so it never equals what a component offers (which is never archived).
 */
export function categoryHash(definition: CategoryDefinition, options: { archived?: boolean } = {}): string {
  const content = options.archived ? { ...definition, archived: true } : definition;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

const itemOf = (definition: CategoryDefinition, options: { archived?: boolean } = {}): ComponentItem => ({
  key: definition.code,
  name: definition.names,
  hash: categoryHash(definition, options),
});

/** Checks definitions from elsewhere (untrusted); refuses with every problem by its path. */
export function parseCategoryDefinitions(definitions: unknown): CategoryDefinitions {
  const result = definitionsSchema.safeParse(definitions);
  if (!result.success) {
    const fields: Record<string, string[]> = {};
    for (const issue of result.error.issues) (fields[issue.path.map(String).join(".")] ??= []).push(issue.message);
    throw new ValidationFailed(fields);
  }
  return { categories: result.data.categories.map(definitionOf) };
}

async function cityCategories(tx: Tx, tenantId: string) {
  return tx.reportingCategory.findMany({ where: { tenantId }, orderBy: ORDER });
}

async function exportCategories({ tx, tenantId }: PluginCityContext): Promise<CategoryDefinitions> {
  const rows = await cityCategories(tx, tenantId);
  return { categories: rows.filter((row) => row.archivedAt === null).map(storedDefinition) };
}

/**
 * The city's categories as items, archived ones included (hashed as archived): an import can
 * then never create a code the city holds already, and offers to replace it instead (which
 * brings it back).
 */
async function currentCategories({ tx, tenantId }: PluginCityContext): Promise<ComponentItem[]> {
  const rows = await cityCategories(tx, tenantId);
  return rows.map((row) => itemOf(storedDefinition(row), { archived: row.archivedAt !== null }));
}

/**
 * Creates the categories of `create` (new ids) and replaces the content of those of `replace`
 * (same id, so their requests stay with them; an archived one is brought back), in the city's
 * unit of work; no other category is touched. Who imported is the federation layer's to audit.
 */
async function applyCategories(
  { tx, tenantId }: PluginCityContext,
  definitions: unknown,
  choice: { create: readonly string[]; replace: readonly string[] },
): Promise<void> {
  const offered = new Map(parseCategoryDefinitions(definitions).categories.map((category) => [category.code, category]));
  const chosen = [...choice.create, ...choice.replace];
  const problems: Record<string, string[]> = {};
  for (const code of new Set(chosen)) {
    if (!offered.has(code)) (problems[code] ??= []).push("is not a category of the component");
    if (chosen.filter((other) => other === code).length > 1) (problems[code] ??= []).push("is chosen more than once");
  }
  if (Object.keys(problems).length > 0) throw new ValidationFailed(problems);

  for (const code of choice.replace) {
    const category = offered.get(code)!;
    const { count } = await tx.reportingCategory.updateMany({
      where: { tenantId, code },
      data: {
        names: category.names,
        descriptions: category.descriptions,
        groupNames: category.groupNames,
        keywords: category.keywords,
        attributes: category.attributes as Prisma.InputJsonValue,
        position: category.position,
        archivedAt: null,
      },
    });
    if (count === 0) throw new Conflict("category_missing", `The city has no category with the code ${code} to replace.`);
  }
  if (choice.create.length === 0) return;
  const taken = await tx.reportingCategory.findMany({ where: { tenantId, code: { in: [...choice.create] } }, select: { code: true } });
  if (taken.length > 0) {
    throw new Conflict("category_code_taken", `The city has a category with the code ${taken.map((row) => row.code).sort().join(", ")} already: replace it instead.`);
  }
  for (const code of choice.create) await insertCategory(tx, tenantId, offered.get(code)!);
}

export const categoriesComponent: ComponentHandler = {
  export: exportCategories,
  parse: parseCategoryDefinitions,
  items: (definitions) => parseCategoryDefinitions(definitions).categories.map((definition) => itemOf(definition)),
  current: currentCategories,
  apply: applyCategories,
};

// --- Request statistics dataset -------------------------------------------------------------

export type RequestStatistics = {
  category: string;
  categoryName: Record<string, string>;
  /** "YYYY-MM" in the city's time zone. */
  month: string;
  received: number;
  /** Of those received that month, closed at the time of the snapshot; `open` the rest. */
  closed: number;
  open: number;
  /** Over those closed, merged duplicates aside (a merge closes at once); null without any. */
  medianHoursToClose: number | null;
};

/**
 * Requests per category and month of receipt over the last 24 months (this one included), as of
 * `now`: one aggregate in the database, months cut in the city's time zone (cities.time_zone).
 * Months without requests have no record; archived categories keep theirs.
 */
export async function requestStatistics(tx: Tx, tenantId: string, { now }: { now: Date }): Promise<DatasetRecord[]> {
  const rows = await tx.$queryRaw<
    { code: string; names: unknown; month: string; received: number; closed: number; median_hours: number | null }[]
  >`
    WITH "window" AS (
      SELECT "time_zone" AS zone,
             (date_trunc('month', ${now}::timestamptz AT TIME ZONE "time_zone") - make_interval(months => ${STATISTICS_MONTHS - 1}::int)) AT TIME ZONE "time_zone" AS since
        FROM "cities"
       WHERE "id" = ${tenantId}::uuid
    )
    SELECT c."code",
           c."names",
           to_char(r."created_at" AT TIME ZONE w.zone, 'YYYY-MM') AS month,
           count(*)::int AS received,
           count(*) FILTER (WHERE r."status" = 'closed')::int AS closed,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (r."closed_at" - r."created_at")))
             FILTER (WHERE r."status" = 'closed' AND r."merged_into_id" IS NULL) / 3600)::numeric, 2)::float8 AS median_hours
      FROM "reporting_requests" r
      JOIN "reporting_categories" c ON c."tenant_id" = r."tenant_id" AND c."id" = r."category_id"
     CROSS JOIN "window" w
     WHERE r."tenant_id" = ${tenantId}::uuid AND r."created_at" >= w.since AND r."created_at" <= ${now}::timestamptz
     GROUP BY c."id", c."code", c."names", month
     ORDER BY c."code", month`;
  return rows.map((row) => {
    const data: RequestStatistics = {
      category: row.code,
      categoryName: texts(row.names as Translated),
      month: row.month,
      received: row.received,
      closed: row.closed,
      open: row.received - row.closed,
      medianHoursToClose: row.median_hours === null ? null : Number(row.median_hours),
    };
    return { key: `${row.code}/${row.month}`, data };
  });
}

export const requestStatisticsDataset: DatasetHandler = {
  snapshot: ({ tx, tenantId }) => requestStatistics(tx, tenantId, { now: new Date() }),
};
