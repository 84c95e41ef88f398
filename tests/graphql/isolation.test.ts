// Two cities, one API: at Budapest, anything of Paris' is "not found" — whatever its type, in
// every list and in every mutation that takes an id — and Paris' tokens do not open Budapest's
// endpoint. Every Node type of the schema is covered: a new one fails here until it is.
import { randomUUID } from "node:crypto";
import { isObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { cityUri } from "../../app/federation/instance.server";
import { schema } from "../../graphql/schema";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../support/graphql";
import { createCity, type TestCity } from "../support/factories";
import { addPerson } from "../support/identity";

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`, "utf8").toString("base64url");

/** The object types implementing Node, from the schema itself. */
const NODE_TYPES = Object.values(schema.getTypeMap())
  .filter(isObjectType)
  .filter((type) => type.getInterfaces().some((face) => face.name === "Node"))
  .map((type) => type.name)
  .sort();

const NODE = /* GraphQL */ `query ($id: ID!) { node(id: $id) { __typename id } }`;
const MUTATION_RESULT = "__typename ... on Error { code } ... on ConflictError { reason }";

let h: GraphQLHarness;
let parisAdmin: string;
let budapestAdmin: string;
/** One object of each Node type, made in Paris: type → its global id. */
const paris: Record<string, string> = {};
let parisResident: string;
let parisInvitationToken: string;
let parisOperationHash: string;

type Edges = { edges: { node: { id: string } }[] };
const ids = (connection: Edges) => connection.edges.map((edge) => edge.node.id);

async function data<T>(answer: GraphQLAnswer): Promise<T> {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return answer.body!.data as T;
}

beforeAll(async () => {
  h = await startGraphQL();
  parisAdmin = await h.tokenFor("admin", h.paris);
  budapestAdmin = await h.tokenFor("admin", h.budapest);
  const resident = await addPerson(h.database, h.paris);
  parisResident = globalId("Member", resident.userId);

  // Made through the API as Paris' admin, so that each type's object is one the API hands out.
  const created = await data<{ createInvitation: { token: string; invitation: { id: string } } }>(
    await h.request({
      token: parisAdmin,
      query: `mutation { createInvitation(email: "clerk@paris.example", role: staff) { ... on CreatedInvitation { token invitation { id } } } }`,
    }),
  );
  parisInvitationToken = created.createInvitation.token;
  const document = "query ParisName { city { name } }";
  const registered = await data<{ registerPersistedOperation: { id: string } }>(
    await h.request({
      token: parisAdmin,
      query: `mutation ($d: String!) { registerPersistedOperation(name: "paris-name", document: $d) { ... on PersistedOperation { id } } }`,
      variables: { d: document },
    }),
  );
  parisOperationHash = registered.registerPersistedOperation.id;

  const lists = await data<{ city: { id: string; members: Edges; apiClients: Edges; auditLog: Edges; invitations: Edges } }>(
    await h.request({
      token: parisAdmin,
      query: `{ city { id members(first: 100) { edges { node { id } } } apiClients { edges { node { id } } }
                auditLog(first: 100) { edges { node { id } } } invitations { edges { node { id } } } } }`,
    }),
  );
  paris.City = lists.city.id;
  paris.Member = globalId("Member", h.paris.userId);
  paris.ApiClient = ids(lists.city.apiClients)[0]!;
  paris.AuditEvent = ids(lists.city.auditLog)[0]!;
  paris.Invitation = created.createInvitation.invitation.id;

  // Plugins' types: Paris and Budapest both run the notice board (the factory installs it).
  const notice = await data<{ postNotice: { id: string } }>(
    await h.request({ token: parisAdmin, query: `mutation { postNotice(input: { title: { en: "Paris only" } }) { ... on Notice { id } } }` }),
  );
  paris.Notice = notice.postNotice.id;

  // Both cities run reporting, so that Budapest's NOT_FOUND is the two-city rule, not a missing service.
  for (const token of [parisAdmin, budapestAdmin]) {
    const at = token === parisAdmin ? h.paris.slug : h.budapest.slug;
    expect((await h.request({ token, at, query: `mutation { installService(pluginId: "reporting") { __typename } }` })).text).toContain("CityService");
  }
  const reported = await data<{ reportIssue: { request: { id: string; category: { id: string } } } }>(
    await h.request({
      token: parisAdmin,
      query: `mutation { reportIssue(input: { categoryCode: "pothole", description: "Paris pothole", address: "Place de la Concorde", confirmNotDuplicate: true }) {
                ... on ReportIssuePayload { request { id category { id } } } } }`,
    }),
  );
  paris.ServiceRequest = reported.reportIssue.request.id;
  paris.ServiceCategory = reported.reportIssue.request.category.id;
}, 120_000);
afterAll(async () => h?.close());

/** A mutation answered `NotFoundError` (a typed result, not a top-level error). */
function expectNotFoundResult(answer: GraphQLAnswer, field: string) {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  expect((answer.body?.data as Record<string, unknown>)[field], answer.text).toEqual({ __typename: "NotFoundError", code: "NOT_FOUND" });
}

/** `node` answered NOT_FOUND: one error at `node`, and no data. */
function expectNodeNotFound(answer: GraphQLAnswer) {
  expect(answer.status, answer.text).toBe(200);
  expect(codes(answer), answer.text).toEqual(["NOT_FOUND"]);
  expect(answer.body?.errors?.[0]?.path, answer.text).toEqual(["node"]);
  expect(answer.body?.data, answer.text).toBeNull();
}

/** What Paris' admin sees of Paris: everything a Budapest mutation must leave as it is. */
async function parisState() {
  return data(
    await h.request({
      token: parisAdmin,
      query: `{ city { members(first: 40) { edges { node { id roles } } }
                apiClients { edges { node { id revokedAt } } }
                invitations { edges { node { id status } } }
                persistedOperations { id }
                auditLog(first: 40) { edges { node { id action } } } } }`,
    }),
  );
}

describe("node(id) of a Paris object, asked at Budapest", () => {
  it("covers every Node type of the schema", () => {
    expect(NODE_TYPES.length).toBeGreaterThanOrEqual(5);
    expect(Object.keys(paris).sort(), "make an object of each new Node type in beforeAll").toEqual(NODE_TYPES);
  });

  it.each(NODE_TYPES)("%s: Paris' admin gets it at Paris", async (type) => {
    const id = paris[type];
    expect(id, `no Paris object of type ${type}: add one to beforeAll`).toBeDefined();
    const answer = await h.request({ token: parisAdmin, query: NODE, variables: { id } });
    expect(await data(answer)).toEqual({ node: { __typename: type, id } });
  });

  it.each(NODE_TYPES)("%s: Budapest's admin gets NOT_FOUND at Budapest", async (type) => {
    const id = paris[type];
    expect(id, `no Paris object of type ${type}: add one to beforeAll`).toBeDefined();
    expectNodeNotFound(await h.request({ token: budapestAdmin, at: h.budapest.slug, query: NODE, variables: { id } }));
  });

  it.each(NODE_TYPES)("%s: nobody signed in gets NOT_FOUND at Budapest", async (type) => {
    expectNodeNotFound(await h.request({ at: h.budapest.slug, query: NODE, variables: { id: paris[type] } }));
  });
});

describe("made-up and malformed ids", () => {
  it.each(NODE_TYPES)("node(id) of a %s that does not exist is NOT_FOUND", async (type) => {
    expectNodeNotFound(await h.request({ token: parisAdmin, query: NODE, variables: { id: globalId(type, randomUUID()) } }));
  });

  it.each([
    ["not base64url", "garbage!!"],
    ["empty", ""],
    ["no type", Buffer.from("1234").toString("base64url")],
    ["an unknown type", globalId("Nope", randomUUID())],
    ["a type that is not a Node", globalId("Viewer", randomUUID())],
    ["a Member id that is not a UUID", globalId("Member", "not-a-uuid")],
    ["a City id that is not a UUID", globalId("City", "paris")],
    ["padded base64", `${globalId("Member", randomUUID())}==`],
  ])("node(id) with %s is NOT_FOUND", async (_case, id) => {
    expectNodeNotFound(await h.request({ token: parisAdmin, query: NODE, variables: { id } }));
  });

  it("a made-up id of the right type is NOT_FOUND in each mutation that takes one", async () => {
    const answer = await h.request({
      token: parisAdmin,
      query: `mutation ($member: ID!, $client: ID!, $invitation: ID!) {
        grantRole(memberId: $member, role: staff) { ${MUTATION_RESULT} }
        revokeRole(memberId: $member, role: staff) { ${MUTATION_RESULT} }
        revokeApiClient(id: $client) { ${MUTATION_RESULT} }
        revokeInvitation(id: $invitation) { ${MUTATION_RESULT} }
        removePersistedOperation(id: "${"0".repeat(64)}") { ${MUTATION_RESULT} }
      }`,
      variables: { member: globalId("Member", randomUUID()), client: globalId("ApiClient", randomUUID()), invitation: globalId("Invitation", randomUUID()) },
    });
    for (const field of ["grantRole", "revokeRole", "revokeApiClient", "revokeInvitation", "removePersistedOperation"]) {
      expectNotFoundResult(answer, field);
    }
  });

  it.each([
    ["malformed", "garbage!!", "NOT_FOUND"],
    ["not a UUID", globalId("Member", "not-a-uuid"), "NOT_FOUND"],
    // An id of another type says so (the type is no secret: it is in the id).
    ["of another type (an API client's)", "apiClient", "VALIDATION_FAILED"],
  ])("grantRole with a member id %s: a clear code, never a server error", async (_case, given, expected) => {
    const memberId = given === "apiClient" ? paris.ApiClient : given;
    const answer = await h.request({
      token: parisAdmin,
      query: `mutation ($id: ID!) { grantRole(memberId: $id, role: staff) { ${MUTATION_RESULT} } }`,
      variables: { id: memberId },
    });
    expect(answer.status, answer.text).toBe(200);
    // A typed result or an error at the field, with that one code.
    const result = (answer.body?.data as { grantRole?: { code?: string } } | null)?.grantRole;
    expect(result?.code ?? codes(answer)[0], answer.text).toBe(expected);
    expect(codes(answer).filter((code) => code !== expected), answer.text).toEqual([]);
  });
});

describe("lists", () => {
  /** The ids of a city's rows, as the API encodes them. */
  async function rowsOf(city: TestCity) {
    return withPlatformAdmin(async (tx) => {
      const where = { tenantId: city.id };
      const users = await tx.user.findMany({ where, select: { id: true } });
      const clients = await tx.apiClient.findMany({ where, select: { id: true } });
      const events = await tx.auditEvent.findMany({ where, select: { id: true } });
      const invitations = await tx.invitation.findMany({ where, select: { id: true } });
      const operations = await tx.persistedOperation.findMany({ where, select: { id: true } });
      const encode = (type: string, rows: { id: string }[]) => rows.map((row) => globalId(type, row.id)).sort();
      return {
        members: encode("Member", users),
        apiClients: encode("ApiClient", clients),
        auditLog: encode("AuditEvent", events),
        invitations: encode("Invitation", invitations),
        persistedOperations: operations.map((operation) => operation.id).sort(),
      };
    }, h.database);
  }

  // One list per request: four full pages in one document would pass the cost limit.
  async function listed(token: string, at: string) {
    const list = async (field: string) => {
      const { city } = await data<{ city: Record<string, Edges> }>(
        await h.request({ token, at, query: `{ city { ${field}(first: 100) { edges { node { id } } } } }` }),
      );
      return ids(city[field]!).sort();
    };
    const { city } = await data<{ city: { persistedOperations: { id: string }[] } }>(
      await h.request({ token, at, query: "{ city { persistedOperations { id } } }" }),
    );
    return {
      members: await list("members"),
      apiClients: await list("apiClients"),
      auditLog: await list("auditLog"),
      invitations: await list("invitations"),
      persistedOperations: city.persistedOperations.map((operation) => operation.id).sort(),
    };
  }

  it("hold exactly the city's own rows, at Paris and at Budapest", async () => {
    const [atParis, atBudapest] = [await listed(parisAdmin, h.paris.slug), await listed(budapestAdmin, h.budapest.slug)];
    const [parisRows, budapestRows] = [await rowsOf(h.paris), await rowsOf(h.budapest)];
    expect(atParis).toEqual(parisRows);
    expect(atBudapest).toEqual(budapestRows);
    expect(atParis.persistedOperations).toContain(parisOperationHash);
    // Each list has something in both cities (a test of empty lists proves nothing), and no id twice.
    for (const list of ["members", "apiClients", "auditLog", "invitations", "persistedOperations"] as const) {
      expect(atParis[list].length, list).toBeGreaterThan(0);
      expect(atBudapest[list].length, list).toBeGreaterThan(0);
      expect(atParis[list].filter((id) => atBudapest[list].includes(id)), list).toEqual([]);
    }
  });
});

describe("mutations at Budapest on Paris' objects", () => {
  it("answer NotFoundError each, and change nothing in either city", async () => {
    const before = await parisState();
    const budapestLogBefore = await data(await h.request({ token: budapestAdmin, at: h.budapest.slug, query: "{ city { auditLog(first: 100) { edges { node { id } } } } }" }));

    const answer = await h.request({
      token: budapestAdmin,
      at: h.budapest.slug,
      query: `mutation ($resident: ID!, $admin: ID!, $client: ID!, $invitation: ID!, $operation: String!) {
        grantRole(memberId: $resident, role: admin) { ${MUTATION_RESULT} }
        revokeRole(memberId: $admin, role: admin) { ${MUTATION_RESULT} }
        revokeApiClient(id: $client) { ${MUTATION_RESULT} }
        revokeInvitation(id: $invitation) { ${MUTATION_RESULT} }
        removePersistedOperation(id: $operation) { ${MUTATION_RESULT} }
      }`,
      variables: { resident: parisResident, admin: paris.Member, client: paris.ApiClient, invitation: paris.Invitation, operation: parisOperationHash },
    });
    for (const field of ["grantRole", "revokeRole", "revokeApiClient", "revokeInvitation", "removePersistedOperation"]) {
      expectNotFoundResult(answer, field);
    }

    // Paris' invitation token, presented by a person of Budapest at Budapest.
    const budapestResident = await h.tokenFor("resident", h.budapest);
    const accepted = await h.request({
      token: budapestResident,
      at: h.budapest.slug,
      query: `mutation ($token: String!) { acceptInvitation(token: $token) { ${MUTATION_RESULT} } }`,
      variables: { token: parisInvitationToken },
    });
    expectNotFoundResult(accepted, "acceptInvitation");

    expect(await parisState()).toEqual(before);
    expect(await data(await h.request({ token: budapestAdmin, at: h.budapest.slug, query: "{ city { auditLog(first: 100) { edges { node { id } } } } }" }))).toEqual(
      budapestLogBefore,
    );
    // And Paris' operation still answers at Paris.
    const byHash = await h.request({ extensions: { persistedQuery: { version: 1, sha256Hash: parisOperationHash } } });
    expect(await data(byHash)).toEqual({ city: { name: expect.any(String) } });
  });
});

describe("federation at Budapest on Paris' publications", () => {
  // The federated catalogue is the instance's (ADR 013): Budapest sees Paris' component by design,
  // but only Paris may change it. A dataset is seen only where its policy lets it be.
  let component = "";
  let dataset = "";
  const published = async <T>(query: string, variables?: Record<string, unknown>) =>
    Object.values(await data<Record<string, T>>(await h.request({ token: parisAdmin, query, variables })))[0]!;

  beforeAll(async () => {
    component = (
      await published<{ id: string }>(
        `mutation { publishComponent(input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Paris' categories" }] }) { ... on FederatedComponent { id } } }`,
      )
    ).id;
    // Shared with a third city only: Budapest is not among those who may see it.
    const lyon = await createCity(h.database);
    dataset = (
      await published<{ id: string }>(
        `mutation ($to: [String!]) { publishDataset(input: { pluginId: "reporting", dataset: "request-statistics", sharing: cities, sharedWith: $to }) { ... on FederatedDataset { id } } }`,
        { to: [cityUri(lyon.slug)] },
      )
    ).id;
    expect([component, dataset]).not.toContain(undefined);
  });

  const atBudapest = (query: string, variables: Record<string, unknown> = {}) => h.request({ token: budapestAdmin, at: h.budapest.slug, query, variables });

  it("Paris' dataset is in no list and answers NOT_FOUND at Budapest, records included", async () => {
    const listed = await data<{ federatedDatasets: Edges }>(await atBudapest("{ federatedDatasets(first: 100) { edges { node { id } } } }"));
    expect(ids(listed.federatedDatasets)).not.toContain(dataset);
    for (const query of ["query ($id: ID!) { federatedDataset(id: $id) { id } }", "query ($id: ID!) { datasetRecords(datasetId: $id) { edges { cursor } } }"]) {
      const answer = await atBudapest(query, { id: dataset });
      expect(codes(answer), answer.text).toEqual(["NOT_FOUND"]);
    }
  });

  it("each federation mutation on Paris' component or dataset answers NotFoundError at Budapest, and Paris' stay as they are", async () => {
    const answer = await atBudapest(
      `mutation ($component: ID!, $dataset: ID!) {
        withdrawComponent(id: $component) { ${MUTATION_RESULT} }
        next: publishComponent(input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Taken over" }], componentId: $component }) { ${MUTATION_RESULT} }
        setComponentFollowing(id: $component, following: true) { ${MUTATION_RESULT} }
        updateDatasetSharing(id: $dataset, sharing: public) { ${MUTATION_RESULT} }
        withdrawDataset(id: $dataset) { ${MUTATION_RESULT} }
        subscribeDataset(id: $dataset) { ${MUTATION_RESULT} }
        unsubscribeDataset(id: $dataset) { ${MUTATION_RESULT} }
      }`,
      { component, dataset },
    );
    for (const field of ["withdrawComponent", "next", "setComponentFollowing", "updateDatasetSharing", "withdrawDataset", "subscribeDataset", "unsubscribeDataset"]) {
      expectNotFoundResult(answer, field);
    }
    const paris = await data<{ federatedComponent: unknown; federatedDataset: unknown }>(
      await h.request({
        token: parisAdmin,
        query: "query ($c: ID!, $d: ID!) { federatedComponent(id: $c) { latestVersion withdrawnAt } federatedDataset(id: $d) { sharing withdrawnAt } }",
        variables: { c: component, d: dataset },
      }),
    );
    expect(paris).toEqual({ federatedComponent: { latestVersion: 1, withdrawnAt: null }, federatedDataset: { sharing: "cities", withdrawnAt: null } });
  });
});

describe("tokens", () => {
  it.each([
    ["Paris' admin at Budapest", "paris", "budapest"],
    ["Budapest's admin at Paris", "budapest", "paris"],
  ] as const)("%s: 401 UNAUTHENTICATED", async (_case, from, to) => {
    const token = from === "paris" ? parisAdmin : budapestAdmin;
    const answer = await h.request({ token, at: h[to].slug, query: "{ city { slug } }" });
    expect(answer.status, answer.text).toBe(401);
    expect(codes(answer)).toEqual(["UNAUTHENTICATED"]);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    expect(answer.body?.data).toBeUndefined();
  });

  it("the same token works at its own city (the 401 is about the city, not the token)", async () => {
    expect(await data(await h.request({ token: parisAdmin, query: "{ city { slug } }" }))).toEqual({ city: { slug: h.paris.slug } });
  });
});
