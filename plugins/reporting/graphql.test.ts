// Reporting through the GraphQL API, end to end: categories, reports (with duplicates offered),
// triage with notifications, merging, KPIs, what the public never sees, two cities, and a city
// that does not run the plugin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../app/db/database.server";
import { createCity } from "../../tests/support/factories";
import { codes, startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../../tests/support/graphql";
import { runReporting } from "./test-support";

let api: GraphQLHarness;
let parisAdmin: string;
let parisStaff: string;
let parisResident: string;
let budapestStaff: string;

beforeAll(async () => {
  api = await startGraphQL();
  await runReporting(api.database, api.paris);
  await runReporting(api.database, api.budapest);
  parisAdmin = await api.tokenFor("admin", api.paris);
  parisStaff = await api.tokenFor("staff", api.paris);
  parisResident = await api.tokenFor("resident", api.paris);
  budapestStaff = await api.tokenFor("staff", api.budapest);
});

afterAll(async () => {
  await api?.close();
});

const data = <T = Record<string, unknown>>(answer: GraphQLAnswer): T => {
  expect(answer.body?.errors, JSON.stringify(answer.body?.errors)).toBeUndefined();
  return answer.body!.data as T;
};

const DEFINE = `mutation ($input: DefineServiceCategoryInput!) {
  defineServiceCategory(input: $input) {
    __typename
    ... on ServiceCategory { id code name { text } attributes { code datatype required values { key name { text } } } }
    ... on ValidationError { fields { field messages } }
  }
}`;

const REPORT = `mutation ($input: ReportIssueInput!) {
  reportIssue(input: $input) {
    __typename
    ... on ReportIssuePayload {
      request { id trackingId status description path category { code } }
      duplicateCandidates { trackingId distanceMeters }
    }
    ... on ValidationError { fields { field messages } }
    ... on Error { code message }
  }
}`;

const SPOT = { latitude: 48.8566, longitude: 2.3522 };

describe("reporting through GraphQL", () => {
  let trackingId = "";
  let requestId = "";

  it("lets admins define a category and anyone read it", async () => {
    const defined = data<{ defineServiceCategory: Record<string, unknown> }>(
      await api.request({
        query: DEFINE,
        token: parisAdmin,
        variables: {
          input: {
            code: "pothole",
            names: { en: "Pothole", fr: "Nid-de-poule" },
            attributes: [{ code: "size", datatype: "singlevaluelist", required: true, description: { en: "Size" }, values: [{ key: "big", name: { en: "Big" } }] }],
          },
        },
      }),
    );
    expect(defined.defineServiceCategory).toMatchObject({ __typename: "ServiceCategory", code: "pothole", name: { text: "Pothole" } });
    const bad = data<{ defineServiceCategory: Record<string, unknown> }>(
      await api.request({ query: DEFINE, token: parisAdmin, variables: { input: { code: "Not ok", names: { en: "X" } } } }),
    );
    expect(bad.defineServiceCategory).toMatchObject({ __typename: "ValidationError", fields: [{ field: "code" }] });
    const forbidden = await api.request({ query: DEFINE, token: parisStaff, variables: { input: { code: "trees", names: { en: "Trees" } } } });
    expect(codes(forbidden)).toEqual(["FORBIDDEN"]);

    const listed = data<{ serviceCategories: { code: string; name: { text: string } }[] }>(
      await api.request({ query: `{ serviceCategories { code name { text(locale: "fr") } attributes { code required } } }` }),
    );
    expect(listed.serviceCategories).toEqual([{ code: "pothole", name: { text: "Nid-de-poule" }, attributes: [{ code: "size", required: true }] }]);
  });

  it("takes an anonymous report and gives it a tracking id; field errors for bad input", async () => {
    const answer = data<{ reportIssue: { request: { trackingId: string; id: string; status: string; path: string } } }>(
      await api.request({
        query: REPORT,
        variables: { input: { categoryCode: "pothole", description: "Deep hole", ...SPOT, attributes: { size: "big" }, email: "anon@example.org" } },
      }),
    );
    expect(answer.reportIssue.request).toMatchObject({ status: "open", path: `/services/reporting/requests/${answer.reportIssue.request.trackingId}` });
    trackingId = answer.reportIssue.request.trackingId;
    // The node id's row id (type:uuid, base64url).
    requestId = Buffer.from(answer.reportIssue.request.id, "base64url").toString("utf8").split(":")[1]!;

    const bad = data<{ reportIssue: { __typename: string; fields: { field: string; messages: string[] }[] } }>(
      await api.request({ query: REPORT, variables: { input: { categoryCode: "pothole", description: "", attributes: {} } } }),
    );
    expect(bad.reportIssue.__typename).toBe("ValidationError");
    expect(bad.reportIssue.fields.map((f) => f.field).sort()).toEqual(["address", "description"]);
  });

  it("offers the open request nearby instead of a duplicate, and files it when confirmed", async () => {
    const input = { categoryCode: "pothole", description: "Hole again", latitude: SPOT.latitude + 0.0001, longitude: SPOT.longitude, attributes: { size: "big" } };
    const offered = data<{ reportIssue: { request: unknown; duplicateCandidates: { trackingId: string; distanceMeters: number }[] } }>(
      await api.request({ query: REPORT, token: parisResident, variables: { input } }),
    );
    expect(offered.reportIssue.request).toBeNull();
    expect(offered.reportIssue.duplicateCandidates).toEqual([{ trackingId, distanceMeters: 11 }]);
    const confirmed = data<{ reportIssue: { request: { trackingId: string } } }>(
      await api.request({ query: REPORT, token: parisResident, variables: { input: { ...input, confirmNotDuplicate: true } } }),
    );
    const duplicate = confirmed.reportIssue.request.trackingId;

    const merged = data<{ mergeServiceRequests: { duplicate: { status: string; mergedInto: { trackingId: string } }; followersAdded: number } }>(
      await api.request({
        query: `mutation ($d: String!, $i: String!) { mergeServiceRequests(duplicateTrackingId: $d, intoTrackingId: $i) {
          ... on MergeServiceRequestsPayload { duplicate { status mergedInto { trackingId } } followersAdded } ... on Error { code } } }`,
        token: parisStaff,
        variables: { d: duplicate, i: trackingId },
      }),
    );
    expect(merged.mergeServiceRequests).toEqual({ duplicate: { status: "closed", mergedInto: { trackingId } }, followersAdded: 1 });
  });

  it("lets staff triage, notifying reporter and followers, and keeps contacts and internal notes from the public", async () => {
    const follow = data<{ followServiceRequest: { following: boolean } }>(
      await api.request({ query: `mutation ($t: String!) { followServiceRequest(trackingId: $t, email: "fan@example.org") { ... on FollowServiceRequestPayload { following } } }`, variables: { t: trackingId } }),
    );
    expect(follow.followServiceRequest.following).toBe(true);
    const changed = data<{ changeServiceRequestStatus: { status: string; acknowledgedAt: string } }>(
      await api.request({
        query: `mutation ($t: String!) { changeServiceRequestStatus(trackingId: $t, status: in_progress, note: "Crew on the way") {
          ... on ServiceRequest { status acknowledgedAt } ... on Error { code message } } }`,
        token: parisStaff,
        variables: { t: trackingId },
      }),
    );
    expect(changed.changeServiceRequestStatus.status).toBe("in_progress");
    const refused = data<{ changeServiceRequestStatus: { __typename: string; code: string } }>(
      await api.request({
        query: `mutation ($t: String!) { changeServiceRequestStatus(trackingId: $t, status: acknowledged) { __typename ... on Error { code } } }`,
        token: parisStaff,
        variables: { t: trackingId },
      }),
    );
    expect(refused.changeServiceRequestStatus).toEqual({ __typename: "ConflictError", code: "CONFLICT" });
    data(await api.request({ query: `mutation ($t: String!) { addInternalNote(trackingId: $t, body: "Truck 7") { ... on ServiceRequestEvent { kind } } }`, token: parisStaff, variables: { t: trackingId } }));

    const outbox = await withPlatformAdmin((tx) => tx.reportingOutboxMessage.findMany({ where: { tenantId: api.paris.id, requestId }, select: { recipient: true, subject: true, body: true } }), api.database);
    const statusMails = outbox.filter((m) => m.body.includes("Crew on the way"));
    expect(statusMails.map((m) => m.recipient).sort()).toEqual(["anon@example.org", "fan@example.org"]);
    expect(statusMails[0]!.subject).toContain("In progress");

    const REQUEST = `query ($t: String!) { serviceRequest(trackingId: $t) { status reporterEmail history { kind body } } }`;
    const asPublic = await api.request({ query: REQUEST, variables: { t: trackingId } });
    expect(codes(asPublic)).toEqual(["UNAUTHENTICATED"]);
    expect((asPublic.body?.data?.serviceRequest as { reporterEmail: unknown; history: { kind: string }[] }).reporterEmail).toBeNull();
    expect((asPublic.body?.data?.serviceRequest as { history: { kind: string }[] }).history.map((e) => e.kind)).toEqual(["created", "merged", "status_changed"]);
    const asStaff = data<{ serviceRequest: { reporterEmail: string; history: { kind: string }[] } }>(await api.request({ query: REQUEST, token: parisStaff, variables: { t: trackingId } }));
    expect(asStaff.serviceRequest.reporterEmail).toBe("anon@example.org");
    expect(asStaff.serviceRequest.history.map((e) => e.kind)).toContain("internal_note");
  });

  it("lists requests by status and gives staff the KPIs", async () => {
    const list = data<{ serviceRequests: { edges: { node: { trackingId: string; status: string } }[] } }>(
      await api.request({ query: `{ serviceRequests(statuses: [in_progress], first: 10) { edges { node { trackingId status } } pageInfo { hasNextPage } } }` }),
    );
    expect(list.serviceRequests.edges.map((e) => e.node)).toEqual([{ trackingId, status: "in_progress" }]);
    const kpis = data<{ reportingKpis: { total: number; volume: { categoryCode: string; status: string; count: number }[]; backlog: { open: number } } }>(
      await api.request({ query: `{ reportingKpis { total volume { categoryCode status count } backlog { open } medianSecondsToAcknowledge } }`, token: parisStaff }),
    );
    expect(kpis.reportingKpis.total).toBe(2);
    expect(kpis.reportingKpis.volume).toEqual([
      { categoryCode: "pothole", status: "in_progress", count: 1 },
      { categoryCode: "pothole", status: "closed", count: 1 },
    ]);
    expect(kpis.reportingKpis.backlog.open).toBe(1);
    expect(codes(await api.request({ query: `{ reportingKpis { total } }`, token: parisResident }))).toEqual(["FORBIDDEN"]);
  });

  it("keeps every new type to its city: requests, categories, events, photos, KPIs", async () => {
    const NODE = `query ($id: ID!) { node(id: $id) { id } }`;
    const category = data<{ serviceCategories: { id: string }[] }>(await api.request({ query: `{ serviceCategories { id } }` })).serviceCategories[0]!;
    const request = data<{ serviceRequest: { id: string } }>(await api.request({ query: `query ($t: String!) { serviceRequest(trackingId: $t) { id } }`, variables: { t: trackingId } })).serviceRequest;
    for (const id of [category.id, request.id]) {
      expect(codes(await api.request({ query: NODE, variables: { id }, at: api.budapest.slug, token: budapestStaff }))).toEqual(["NOT_FOUND"]);
      expect(data<{ node: { id: string } }>(await api.request({ query: NODE, variables: { id } })).node.id).toBe(id);
    }
    expect(codes(await api.request({ query: `query ($t: String!) { serviceRequest(trackingId: $t) { id history { kind } photos { path } } }`, variables: { t: trackingId }, at: api.budapest.slug }))).toEqual(["NOT_FOUND"]);
    const budapestList = data<{ serviceRequests: { edges: unknown[] }; serviceCategories: unknown[] }>(
      await api.request({ query: `{ serviceRequests { edges { node { id } } } serviceCategories { id } }`, at: api.budapest.slug }),
    );
    expect(budapestList).toEqual({ serviceRequests: { edges: [] }, serviceCategories: [] });
    const kpis = data<{ reportingKpis: { total: number } }>(await api.request({ query: `{ reportingKpis { total } }`, at: api.budapest.slug, token: budapestStaff }));
    expect(kpis.reportingKpis.total).toBe(0);
    const triage = data<{ changeServiceRequestStatus: { code: string } }>(
      await api.request({
        query: `mutation ($t: String!) { changeServiceRequestStatus(trackingId: $t, status: closed, reason: fixed) { ... on Error { code } } }`,
        at: api.budapest.slug,
        token: budapestStaff,
        variables: { t: trackingId },
      }),
    );
    expect(triage.changeServiceRequestStatus.code).toBe("NOT_FOUND");
    // Paris staff's token is refused at Budapest.
    expect(codes(await api.request({ query: `{ reportingKpis { total } }`, at: api.budapest.slug, token: parisStaff }))).not.toEqual([]);
  });

  it("answers NOT_FOUND where the city does not run the plugin", async () => {
    const city = await createCity(api.database);
    const NODE = `query ($id: ID!) { node(id: $id) { id } }`;
    const request = data<{ serviceRequest: { id: string } }>(await api.request({ query: `query ($t: String!) { serviceRequest(trackingId: $t) { id } }`, variables: { t: trackingId } })).serviceRequest;
    expect(codes(await api.request({ query: `{ serviceCategories { id } }`, at: city.slug }))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.request({ query: REPORT, variables: { input: { categoryCode: "pothole", description: "x", address: "y" } }, at: city.slug }))).toEqual(["NOT_FOUND"]);
    // Paris disables it: its own requests disappear too.
    await runReporting(api.database, api.paris, {}, false);
    expect(codes(await api.request({ query: NODE, variables: { id: request.id } }))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.request({ query: `{ serviceRequests { edges { node { id } } } }` }))).toEqual(["NOT_FOUND"]);
    await runReporting(api.database, api.paris);
  });
});
