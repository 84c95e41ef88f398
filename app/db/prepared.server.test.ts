// Hot reads sent as prepared statements in a script's one round trip: the same answers as the
// statement with literals, prepared once per connection (PostgreSQL), read as the city under
// row-level security whichever city's call prepared it, and nothing kept from a failed script.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { literalSql, prepared, readInTenant, withTenant } from "./database.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";

const onPostgres = process.env.CIVITAS_TEST_BACKEND === "postgres";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
const sent: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql) => sent.push(sql) });
  paris = await createCity(database);
  budapest = await createCity(database);
});
afterAll(async () => database?.drop());

const valuesOfEveryKind = () =>
  literalSql`SELECT ${"it's ok; -- not a comment"} AS text, ${25} AS int, ${-5} AS negative, ${3_000_000_000} AS big, ${2.5} AS fraction,
                    ${true} AS yes, ${null}::text AS nothing, ${new Date("2026-11-28T10:00:00.123Z")} AS at,
                    ${["a", "b'c"]} AS list, ${[]} AS empty, ${"0b0c0d0e-0000-4000-8000-000000000000"}::uuid AS id`;

/** The statements a city's request-work connection has prepared for scripts, and how often each ran. */
const preparedHere = literalSql`SELECT name, generic_plans + custom_plans AS runs FROM pg_prepared_statements WHERE name LIKE 'civitas_script_%'`;

describe("a prepared statement in a script", () => {
  it("answers what the same statement with its values written in answers", async () => {
    const [plainRows = [], preparedRows = []] = await readInTenant(paris.id, [valuesOfEveryKind(), prepared(valuesOfEveryKind())], database);
    const [plain] = plainRows;
    const [asPrepared] = preparedRows;
    expect(asPrepared).toEqual(plain);
    expect(plain).toMatchObject({ text: "it's ok; -- not a comment", int: 25, negative: -5, fraction: "2.5", yes: true, nothing: null, list: ["a", "b'c"], empty: [] });
  });

  it.runIf(onPostgres)("is prepared once per connection, then only executed, in the same one round trip", async () => {
    const statement = () => prepared(literalSql`SELECT ${"same shape"} AS shape, ${Math.random()} AS value`);
    sent.length = 0;
    // One call at a time: the pool hands the same idle connection back each time.
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await readInTenant(paris.id, [statement(), preparedHere], database));
    expect(sent).toHaveLength(4);
    const prepares = sent.filter((script) => /\nPREPARE civitas_script_\w+ AS SELECT \$1::text AS shape, \$2::numeric AS value;\n/.test(script));
    expect(prepares).toEqual([sent[0]]);
    expect(sent[3]).toMatch(/\nEXECUTE civitas_script_\w+\('same shape', 0\.\d+\);\n/);
    const name = /PREPARE (civitas_script_\w+)/.exec(sent[0]!)![1];
    // PostgreSQL counts the runs of the statement it prepared: one per call.
    expect(answers.map(([, statements]) => statements!.find((row) => row.name === name)?.runs)).toEqual([1n, 2n, 3n, 4n].map(String));
  });

  it("reads as the city of the call, under row-level security, whichever city's call prepared it", async () => {
    const users = () => prepared(literalSql`SELECT tenant_id::text AS city, count(*)::int AS n FROM users GROUP BY tenant_id`);
    for (let i = 0; i < 8; i += 1) {
      for (const city of [paris, budapest]) {
        const [rows] = await readInTenant(city.id, [users()], database);
        expect(rows).toEqual([{ city: city.id, n: 1 }]);
      }
    }
  });

  it.runIf(onPostgres)("keeps nothing from a failed script: the next call prepares again and answers", async () => {
    const statement = () => prepared(literalSql`SELECT ${"after a failure"} AS shape, 1 / ${1} AS one`);
    await expect(readInTenant(paris.id, [statement(), literalSql`SELECT 1 / 0`], database)).rejects.toThrow(/division by zero/);
    sent.length = 0;
    const [rows = []] = await readInTenant(paris.id, [statement()], database);
    const [row] = rows;
    expect(row).toEqual({ shape: "after a failure", one: 1 });
    expect(sent[0]).toMatch(/\nPREPARE civitas_script_\w+ AS SELECT \$1::text AS shape/);
  });

  it("is sent as written inside a unit of work already open for the city", async () => {
    sent.length = 0;
    const rows = await withTenant(paris.id, () => readInTenant(paris.id, [prepared(valuesOfEveryKind())], database), database);
    expect(rows[0]).toHaveLength(1);
    expect(sent.some((sql) => /PREPARE|EXECUTE/.test(sql))).toBe(false);
  });
});
