// Categories of issues residents can report (Open311's services): written by the city's staff
// with translated names, descriptions and groups, keywords, and custom attributes. Anyone may
// read the city's active ones; configuring them needs reporting.configure.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "../../app/audit/audit.server";
import { Conflict, NotFound, parseInput } from "../../app/auth/errors";
import { can, requireCityPermission, type Principal } from "../../app/auth/permissions";
import { auditActor, type ServiceContext } from "../../app/auth/principal.server";
import { UUID_PATTERN, withTenant, type Tx } from "../../app/db/database.server";
import type { Prisma, ReportingCategory } from "../../app/db/generated/client.ts";
import { translatedSetting } from "../../app/plugins/sdk.server";
import { attributesSchema, storedAttributes, type CategoryAttribute, type Translated } from "./attributes";
import { reportingSettings } from "./settings.server";

export type { CategoryAttribute, Translated };

/** A category as services answer it: its attributes parsed. */
export type ServiceCategory = Omit<ReportingCategory, "attributes" | "names" | "descriptions" | "groupNames"> & {
  names: Translated;
  descriptions: Translated;
  groupNames: Translated;
  attributes: CategoryAttribute[];
};

export type CategoryInput = {
  code: string;
  names: Translated;
  descriptions?: Translated | null;
  groupNames?: Translated | null;
  keywords?: string[] | null;
  attributes?: unknown[] | null;
  position?: number | null;
};

export type CategoryUpdate = Partial<Omit<CategoryInput, "code">> & { id: string };

export const CATEGORY_CODE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const categoryCodeSchema = z
  .string({ error: "must be a code" })
  .trim()
  .toLowerCase()
  .regex(CATEGORY_CODE, { error: "must be lower-case letters, digits, - or _ (at most 64)" });

const keywordsSchema = z
  .array(z.string().trim().toLowerCase().min(1, { error: "must not be empty" }).max(60, { error: "must be at most 60 characters" }), {
    error: "must be a list of words",
  })
  .max(30, { error: "must have at most 30 keywords" })
  .transform((keywords) => [...new Set(keywords)]);

const positionSchema = z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(0, { error: "must be at least 0" }).max(10_000, { error: "must be at most 10000" });

const fields = {
  names: translatedSetting({ maxLength: 120, required: true }),
  descriptions: translatedSetting({ maxLength: 2000 }).nullish(),
  groupNames: translatedSetting({ maxLength: 120 }).nullish(),
  keywords: keywordsSchema.nullish(),
  attributes: attributesSchema.nullish(),
  position: positionSchema.nullish(),
};

/** A category as staff define it; categories imported from another city obey it too (federation). */
export const categoryDefinitionSchema = z.strictObject({ code: categoryCodeSchema, ...fields });
const updateSchema = z.strictObject({
  id: z.string({ error: "must be a category id" }),
  ...fields,
  names: fields.names.optional(),
});

/** Reads a stored row into the service's shape. */
export function toServiceCategory(row: ReportingCategory): ServiceCategory {
  const text = (value: unknown): Translated => (value && typeof value === "object" && !Array.isArray(value) ? (value as Translated) : {});
  return { ...row, names: text(row.names), descriptions: text(row.descriptions), groupNames: text(row.groupNames), attributes: storedAttributes(row.attributes) };
}

const ORDER: Prisma.ReportingCategoryOrderByWithRelationInput[] = [{ position: "asc" }, { code: "asc" }];

/**
 * The city's categories, in their display order. Archived ones only for those who configure
 * them (`includeArchived`); anyone else, signed in or not, sees the active ones.
 */
export async function listServiceCategories(
  principal: Principal,
  input: { includeArchived?: boolean | null } = {},
  context: ServiceContext = {},
): Promise<ServiceCategory[]> {
  const tenantId = readerCity(principal, context);
  if (input.includeArchived) requireCityPermission(principal, tenantId, "reporting.configure");
  await reportingSettings(tenantId, context.database);
  const rows = await withTenant(
    tenantId,
    (tx) => tx.reportingCategory.findMany({ where: { tenantId, ...(input.includeArchived ? {} : { archivedAt: null }) }, orderBy: ORDER }),
    context.database,
  );
  return rows.map(toServiceCategory);
}

/** One category by code (Open311 service_code) or id; archived ones only for configurers. */
export async function getServiceCategory(
  principal: Principal,
  input: { code?: string | null; id?: string | null },
  context: ServiceContext = {},
): Promise<ServiceCategory> {
  const tenantId = readerCity(principal, context);
  await reportingSettings(tenantId, context.database);
  const row = await withTenant(tenantId, (tx) => findCategory(tx, tenantId, input), context.database);
  if (!row) throw new NotFound("category");
  if (row.archivedAt && !canConfigure(principal, tenantId)) throw new NotFound("category");
  return toServiceCategory(row);
}

/** Finds a category of the city by id or code (inside a unit of work), archived or not. */
export function findCategory(tx: Tx, tenantId: string, input: { code?: string | null; id?: string | null }) {
  if (input.id) {
    if (!UUID_PATTERN.test(input.id)) return Promise.resolve(null);
    return tx.reportingCategory.findFirst({ where: { tenantId, id: input.id.toLowerCase() } });
  }
  const code = typeof input.code === "string" ? input.code.trim().toLowerCase() : "";
  if (!CATEGORY_CODE.test(code)) return Promise.resolve(null);
  return tx.reportingCategory.findFirst({ where: { tenantId, code } });
}

/** Creates a category (reporting.configure). Its code is fixed from then on. */
export async function defineServiceCategory(principal: Principal, input: CategoryInput, context: ServiceContext = {}): Promise<ServiceCategory> {
  const actor = requireCityPermission(principal, context.tenantId, "reporting.configure");
  const { tenantId } = actor;
  const data = parseInput(categoryDefinitionSchema, input);
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const taken = await tx.reportingCategory.findFirst({ where: { tenantId, code: data.code }, select: { id: true } });
      if (taken) throw new Conflict("category_code_taken", `The city has a category with the code ${data.code} already.`);
      const row = await insertCategory(tx, tenantId, data);
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "reporting.category_defined",
        subject: { type: "reporting_category", id: row.id },
        after: auditShape(row),
        requestId: context.requestId,
      });
      return toServiceCategory(row);
    },
    context.database,
  );
}

/** Writes a checked category (the install hook seeds defaults through it too). */
export function insertCategory(
  tx: Tx,
  tenantId: string,
  data: { code: string; names: Translated; descriptions?: Translated | null; groupNames?: Translated | null; keywords?: string[] | null; attributes?: CategoryAttribute[] | null; position?: number | null },
) {
  return tx.reportingCategory.create({
    data: {
      tenantId,
      id: randomUUID(),
      code: data.code,
      names: data.names as Prisma.InputJsonValue,
      descriptions: (data.descriptions ?? {}) as Prisma.InputJsonValue,
      groupNames: (data.groupNames ?? {}) as Prisma.InputJsonValue,
      keywords: data.keywords ?? [],
      attributes: (data.attributes ?? []) as Prisma.InputJsonValue,
      position: data.position ?? 0,
    },
  });
}

/** Changes what is given of a category (reporting.configure); the code stays. */
export async function updateServiceCategory(principal: Principal, input: CategoryUpdate, context: ServiceContext = {}): Promise<ServiceCategory> {
  const actor = requireCityPermission(principal, context.tenantId, "reporting.configure");
  const { tenantId } = actor;
  const { id, ...changes } = parseInput(updateSchema, input);
  if (!UUID_PATTERN.test(id)) throw new NotFound("category");
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const before = await tx.reportingCategory.findFirst({ where: { tenantId, id } });
      if (!before) throw new NotFound("category");
      const data: Prisma.ReportingCategoryUpdateManyMutationInput = {};
      if (changes.names !== undefined) data.names = changes.names as Prisma.InputJsonValue;
      if (changes.descriptions != null) data.descriptions = changes.descriptions as Prisma.InputJsonValue;
      if (changes.groupNames != null) data.groupNames = changes.groupNames as Prisma.InputJsonValue;
      if (changes.keywords != null) data.keywords = changes.keywords;
      if (changes.attributes != null) data.attributes = changes.attributes as Prisma.InputJsonValue;
      if (changes.position != null) data.position = changes.position;
      const { count } = await tx.reportingCategory.updateMany({ where: { tenantId, id }, data });
      if (count === 0) throw new NotFound("category");
      const after = await tx.reportingCategory.findFirstOrThrow({ where: { tenantId, id } });
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "reporting.category_updated",
        subject: { type: "reporting_category", id },
        before: auditShape(before),
        after: auditShape(after),
        requestId: context.requestId,
      });
      return toServiceCategory(after);
    },
    context.database,
  );
}

/**
 * Archives a category (no new reports in it; existing ones keep it) or brings it back
 * (reporting.configure). Doing what is done already changes nothing and records nothing.
 */
export async function archiveServiceCategory(
  principal: Principal,
  input: { id: string; archived?: boolean | null },
  context: ServiceContext = {},
): Promise<ServiceCategory> {
  const actor = requireCityPermission(principal, context.tenantId, "reporting.configure");
  const { tenantId } = actor;
  const { id, archived } = parseInput(
    z.strictObject({ id: z.string({ error: "must be a category id" }), archived: z.boolean({ error: "must be true or false" }).nullish() }),
    input,
  );
  if (!UUID_PATTERN.test(id)) throw new NotFound("category");
  const archive = archived ?? true;
  await reportingSettings(tenantId, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const { count } = await tx.reportingCategory.updateMany({
        where: { tenantId, id, archivedAt: archive ? null : { not: null } },
        data: { archivedAt: archive ? new Date() : null },
      });
      const row = await tx.reportingCategory.findFirst({ where: { tenantId, id } });
      if (!row) throw new NotFound("category");
      if (count > 0) {
        await recordAudit(tx, tenantId, {
          actor: auditActor(actor),
          action: archive ? "reporting.category_archived" : "reporting.category_restored",
          subject: { type: "reporting_category", id },
          before: { archived: !archive },
          after: { archived: archive },
          requestId: context.requestId,
        });
      }
      return toServiceCategory(row);
    },
    context.database,
  );
}

function auditShape(row: ReportingCategory): Prisma.InputJsonValue {
  return {
    code: row.code,
    names: row.names as Prisma.InputJsonValue,
    descriptions: row.descriptions as Prisma.InputJsonValue,
    groupNames: row.groupNames as Prisma.InputJsonValue,
    keywords: row.keywords,
    attributes: row.attributes as Prisma.InputJsonValue,
    position: row.position,
  };
}

/**
 * The city whose public reporting data is read: the request's city for anyone (signed in or
 * not); someone of another city reads nothing of it.
 */
export function readerCity(principal: Principal, context: ServiceContext): string {
  if (principal.kind === "user" || principal.kind === "client") {
    if (context.tenantId !== undefined && principal.tenantId !== context.tenantId) throw new NotFound("service");
    return principal.tenantId;
  }
  if (!context.tenantId) throw new NotFound("service");
  return context.tenantId;
}

function canConfigure(principal: Principal, tenantId: string): boolean {
  return (principal.kind === "user" || principal.kind === "client") && principal.tenantId === tenantId && can(principal, "reporting.configure");
}
