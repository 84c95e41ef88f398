// Who may call what. Every root field, and every City field behind a permission, is called as
// nobody, a resident, staff and an admin (at Paris' address), as an operator (at the platform's
// address) and as nobody at the platform's address. Operations are generated from the schema
// (required arguments only, with well-formed dummies: made-up ids of the right type, invalid
// input), so that nothing changes when a call is allowed. The outcome table is committed in
// __snapshots__/scopes.snapshot.json: a change to who may call what, or a new field, shows there.
import { randomUUID } from "node:crypto";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pluginContributions } from "../../graphql/plugins";
import { schema } from "../../graphql/schema";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../support/graphql";

const COLUMNS = ["anonymous", "resident", "staff", "admin", "operator", "anonymous@platform"] as const;
type Column = (typeof COLUMNS)[number];
type Row = Record<Column, string>;

/** Past authorization: the call ran (a typed error for a dummy argument included). */
const ALLOWED = "allowed";
/** A City field on the platform's address without an operator: there is no city to ask it of. */
const UNREACHED = "unreached";
/** A plugin's field where no city runs the plugin (the platform's address): not found. */
const NO_SERVICE = "no service";
const PASSED_AUTHORIZATION = ["NOT_FOUND", "VALIDATION_FAILED", "CONFLICT"];

const PUBLIC_FIELDS = ["Query.city", "Query.node", "Query.serviceCatalogue"];
/** What plugins let anyone read (or do) at a city that runs them. */
const PUBLIC_PLUGIN_FIELDS = [
  "Query.notices",
  // Reporting: anyone reports (where the city allows it), follows and reads requests (never contact details).
  "Mutation.followServiceRequest",
  "Mutation.reportIssue",
  "Query.serviceCategories",
  "Query.serviceRequest",
  "Query.serviceRequestDuplicates",
  "Query.serviceRequests",
];

/** Mutations whose dummy call succeeds without changing anything (the state check below proves it). */
const NO_OPS = ["Mutation.requirePersistedOperations"];

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`, "utf8").toString("base64url");
const MADE_UP = randomUUID();

type Call = { name: string; field: GraphQLField<unknown, unknown>; on: "Query" | "Mutation" | "City" };

/** Root fields, then the City fields that declare who may read them (Pothos' authScopes). */
function calls(): Call[] {
  const root = (on: "Query" | "Mutation") =>
    Object.values((on === "Query" ? schema.getQueryType() : schema.getMutationType())!.getFields()).map((field) => ({
      name: `${on}.${field.name}`,
      field,
      on,
    }));
  const city = schema.getType("City");
  if (!isObjectType(city)) throw new Error("no City type");
  const guarded = Object.values(city.getFields())
    .filter((field) => (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes !== undefined)
    .map((field) => ({ name: `City.${field.name}`, field, on: "City" as const }));
  return [...root("Query"), ...root("Mutation"), ...guarded];
}

/** A literal of `type` that is well-formed but names nothing and fails any validation. */
function literal(type: GraphQLInputType, idOf: string | null): string {
  if (isNonNullType(type)) return literal(type.ofType, idOf);
  if (isListType(type)) return `[${literal(type.ofType, idOf)}]`;
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    // Every field, optional ones too: empty texts make the whole input invalid.
    return `{ ${Object.values(type.getFields())
      .map((field) => `${field.name}: ${literal(field.type, idType(field))}`)
      .join(", ")} }`;
  }
  switch (type.name) {
    case "ID":
      return JSON.stringify(globalId(idOf ?? "Nothing", MADE_UP));
    case "String":
      return '""';
    case "Int":
      return "1";
    case "Float":
      return "1.5";
    case "Boolean":
      // Switches off what is off: requirePersistedOperations(enabled: false) changes nothing.
      return "false";
    case "DateTime":
      return '"2026-01-01T00:00:00Z"';
    case "JSON":
      return "{}";
  }
  throw new Error(`No dummy value for ${type.name}: teach literal() about it.`);
}

/** The type a relay global id argument or input field is for (Pothos' `t.arg.globalID({ for })`). */
const idType = (arg: GraphQLArgument | GraphQLInputField) =>
  (arg.extensions as { relayGlobalIDFor?: { typename: string }[] | null }).relayGlobalIDFor?.[0]?.typename ?? null;

function argumentsOf(call: Call, cityId: string): string {
  const required = call.field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
  if (required.length === 0) return "";
  const value = (arg: GraphQLArgument) =>
    // node(id) is for any type: the city's own id, the one object anyone may read.
    call.name === "Query.node" ? JSON.stringify(cityId) : literal(arg.type, idType(arg));
  return `(${required.map((arg) => `${arg.name}: ${value(arg)}`).join(", ")})`;
}

function selection(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return "";
  if (isUnionType(named)) {
    const errors = named.getTypes().some((member) => member.getInterfaces().some((face) => face.name === "Error"));
    return errors ? "{ __typename ... on Error { code } }" : "{ __typename }";
  }
  if (isInterfaceType(named) || isObjectType(named)) return "{ __typename }";
  throw new Error(`No selection for ${String(type)}`);
}

/** The operation, and where its answer is: [parent key or null, field]. */
function operation(call: Call, at: "city" | "platform", cityId: string): string {
  const field = `${call.field.name}${argumentsOf(call, cityId)} ${selection(call.field.type)}`;
  if (call.on === "Mutation") return `mutation { ${field} }`;
  if (call.on === "Query") return `query { ${field} }`;
  return at === "city" ? `query { parent: city { ${field} } }` : `query { parent: node(id: ${JSON.stringify(cityId)}) { ... on City { ${field} } } }`;
}

type Outcome = { outcome: string; typename?: string };

function outcomeOf(call: Call, answer: GraphQLAnswer): Outcome {
  const all = codes(answer).map((code) => code ?? "ERROR_WITHOUT_CODE");
  const errors = (answer.body?.errors ?? []) as { message?: string; extensions?: { code?: string } }[];
  if (errors.some((error) => error.extensions?.code === "NOT_FOUND" && error.message === "No such service.")) return { outcome: NO_SERVICE };
  const denied = all.find((code) => code === "UNAUTHENTICATED" || code === "FORBIDDEN");
  if (denied) return { outcome: denied };
  const data = (answer.body?.data ?? null) as Record<string, unknown> | null;
  const parent = call.on === "City" ? ((data?.parent ?? null) as Record<string, unknown> | null) : data;
  const value = parent?.[call.field.name] as { __typename?: string } | undefined;
  if (value?.__typename === "ForbiddenError") return { outcome: "FORBIDDEN", typename: value.__typename };
  const other = all.find((code) => !PASSED_AUTHORIZATION.includes(code));
  if (other) return { outcome: other };
  if (answer.status !== 200) return { outcome: `HTTP ${answer.status}` };
  if (call.on === "City" && parent === null) return { outcome: UNREACHED };
  return { outcome: ALLOWED, typename: value?.__typename };
}

/** One row a line: a review shows the changed field, not the whole file. */
const format = (table: Record<string, Row>) =>
  `{\n${Object.entries(table)
    .map(([field, row]) => `  ${JSON.stringify(field)}: ${JSON.stringify(row)}`)
    .join(",\n")}\n}\n`;

let h: GraphQLHarness;
let table: Record<string, Row>;
/** Allowed mutations whose result was not a typed error: each changed something. */
let changed: string[];
let before: { city: unknown; platform: unknown };
let after: typeof before;

async function state(operator: string, admin: string) {
  const city = await h.request({ token: admin, query: "{ city { auditLog(first: 50) { edges { node { id } } } persistedOperationsOnly } }" });
  const platform = await h.request({
    token: operator,
    at: "platform",
    query: "{ platformAuditLog(first: 50) { edges { node { id } } } cities(first: 50) { edges { node { slug status } } } }",
  });
  for (const answer of [city, platform]) expect(answer.body?.errors, answer.text).toBeUndefined();
  return { city: city.body?.data, platform: platform.body?.data };
}

beforeAll(async () => {
  h = await startGraphQL();
  const tokens: Record<Column, string | null> = {
    anonymous: null,
    resident: await h.tokenFor("resident", h.paris),
    staff: await h.tokenFor("staff", h.paris),
    admin: await h.tokenFor("admin", h.paris),
    operator: await h.operatorToken(),
    "anonymous@platform": null,
  };
  // Paris runs every service of the catalogue: plugins' fields are then judged on their own scopes.
  const services = await h.request({ token: tokens.admin, at: h.paris.slug, query: "{ cityServices { pluginId state } }" });
  for (const { pluginId, state } of (services.body?.data as { cityServices: { pluginId: string; state: string }[] }).cityServices) {
    if (state === "enabled") continue;
    const mutation = state === "available" ? "installService" : "enableService";
    const done = await h.request({ token: tokens.admin, at: h.paris.slug, query: `mutation { ${mutation}(pluginId: ${JSON.stringify(pluginId)}) { __typename ... on Error { message } } }` });
    expect(done.text).toContain('"CityService"');
  }
  before = await state(tokens.operator!, tokens.admin!);
  const cityId = globalId("City", h.paris.id);
  table = {};
  changed = [];
  for (const call of calls()) {
    const outcomes = await Promise.all(
      COLUMNS.map(async (column) => {
        const at = column === "operator" || column === "anonymous@platform" ? "platform" : "city";
        const answer = await h.request({
          token: tokens[column],
          at: at === "platform" ? "platform" : h.paris.slug,
          query: operation(call, at, cityId),
        });
        const result = outcomeOf(call, answer);
        if (call.on === "Mutation" && result.outcome === ALLOWED && !result.typename?.endsWith("Error") && !NO_OPS.includes(call.name)) {
          changed.push(`${call.name} as ${column}: ${answer.text}`);
        }
        return [column, result.outcome] as const;
      }),
    );
    table[call.name] = Object.fromEntries(outcomes) as Row;
  }
  table = Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
  after = await state(tokens.operator!, tokens.admin!);
}, 120_000);
afterAll(async () => h?.close());

describe("who may call what", () => {
  it("matches the committed table (__snapshots__/scopes.snapshot.json)", async () => {
    await expect(format(table)).toMatchFileSnapshot("./__snapshots__/scopes.snapshot.json");
  });

  it("has a row for every root field and every guarded City field", () => {
    const expected = calls().map((call) => call.name).sort();
    expect(Object.keys(table).sort()).toEqual(expected);
    for (const must of ["Query.node", "Query.viewer", "Mutation.onboardCity", "City.members", "City.apiClients", "City.auditLog", "City.invitations", "City.persistedOperations", "City.persistedOperationsOnly", "City.health"]) {
      expect(expected).toContain(must);
    }
  });

  it("changed nothing: every allowed mutation answered a typed error", () => {
    expect(changed).toEqual([]);
    // Neither the city's nor the platform's audit log, nor the cities, moved.
    expect(after).toEqual(before);
  });

  it("never answers a server error, or an error without a code", () => {
    const cells = Object.entries(table).flatMap(([field, row]) => Object.entries(row).map(([column, outcome]) => `${field} as ${column}: ${outcome}`));
    expect(cells.filter((cell) => /INTERNAL_SERVER_ERROR|ERROR_WITHOUT_CODE|HTTP /.test(cell))).toEqual([]);
  });

  const pluginFields = new Set(pluginContributions().map(({ type, field }) => `${type}.${field}`));

  it("answers a plugin's fields NOT_FOUND, to everyone, where the city does not run the plugin", async () => {
    expect(pluginFields.size).toBeGreaterThan(0);
    const admin = await h.tokenFor("admin", h.paris);
    const ids = [...new Set(pluginContributions().map(({ pluginId }) => pluginId))];
    for (const id of ids) {
      const off = await h.request({ token: admin, at: h.paris.slug, query: `mutation { disableService(pluginId: ${JSON.stringify(id)}) { __typename } }` });
      expect(off.text).toContain('"CityService"');
    }
    try {
      const cityId = globalId("City", h.paris.id);
      for (const call of calls().filter((candidate) => pluginFields.has(candidate.name))) {
        for (const token of [null, admin]) {
          const answer = await h.request({ token, at: h.paris.slug, query: operation(call, "city", cityId) });
          expect(outcomeOf(call, answer).outcome, `${call.name} with ${token ? "admin" : "nobody"}`).toBe(NO_SERVICE);
        }
      }
    } finally {
      for (const id of ids) await h.request({ token: admin, at: h.paris.slug, query: `mutation { enableService(pluginId: ${JSON.stringify(id)}) { __typename } }` });
    }
  });

  /** Who got past authorization for `field`. */
  const allowed = (field: string) => COLUMNS.filter((column) => table[field]?.[column] === ALLOWED);

  it("lets nobody signed out call anything but the public fields", () => {
    const open = Object.keys(table).filter((field) => table[field]!.anonymous === ALLOWED || table[field]!["anonymous@platform"] === ALLOWED);
    expect(open.sort()).toEqual([...PUBLIC_FIELDS, ...PUBLIC_PLUGIN_FIELDS].sort());
    for (const field of PUBLIC_FIELDS) expect(allowed(field)).toEqual([...COLUMNS]);
    // A plugin's public fields: everyone at a city that runs it; nobody finds them elsewhere.
    for (const field of PUBLIC_PLUGIN_FIELDS) {
      expect(allowed(field)).toEqual(["anonymous", "resident", "staff", "admin"]);
      expect([table[field]!.operator, table[field]!["anonymous@platform"]]).toEqual([NO_SERVICE, NO_SERVICE]);
    }
  });

  it("answers UNAUTHENTICATED to nobody, and FORBIDDEN to somebody without the permission", () => {
    for (const [field, row] of Object.entries(table)) {
      const plugins = pluginFields.has(field) ? [NO_SERVICE] : [];
      expect([ALLOWED, UNREACHED, "UNAUTHENTICATED"], `${field} as anonymous`).toContain(row.anonymous);
      expect([ALLOWED, UNREACHED, "UNAUTHENTICATED", ...plugins], `${field} as anonymous@platform`).toContain(row["anonymous@platform"]);
      for (const column of ["resident", "staff", "admin"] as const) {
        expect([ALLOWED, "FORBIDDEN"], `${field} as ${column}`).toContain(row[column]);
      }
      expect([ALLOWED, "FORBIDDEN", ...plugins], `${field} as operator`).toContain(row.operator);
    }
  });

  it.each([
    ["Query.viewer", ["resident", "staff", "admin", "operator"]],
    ["Mutation.acceptInvitation", ["resident", "staff", "admin"]],
    ["City.members", ["staff", "admin"]],
    ["Mutation.updateCitySettings", ["admin"]],
    ["Mutation.grantRole", ["admin"]],
    ["Mutation.revokeRole", ["admin"]],
    ["Mutation.createInvitation", ["admin"]],
    ["Mutation.revokeInvitation", ["admin"]],
    ["Mutation.createApiClient", ["admin"]],
    ["Mutation.revokeApiClient", ["admin"]],
    ["Mutation.registerPersistedOperation", ["admin"]],
    ["Mutation.removePersistedOperation", ["admin"]],
    ["Mutation.requirePersistedOperations", ["admin"]],
    ["City.apiClients", ["admin"]],
    ["City.auditLog", ["admin"]],
    ["City.invitations", ["admin"]],
    ["City.persistedOperations", ["admin"]],
    ["City.persistedOperationsOnly", ["admin"]],
    ["Query.cities", ["operator"]],
    ["Query.platformAuditLog", ["operator"]],
    ["Mutation.onboardCity", ["operator"]],
    ["Mutation.suspendCity", ["operator"]],
    ["Mutation.resumeCity", ["operator"]],
    ["City.health", ["operator"]],
    // Federation: a city's admins publish, import and subscribe; operators peer.
    ...[
      "Query.federatedComponents",
      "Query.federatedComponent",
      "Query.componentImports",
      "Query.federatedDatasets",
      "Query.federatedDataset",
      "Query.datasetSubscriptions",
      "Query.datasetRecords",
      "Mutation.publishComponent",
      "Mutation.withdrawComponent",
      "Mutation.importComponent",
      "Mutation.setComponentFollowing",
      "Mutation.publishDataset",
      "Mutation.updateDatasetSharing",
      "Mutation.withdrawDataset",
      "Mutation.subscribeDataset",
      "Mutation.unsubscribeDataset",
    ].map((field) => [field, ["admin"]] as [string, string[]]),
    ...[
      "Query.federation",
      "Query.federationPeer",
      "Mutation.addFederationPeer",
      "Mutation.acceptFederationPeer",
      "Mutation.rejectFederationPeer",
      "Mutation.suspendFederationPeer",
      "Mutation.resumeFederationPeer",
      "Mutation.removeFederationPeer",
      "Mutation.rotateFederationKey",
    ].map((field) => [field, ["operator"]] as [string, string[]]),
  ] as [string, string[]][])("%s: only %j get past authorization", (field, who) => {
    expect(allowed(field)).toEqual(who);
  });
});
