// The Prisma schema and the hand-written SQL migrations must describe the same database:
// tables, columns, types, nullability, enums and primary keys (see ADR 002).
import { combinedSchema } from "../scripts/prisma-schema.mjs";
import { getSchema, type Enum, type Field, type Model } from "@mrleebo/prisma-ast";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/database";

// The core's models and every plugin's, as the client is generated from them.
const schema = getSchema(combinedSchema());
const models = schema.list.filter((block): block is Model => block.type === "model");
const enums = schema.list.filter((block): block is Enum => block.type === "enum");

const unquote = (value: unknown) => String(value).replace(/^"|"$/g, "");

/** Any list that may hold attributes (field attributes, or a block's members). */
type Members = readonly { type: string; name?: string; group?: string; args?: { value: unknown }[] }[];

function mappedName(members: Members | undefined, fallback: string): string {
  const map = members?.find((a) => a.type === "attribute" && a.name === "map" && !a.group);
  const arg = map?.args?.[0]?.value;
  return arg === undefined ? fallback : unquote(arg);
}

const enumDbNames = new Map(
  enums.map((e) => [
    e.name,
    mappedName(e.enumerators as Members, e.name),
  ]),
);

/** The PostgreSQL type Prisma gives a field (udt_name as information_schema reports it). */
function expectedType(field: Field): string {
  const native = field.attributes?.find((a) => a.group === "db")?.name;
  const type = String(field.fieldType);
  const base =
    enumDbNames.get(type) ??
    ({
      String: native === "Uuid" ? "uuid" : "text",
      Json: "jsonb",
      Boolean: "bool",
      Int: "int4",
      BigInt: "int8",
      Float: "float8",
      Decimal: "numeric",
      Bytes: "bytea",
      DateTime: native === "Timestamptz" ? "timestamptz" : native === "Date" ? "date" : "timestamp",
    } as Record<string, string>)[type];
  if (!base) throw new Error(`No mapping for Prisma type ${type}`);
  return field.array ? `_${base}` : base;
}

type Column = { table: string; column: string; type: string; nullable: boolean };

function columnsFromPrisma(): Column[] {
  const modelNames = new Set(models.map((m) => m.name));
  return models.flatMap((model) => {
    const table = mappedName(model.properties as Members, model.name);
    return model.properties
      .filter((p): p is Field => p.type === "field" && !modelNames.has(String(p.fieldType)))
      .map((field) => ({
        table,
        column: mappedName(field.attributes, field.name),
        type: expectedType(field),
        // Prisma declares scalar lists without NOT NULL.
        nullable: Boolean(field.optional) || Boolean(field.array),
      }));
  });
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const byKey = (a: Column, b: Column) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`);

describe("Prisma schema and migrated database", () => {
  it("have the same tables and columns, with the same types and nullability", async () => {
    const rows = await database.owner.query<{ table_name: string; column_name: string; udt_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const actual = rows
      .map((r) => ({ table: r.table_name, column: r.column_name, type: r.udt_name, nullable: r.is_nullable === "YES" }))
      .sort(byKey);
    expect(actual).toEqual(columnsFromPrisma().sort(byKey));
  });

  it("have the same enums and values", async () => {
    const rows = await database.owner.query<{ name: string; values: string[] }>(
      `SELECT t.typname::text AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname ORDER BY t.typname`,
    );
    const expected = enums
      .map((e) => ({
        name: enumDbNames.get(e.name),
        values: e.enumerators.filter((x) => x.type === "enumerator").map((x) => (x as { name: string }).name),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(rows).toEqual(expected);
  });

  it("have the same primary keys, tenant_id first wherever a table has one", async () => {
    const rows = await database.owner.query<{ table: string; columns: string[] }>(
      `SELECT c.relname::text AS "table", array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE i.indisprimary AND c.relnamespace = 'public'::regnamespace AND c.relname <> '_prisma_migrations'
        GROUP BY c.relname ORDER BY c.relname`,
    );
    const expected = models
      .map((model) => {
        const table = mappedName(model.properties as Members, model.name);
        const fields = model.properties.filter((p): p is Field => p.type === "field");
        const compound = (model.properties as Members).find((a) => a.type === "attribute" && a.name === "id");
        const keyFields = compound
          ? ((compound.args?.[0]?.value as { args: string[] }).args ?? [])
          : fields.filter((f) => f.attributes?.some((a) => a.name === "id")).map((f) => f.name);
        const columns = keyFields.map((name) => mappedName(fields.find((f) => f.name === name)?.attributes, name));
        return { table, columns };
      })
      .sort((a, b) => a.table.localeCompare(b.table));
    expect(rows).toEqual(expected);
    const withTenant = new Set(
      (
        await database.owner.query<{ table: string }>(
          `SELECT table_name AS "table" FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id'`,
        )
      ).map((row) => row.table),
    );
    expect(withTenant.size).toBeGreaterThan(0);
    // A table without tenant_id is platform data reachable only as app_admin: it must be named
    // here on purpose, so that a city's table cannot be added without one by accident.
    const platformTables = [
      "cities",
      // The instance's federation state and the federated catalogue (ADR 013).
      "federation_component_versions",
      "federation_components",
      "federation_dataset_followers",
      "federation_dataset_records",
      "federation_datasets",
      "federation_inbox",
      "federation_keys",
      "federation_outbox",
      "federation_peers",
      "identity_clients",
      "identity_payloads",
      "identity_realms",
      "identity_signing_keys",
      "identity_users",
      "instance_secrets",
      "operator_sessions",
      "platform_audit_events",
      "platform_operators",
    ];
    for (const { table, columns } of rows) {
      if (withTenant.has(table)) expect(columns[0], table).toBe("tenant_id");
      else expect(platformTables, `${table} has no tenant_id and is not a known platform table`).toContain(table);
    }
  });
});
