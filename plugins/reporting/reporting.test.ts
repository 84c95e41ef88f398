// The reporting services: categories, reports (with duplicates), triage, merging, the outbox,
// and two cities that never see each other's requests.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS } from "../../app/auth/permissions";
import { withPlatformAdmin, withTenant } from "../../app/db/database.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { archiveServiceCategory, defineServiceCategory, listServiceCategories, updateServiceCategory } from "./categories.server";
import { deliverOutbox, MAX_ATTEMPTS, type MailMessage } from "./notifications.server";
import reporting from "./plugin";
import {
  distanceMeters,
  followServiceRequest,
  getServiceRequest,
  listServiceRequests,
  mergeServiceRequests,
  normaliseTrackingId,
  reportIssue,
  TRACKING_ID,
  type ReportIssueInput,
  type ServiceRequestDetail,
} from "./requests.server";
import { readSettings } from "./settings.server";
import { unsubscribe, validUnsubscribe } from "./unsubscribe.server";
import { ensureReportingInCatalogue, personOf, runReporting, type Person } from "./test-support";
import { addInternalNote, assignableStaff, assignServiceRequest, changeServiceRequestStatus, postPublicUpdate, serviceRequestHistory } from "./triage.server";

ensureReportingInCatalogue();

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
let parisStaff: Person;
let parisAdmin: Person;
let parisResident: Person;
let budapestStaff: Person;
let budapestAdmin: Person;

const at = (city: TestCity) => ({ tenantId: city.id, database });

// Notre-Dame de Paris, and points a given distance north of it.
const NOTRE_DAME = { latitude: 48.852968, longitude: 2.349902 };
const north = (meters: number) => ({ latitude: NOTRE_DAME.latitude + meters / 111_195, longitude: NOTRE_DAME.longitude });

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
  await runReporting(database, paris);
  await runReporting(database, budapest);
  parisStaff = await personOf(database, paris, ["staff"]);
  parisAdmin = await personOf(database, paris, ["admin"]);
  parisResident = await personOf(database, paris);
  budapestStaff = await personOf(database, budapest, ["staff"]);
  budapestAdmin = await personOf(database, budapest, ["admin"]);
  await defineServiceCategory(parisAdmin, { code: "pothole", names: { en: "Pothole", fr: "Nid-de-poule" }, attributes: [
    { code: "size", datatype: "singlevaluelist", required: true, description: { en: "How big is it?" }, values: [{ key: "small", name: { en: "Small" } }, { key: "large", name: { en: "Large" } }] },
    { code: "depth", datatype: "number", description: { en: "Depth (cm)" } },
  ] }, at(paris));
  await defineServiceCategory(parisAdmin, { code: "graffiti", names: { en: "Graffiti" } }, at(paris));
  await defineServiceCategory(budapestAdmin, { code: "pothole", names: { hu: "Kátyú" } }, at(budapest));
});

afterAll(async () => {
  await database?.drop();
});

const pothole = (overrides: Partial<ReportIssueInput> = {}): ReportIssueInput => ({
  categoryCode: "pothole",
  description: "A deep hole in the cycle lane",
  ...NOTRE_DAME,
  attributes: { size: "large" },
  ...overrides,
});

async function created(principal: Parameters<typeof reportIssue>[0], input: ReportIssueInput, city = paris): Promise<ServiceRequestDetail> {
  const result = await reportIssue(principal, { confirmNotDuplicate: true, ...input }, at(city));
  if (result.kind !== "created") throw new Error("expected a new request");
  return result.request!;
}

async function outbox(city: TestCity) {
  return withTenant(city.id, (tx) => tx.reportingOutboxMessage.findMany({ where: { tenantId: city.id }, orderBy: { createdAt: "asc" } }), database);
}

describe("categories", () => {
  it("are defined by admins with translated names and typed attributes, and read by anyone", async () => {
    const categories = await listServiceCategories(ANONYMOUS, {}, at(paris));
    const found = categories.find((category) => category.code === "pothole")!;
    expect(found.names).toEqual({ en: "Pothole", fr: "Nid-de-poule" });
    expect(found.attributes.map((a) => [a.code, a.datatype, a.required, a.order])).toEqual([
      ["size", "singlevaluelist", true, 1],
      ["depth", "number", false, 2],
    ]);
  });

  it("refuse bad definitions with field messages, duplicate codes, and people who do not configure", async () => {
    await expect(defineServiceCategory(parisAdmin, { code: "Bad Code!", names: {} }, at(paris))).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      fields: { code: [expect.stringContaining("lower-case")], names: [expect.stringContaining("at least one language")] },
    });
    await expect(
      defineServiceCategory(parisAdmin, { code: "lists", names: { en: "Lists" }, attributes: [{ code: "kind", datatype: "multivaluelist", description: { en: "Kind" } }] }, at(paris)),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED", fields: { attributes: [expect.stringContaining("at least one choice")] } });
    await expect(defineServiceCategory(parisAdmin, { code: "pothole", names: { en: "Again" } }, at(paris))).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(defineServiceCategory(parisStaff, { code: "trees", names: { en: "Trees" } }, at(paris))).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("are updated and archived: archived ones take no reports and leave the public list", async () => {
    const category = await defineServiceCategory(parisAdmin, { code: "benches", names: { en: "Benches" } }, at(paris));
    const updated = await updateServiceCategory(parisAdmin, { id: category.id, names: { en: "Broken benches" }, keywords: ["Seat", "seat"] }, at(paris));
    expect(updated.names).toEqual({ en: "Broken benches" });
    expect(updated.keywords).toEqual(["seat"]);
    await archiveServiceCategory(parisAdmin, { id: category.id }, at(paris));
    expect((await listServiceCategories(ANONYMOUS, {}, at(paris))).map((c) => c.code)).not.toContain("benches");
    expect((await listServiceCategories(parisAdmin, { includeArchived: true }, at(paris))).map((c) => c.code)).toContain("benches");
    await expect(reportIssue(ANONYMOUS, { categoryCode: "benches", description: "Broken", address: "Parvis" }, at(paris))).rejects.toMatchObject({
      fields: { categoryCode: ["is not a category of this city"] },
    });
  });

  it("of another city are neither listed nor changed", async () => {
    const budapestCategories = await listServiceCategories(ANONYMOUS, {}, at(budapest));
    expect(budapestCategories.map((c) => c.names)).toEqual([{ hu: "Kátyú" }]);
    const parisPothole = (await listServiceCategories(ANONYMOUS, {}, at(paris))).find((c) => c.code === "pothole")!;
    await expect(updateServiceCategory(budapestAdmin, { id: parisPothole.id, names: { hu: "Ellopva" } }, at(budapest))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(archiveServiceCategory(budapestAdmin, { id: parisPothole.id }, at(budapest))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("reporting an issue", () => {
  it("gives an anonymous reporter a tracking id, and anyone can follow the report with it", async () => {
    const request = await created(ANONYMOUS, pothole({ email: "Someone@Example.org", ...north(5000) }));
    expect(request.trackingId).toMatch(TRACKING_ID);
    expect(request.status).toBe("open");
    expect(request.reporterEmail).toBe("someone@example.org");
    expect(request.attributeValues).toEqual({ size: "large" });
    const again = await getServiceRequest(ANONYMOUS, { trackingId: request.trackingId.toLowerCase().replace("-", "") }, at(paris));
    expect(again.id).toBe(request.id);
    // The receipt goes to the address given, in the outbox.
    const messages = (await outbox(paris)).filter((m) => m.requestId === request.id);
    expect(messages.map((m) => m.recipient)).toEqual(["someone@example.org"]);
    expect(messages[0]!.subject).toContain(request.trackingId);
  });

  it("refuses bad input with a message per field", async () => {
    await expect(reportIssue(ANONYMOUS, { categoryCode: "pothole", description: "x".repeat(4001), attributes: { size: "huge", colour: "red" } }, at(paris))).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      fields: { description: ["must be at most 4000 characters"], address: [expect.stringContaining("give a place")] },
    });
    await expect(reportIssue(ANONYMOUS, pothole({ attributes: { size: "huge", colour: "red", depth: "deep" } }), at(paris))).rejects.toMatchObject({
      fields: {
        "attributes.size": ["is not one of the choices"],
        "attributes.colour": ["is not an attribute of this category"],
        "attributes.depth": ["must be a number"],
      },
    });
    await expect(reportIssue(ANONYMOUS, pothole({ attributes: {} }), at(paris))).rejects.toMatchObject({ fields: { "attributes.size": ["is required"] } });
    await expect(reportIssue(ANONYMOUS, pothole({ latitude: 95 }), at(paris))).rejects.toMatchObject({ fields: { latitude: ["must be between -90 and 90"] } });
    await expect(reportIssue(ANONYMOUS, pothole({ email: "not-an-address" }), at(paris))).rejects.toMatchObject({ fields: { email: ["must be an email address"] } });
    await expect(reportIssue(ANONYMOUS, pothole({ categoryCode: "unknown" }), at(paris))).rejects.toMatchObject({ fields: { categoryCode: ["is not a category of this city"] } });
  });

  it("takes no anonymous reports where the city says so, and signed-in ones all the same", async () => {
    const city = await createCity(database);
    await runReporting(database, city, { anonymousReports: false });
    const admin = await personOf(database, city, ["admin"]);
    await defineServiceCategory(admin, { code: "pothole", names: { en: "Pothole" } }, at(city));
    await expect(reportIssue(ANONYMOUS, { categoryCode: "pothole", description: "Hole", address: "Main street" }, at(city))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    const resident = await personOf(database, city);
    const result = await reportIssue(resident, { categoryCode: "pothole", description: "Hole", address: "Main street" }, at(city));
    expect(result.kind).toBe("created");
  });

  it("is not found where the city does not run the plugin", async () => {
    const city = await createCity(database);
    await expect(reportIssue(ANONYMOUS, pothole(), at(city))).rejects.toMatchObject({ code: "NOT_FOUND", subject: "service" });
    await runReporting(database, city, {}, false);
    await expect(listServiceCategories(ANONYMOUS, {}, at(city))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("duplicates", () => {
  it("offers open requests of the same category nearby instead of filing, unless confirmed", async () => {
    const spot = north(20_000);
    const first = await created(ANONYMOUS, pothole({ ...spot, description: "Hole near the bridge" }));
    const near = { latitude: spot.latitude + 30 / 111_195, longitude: spot.longitude };
    expect(distanceMeters(spot, near)).toBeGreaterThan(29);
    expect(distanceMeters(spot, near)).toBeLessThan(31);

    const offered = await reportIssue(ANONYMOUS, pothole({ ...near }), at(paris));
    expect(offered.kind).toBe("duplicates");
    if (offered.kind !== "duplicates") return;
    expect(offered.candidates.map((c) => [c.trackingId, c.distanceMeters])).toEqual([[first.trackingId, 30]]);

    // Farther than the city's 50 m, another category, or confirmed: filed.
    expect((await reportIssue(ANONYMOUS, pothole({ latitude: spot.latitude + 80 / 111_195, longitude: spot.longitude }), at(paris))).kind).toBe("created");
    expect((await reportIssue(ANONYMOUS, { categoryCode: "graffiti", description: "Tag", ...near }, at(paris))).kind).toBe("created");
    expect((await reportIssue(ANONYMOUS, pothole({ ...near, confirmNotDuplicate: true }), at(paris))).kind).toBe("created");
  });

  it("does not offer closed requests, nor another city's", async () => {
    const spot = north(30_000);
    const first = await created(ANONYMOUS, pothole({ ...spot }));
    await changeServiceRequestStatus(parisStaff, { trackingId: first.trackingId, status: "closed", reason: "fixed" }, at(paris));
    expect((await reportIssue(ANONYMOUS, pothole({ ...spot }), at(paris))).kind).toBe("created");
    const elsewhere = north(40_000);
    await created(ANONYMOUS, pothole({ ...elsewhere }));
    expect((await reportIssue(ANONYMOUS, { categoryCode: "pothole", description: "Same place", ...elsewhere }, at(budapest))).kind).toBe("created");
  });

  it("are merged by staff: the duplicate closes and its followers follow the other request, and are told", async () => {
    const spot = north(50_000);
    const kept = await created(ANONYMOUS, pothole({ ...spot, email: "first@example.org" }));
    const duplicate = await created(parisResident, pothole({ ...spot, email: "second@example.org" }));
    await followServiceRequest(ANONYMOUS, { trackingId: duplicate.trackingId, email: "neighbour@example.org" }, at(paris));

    await expect(mergeServiceRequests(parisResident, { duplicateTrackingId: duplicate.trackingId, intoTrackingId: kept.trackingId }, at(paris))).rejects.toMatchObject({ code: "FORBIDDEN" });
    const merged = await mergeServiceRequests(parisStaff, { duplicateTrackingId: duplicate.trackingId, intoTrackingId: kept.trackingId }, at(paris));
    expect(merged.duplicate).toMatchObject({ status: "closed", closeReason: "duplicate", mergedIntoTrackingId: kept.trackingId });
    expect(merged.followersAdded).toBe(3); // the resident's account, second@ and neighbour@

    const mergeNotices = (await outbox(paris)).filter((m) => m.requestId === duplicate.id && m.subject.includes("merged"));
    expect(mergeNotices.map((m) => m.recipient).sort()).toEqual(["neighbour@example.org", parisResident.email, "second@example.org"].sort());
    expect(mergeNotices[0]!.body).toContain(kept.trackingId);

    // From now on, news of the kept request reaches the duplicate's people too.
    await postPublicUpdate(parisStaff, { trackingId: kept.trackingId, body: "A crew is booked for Monday." }, at(paris));
    const update = (await outbox(paris)).filter((m) => m.requestId === kept.id && m.body.includes("A crew is booked"));
    expect(update.map((m) => m.recipient).sort()).toEqual(["first@example.org", "neighbour@example.org", parisResident.email, "second@example.org"].sort());

    await expect(mergeServiceRequests(parisStaff, { duplicateTrackingId: duplicate.trackingId, intoTrackingId: kept.trackingId }, at(paris))).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(mergeServiceRequests(parisStaff, { duplicateTrackingId: kept.trackingId, intoTrackingId: duplicate.trackingId }, at(paris))).rejects.toMatchObject({ code: "CONFLICT", reason: "target_merged" });
    await expect(changeServiceRequestStatus(parisStaff, { trackingId: duplicate.trackingId, status: "open" }, at(paris))).rejects.toMatchObject({ code: "CONFLICT", reason: "merged" });
  });
});

describe("triage", () => {
  it("moves requests along the allowed transitions, with reasons, and tells reporter and followers", async () => {
    const request = await created(parisResident, pothole({ email: "reporter@example.org", ...north(60_000) }));
    await followServiceRequest(ANONYMOUS, { trackingId: request.trackingId, email: "follower@example.org" }, at(paris));
    const before = (await outbox(paris)).length;

    const progressing = await changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "in_progress", note: "On our list." }, at(paris));
    expect(progressing.status).toBe("in_progress");
    expect(progressing.acknowledgedAt).not.toBeNull();
    await expect(changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "acknowledged" }, at(paris))).rejects.toMatchObject({ code: "CONFLICT", reason: "transition_not_allowed" });
    await expect(changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "closed" }, at(paris))).rejects.toMatchObject({ fields: { reason: ["say why it is closed"] } });
    await expect(changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "closed", reason: "bored" as never }, at(paris))).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    const closed = await changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "closed", reason: "fixed" }, at(paris));
    expect(closed).toMatchObject({ status: "closed", closeReason: "fixed" });
    expect(closed.closedAt).not.toBeNull();
    expect(closed.acknowledgedAt).toEqual(progressing.acknowledgedAt);
    const reopened = await changeServiceRequestStatus(parisStaff, { trackingId: request.trackingId, status: "open" }, at(paris));
    expect(reopened).toMatchObject({ status: "open", closedAt: null, closeReason: null });

    const messages = (await outbox(paris)).slice(before).filter((m) => m.requestId === request.id);
    // Three changes, each to the reporter's address, their account's and the follower's.
    expect(messages).toHaveLength(9);
    expect(new Set(messages.map((m) => m.recipient))).toEqual(new Set(["reporter@example.org", "follower@example.org", parisResident.email]));
    const closing = messages.find((m) => m.recipient === "follower@example.org" && m.subject.includes("Closed"))!;
    expect(closing.body).toContain("Reason: Fixed");
    expect(messages.some((m) => m.body.includes("Message from the city: On our list."))).toBe(true);
  });

  it("keeps internal notes and assignments from the public, not from staff", async () => {
    const request = await created(ANONYMOUS, pothole({ ...north(70_000) }));
    await addInternalNote(parisStaff, { trackingId: request.trackingId, body: "Needs the big truck" }, at(paris));
    await assignServiceRequest(parisStaff, { trackingId: request.trackingId, assigneeUserId: parisStaff.userId }, at(paris));
    await postPublicUpdate(parisStaff, { trackingId: request.trackingId, body: "Scheduled" }, at(paris));
    const publicHistory = await serviceRequestHistory(ANONYMOUS, { trackingId: request.trackingId }, at(paris));
    expect(publicHistory.map((e) => e.kind)).toEqual(["created", "public_update"]);
    const staffHistory = await serviceRequestHistory(parisStaff, { trackingId: request.trackingId }, at(paris));
    expect(staffHistory.map((e) => e.kind)).toEqual(["created", "internal_note", "assigned", "public_update"]);
    expect((await getServiceRequest(ANONYMOUS, { trackingId: request.trackingId }, at(paris))).statusNotes).toBe("Scheduled");
    // Only staff of the city can be assigned; residents cannot triage.
    await expect(assignServiceRequest(parisStaff, { trackingId: request.trackingId, assigneeUserId: parisResident.userId }, at(paris))).rejects.toMatchObject({ fields: { assigneeUserId: ["is not a staff member of this city"] } });
    await expect(addInternalNote(parisResident, { trackingId: request.trackingId, body: "Me too" }, at(paris))).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(addInternalNote(parisStaff, { trackingId: request.trackingId, body: "  " }, at(paris))).rejects.toMatchObject({ fields: { body: ["write the note"] } });
  });

  it("offers as assignees the city's staff by membership or by their identity provider's roles, never residents", async () => {
    const request = await created(ANONYMOUS, pothole({ ...north(71_000) }));
    // Staff whose role comes from the realm (city-staff at their last sign-in), with no membership.
    const realmStaff = await personOf(database, paris);
    await withPlatformAdmin((tx) => tx.user.update({ where: { tenantId_id: { tenantId: paris.id, id: realmStaff.userId } }, data: { providerRoles: ["staff"] } }), database);
    const offered = (await assignableStaff(parisStaff, at(paris))).map((person) => person.userId);
    expect(offered).toEqual(expect.arrayContaining([parisStaff.userId, realmStaff.userId]));
    expect(offered).not.toContain(parisResident.userId);
    await assignServiceRequest(parisStaff, { trackingId: request.trackingId, assigneeUserId: realmStaff.userId }, at(paris));
    expect((await getServiceRequest(parisStaff, { trackingId: request.trackingId }, at(paris))).assigneeUserId).toBe(realmStaff.userId);
  });

  it("lists requests with filters, in pages, assignee and text search for staff only", async () => {
    const box = { south: north(79_000).latitude, west: 2.3, north: north(81_000).latitude, east: 2.4 };
    const inBox = [];
    for (let i = 0; i < 3; i += 1) inBox.push(await created(ANONYMOUS, pothole({ ...north(80_000), description: `Boxed ${i}` })));
    await changeServiceRequestStatus(parisStaff, { trackingId: inBox[0]!.trackingId, status: "acknowledged" }, at(paris));
    const page1 = await listServiceRequests(ANONYMOUS, { area: box, first: 2 }, at(paris));
    expect(page1.requests.map((r) => r.description)).toEqual(["Boxed 2", "Boxed 1"]);
    expect(page1.hasNextPage).toBe(true);
    const page2 = await listServiceRequests(ANONYMOUS, { area: box, first: 2, after: page1.endCursor }, at(paris));
    expect(page2.requests.map((r) => r.description)).toEqual(["Boxed 0"]);
    const acknowledged = await listServiceRequests(ANONYMOUS, { area: box, statuses: ["acknowledged"] }, at(paris));
    expect(acknowledged.requests.map((r) => r.trackingId)).toEqual([inBox[0]!.trackingId]);
    await expect(listServiceRequests(ANONYMOUS, { search: "Boxed" }, at(paris))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    const found = await listServiceRequests(parisStaff, { search: "boxed 1" }, at(paris));
    expect(found.requests.map((r) => r.description)).toEqual(["Boxed 1"]);
    await expect(listServiceRequests(ANONYMOUS, { after: "nonsense" }, at(paris))).rejects.toMatchObject({ fields: { after: ["is not a cursor of this list"] } });
  });
});

describe("two cities", () => {
  it("never read, follow, triage or merge each other's requests", async () => {
    const request = await created(ANONYMOUS, pothole({ ...north(90_000) }));
    const other = await created(ANONYMOUS, { categoryCode: "pothole", description: "Budapest hole", ...north(90_000) }, budapest);
    const notFound = { code: "NOT_FOUND" };
    await expect(getServiceRequest(ANONYMOUS, { trackingId: request.trackingId }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(followServiceRequest(ANONYMOUS, { trackingId: request.trackingId, email: "x@example.org" }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(changeServiceRequestStatus(budapestStaff, { trackingId: request.trackingId, status: "acknowledged" }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(addInternalNote(budapestStaff, { trackingId: request.trackingId, body: "Mine now" }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(postPublicUpdate(budapestStaff, { trackingId: request.trackingId, body: "Mine now" }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(assignServiceRequest(budapestStaff, { trackingId: request.trackingId, assigneeUserId: budapestStaff.userId }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(mergeServiceRequests(budapestStaff, { duplicateTrackingId: other.trackingId, intoTrackingId: request.trackingId }, at(budapest))).rejects.toMatchObject(notFound);
    await expect(serviceRequestHistory(ANONYMOUS, { trackingId: request.trackingId }, at(budapest))).rejects.toMatchObject(notFound);
    // Paris staff at Budapest's address are refused whatever they hold at home.
    await expect(changeServiceRequestStatus(parisStaff, { trackingId: other.trackingId, status: "acknowledged" }, at(budapest))).rejects.toMatchObject({ code: "FORBIDDEN" });
    const budapestList = await listServiceRequests(ANONYMOUS, { first: 100 }, at(budapest));
    expect(budapestList.requests.every((r) => r.tenantId === budapest.id)).toBe(true);
    expect(budapestList.requests.map((r) => r.trackingId)).not.toContain(request.trackingId);
  });
});

describe("the outbox", () => {
  it("delivers each message once, retries failures with growing waits, and gives up after the last attempt", async () => {
    const city = await createCity(database);
    await runReporting(database, city);
    const admin = await personOf(database, city, ["admin"]);
    const staff = await personOf(database, city, ["staff"]);
    await defineServiceCategory(admin, { code: "litter", names: { en: "Litter" } }, at(city));
    const one = await created(ANONYMOUS, { categoryCode: "litter", description: "Bags", address: "Rue A", email: "a@example.org" }, city);
    await created(ANONYMOUS, { categoryCode: "litter", description: "Boxes", address: "Rue B", email: "b@example.org" }, city);
    await postPublicUpdate(staff, { trackingId: one.trackingId, body: "Collected tomorrow" }, at(city));
    const settings = readSettings({});

    const sent: MailMessage[] = [];
    let failFor = "b@example.org";
    const transport = {
      async send(message: MailMessage) {
        if (message.to === failFor) throw new Error("451 try again later");
        sent.push(message);
        return { messageId: `<${randomUUID()}@test>` };
      },
    };
    let clock = new Date("2026-12-01T10:00:00Z");
    const now = () => clock;
    const first = await deliverOutbox({ tenantId: city.id, settings, database, transport, now });
    expect(first).toEqual({ sent: 2, retried: 1, failed: 0 });
    expect(sent.map((m) => m.to).sort()).toEqual(["a@example.org", "a@example.org"]);
    expect(sent.find((m) => m.subject.includes("News"))!.text).toContain("Collected tomorrow");

    // Nothing is due again at once: sent ones never, the failed one after its wait.
    expect(await deliverOutbox({ tenantId: city.id, settings, database, transport, now })).toEqual({ sent: 0, retried: 0, failed: 0 });
    clock = new Date(clock.getTime() + 61_000);
    expect(await deliverOutbox({ tenantId: city.id, settings, database, transport, now })).toEqual({ sent: 0, retried: 1, failed: 0 });
    clock = new Date(clock.getTime() + 61_000);
    expect(await deliverOutbox({ tenantId: city.id, settings, database, transport, now })).toEqual({ sent: 0, retried: 0, failed: 0 }); // waits 2 minutes now
    for (let attempt = 3; attempt <= MAX_ATTEMPTS; attempt += 1) {
      clock = new Date(clock.getTime() + 7 * 3_600_000);
      await deliverOutbox({ tenantId: city.id, settings, database, transport, now });
    }
    const rows = await outbox(city);
    const failed = rows.find((m) => m.recipient === "b@example.org")!;
    expect(failed).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS, lastError: "451 try again later" });
    expect(rows.filter((m) => m.status === "sent")).toHaveLength(2);
    failFor = "";
    clock = new Date(clock.getTime() + 7 * 3_600_000);
    expect(await deliverOutbox({ tenantId: city.id, settings, database, transport, now })).toEqual({ sent: 0, retried: 0, failed: 0 });
  });
});

describe("leaving a report's emails", () => {
  it("gives every message a link signed for its recipient; following it stops that address's emails, and only that", async () => {
    const city = await createCity(database);
    await runReporting(database, city);
    const admin = await personOf(database, city, ["admin"]);
    const staff = await personOf(database, city, ["staff"]);
    await defineServiceCategory(admin, { code: "noise", names: { en: "Noise" } }, at(city));
    const request = await created(ANONYMOUS, { categoryCode: "noise", description: "Night works", address: "Rue C", email: "sleepless@example.org" }, city);
    await followServiceRequest(ANONYMOUS, { trackingId: request.trackingId, email: "neighbour@example.org" }, at(city));
    await postPublicUpdate(staff, { trackingId: request.trackingId, body: "Works end at 22:00" }, at(city));
    const sent: MailMessage[] = [];
    const transport = { send: async (message: MailMessage) => (sent.push(message), {}) };
    await deliverOutbox({ tenantId: city.id, settings: readSettings({}), database, transport });
    const mine = sent.find((message) => message.to === "sleepless@example.org")!;
    const link = new URL(/https?:\/\/\S+\/unsubscribe\?\S+/.exec(mine.text)![0]);
    expect(mine.headers["List-Unsubscribe"]).toBe(`<${link.href}>`);
    const [r = "", e = "", t = ""] = ["r", "e", "t"].map((name) => link.searchParams.get(name) ?? "");
    expect({ r, e }).toEqual({ r: request.trackingId, e: "sleepless@example.org" });

    // A token is for its address and report only.
    expect(await validUnsubscribe({ tenantId: city.id, trackingId: r, email: e, token: t, database })).toBe(true);
    expect(await validUnsubscribe({ tenantId: city.id, trackingId: r, email: "neighbour@example.org", token: t, database })).toBe(false);
    expect(await validUnsubscribe({ tenantId: paris.id, trackingId: r, email: e, token: t, database })).toBe(false);

    expect(await unsubscribe({ tenantId: city.id, trackingId: r, email: e, database })).toBe(true);
    expect(await unsubscribe({ tenantId: city.id, trackingId: r, email: e, database })).toBe(false);
    await postPublicUpdate(staff, { trackingId: request.trackingId, body: "Works done" }, at(city));
    const recipients = (await outbox(city)).filter((message) => message.body.includes("Works done")).map((message) => message.recipient);
    expect(recipients).toEqual(["neighbour@example.org"]);
  });
});

describe("the plugin", () => {
  it("keeps a report's photos within what one form may carry", () => {
    const settings = { ...readSettings({}), photoMaxCount: 10, photoMaxBytes: 20_000_000 };
    const result = reporting.settings!.schema.safeParse(settings);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["photoMaxBytes"]);
    expect(reporting.settings!.schema.safeParse({ ...settings, photoMaxCount: 3, photoMaxBytes: 3_000_000 }).success).toBe(true);
  });

  it("seeds default categories on install and purges every row of the city, not another's", async () => {
    const city = await createCity(database);
    await runReporting(database, city);
    await withTenant(city.id, (tx) => reporting.install!({ tx, tenantId: city.id, settings: {} }), database);
    const categories = await listServiceCategories(ANONYMOUS, {}, at(city));
    expect(categories.map((c) => c.code)).toEqual(["pothole", "street-light", "graffiti", "litter"]);
    expect(categories[0]!.names).toMatchObject({ en: "Pothole", fr: "Nid-de-poule", hu: "Kátyú" });
    const staff = await personOf(database, city, ["staff"]);
    const a = await created(ANONYMOUS, { categoryCode: "pothole", description: "One", ...NOTRE_DAME, email: "p@example.org" }, city);
    const b = await created(ANONYMOUS, { categoryCode: "pothole", description: "Two", ...NOTRE_DAME }, city);
    await mergeServiceRequests(staff, { duplicateTrackingId: b.trackingId, intoTrackingId: a.trackingId }, at(city));
    const parisBefore = await withPlatformAdmin((tx) => tx.reportingRequest.count({ where: { tenantId: paris.id } }), database);

    await withTenant(city.id, (tx) => reporting.purge!({ tx, tenantId: city.id }), database);
    const left = await withPlatformAdmin(
      async (tx) =>
        Promise.all([
          tx.reportingCategory.count({ where: { tenantId: city.id } }),
          tx.reportingRequest.count({ where: { tenantId: city.id } }),
          tx.reportingEvent.count({ where: { tenantId: city.id } }),
          tx.reportingFollower.count({ where: { tenantId: city.id } }),
          tx.reportingOutboxMessage.count({ where: { tenantId: city.id } }),
        ]),
      database,
    );
    expect(left).toEqual([0, 0, 0, 0, 0]);
    expect(await withPlatformAdmin((tx) => tx.reportingRequest.count({ where: { tenantId: paris.id } }), database)).toBe(parisBefore);
  });

  it("reads tracking ids as people type them", () => {
    expect(normaliseTrackingId("k7m2 q9xh")).toBe("K7M2-Q9XH");
    expect(normaliseTrackingId("K7M2-Q9XO")).toBe("K7M2-Q9X0");
    expect(normaliseTrackingId("K7M2-Q9X")).toBeNull();
    expect(normaliseTrackingId("'; drop table")).toBeNull();
  });
});
