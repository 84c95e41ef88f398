// Every mutation writes an audit event: each Mutation field of the schema has a case here (a new
// field fails until it has one), run as it would be, and the events it added are exactly the
// expected actions, by the caller, with the request's id. A mutation that fails writes nothing
// (its savepoint is rolled back) while the rest of the request stands. And the audit log reads
// as documented: filters, pages of 25 by default and 100 at most, cursors.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { schema } from "../../graphql/schema";
import { createCity } from "../support/factories";
import { insertPeer, startFakePeer, type FakePeer, type PeerFlags } from "../support/federation";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../support/graphql";
import { addPerson } from "../support/identity";

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`, "utf8").toString("base64url");
const RESULT = "__typename ... on Error { code message } ... on ConflictError { reason }";
const EVENT = "id action actorType actorId subjectType subjectId requestId occurredAt";
/** What pages read here: a page of 100 of them is over the cost limit (see limits.test.ts), pages of 50 are not. */
const PAGE_EVENT = "id action actorType subjectId occurredAt";

type Event = { id: string; action: string; actorType: string; actorId: string | null; subjectType: string; subjectId: string | null; requestId: string | null; occurredAt: string };
type Edges<T> = { edges: { cursor: string; node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

let h: GraphQLHarness;
let admin: { token: string; userId: string };
let operator: string;

beforeAll(async () => {
  h = await startGraphQL();
  const person = await addPerson(h.database, h.paris, { roles: ["admin"] });
  admin = { token: await h.tokenFor("admin", h.paris, { subject: person.subject }), userId: person.userId };
  operator = await h.operatorToken();
  const installed = await h.request({ token: admin.token, query: `mutation { installService(pluginId: "reporting") { __typename } }` });
  expect(installed.text).toContain("CityService");
  // An operator's first request registers them (an event of its own): not one a case should count.
  expect((await h.request({ token: operator, at: "platform", query: "{ viewer { kind } }" })).status).toBe(200);
}, 120_000);
afterAll(async () => {
  await Promise.all(fakePeers.map((peer) => peer.close()));
  await h?.close();
});

function dataOf<T = Record<string, unknown>>(answer: GraphQLAnswer): T {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return answer.body!.data as T;
}

async function cityLog(token = admin.token, at = h.paris.slug): Promise<Event[]> {
  const answer = await h.request({ token, at, query: `{ city { auditLog(first: 50) { edges { node { ${EVENT} } } } } }` });
  return dataOf<{ city: { auditLog: Edges<Event> } }>(answer).city.auditLog.edges.map((edge) => edge.node);
}

async function platformLog(): Promise<Event[]> {
  const answer = await h.request({ token: operator, at: "platform", query: `{ platformAuditLog(first: 50) { edges { node { ${EVENT} } } } }` });
  return dataOf<{ platformAuditLog: Edges<Event> }>(answer).platformAuditLog.edges.map((edge) => edge.node);
}

/** A city's events as stored (for a city whose endpoint does not answer: a suspended one). */
async function storedEvents(tenantId: string): Promise<{ action: string; requestId: string | null }[]> {
  return withPlatformAdmin(
    (tx) => tx.auditEvent.findMany({ where: { tenantId }, select: { action: true, requestId: true }, orderBy: { occurredAt: "asc" } }),
    h.database,
  );
}

const added = <T extends { id: string }>(before: T[], after: T[]) => after.filter((event) => !before.some((old) => old.id === event.id));

async function mutate(query: string, options: { token?: string; at?: string; variables?: Record<string, unknown> } = {}) {
  return h.request({ token: options.token ?? admin.token, at: options.at, query, variables: options.variables });
}

const field = (answer: GraphQLAnswer) => Object.values(dataOf(answer))[0] as Record<string, unknown>;

// --- One case per mutation --------------------------------------------------------------------

type Case = {
  /** Where the events go: the city's log (Paris), or the platform's. */
  log: "city" | "platform";
  actions: string[];
  /** The successful result's type. */
  result: string;
  /** Anything the mutation needs first (not counted). */
  setup?: () => Promise<Record<string, string>>;
  run: (given: Record<string, string>) => Promise<GraphQLAnswer>;
  /** Who acted: Paris' admin unless said otherwise. */
  actor?: (given: Record<string, string>) => { actorType: string; actorId?: string };
  /** Puts back what must be before the log can be read (its own events are not counted). */
  restore?: (given: Record<string, string>) => Promise<GraphQLAnswer>;
  /** More to check once it ran (what the city's own log says, for platform mutations). */
  also?: (given: Record<string, string>, answer: GraphQLAnswer) => Promise<void>;
};

async function createInvitation(email: string) {
  const answer = await mutate(`mutation ($email: String!) { createInvitation(email: $email, role: staff) { ${RESULT} ... on CreatedInvitation { token invitation { id } } } }`, {
    variables: { email },
  });
  const created = field(answer) as { token: string; invitation: { id: string } };
  expect(created.token, answer.text).toBeDefined();
  return { token: created.token, id: created.invitation.id };
}

async function register(document: string) {
  const answer = await mutate(`mutation ($d: String!) { registerPersistedOperation(name: "audited", document: $d) { ${RESULT} ... on PersistedOperation { id } } }`, {
    variables: { d: document },
  });
  expect(field(answer), answer.text).toMatchObject({ __typename: "PersistedOperation" });
  return (field(answer) as { id: string }).id;
}


// The reporting plugin: Paris runs it (installed in beforeAll, with its default categories).
async function reportAnonymously(description: string, latitude = 48.85): Promise<string> {
  const answer = await h.request({
    query: `mutation ($d: String!, $lat: Float!) { reportIssue(input: { categoryCode: "pothole", description: $d, latitude: $lat, longitude: 2.35, confirmNotDuplicate: true }) {
              ${RESULT} ... on ReportIssuePayload { request { trackingId } } } }`,
    variables: { d: description, lat: latitude },
  });
  const trackingId = (field(answer) as { request?: { trackingId: string } }).request?.trackingId;
  expect(trackingId, answer.text).toBeDefined();
  return trackingId!;
}

async function defineCategory(code: string): Promise<string> {
  const answer = await mutate(`mutation ($c: String!) { defineServiceCategory(input: { code: $c, names: { en: "Test" } }) { ${RESULT} ... on ServiceCategory { id } } }`, {
    variables: { c: code },
  });
  return (field(answer) as { id: string }).id;
}

const TRACKED = (query: string) => (given: Record<string, string>) => mutate(query, { variables: { t: given.trackingId } });


// Federation: Budapest publishes what Paris imports and subscribes to; operators peer with fakes.
const fakePeers: FakePeer[] = [];
let budapestReporting: Promise<string> | null = null;

/**
 * Budapest's admin (its only one, as its test data made it: Budapest must keep a single admin),
 * once Budapest runs reporting with its default categories, to publish them.
 */
function budapestAdmin(): Promise<string> {
  budapestReporting ??= (async () => {
    const token = await h.tokenFor("admin", h.budapest, { subject: `subject-${h.budapest.userId}` });
    const installed = await h.request({ token, at: h.budapest.slug, query: `mutation { installService(pluginId: "reporting") { __typename } }` });
    expect(installed.text).toContain("CityService");
    return token;
  })();
  return budapestReporting;
}

async function budapestComponent(): Promise<string> {
  const answer = await h.request({
    token: await budapestAdmin(),
    at: h.budapest.slug,
    query: `mutation { publishComponent(input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Budapest's categories" }] }) { ${RESULT} ... on FederatedComponent { id } } }`,
  });
  const id = (field(answer) as { id?: string }).id;
  expect(id, answer.text).toBeDefined();
  return id!;
}

async function budapestDataset(): Promise<string> {
  const answer = await h.request({
    token: await budapestAdmin(),
    at: h.budapest.slug,
    query: `mutation { publishDataset(input: { pluginId: "reporting", dataset: "request-statistics", sharing: public }) { ${RESULT} ... on FederatedDataset { id } } }`,
  });
  const id = (field(answer) as { id?: string }).id;
  expect(id, answer.text).toBeDefined();
  return id!;
}

async function parisDataset(): Promise<string> {
  const answer = await mutate(`mutation { publishDataset(input: { pluginId: "reporting", dataset: "request-statistics", sharing: public }) { ${RESULT} ... on FederatedDataset { id } } }`);
  const id = (field(answer) as { id?: string }).id;
  expect(id, answer.text).toBeDefined();
  return id!;
}

async function parisImport(componentId: string): Promise<void> {
  const answer = await mutate(`mutation ($id: ID!) { importComponent(id: $id) { ${RESULT} } }`, { variables: { id: componentId } });
  expect(field(answer), answer.text).toMatchObject({ __typename: "ComponentImportReport" });
}

/** A fake instance as a peer here: active, suspended, or asking (its Follow arrived, unanswered). Its global id. */
async function peer(state: "active" | "suspended" | "asking" = "active"): Promise<string> {
  const fake = await startFakePeer();
  fakePeers.push(fake);
  const flags: PeerFlags =
    state === "asking"
      ? { localAccepted: false, remoteAccepted: true, followId: `${fake.instanceId}/federation/activities/${randomUUID()}` }
      : { suspended: state === "suspended" };
  const row = await insertPeer(h.database, fake, flags);
  return globalId("FederationPeer", row.id);
}

const platformMutation = (query: string, variables?: Record<string, unknown>) => h.request({ token: operator, at: "platform", query, variables });
const OPERATOR = () => ({ actorType: "operator" });

const OFF = "mutation AuditOff { requirePersistedOperations(enabled: false) { __typename } }";

const CASES: Record<string, Case> = {
  createInvitation: {
    log: "city",
    actions: ["invitation.created"],
    result: "CreatedInvitation",
    run: () => mutate(`mutation { createInvitation(email: "new-clerk@paris.example", role: staff) { ${RESULT} } }`),
  },
  revokeInvitation: {
    log: "city",
    actions: ["invitation.revoked"],
    result: "RevokedInvitation",
    setup: async () => ({ id: (await createInvitation(`revoked-${randomUUID().slice(0, 6)}@paris.example`)).id }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { revokeInvitation(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  acceptInvitation: {
    log: "city",
    actions: ["invitation.accepted", "membership.role_granted"],
    result: "AcceptedInvitation",
    setup: async () => {
      const { token } = await createInvitation(`accepted-${randomUUID().slice(0, 6)}@paris.example`);
      const person = await addPerson(h.database, h.paris);
      const personToken = await h.tokenFor("resident", h.paris, { subject: person.subject });
      return { token, personToken, userId: person.userId };
    },
    run: ({ token, personToken }) => mutate(`mutation ($t: String!) { acceptInvitation(token: $t) { ${RESULT} } }`, { token: personToken, variables: { t: token } }),
    actor: ({ userId }) => ({ actorType: "user", actorId: userId }),
  },
  grantRole: {
    log: "city",
    actions: ["membership.role_granted"],
    result: "RoleChange",
    setup: async () => ({ member: globalId("Member", (await addPerson(h.database, h.paris)).userId) }),
    run: ({ member }) => mutate(`mutation ($m: ID!) { grantRole(memberId: $m, role: staff) { ${RESULT} } }`, { variables: { m: member } }),
  },
  revokeRole: {
    log: "city",
    actions: ["membership.role_revoked"],
    result: "RoleChange",
    setup: async () => ({ member: globalId("Member", (await addPerson(h.database, h.paris, { roles: ["staff"] })).userId) }),
    run: ({ member }) => mutate(`mutation ($m: ID!) { revokeRole(memberId: $m, role: staff) { ${RESULT} } }`, { variables: { m: member } }),
  },
  updateCitySettings: {
    log: "city",
    actions: ["city.settings_updated"],
    result: "CitySettingsChange",
    run: () => mutate(`mutation { updateCitySettings(input: { timeZone: "Europe/Berlin" }) { ${RESULT} } }`),
  },
  createApiClient: {
    log: "city",
    actions: ["api_client.created"],
    result: "CreatedApiClient",
    run: () => mutate(`mutation { createApiClient(name: "Open data export", scopes: [read]) { ${RESULT} } }`),
  },
  revokeApiClient: {
    log: "city",
    actions: ["api_client.revoked"],
    result: "RevokedApiClient",
    setup: async () => {
      const answer = await mutate(`mutation { createApiClient(name: "To revoke", scopes: [read]) { ${RESULT} ... on CreatedApiClient { apiClient { id } } } }`);
      return { id: (field(answer) as { apiClient: { id: string } }).apiClient.id };
    },
    run: ({ id }) => mutate(`mutation ($id: ID!) { revokeApiClient(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  registerPersistedOperation: {
    log: "city",
    actions: ["persisted_operation.registered"],
    result: "PersistedOperation",
    run: () => mutate(`mutation { registerPersistedOperation(name: "slug", document: "query AuditedSlug { city { slug } }") { ${RESULT} } }`),
  },
  removePersistedOperation: {
    log: "city",
    actions: ["persisted_operation.removed"],
    result: "RemovedPersistedOperation",
    setup: async () => ({ id: await register("query ToRemove { city { name } }") }),
    run: ({ id }) => mutate(`mutation ($id: String!) { removePersistedOperation(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  requirePersistedOperations: {
    log: "city",
    actions: ["city.persisted_operations_only_changed"],
    result: "PersistedOperationsPolicy",
    // The way back must be registered before full documents are refused.
    setup: async () => ({ off: await register(OFF) }),
    run: () => mutate(`mutation { requirePersistedOperations(enabled: true) { ${RESULT} } }`),
    // Full documents (the log's reading included) are refused until it is off again.
    restore: async ({ off }) => {
      const back = await h.request({ token: admin.token, extensions: { persistedQuery: { version: 1, sha256Hash: off } } });
      expect(dataOf(back)).toEqual({ requirePersistedOperations: { __typename: "PersistedOperationsPolicy" } });
      return back;
    },
  },
  upgradeService: {
    log: "city",
    actions: ["plugin.upgraded"],
    result: "CityService",
    // As if Paris had installed the board's 1.0.0, whose setting was called `limit`.
    setup: async () => {
      await withPlatformAdmin(
        (tx) =>
          tx.pluginInstallation.update({
            where: { tenantId_pluginId: { tenantId: h.paris.id, pluginId: "notice-board" } },
            data: { version: "1.0.0", settings: { heading: {}, limit: 5 } },
          }),
        h.database,
      );
      return {};
    },
    run: () => mutate(`mutation { upgradeService(pluginId: "notice-board") { ${RESULT} } }`),
  },
  configureService: {
    log: "city",
    actions: ["plugin.configured"],
    result: "CityService",
    run: () => mutate(`mutation { configureService(pluginId: "notice-board", settings: { maxNotices: 7 }) { ${RESULT} } }`),
  },
  disableService: {
    log: "city",
    actions: ["plugin.disabled"],
    result: "CityService",
    run: () => mutate(`mutation { disableService(pluginId: "notice-board") { ${RESULT} } }`),
    restore: () => mutate(`mutation { enableService(pluginId: "notice-board") { ${RESULT} } }`),
  },
  enableService: {
    log: "city",
    actions: ["plugin.enabled"],
    result: "CityService",
    setup: async () => {
      expect(field(await mutate(`mutation { disableService(pluginId: "notice-board") { ${RESULT} } }`))).toMatchObject({ __typename: "CityService" });
      return {};
    },
    run: () => mutate(`mutation { enableService(pluginId: "notice-board") { ${RESULT} } }`),
  },
  uninstallService: {
    log: "city",
    actions: ["plugin.uninstalled"],
    result: "CityService",
    run: () => mutate(`mutation { uninstallService(pluginId: "notice-board") { ${RESULT} } }`),
    restore: () => mutate(`mutation { installService(pluginId: "notice-board") { ${RESULT} } }`),
  },
  installService: {
    log: "city",
    actions: ["plugin.installed"],
    result: "CityService",
    setup: async () => {
      expect(field(await mutate(`mutation { uninstallService(pluginId: "notice-board") { ${RESULT} } }`))).toMatchObject({ __typename: "CityService" });
      return {};
    },
    run: () => mutate(`mutation { installService(pluginId: "notice-board") { ${RESULT} } }`),
  },
  postNotice: {
    log: "city",
    actions: ["notice_board.notice_posted"],
    result: "Notice",
    run: () => mutate(`mutation { postNotice(input: { title: { en: "Audited notice" } }) { ${RESULT} } }`),
  },
  withdrawNotice: {
    log: "city",
    actions: ["notice_board.notice_withdrawn"],
    result: "WithdrawnNotice",
    setup: async () => {
      const answer = await mutate(`mutation { postNotice(input: { title: { en: "To withdraw" } }) { ${RESULT} ... on Notice { id } } }`);
      return { id: (field(answer) as { id: string }).id };
    },
    run: ({ id }) => mutate(`mutation ($id: ID!) { withdrawNotice(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  defineServiceCategory: {
    log: "city",
    actions: ["reporting.category_defined"],
    result: "ServiceCategory",
    run: () => mutate(`mutation { defineServiceCategory(input: { code: "fallen-tree", names: { en: "Fallen tree" } }) { ${RESULT} } }`),
  },
  updateServiceCategory: {
    log: "city",
    actions: ["reporting.category_updated"],
    result: "ServiceCategory",
    setup: async () => ({ id: await defineCategory(`updated-${randomUUID().slice(0, 6)}`) }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { updateServiceCategory(id: $id, input: { keywords: ["tree"] }) { ${RESULT} } }`, { variables: { id } }),
  },
  archiveServiceCategory: {
    log: "city",
    actions: ["reporting.category_archived"],
    result: "ServiceCategory",
    setup: async () => ({ id: await defineCategory(`archived-${randomUUID().slice(0, 6)}`) }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { archiveServiceCategory(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  reportIssue: {
    log: "city",
    actions: ["reporting.request_created"],
    result: "ReportIssuePayload",
    run: () => mutate(`mutation { reportIssue(input: { categoryCode: "litter", description: "Bags left on the pavement", address: "1 rue de Rivoli", confirmNotDuplicate: true }) { ${RESULT} } }`),
  },
  followServiceRequest: {
    log: "city",
    actions: ["reporting.request_followed"],
    result: "FollowServiceRequestPayload",
    setup: async () => ({ trackingId: await reportAnonymously("Followed") }),
    run: TRACKED(`mutation ($t: String!) { followServiceRequest(trackingId: $t) { ${RESULT} } }`),
  },
  unfollowServiceRequest: {
    log: "city",
    actions: ["reporting.request_unfollowed"],
    result: "FollowServiceRequestPayload",
    setup: async () => {
      const trackingId = await reportAnonymously("Unfollowed");
      await mutate(`mutation ($t: String!) { followServiceRequest(trackingId: $t) { ${RESULT} } }`, { variables: { t: trackingId } });
      return { trackingId };
    },
    run: TRACKED(`mutation ($t: String!) { unfollowServiceRequest(trackingId: $t) { ${RESULT} } }`),
  },
  assignServiceRequest: {
    log: "city",
    actions: ["reporting.request_assigned"],
    result: "ServiceRequest",
    setup: async () => ({ trackingId: await reportAnonymously("Assigned") }),
    run: ({ trackingId }) =>
      mutate(`mutation ($t: String!, $u: String!) { assignServiceRequest(trackingId: $t, assigneeUserId: $u) { ${RESULT} } }`, { variables: { t: trackingId, u: admin.userId } }),
  },
  changeServiceRequestStatus: {
    log: "city",
    actions: ["reporting.request_status_changed"],
    result: "ServiceRequest",
    setup: async () => ({ trackingId: await reportAnonymously("Acknowledged") }),
    run: TRACKED(`mutation ($t: String!) { changeServiceRequestStatus(trackingId: $t, status: acknowledged) { ${RESULT} } }`),
  },
  addInternalNote: {
    log: "city",
    actions: ["reporting.internal_note_added"],
    result: "ServiceRequestEvent",
    setup: async () => ({ trackingId: await reportAnonymously("Noted") }),
    run: TRACKED(`mutation ($t: String!) { addInternalNote(trackingId: $t, body: "Crew booked for Tuesday") { ${RESULT} } }`),
  },
  postPublicUpdate: {
    log: "city",
    actions: ["reporting.public_update_posted"],
    result: "ServiceRequestEvent",
    setup: async () => ({ trackingId: await reportAnonymously("Updated") }),
    run: TRACKED(`mutation ($t: String!) { postPublicUpdate(trackingId: $t, body: "We are on it") { ${RESULT} } }`),
  },
  mergeServiceRequests: {
    log: "city",
    actions: ["reporting.request_merged"],
    result: "MergeServiceRequestsPayload",
    setup: async () => ({ into: await reportAnonymously("Kept", 48.86), duplicate: await reportAnonymously("Repeated", 48.86) }),
    run: ({ into, duplicate }) =>
      mutate(`mutation ($d: String!, $i: String!) { mergeServiceRequests(duplicateTrackingId: $d, intoTrackingId: $i) { ${RESULT} } }`, { variables: { d: duplicate, i: into } }),
  },
  onboardCity: {
    log: "platform",
    actions: ["city.onboarded"],
    result: "OnboardedCity",
    run: () =>
      h.request({
        token: operator,
        at: "platform",
        query: `mutation { onboardCity(input: { slug: "lyon", names: [{ locale: "fr", text: "Lyon" }], locales: { default: "fr", enabled: ["fr"] },
                  timeZone: "Europe/Paris", firstAdmin: { email: "maire@lyon.example" } }) { ${RESULT} ... on OnboardedCity { city { id } } } }`,
      }),
    actor: () => ({ actorType: "operator" }),
    also: async (_given, answer) => {
      // The new city's own log starts with its creation and its first admin's invitation, from the same request.
      const cityId = Buffer.from((field(answer) as { city: { id: string } }).city.id, "base64url").toString("utf8").split(":")[1]!;
      const requestId = answer.headers.get("x-request-id");
      expect(await storedEvents(cityId)).toEqual([
        { action: "city.created", requestId },
        { action: "invitation.created", requestId },
      ]);
    },
  },
  suspendCity: {
    log: "platform",
    actions: ["city.suspended"],
    result: "CityStatusChange",
    setup: async () => ({ id: (await createCity(h.database)).id }),
    run: ({ id }) => h.request({ token: operator, at: "platform", query: `mutation ($id: ID!) { suspendCity(id: $id, reason: "unpaid") { ${RESULT} } }`, variables: { id: globalId("City", id!) } }),
    actor: () => ({ actorType: "operator" }),
    also: async ({ id }, answer) => {
      expect((await storedEvents(id!)).at(-1)).toEqual({ action: "city.suspended", requestId: answer.headers.get("x-request-id") });
    },
  },
  resumeCity: {
    log: "platform",
    actions: ["city.resumed"],
    result: "CityStatusChange",
    setup: async () => ({ id: (await createCity(h.database, { status: "suspended" })).id }),
    run: ({ id }) => h.request({ token: operator, at: "platform", query: `mutation ($id: ID!) { resumeCity(id: $id) { ${RESULT} } }`, variables: { id: globalId("City", id!) } }),
    actor: () => ({ actorType: "operator" }),
    also: async ({ id }, answer) => {
      expect((await storedEvents(id!)).at(-1)).toEqual({ action: "city.resumed", requestId: answer.headers.get("x-request-id") });
    },
  },
  publishComponent: {
    log: "city",
    actions: ["federation.component.published"],
    result: "FederatedComponent",
    run: () => mutate(`mutation { publishComponent(input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "Paris' categories" }] }) { ${RESULT} } }`),
  },
  withdrawComponent: {
    log: "city",
    actions: ["federation.component.withdrawn"],
    result: "FederatedComponent",
    setup: async () => {
      const answer = await mutate(`mutation { publishComponent(input: { pluginId: "reporting", kind: "categories", title: [{ locale: "en", text: "To withdraw" }] }) { ${RESULT} ... on FederatedComponent { id } } }`);
      return { id: (field(answer) as { id: string }).id };
    },
    run: ({ id }) => mutate(`mutation ($id: ID!) { withdrawComponent(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  importComponent: {
    log: "city",
    actions: ["federation.component.imported"],
    result: "ComponentImportReport",
    setup: async () => ({ id: await budapestComponent() }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { importComponent(id: $id, follow: true) { ${RESULT} } }`, { variables: { id } }),
  },
  setComponentFollowing: {
    log: "city",
    actions: ["federation.component.followed"],
    result: "ComponentImport",
    setup: async () => {
      const id = await budapestComponent();
      await parisImport(id);
      return { id };
    },
    run: ({ id }) => mutate(`mutation ($id: ID!) { setComponentFollowing(id: $id, following: true) { ${RESULT} } }`, { variables: { id } }),
  },
  publishDataset: {
    log: "city",
    actions: ["federation.dataset.published"],
    result: "FederatedDataset",
    run: () => mutate(`mutation { publishDataset(input: { pluginId: "reporting", dataset: "request-statistics", sharing: federation }) { ${RESULT} } }`),
  },
  updateDatasetSharing: {
    log: "city",
    actions: ["federation.dataset.sharing_changed"],
    result: "FederatedDataset",
    setup: async () => ({ id: await parisDataset() }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { updateDatasetSharing(id: $id, sharing: federation) { ${RESULT} } }`, { variables: { id } }),
  },
  withdrawDataset: {
    log: "city",
    actions: ["federation.dataset.withdrawn"],
    result: "FederatedDataset",
    setup: async () => ({ id: await parisDataset() }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { withdrawDataset(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  subscribeDataset: {
    log: "city",
    actions: ["federation.dataset.subscribed"],
    result: "FederatedDataset",
    setup: async () => ({ id: await budapestDataset() }),
    run: ({ id }) => mutate(`mutation ($id: ID!) { subscribeDataset(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  unsubscribeDataset: {
    log: "city",
    actions: ["federation.dataset.unsubscribed"],
    result: "FederatedDataset",
    setup: async () => {
      const id = await budapestDataset();
      const subscribed = await mutate(`mutation ($id: ID!) { subscribeDataset(id: $id) { ${RESULT} } }`, { variables: { id } });
      expect(field(subscribed), subscribed.text).toMatchObject({ __typename: "FederatedDataset" });
      return { id };
    },
    run: ({ id }) => mutate(`mutation ($id: ID!) { unsubscribeDataset(id: $id) { ${RESULT} } }`, { variables: { id } }),
  },
  addFederationPeer: {
    log: "platform",
    actions: ["federation.peer.added"],
    result: "AddedFederationPeer",
    setup: async () => {
      const fake = await startFakePeer();
      fakePeers.push(fake);
      return { url: fake.instanceId };
    },
    run: ({ url }) => platformMutation(`mutation ($url: String!) { addFederationPeer(url: $url) { ${RESULT} } }`, { url }),
    actor: OPERATOR,
  },
  acceptFederationPeer: {
    log: "platform",
    actions: ["federation.peer.accepted"],
    result: "FederationPeer",
    setup: async () => ({ id: await peer("asking") }),
    run: ({ id }) => platformMutation(`mutation ($id: ID!) { acceptFederationPeer(id: $id) { ${RESULT} } }`, { id }),
    actor: OPERATOR,
  },
  rejectFederationPeer: {
    log: "platform",
    actions: ["federation.peer.rejected"],
    result: "RemovedFederationPeer",
    setup: async () => ({ id: await peer("asking") }),
    run: ({ id }) => platformMutation(`mutation ($id: ID!) { rejectFederationPeer(id: $id) { ${RESULT} } }`, { id }),
    actor: OPERATOR,
  },
  suspendFederationPeer: {
    log: "platform",
    actions: ["federation.peer.suspended"],
    result: "FederationPeer",
    setup: async () => ({ id: await peer() }),
    run: ({ id }) => platformMutation(`mutation ($id: ID!) { suspendFederationPeer(id: $id, reason: "audit") { ${RESULT} } }`, { id }),
    actor: OPERATOR,
  },
  resumeFederationPeer: {
    log: "platform",
    actions: ["federation.peer.resumed"],
    result: "FederationPeer",
    setup: async () => ({ id: await peer("suspended") }),
    run: ({ id }) => platformMutation(`mutation ($id: ID!) { resumeFederationPeer(id: $id) { ${RESULT} } }`, { id }),
    actor: OPERATOR,
  },
  removeFederationPeer: {
    log: "platform",
    actions: ["federation.peer.removed"],
    result: "RemovedFederationPeer",
    setup: async () => ({ id: await peer() }),
    run: ({ id }) => platformMutation(`mutation ($id: ID!) { removeFederationPeer(id: $id) { ${RESULT} } }`, { id }),
    actor: OPERATOR,
  },
  rotateFederationKey: {
    log: "platform",
    actions: ["federation.key.rotated"],
    result: "RotatedFederationKey",
    setup: async () => {
      const answer = await platformMutation("{ federation { keys { id status } } }");
      const keys = (dataOf(answer) as { federation: { keys: { id: string; status: string }[] } }).federation.keys;
      return { current: keys.find((key) => key.status === "current")!.id };
    },
    run: ({ current }) => platformMutation(`mutation ($k: ID!) { rotateFederationKey(currentKeyId: $k) { ${RESULT} } }`, { k: current }),
    actor: OPERATOR,
  },
};

const MUTATIONS = Object.keys(schema.getMutationType()!.getFields()).sort();

describe("every mutation writes an audit event", () => {
  it("has a case for every Mutation field of the schema", () => {
    expect(Object.keys(CASES).sort()).toEqual(MUTATIONS);
  });

  it.each(MUTATIONS)("%s", async (name) => {
    const given = CASES[name];
    expect(given, `no audit expectation for Mutation.${name}: add a case to CASES`).toBeDefined();
    const { log, actions, result, setup, run, restore, actor, also } = given!;
    const read = log === "city" ? () => cityLog() : platformLog;
    const context = (await setup?.()) ?? {};
    const before = await read();
    const answer = await run(context);
    const restored = (await restore?.(context))?.headers.get("x-request-id");
    expect(field(answer), answer.text).toMatchObject({ __typename: result });
    const events = added(before, await read()).filter((event) => !restored || event.requestId !== restored);
    expect(events.map((event) => event.action).sort(), answer.text).toEqual([...actions].sort());
    const who = actor?.(context) ?? { actorType: "user", actorId: admin.userId };
    for (const event of events) {
      expect(event).toMatchObject({ ...who, requestId: answer.headers.get("x-request-id") });
      expect(event.actorId).toBeTruthy();
    }
    await also?.(context, answer);
  });
});

describe("a mutation that fails writes nothing", () => {
  // Budapest's only admin: the one its test data made.
  const budapestAdmin = () => h.tokenFor("admin", h.budapest, { subject: `subject-${h.budapest.userId}` });
  const lastAdmin = () => globalId("Member", h.budapest.userId);

  async function budapestRoles(token: string) {
    const answer = await h.request({ token, at: h.budapest.slug, query: "{ viewer { roles } city { members(first: 100) { edges { node { id roles } } } } }" });
    return dataOf(answer);
  }

  it("revoking the last admin's role: CONFLICT, and neither the log nor the roles change", async () => {
    const token = await budapestAdmin();
    const [log, roles] = [await cityLog(token, h.budapest.slug), await budapestRoles(token)];
    const answer = await mutate(`mutation ($m: ID!) { revokeRole(memberId: $m, role: admin) { ${RESULT} } }`, { token, at: h.budapest.slug, variables: { m: lastAdmin() } });
    expect(field(answer)).toEqual({ __typename: "ConflictError", code: "CONFLICT", message: expect.any(String), reason: "last_admin" });
    expect(await cityLog(token, h.budapest.slug)).toEqual(log);
    expect(await budapestRoles(token)).toEqual(roles);
  });

  it("in a document of two mutations, the failed one is undone and the other stands", async () => {
    const token = await budapestAdmin();
    const before = await cityLog(token, h.budapest.slug);
    const answer = await mutate(
      `mutation ($m: ID!) {
        invited: createInvitation(email: "deputy@budapest.example", role: admin) { ${RESULT} }
        revoked: revokeRole(memberId: $m, role: admin) { ${RESULT} }
      }`,
      { token, at: h.budapest.slug, variables: { m: lastAdmin() } },
    );
    expect(dataOf(answer)).toEqual({
      invited: { __typename: "CreatedInvitation" },
      revoked: { __typename: "ConflictError", code: "CONFLICT", message: expect.any(String), reason: "last_admin" },
    });
    expect(added(before, await cityLog(token, h.budapest.slug)).map((event) => event.action)).toEqual(["invitation.created"]);
  });

  it("the identity provider refusing a new API client: no client and no event", async () => {
    const before = await cityLog();
    const clients = await withPlatformAdmin((tx) => tx.apiClient.count({ where: { tenantId: h.paris.id } }), h.database);
    h.identity.failNext("createMachineClient", new Error("provider down"));
    const answer = await mutate(`mutation { createApiClient(name: "Never made", scopes: [read]) { ${RESULT} } }`);
    expect(answer.body?.data?.createApiClient ?? null, answer.text).toBeNull();
    expect(codes(answer)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(await cityLog()).toEqual(before);
    expect(await withPlatformAdmin((tx) => tx.apiClient.count({ where: { tenantId: h.paris.id } }), h.database)).toBe(clients);
  });

  it("onboarding that fails at the identity provider: no city, no invitation, no city.onboarded", async () => {
    const before = await platformLog();
    h.identity.failNext("ensureRealm", new Error("provider down"));
    const answer = await h.request({
      token: operator,
      at: "platform",
      query: `mutation { onboardCity(input: { slug: "nantes", names: [{ locale: "fr", text: "Nantes" }], locales: { default: "fr", enabled: ["fr"] },
                timeZone: "Europe/Paris", firstAdmin: { email: "maire@nantes.example" } }) { ${RESULT} } }`,
    });
    expect(codes(answer)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(added(before, await platformLog()).map((event) => event.action)).not.toContain("city.onboarded");
    const left = await withPlatformAdmin(
      async (tx) => ({
        cities: await tx.city.count({ where: { slug: "nantes" } }),
        invitations: await tx.invitation.count({ where: { email: "maire@nantes.example" } }),
      }),
      h.database,
    );
    expect(left).toEqual({ cities: 0, invitations: 0 });
  });

  // A revocation is what stops a leaked secret: it must hold in Civitas even while the provider
  // fails (the service records it before telling the provider, and a second call retries the
  // provider). Undoing it with the failed field would leave the client's tokens working.
  it("an API client's revocation stands when the identity provider fails to delete it", async () => {
    const created = await mutate(`mutation { createApiClient(name: "Leaked", scopes: [read]) { ${RESULT} ... on CreatedApiClient { apiClient { id } } } }`);
    const id = (field(created) as { apiClient: { id: string } }).apiClient.id;
    const before = await cityLog();
    h.identity.failNext("deleteMachineClient", new Error("provider down"));
    await mutate(`mutation ($id: ID!) { revokeApiClient(id: $id) { ${RESULT} } }`, { variables: { id } });
    const uuid = Buffer.from(id, "base64url").toString("utf8").split(":")[1]!;
    const row = await withPlatformAdmin((tx) => tx.apiClient.findFirst({ where: { tenantId: h.paris.id, id: uuid }, select: { revokedAt: true } }), h.database);
    expect(row?.revokedAt).toBeInstanceOf(Date);
    expect(added(before, await cityLog()).map((event) => event.action)).toEqual(["api_client.revoked"]);
  });
});

// --- Reading the log ----------------------------------------------------------------------------

describe("the audit log's filters and pages", () => {
  const BASE = Date.parse("2026-01-01T00:00:00.000Z");
  const at = (minute: number) => new Date(BASE + minute * 60_000).toISOString();
  const EVENTS = 30;
  let token: string;
  let total: number;

  beforeAll(async () => {
    // 30 events a minute apart at Budapest, alternately test.alpha by a person and test.beta by the system.
    await withPlatformAdmin(
      (tx) =>
        tx.auditEvent.createMany({
          data: Array.from({ length: EVENTS }, (_, i) => ({
            tenantId: h.budapest.id,
            id: randomUUID(),
            occurredAt: new Date(at(i)),
            actorType: i % 2 === 0 ? ("user" as const) : ("system" as const),
            actorId: i % 2 === 0 ? h.budapest.userId : null,
            action: i % 2 === 0 ? "test.alpha" : "test.beta",
            subjectType: "test",
            subjectId: String(i),
          })),
        }),
      h.database,
    );
    token = await h.tokenFor("admin", h.budapest);
    total = await withPlatformAdmin((tx) => tx.auditEvent.count({ where: { tenantId: h.budapest.id } }), h.database);
  });

  async function page(args: string, variables: Record<string, unknown> = {}, selection = PAGE_EVENT) {
    const declared = [args.includes("$after") && "$after: String", args.includes("$filter") && "$filter: AuditLogFilter"].filter(Boolean);
    return h.request({
      token,
      at: h.budapest.slug,
      query: `query ${declared.length ? `(${declared.join(", ")})` : ""} { city { auditLog${args ? `(${args})` : ""} {
        edges { cursor node { ${selection} } } pageInfo { hasNextPage endCursor } } } }`,
      variables,
    });
  }
  const connection = (answer: GraphQLAnswer) => dataOf<{ city: { auditLog: Edges<Event> } }>(answer).city.auditLog;
  const subjects = (answer: GraphQLAnswer) => connection(answer).edges.map((edge) => Number(edge.node.subjectId));

  function expectInvalid(answer: GraphQLAnswer, message: RegExp) {
    expect(answer.status, answer.text).toBe(200);
    expect(codes(answer)).toEqual(["VALIDATION_FAILED"]);
    expect(answer.body?.errors?.[0]?.path).toEqual(["city", "auditLog"]);
    expect(answer.body?.errors?.[0]?.message).toMatch(message);
  }

  it("gives 25 events when `first` is not given, newest first, and says more follow", async () => {
    expect(total).toBeGreaterThan(EVENTS);
    const { edges, pageInfo } = connection(await page(""));
    expect(edges).toHaveLength(25);
    expect(pageInfo.hasNextPage).toBe(true);
    const times = edges.map((edge) => Date.parse(edge.node.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("walks the whole log in pages of 10 with `after`, each event once, in order", async () => {
    const seen: Event[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages += 1) {
      const { edges, pageInfo }: Edges<Event> = connection(await page("first: 10, after: $after", { after }));
      seen.push(...edges.map((edge) => edge.node));
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      if (!pageInfo.hasNextPage) break;
      expect(edges).toHaveLength(10);
      after = pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen.map((event) => event.id)).size).toBe(total);
    const times = seen.map((event) => Date.parse(event.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // The inserted events come last (they are the oldest), from 29 down to 0.
    expect(seen.slice(-EVENTS).map((event) => Number(event.subjectId))).toEqual(Array.from({ length: EVENTS }, (_, i) => EVENTS - 1 - i));
  });

  it("gives up to 100 at once, and refuses 101 or 0", async () => {
    const all = connection(await page("first: 100", {}, "id"));
    expect(all.edges).toHaveLength(total);
    expect(all.pageInfo.hasNextPage).toBe(false);
    expectInvalid(await page("first: 101", {}, "id"), /first: must be at most 100/);
    expectInvalid(await page("first: 0", {}, "id"), /first: must be at least 1/);
  });

  it("refuses a cursor that is not one", async () => {
    expectInvalid(await page("after: $after", { after: "not-a-cursor" }), /after/);
    expectInvalid(await page("after: $after", { after: Buffer.from(`${at(1)}|${"x".repeat(36)}`).toString("base64url") }), /after/);
  });

  it("refuses `last` and `before` (it pages forwards) rather than ignoring them", async () => {
    expectInvalid(await page("last: 2", {}, "id"), /last/);
    expectInvalid(await page('before: "x", first: 2', {}, "id"), /before/);
  });

  it("filters by actions", async () => {
    const alpha = subjects(await page("first: 50, filter: $filter", { filter: { actions: ["test.alpha"] } }));
    expect(alpha).toEqual(Array.from({ length: EVENTS / 2 }, (_, i) => EVENTS - 2 - 2 * i));
    const both = subjects(await page("first: 50, filter: $filter", { filter: { actions: ["test.alpha", "test.beta"] } }));
    expect(both).toHaveLength(EVENTS);
    expect(subjects(await page("first: 50, filter: $filter", { filter: { actions: ["test.none"] } }))).toEqual([]);
  });

  it("filters by actor type (and id)", async () => {
    const system = connection(await page("first: 50, filter: $filter", { filter: { actorType: "system" } })).edges.map((edge) => edge.node);
    expect(system.every((event) => event.actorType === "system")).toBe(true);
    expect(system.filter((event) => event.action === "test.beta")).toHaveLength(EVENTS / 2);
    expect(system.map((event) => event.action)).not.toContain("test.alpha");
    const byPerson = connection(await page("first: 50, filter: $filter", { filter: { actorType: "user", actorId: h.budapest.userId, actions: ["test.alpha"] } }));
    expect(byPerson.edges).toHaveLength(EVENTS / 2);
  });

  it("filters by time: since included, until excluded", async () => {
    const window = subjects(await page("first: 50, filter: $filter", { filter: { since: at(10), until: at(20) } }));
    expect(window).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 11, 10]);
    const alphaSince = subjects(await page("first: 50, filter: $filter", { filter: { since: at(25), actions: ["test.alpha"] } }));
    expect(alphaSince).toEqual([28, 26]);
    expect(subjects(await page("first: 50, filter: $filter", { filter: { until: at(2) } }))).toEqual([1, 0]);
  });

  it("refuses until before since, and a time that is not one", async () => {
    expectInvalid(await page("filter: $filter", { filter: { since: at(20), until: at(10) } }), /until/);
    const answer = await page("filter: $filter", { filter: { since: "yesterday" } });
    expect(answer.status).not.toBe(500);
    expect(codes(answer)).toEqual(["VALIDATION_FAILED"]);
  });

  it("the platform's log pages the same way (100 at most)", async () => {
    const answer = await h.request({ token: operator, at: "platform", query: "{ platformAuditLog(first: 101) { edges { node { id } } } }" });
    expect(codes(answer)).toEqual(["VALIDATION_FAILED"]);
    const two = await h.request({ token: operator, at: "platform", query: "{ platformAuditLog(first: 2) { edges { node { id } } pageInfo { hasNextPage } } }" });
    expect(dataOf<{ platformAuditLog: Edges<{ id: string }> }>(two).platformAuditLog.edges.length).toBeLessThanOrEqual(2);
  });
});
