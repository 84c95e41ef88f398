// Federation through the GraphQL API, end to end on one instance: who may call what, a component
// published at Paris, previewed and imported at Budapest (conflicts reported, nothing of
// Budapest's overwritten), a dataset shared with Budapest only and invisible to Vienna, the
// inputs refused, the audit events, and the operators' side (a fake peer, the instance key).
import { isObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cityUri } from "../../app/federation/instance.server";
import { runReporting } from "../../plugins/reporting/test-support";
import { createCity, type TestCity } from "../../tests/support/factories";
import { startFakePeer, type FakePeer } from "../../tests/support/federation";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../../tests/support/graphql";
import { schema } from "../schema";

let h: GraphQLHarness;
let vienna: TestCity;
const token: Record<"paris" | "budapest" | "vienna" | "parisStaff" | "parisResident" | "operator", string> = {} as never;

const RESULT = "__typename ... on Error { code message } ... on ValidationError { fields { field messages } } ... on ConflictError { reason }";

beforeAll(async () => {
  h = await startGraphQL();
  vienna = await createCity(h.database, { slug: `vienna-${Date.now().toString(36)}` });
  await h.identity.addRealm(vienna.slug);
  for (const city of [h.paris, h.budapest, vienna]) await runReporting(h.database, city);
  token.paris = await h.tokenFor("admin", h.paris);
  token.budapest = await h.tokenFor("admin", h.budapest);
  token.vienna = await h.tokenFor("admin", vienna);
  token.parisStaff = await h.tokenFor("staff", h.paris);
  token.parisResident = await h.tokenFor("resident", h.paris);
  token.operator = await h.operatorToken();
}, 120_000);
afterAll(async () => h?.close());

type Who = keyof typeof token | null;

async function ask(who: Who, query: string, variables: Record<string, unknown> = {}, at?: string): Promise<GraphQLAnswer> {
  const where = at ?? (who === "budapest" ? h.budapest.slug : who === "vienna" ? vienna.slug : who === "operator" ? "platform" : h.paris.slug);
  return h.request({ token: who ? token[who] : null, at: where, query, variables });
}

function dataOf<T = Record<string, unknown>>(answer: GraphQLAnswer): T {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return answer.body!.data as T;
}

/** The one root field's value. */
const field = <T = Record<string, unknown>>(answer: GraphQLAnswer): T => Object.values(dataOf(answer))[0] as T;

const COMPONENT = `id uri pluginId kind latestVersion locales title { text(locale: "en") } author
  provenance { city { slug uri names { text } } instance local ownCity }
  service { pluginId available compatible } imported { version following updateAvailable }`;

const PUBLISH = `mutation ($input: PublishComponentInput!) { publishComponent(input: $input) { ${RESULT} ... on FederatedComponent { ${COMPONENT} } } }`;

const PREVIEW = `query ($id: ID!) { federatedComponent(id: $id) { ${COMPONENT}
  versions { version author publishedAt pluginVersionRange }
  items { key name { text } }
  importPreview { version service { installed enabled compatible } settings { field action } items { key action reason } conflicts { key reason } } } }`;

const IMPORT = `mutation ($id: ID!, $follow: Boolean) { importComponent(id: $id, follow: $follow) { ${RESULT}
  ... on ComponentImportReport { version following changed applied { installed created updated } items { key action reason } conflicts { key name { text } reason }
        component { id imported { version following } } } } }`;

async function defineCategory(who: "paris" | "budapest", code: string, name: string): Promise<void> {
  const answer = await ask(who, `mutation ($input: DefineServiceCategoryInput!) { defineServiceCategory(input: $input) { ${RESULT} } }`, {
    input: { code, names: { en: name } },
  });
  expect(field(answer), answer.text).toMatchObject({ __typename: "ServiceCategory" });
}

async function categories(who: "paris" | "budapest"): Promise<{ code: string; name: string }[]> {
  const answer = await ask(who, "{ serviceCategories { code name { text(locale: \"en\") } } }");
  return dataOf<{ serviceCategories: { code: string; name: { text: string } }[] }>(answer).serviceCategories.map((c) => ({ code: c.code, name: c.name.text }));
}

async function auditActions(who: "paris" | "budapest", requestId: string | null): Promise<string[]> {
  const answer = await ask(who, `{ city { auditLog(first: 50) { edges { node { action requestId actorType } } } } }`);
  const events = dataOf<{ city: { auditLog: { edges: { node: { action: string; requestId: string | null; actorType: string } }[] } } }>(answer).city.auditLog.edges;
  return events.filter((edge) => edge.node.requestId === requestId).map((edge) => `${edge.node.actorType}:${edge.node.action}`);
}

describe("who may call what", () => {
  const cityQuery = "{ federatedComponents { edges { node { id } } } }";
  const cityMutation = `mutation { subscribeDataset(id: "${Buffer.from("FederatedDataset:00000000-0000-4000-8000-000000000000").toString("base64url")}") { __typename } }`;

  it.each([
    ["nobody", null, "UNAUTHENTICATED"],
    ["a resident", "parisResident", "FORBIDDEN"],
    ["staff", "parisStaff", "FORBIDDEN"],
  ] as const)("%s at Paris is refused the city admins' fields", async (_who, who, code) => {
    for (const query of [cityQuery, cityMutation]) {
      const answer = await ask(who, query);
      expect(codes(answer), answer.text).toEqual([code]);
    }
  });

  it("refuses a city's admin the operators' fields, and an operator the cities'", async () => {
    for (const query of ["{ federation { instanceId } }", 'mutation { addFederationPeer(url: "https://peer.example") { __typename } }']) {
      expect(codes(await ask("paris", query)), query).toEqual(["FORBIDDEN"]);
    }
    expect(codes(await ask("operator", cityQuery))).toEqual(["FORBIDDEN"]);
    expect(codes(await ask(null, "{ federation { instanceId } }", {}, "platform"))).toEqual(["UNAUTHENTICATED"]);
  });

  it("never offers a private key", () => {
    for (const type of Object.values(schema.getTypeMap()).filter(isObjectType)) {
      if (!type.name.startsWith("Federat")) continue;
      expect(Object.keys(type.getFields()).filter((name) => /private|secret/i.test(name)), type.name).toEqual([]);
    }
  });

  it("answers a federation field asked with other fields VALIDATION_FAILED, saying why", async () => {
    const answer = await ask("paris", `{ city { slug } ${cityQuery.slice(1, -1)} }`);
    expect(codes(answer)).toEqual(["VALIDATION_FAILED"]);
    expect(answer.body?.errors?.[0]?.message).toMatch(/in an operation of their own/);
    expect(answer.body?.errors?.[0]?.path).toEqual(["federatedComponents"]);
  });
});

describe("a component from Paris, imported at Budapest", () => {
  let componentId = "";

  beforeAll(async () => {
    // Paris has a category Budapest lacks, and one Budapest has too, written otherwise.
    await defineCategory("paris", "fallen-tree", "Fallen tree");
    await defineCategory("paris", "graffiti-bridge", "Graffiti on a bridge");
    await defineCategory("budapest", "graffiti-bridge", "Bridge graffiti");
  });

  it("is published by Paris' admin, signed by the instance, with an audit event", async () => {
    const answer = await ask("paris", PUBLISH, {
      input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Roads and trees" }, { locale: "fr", text: "Voirie et arbres" }] },
    });
    const published = field<{ __typename: string; id: string; latestVersion: number; provenance: { ownCity: boolean; local: boolean; city: { slug: string; uri: string } } }>(answer);
    expect(published, answer.text).toMatchObject({
      __typename: "FederatedComponent",
      latestVersion: 1,
      provenance: { ownCity: true, local: true, city: { slug: h.paris.slug, uri: cityUri(h.paris.slug) } },
    });
    componentId = published.id;
    expect(await auditActions("paris", answer.headers.get("x-request-id"))).toEqual(["user:federation.component.published"]);
  });

  it("is in the catalogue Budapest browses, as Paris'", async () => {
    const answer = await ask("budapest", `{ federatedComponents(filter: { pluginId: "reporting" }) { edges { cursor node { ${COMPONENT} } } pageInfo { hasNextPage endCursor } } }`);
    const { edges } = field<{ edges: { node: Record<string, unknown> }[] }>(answer);
    const mine = edges.map((edge) => edge.node).find((node) => node.id === componentId);
    expect(mine).toMatchObject({
      title: { text: "Roads and trees" },
      provenance: { ownCity: false, local: true, city: { slug: h.paris.slug } },
      service: { pluginId: "reporting", available: true, compatible: true },
      imported: null,
    });
    // A slug or a URI names the city; another city's filter leaves it out.
    const byCity = await ask("budapest", `{ federatedComponents(filter: { city: "${h.paris.slug}" }) { edges { node { id } } } }`);
    expect(field<{ edges: { node: { id: string } }[] }>(byCity).edges.map((edge) => edge.node.id)).toContain(componentId);
    const other = await ask("budapest", `{ federatedComponents(filter: { city: "${vienna.slug}" }) { edges { node { id } } } }`);
    expect(field<{ edges: unknown[] }>(other).edges).toEqual([]);
  });

  it("shows Budapest its versions, items and what importing would do, changing nothing", async () => {
    const before = await categories("budapest");
    const answer = await ask("budapest", PREVIEW, { id: componentId });
    const component = field<{
      versions: { version: number }[];
      items: { key: string }[];
      importPreview: { version: number; service: Record<string, boolean>; items: { key: string; action: string; reason: string | null }[]; conflicts: { key: string; reason: string }[] };
    }>(answer);
    expect(component.versions.map((v) => v.version)).toEqual([1]);
    expect(component.items.map((item) => item.key)).toEqual(expect.arrayContaining(["fallen-tree", "graffiti-bridge"]));
    expect(component.importPreview.service).toEqual({ installed: true, enabled: true, compatible: true });
    const action = (key: string) => component.importPreview.items.find((item) => item.key === key);
    expect(action("fallen-tree")).toEqual({ key: "fallen-tree", action: "create", reason: null });
    expect(action("graffiti-bridge")).toEqual({ key: "graffiti-bridge", action: "conflict", reason: "differs" });
    expect(component.importPreview.conflicts).toEqual([{ key: "graffiti-bridge", reason: "differs" }]);
    expect(await categories("budapest")).toEqual(before);
  });

  it("is imported at Budapest in one step: what it lacked created, its own kept, the conflict reported", async () => {
    const answer = await ask("budapest", IMPORT, { id: componentId, follow: true });
    const report = field<Record<string, unknown>>(answer);
    expect(report, answer.text).toMatchObject({
      __typename: "ComponentImportReport",
      version: 1,
      following: true,
      changed: true,
      applied: { installed: false, created: 1, updated: 0 },
      conflicts: [{ key: "graffiti-bridge", name: { text: "Graffiti on a bridge" }, reason: "differs" }],
      component: { id: componentId, imported: { version: 1, following: true } },
    });
    const after = await categories("budapest");
    expect(after).toContainEqual({ code: "fallen-tree", name: "Fallen tree" });
    expect(after).toContainEqual({ code: "graffiti-bridge", name: "Bridge graffiti" });
    expect(await auditActions("budapest", answer.headers.get("x-request-id"))).toEqual(["user:federation.component.imported"]);
  });

  it("lists the import at Budapest only: never another city's import rows", async () => {
    const query = "{ componentImports { version following updateAvailable importedAt component { id } } }";
    expect(field(await ask("budapest", query))).toEqual([{ version: 1, following: true, updateAvailable: false, importedAt: expect.any(String), component: { id: componentId } }]);
    expect(field(await ask("paris", query))).toEqual([]);
    expect(field(await ask("vienna", query))).toEqual([]);
  });

  it("imports the same version again without changing anything", async () => {
    const answer = await ask("budapest", IMPORT, { id: componentId });
    expect(field(answer)).toMatchObject({ __typename: "ComponentImportReport", changed: false, following: true, applied: { created: 0, updated: 0 } });
    expect(await auditActions("budapest", answer.headers.get("x-request-id"))).toEqual([]);
  });

  it("offers Budapest Paris' next version, and stops when it unfollows", async () => {
    const next = await ask("paris", PUBLISH, {
      input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Roads and trees" }], componentId },
    });
    expect(field(next), next.text).toMatchObject({ __typename: "FederatedComponent", id: componentId, latestVersion: 2 });
    const seen = await ask("budapest", `query ($id: ID!) { federatedComponent(id: $id) { imported { version updateAvailable } versions { version } } }`, { id: componentId });
    expect(field(seen)).toEqual({ imported: { version: 1, updateAvailable: true }, versions: [{ version: 2 }, { version: 1 }] });

    const unfollow = await ask("budapest", `mutation ($id: ID!) { setComponentFollowing(id: $id, following: false) { ${RESULT} ... on ComponentImport { following updateAvailable } } }`, {
      id: componentId,
    });
    expect(field(unfollow)).toEqual({ __typename: "ComponentImport", following: false, updateAvailable: true });
    expect(await auditActions("budapest", unfollow.headers.get("x-request-id"))).toEqual(["user:federation.component.unfollowed"]);
  });

  it("refuses Paris its own component's import, and Budapest Paris' withdrawal", async () => {
    const own = await ask("paris", IMPORT, { id: componentId });
    expect(field(own)).toMatchObject({ __typename: "ConflictError", reason: "own_component" });
    const preview = await ask("paris", `query ($id: ID!) { federatedComponent(id: $id) { id importPreview { version } } }`, { id: componentId });
    expect(preview.body?.data).toEqual({ federatedComponent: { id: componentId, importPreview: null } });
    expect(codes(preview)).toEqual(["CONFLICT"]);

    const withdraw = `mutation ($id: ID!) { withdrawComponent(id: $id) { ${RESULT} ... on FederatedComponent { withdrawnAt } } }`;
    expect(field(await ask("budapest", withdraw, { id: componentId }))).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
    const withdrawn = await ask("paris", withdraw, { id: componentId });
    expect(field(withdrawn)).toEqual({ __typename: "FederatedComponent", withdrawnAt: expect.any(String) });
    const listed = await ask("vienna", "{ federatedComponents { edges { node { id } } } }");
    expect(field<{ edges: { node: { id: string } }[] }>(listed).edges.map((edge) => edge.node.id)).not.toContain(componentId);
  });

  it("answers a made-up or malformed id NOT_FOUND, and another type's id VALIDATION_FAILED", async () => {
    const made = Buffer.from("FederatedComponent:6f4e8a52-0c8e-4a43-9d8e-4f7c1b0f9e11").toString("base64url");
    expect(codes(await ask("budapest", "query ($id: ID!) { federatedComponent(id: $id) { id } }", { id: made }))).toEqual(["NOT_FOUND"]);
    expect(codes(await ask("budapest", "query ($id: ID!) { federatedComponent(id: $id) { id } }", { id: "garbage!!" }))).toEqual(["NOT_FOUND"]);
    const dataset = Buffer.from("FederatedDataset:6f4e8a52-0c8e-4a43-9d8e-4f7c1b0f9e11").toString("base64url");
    expect(codes(await ask("budapest", "query ($id: ID!) { federatedComponent(id: $id) { id } }", { id: dataset }))).toEqual(["VALIDATION_FAILED"]);
  });
});

describe("a dataset Paris shares with Budapest only", () => {
  let datasetId = "";
  const DATASET = `id uri pluginId dataset sharing sharedWith lastSeq title { text(locale: "en") } provenance { city { slug } ownCity local }
    subscription { state cursor }`;
  const PUBLISH_DATASET = `mutation ($input: PublishDatasetInput!) { publishDataset(input: $input) { ${RESULT} ... on FederatedDataset { ${DATASET} } } }`;
  const LIST = "{ federatedDatasets { edges { node { id sharedWith provenance { ownCity } } } } }";
  const ids = (answer: GraphQLAnswer) => field<{ edges: { node: { id: string } }[] }>(answer).edges.map((edge) => edge.node.id);

  beforeAll(async () => {
    // Something to count: statistics have a record per category and month with requests.
    await defineCategory("paris", "pothole", "Pothole");
    const reported = await ask("paris", `mutation { reportIssue(input: { categoryCode: "pothole", description: "Deep pothole", address: "Rue de Rivoli", confirmNotDuplicate: true }) { ${RESULT} } }`);
    expect(reported.text).toContain("ReportIssuePayload");
  });

  it("offers the other cities of the instance to share with, not the asking one", async () => {
    const answer = await ask("paris", "{ shareableCities { uri slug local } }");
    const cities = field<{ uri: string; slug: string; local: boolean }[]>(answer);
    expect(cities).toContainEqual({ uri: cityUri(h.budapest.slug), slug: h.budapest.slug, local: true });
    expect(cities.map((city) => city.slug)).not.toContain(h.paris.slug);
  });

  it("is published with its policy, its first records at once, and an audit event", async () => {
    const answer = await ask("paris", PUBLISH_DATASET, {
      input: { pluginId: "reporting", dataset: "request-statistics", sharing: "cities", sharedWith: [cityUri(h.budapest.slug)] },
    });
    const published = field<{ id: string; sharing: string; sharedWith: string[]; lastSeq: string; provenance: { ownCity: boolean } }>(answer);
    expect(published, answer.text).toMatchObject({ __typename: "FederatedDataset", sharing: "cities", sharedWith: [cityUri(h.budapest.slug)], provenance: { ownCity: true } });
    datasetId = published.id;
    expect(await auditActions("paris", answer.headers.get("x-request-id"))).toEqual(["user:federation.dataset.published"]);
  });

  it("is seen by Budapest (without the list of cities), not by Vienna", async () => {
    const atBudapest = field<{ edges: { node: { id: string; sharedWith: string[]; provenance: { ownCity: boolean } } }[] }>(await ask("budapest", LIST));
    expect(atBudapest.edges.map((edge) => edge.node)).toContainEqual({ id: datasetId, sharedWith: [], provenance: { ownCity: false } });
    expect(ids(await ask("vienna", LIST))).not.toContain(datasetId);
    const one = "query ($id: ID!) { federatedDataset(id: $id) { id } }";
    expect(codes(await ask("vienna", one, { id: datasetId }))).toEqual(["NOT_FOUND"]);
    expect(codes(await ask("vienna", "query ($id: ID!) { datasetRecords(datasetId: $id) { edges { cursor } } }", { id: datasetId }))).toEqual(["NOT_FOUND"]);
    const subscribe = await ask("vienna", `mutation ($id: ID!) { subscribeDataset(id: $id) { ${RESULT} } }`, { id: datasetId });
    expect(field(subscribe)).toMatchObject({ __typename: "NotFoundError" });
  });

  it("is subscribed to by Budapest, whose admins read its records with their provenance", async () => {
    const subscribed = await ask("budapest", `mutation ($id: ID!) { subscribeDataset(id: $id) { ${RESULT} ... on FederatedDataset { subscription { state } } } }`, { id: datasetId });
    expect(field(subscribed)).toEqual({ __typename: "FederatedDataset", subscription: { state: "active" } });
    expect(await auditActions("budapest", subscribed.headers.get("x-request-id"))).toEqual(["user:federation.dataset.subscribed"]);
    const subscriptions = await ask("budapest", "{ datasetSubscriptions { state dataset { id } } }");
    expect(field(subscriptions)).toEqual([{ state: "active", dataset: { id: datasetId } }]);
    expect(field(await ask("vienna", "{ datasetSubscriptions { state } }"))).toEqual([]);

    const RECORDS = `query ($id: ID!, $after: String) { datasetRecords(datasetId: $id, first: 1, after: $after) {
      datasetUri lastSeq edges { cursor node { key seq deleted data provenance { city instance seq } } } pageInfo { hasNextPage endCursor } } }`;
    const page = field<{
      lastSeq: string;
      edges: { cursor: string; node: { key: string; seq: string; data: { category: string; received: number }; provenance: { city: string; seq: string } } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    }>(await ask("budapest", RECORDS, { id: datasetId }));
    expect(page.edges).toHaveLength(1);
    const [record] = page.edges;
    expect(record!.node).toMatchObject({ key: expect.stringMatching(/^pothole\//), deleted: false, data: { category: "pothole", received: 1 } });
    expect(record!.node.provenance).toEqual({ city: cityUri(h.paris.slug), instance: expect.any(String), seq: record!.node.seq });
    expect(page.pageInfo.endCursor).toBe(record!.cursor);
    // Past the last record, an empty page: what changed since is what a later call brings.
    const rest = field<{ edges: unknown[]; pageInfo: { hasNextPage: boolean } }>(await ask("budapest", RECORDS, { id: datasetId, after: page.lastSeq }));
    expect(rest).toMatchObject({ edges: [], pageInfo: { hasNextPage: false } });
  });

  it("refuses Budapest Paris' policy, and lets Paris widen it to Vienna", async () => {
    const sharing = `mutation ($id: ID!) { updateDatasetSharing(id: $id, sharing: federation) { ${RESULT} ... on FederatedDataset { sharing } } }`;
    expect(field(await ask("budapest", sharing, { id: datasetId }))).toMatchObject({ __typename: "NotFoundError" });
    expect(ids(await ask("vienna", LIST))).not.toContain(datasetId);
    const widened = await ask("paris", sharing, { id: datasetId });
    expect(field(widened)).toEqual({ __typename: "FederatedDataset", sharing: "federation" });
    expect(await auditActions("paris", widened.headers.get("x-request-id"))).toEqual(["user:federation.dataset.sharing_changed"]);
    expect(ids(await ask("vienna", LIST))).toContain(datasetId);
  });

  it("is unsubscribed from, then withdrawn: gone for the others", async () => {
    const unsubscribed = await ask("budapest", `mutation ($id: ID!) { unsubscribeDataset(id: $id) { ${RESULT} ... on FederatedDataset { subscription { state } } } }`, { id: datasetId });
    expect(field(unsubscribed)).toEqual({ __typename: "FederatedDataset", subscription: null });
    const withdrawn = await ask("paris", `mutation ($id: ID!) { withdrawDataset(id: $id) { ${RESULT} ... on FederatedDataset { withdrawnAt } } }`, { id: datasetId });
    expect(field(withdrawn)).toEqual({ __typename: "FederatedDataset", withdrawnAt: expect.any(String) });
    expect(ids(await ask("budapest", LIST))).not.toContain(datasetId);
    expect(ids(await ask("paris", LIST))).toContain(datasetId);
  });
});

describe("inputs refused", () => {
  const problems = (answer: GraphQLAnswer) => {
    const result = field<{ __typename: string; fields?: { field: string; messages: string[] }[] }>(answer);
    expect(result.__typename, answer.text).toBe("ValidationError");
    return Object.fromEntries((result.fields ?? []).map((problem) => [problem.field, problem.messages]));
  };

  it.each([
    ["an empty title", { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: " " }] }, "title"],
    ["a language twice", { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "A" }, { locale: "en", text: "B" }] }, "title"],
    ["an unsupported language", { pluginId: "reporting", kind: "categories", title: [{ locale: "xx", text: "A" }] }, "title"],
    ["a kind the service lacks", { pluginId: "reporting", kind: "bicycles", title: [{ locale: "en", text: "A" }] }, "kind"],
  ])("publishComponent with %s: a ValidationError naming the field", async (_case, input, name) => {
    expect(Object.keys(problems(await ask("paris", PUBLISH, { input })))).toEqual([name]);
  });

  it.each([
    ["named cities without a city", { sharing: "cities" }],
    ["a city that does not exist", { sharing: "cities", sharedWith: [cityUri("atlantis")] }],
    ["cities with another policy", { sharing: "public", sharedWith: [cityUri("atlantis")] }],
  ])("publishDataset with %s: a ValidationError on sharedWith", async (_case, policy) => {
    const answer = await ask("paris", `mutation ($input: PublishDatasetInput!) { publishDataset(input: $input) { ${RESULT} } }`, {
      input: { pluginId: "reporting", dataset: "request-statistics", ...policy },
    });
    expect(Object.keys(problems(answer))).toEqual(["sharedWith"]);
  });

  it.each([
    ["first over 100", "first: 101"],
    ["first 0", "first: 0"],
    ["an after that is not a cursor", 'after: "abc"'],
    ["last", "last: 5"],
  ])("datasetRecords with %s: VALIDATION_FAILED", async (_case, args) => {
    const id = Buffer.from("FederatedDataset:6f4e8a52-0c8e-4a43-9d8e-4f7c1b0f9e11").toString("base64url");
    const answer = await ask("budapest", `{ datasetRecords(datasetId: "${id}", ${args}) { edges { cursor } } }`);
    expect(codes(answer), answer.text).toEqual(["VALIDATION_FAILED"]);
  });

  it("federatedComponents with a cursor of nothing: VALIDATION_FAILED", async () => {
    expect(codes(await ask("budapest", '{ federatedComponents(after: "nope") { edges { cursor } } }'))).toEqual(["VALIDATION_FAILED"]);
  });
});

describe("the operators' side", () => {
  let peer: FakePeer;
  let peerId = "";
  const PEER = "id instanceId name state localAccepted remoteAccepted suspended keys { id status } cities { uri slug } outbox { pending failed }";

  beforeAll(async () => {
    peer = await startFakePeer({ name: "Graz Civitas" });
  });
  afterAll(async () => peer?.close());

  async function platformActions(requestId: string | null): Promise<string[]> {
    const answer = await ask("operator", "{ platformAuditLog(first: 20) { edges { node { action requestId actorType } } } }");
    return dataOf<{ platformAuditLog: { edges: { node: { action: string; requestId: string | null; actorType: string } }[] } }>(answer)
      .platformAuditLog.edges.filter((edge) => edge.node.requestId === requestId)
      .map((edge) => `${edge.node.actorType}:${edge.node.action}`);
  }

  it("adds a peer by its address: its keys pinned, a Follow on its way", async () => {
    const answer = await ask("operator", `mutation ($url: String!) { addFederationPeer(url: $url) { ${RESULT} ... on AddedFederationPeer { created peer { ${PEER} } } } }`, {
      url: peer.instanceId,
    });
    const added = field<{ created: boolean; peer: { id: string } }>(answer);
    expect(added, answer.text).toMatchObject({
      __typename: "AddedFederationPeer",
      created: true,
      peer: {
        instanceId: peer.instanceId,
        name: "Graz Civitas",
        state: "requested",
        localAccepted: true,
        remoteAccepted: false,
        keys: [{ id: peer.key.keyId, status: "current" }],
        cities: [{ uri: `${peer.instanceId}/federation/cities/graz`, slug: "graz" }],
        outbox: { pending: 1, failed: 0 },
      },
    });
    peerId = added.peer.id;
    expect(await platformActions(answer.headers.get("x-request-id"))).toEqual(["operator:federation.peer.added"]);
  });

  it("shows the instance, its keys and its peers, and one peer by id", async () => {
    const overview = field<{ instanceId: string; keys: { id: string; status: string }[]; peers: { id: string }[]; outbox: { pending: number } }>(
      await ask("operator", `{ federation { instanceId name protocol keys { id status createdAt publicKeyPem } peers { id } requested: peers(state: requested) { id } active: peers(state: active) { id } outbox { pending failed lastErrors { id } } } }`),
    );
    expect(overview).toMatchObject({ protocol: "civitas-federation/1", peers: [{ id: peerId }], requested: [{ id: peerId }], active: [], outbox: { pending: 1 } });
    expect(overview.keys).toEqual([expect.objectContaining({ id: expect.stringMatching(new RegExp(`^${overview.instanceId}#`)), status: "current" })]);
    expect(field(await ask("operator", `query ($id: ID!) { federationPeer(id: $id) { id state } }`, { id: peerId }))).toEqual({ id: peerId, state: "requested" });
  });

  it("suspends and resumes it", async () => {
    const suspend = await ask("operator", `mutation ($id: ID!) { suspendFederationPeer(id: $id, reason: "audit") { ${RESULT} ... on FederationPeer { state } } }`, { id: peerId });
    expect(field(suspend)).toEqual({ __typename: "FederationPeer", state: "suspended" });
    expect(await platformActions(suspend.headers.get("x-request-id"))).toEqual(["operator:federation.peer.suspended"]);
    const resume = await ask("operator", `mutation ($id: ID!) { resumeFederationPeer(id: $id) { ${RESULT} ... on FederationPeer { state } } }`, { id: peerId });
    expect(field(resume)).toEqual({ __typename: "FederationPeer", state: "requested" });
  });

  it("rotates the key only when told the current one", async () => {
    const keys = async () => field<{ keys: { id: string; status: string }[] }>(await ask("operator", "{ federation { keys { id status } } }")).keys;
    const [current] = await keys();
    const ROTATE = `mutation ($k: ID!) { rotateFederationKey(currentKeyId: $k) { ${RESULT} ... on RotatedFederationKey { keyId previousKeyId announcedTo } } }`;
    const stale = await ask("operator", ROTATE, { k: `${current!.id}-old` });
    expect(field(stale)).toMatchObject({ __typename: "ConflictError", reason: "key_changed" });
    const rotated = await ask("operator", ROTATE, { k: current!.id });
    const answer = field<{ keyId: string }>(rotated);
    expect(answer).toMatchObject({ __typename: "RotatedFederationKey", previousKeyId: current!.id, announcedTo: 1 });
    expect(await platformActions(rotated.headers.get("x-request-id"))).toEqual(["operator:federation.key.rotated"]);
    expect(await keys()).toEqual([
      { id: answer.keyId, status: "current" },
      { id: current!.id, status: "retired" },
    ]);
  });

  it("removes it, telling it so", async () => {
    const removed = await ask("operator", `mutation ($id: ID!) { removeFederationPeer(id: $id) { ${RESULT} ... on RemovedFederationPeer { id notified } } }`, { id: peerId });
    expect(field(removed)).toEqual({ __typename: "RemovedFederationPeer", id: peerId, notified: true });
    expect(peer.received.map((request) => (request.json as { type?: string }).type)).toContain("Undo");
    expect(codes(await ask("operator", `query ($id: ID!) { federationPeer(id: $id) { id } }`, { id: peerId }))).toEqual(["NOT_FOUND"]);
  });

  it("refuses an address that is not an instance with a ValidationError on url", async () => {
    const answer = await ask("operator", `mutation { addFederationPeer(url: "ftp://peer.example") { ${RESULT} } }`);
    expect(field(answer)).toMatchObject({ __typename: "ValidationError", fields: [{ field: "url", messages: [expect.any(String)] }] });
  });
});
