// Open311 GeoReport v2 over HTTP as a client speaks it: every method in XML and JSON, the
// spec's element names, form-encoded POST with attributes, jurisdiction_id selecting and
// isolating cities, every error the spec names in its shape, and a disabled plugin answering
// not found for its city only.
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTenant } from "../../../app/db/database.server";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/database";
import { rawRequest } from "../../../tests/support/http";
import { apiClientWithKey, backdateRequest, runReporting, setReportingEnabled, setRequestState, startOpen311, suspendCity, type Open311Harness } from "./harness";

let database: TestDatabase;
let h: Open311Harness;

beforeAll(async () => {
  database = await createTestDatabase();
  h = await startOpen311(database);
}, 120_000);
afterAll(async () => {
  await h?.close();
  await database?.drop();
});

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => ["service", "request", "error", "attribute", "value", "endpoint", "format"].includes(name) });

type Answer = { status: number; type: string; text: string; json: unknown; xml: Record<string, unknown> | null; headers: Headers };

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    type,
    text,
    headers: response.headers,
    json: type.startsWith("application/json") ? JSON.parse(text) : null,
    xml: type.startsWith("text/xml") ? (xml.parse(text) as Record<string, unknown>) : null,
  };
}

const form = (fields: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(key, item);
  return body;
};

function post(url: string, fields: Record<string, string | string[]>): Promise<Answer> {
  return call(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" }, body: form(fields) });
}

/** The spec's error shape in either format: the codes and descriptions. */
function errorsOf(answer: Answer): { code: number; description: string }[] {
  if (answer.json) return answer.json as { code: number; description: string }[];
  const errors = (answer.xml?.errors as { error: { code: string; description: string }[] }).error;
  return errors.map((error) => ({ code: Number(error.code), description: error.description }));
}

function expectError(answer: Answer, status: number, pattern: RegExp) {
  expect(answer.status, answer.text).toBe(status);
  const errors = errorsOf(answer);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors[0]!.code).toBe(status);
  expect(errors.map((error) => error.description).join(" | ")).toMatch(pattern);
  expect(answer.text).not.toMatch(/prisma|stack|at Object|SELECT/i);
}

const paris = () => h.paris.slug;
const budapest = () => h.budapest.slug;

async function createIn(slug: string, apiKey: string, extra: Record<string, string | string[]> = {}): Promise<string> {
  const answer = await post(h.url(slug, "requests.json"), { api_key: apiKey, service_code: "pothole", lat: "48.8566", long: "2.3522", description: "A hole", ...extra });
  expect(answer.status, answer.text).toBe(200);
  return (answer.json as { service_request_id: string }[])[0]!.service_request_id;
}

describe("GET services", () => {
  it("lists the city's services in JSON, in the spec's fields", async () => {
    const answer = await call(h.url(paris(), "services.json"));
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("application/json; charset=utf-8");
    const services = answer.json as Record<string, unknown>[];
    expect(services.map((service) => service.service_code)).toEqual(["pothole", "street-light", "graffiti", "litter", "bulky-waste"]);
    expect(services[4]).toEqual({
      service_code: "bulky-waste",
      service_name: "Bulky waste",
      description: "Furniture or appliances left on the street.",
      metadata: true,
      type: "realtime",
      keywords: "furniture, mattress",
      group: "Cleanliness",
    });
    expect(services[0]).toMatchObject({ metadata: false, type: "realtime" });
  });

  it("answers XML with the declaration and services/service, in the language asked for", async () => {
    const answer = await call(h.url(paris(), "services.xml"), { headers: { "Accept-Language": "fr" } });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("text/xml; charset=utf-8");
    expect(answer.text.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<services>')).toBe(true);
    const services = (answer.xml!.services as { service: Record<string, string>[] }).service;
    const bulky = services.find((service) => service.service_code === "bulky-waste")!;
    // The test city speaks English only: French is not among its languages.
    expect(bulky).toMatchObject({ service_name: "Bulky waste", metadata: "true", type: "realtime", group: "Cleanliness" });
  });
});

describe("GET service definition", () => {
  it("answers the attributes with their datatypes and values (JSON)", async () => {
    const answer = await call(h.url(paris(), "services/bulky-waste.json"));
    expect(answer.status, answer.text).toBe(200);
    const definition = answer.json as { service_code: string; attributes: Record<string, unknown>[] };
    expect(definition.service_code).toBe("bulky-waste");
    expect(definition.attributes.map((attribute) => attribute.datatype)).toEqual(["singlevaluelist", "multivaluelist", "number", "datetime", "text", "string"]);
    expect(definition.attributes[0]).toEqual({
      variable: true,
      code: "KIND",
      datatype: "singlevaluelist",
      required: true,
      datatype_description: null,
      order: 1,
      description: "What is it?",
      values: [{ key: "sofa", name: "Sofa" }, { key: "fridge", name: "Fridge" }],
    });
    expect(definition.attributes[5]).toMatchObject({ variable: false, code: "INFO", required: false });
  });

  it("answers service_definition/attributes/attribute/values/value in XML", async () => {
    const answer = await call(h.url(paris(), "services/bulky-waste.xml"));
    expect(answer.status).toBe(200);
    const definition = answer.xml!.service_definition as { service_code: string; attributes: { attribute: { code: string; values?: { value: { key: string; name: string }[] } }[] } };
    expect(definition.service_code).toBe("bulky-waste");
    expect(definition.attributes.attribute.map((attribute) => attribute.code)).toEqual(["KIND", "ITEMS", "COUNT", "SEEN", "NOTE", "INFO"]);
    expect(definition.attributes.attribute[1]!.values!.value.map((value) => value.key)).toEqual(["chair", "table", "lamp"]);
  });

  it.each(["json", "xml"])("answers 404 for an unknown service_code (%s)", async (format) => {
    expectError(await call(h.url(paris(), `services/no-such-thing.${format}`)), 404, /service_code was not found/);
  });
});

describe("POST requests", () => {
  it("files a report form-encoded, with single and multi-value attributes, and answers its id (JSON)", async () => {
    const answer = await post(h.url(paris(), "requests.json"), {
      api_key: h.paris.apiKey,
      service_code: "bulky-waste",
      lat: "48.8584",
      long: "2.2945",
      address_string: "5 Avenue Anatole France",
      email: "Someone@Example.org",
      first_name: "Jean",
      last_name: "Dupont",
      phone: "+33 1 23 45 67 89",
      description: "A sofa and two chairs\non the pavement",
      media_url: "https://example.org/sofa.jpg",
      "attribute[KIND]": "sofa",
      "attribute[ITEMS][]": ["chair", "table"],
      "attribute[COUNT]": "3",
      device_id: "tt222111",
    });
    expect(answer.status, answer.text).toBe(200);
    const [created] = answer.json as { service_request_id: string; service_notice: null; account_id: null }[];
    expect(created).toEqual({ service_request_id: expect.stringMatching(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/), service_notice: null, account_id: null });
    expect(created).not.toHaveProperty("token");

    const stored = await withTenant(h.paris.id, (tx) => tx.reportingRequest.findFirstOrThrow({ where: { tenantId: h.paris.id, trackingId: created!.service_request_id } }), database);
    expect(stored).toMatchObject({
      source: "open311",
      description: "A sofa and two chairs\non the pavement",
      latitude: 48.8584,
      longitude: 2.2945,
      address: "5 Avenue Anatole France",
      reporterEmail: "someone@example.org",
      reporterFirstName: "Jean",
      mediaUrl: "https://example.org/sofa.jpg",
      attributeValues: { KIND: "sofa", ITEMS: ["chair", "table"], COUNT: 3 },
    });
    // The same object GraphQL and the portal see: history and audit written by the one service.
    const audit = await withTenant(h.paris.id, (tx) => tx.auditEvent.findFirst({ where: { tenantId: h.paris.id, action: "reporting.request_created", subjectId: stored.id } }), database);
    expect(audit).toMatchObject({ actorType: "client", actorId: h.paris.clientId });
  });

  it("writes what every report has: its history, its reporter following it, the audit event and the receipt", async () => {
    const trackingId = await createIn(paris(), h.paris.apiKey, { email: "Follower@Example.org", lat: "48.81", long: "2.31" });
    const tenantId = h.paris.id;
    const written = await withTenant(
      tenantId,
      async (tx) => {
        const request = await tx.reportingRequest.findFirstOrThrow({ where: { tenantId, trackingId } });
        const of = { tenantId, requestId: request.id };
        return {
          request,
          events: await tx.reportingEvent.findMany({ where: of }),
          followers: await tx.reportingFollower.findMany({ where: of }),
          audit: await tx.auditEvent.findMany({ where: { tenantId, subjectId: request.id } }),
          outbox: await tx.reportingOutboxMessage.findMany({ where: of }),
        };
      },
      database,
    );
    const { request, events } = written;
    expect(request).toMatchObject({ status: "open", source: "open311", locale: "en", reporterEmail: "follower@example.org", reporterUserId: null, closedAt: null, mergedIntoId: null });
    expect(request.updatedAt).toEqual(request.createdAt);
    expect(events).toEqual([
      expect.objectContaining({ kind: "created", public: true, fromStatus: null, toStatus: "open", reason: null, body: null, actorType: "client", actorId: h.paris.clientId }),
    ]);
    expect(written.followers).toEqual([expect.objectContaining({ email: "follower@example.org", userId: null })]);
    expect(written.audit).toEqual([
      expect.objectContaining({
        action: "reporting.request_created",
        actorType: "client",
        actorId: h.paris.clientId,
        subjectType: "reporting_request",
        before: null,
        after: { trackingId, category: "pothole", source: "open311", photos: 0, attributes: {} },
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
    ]);
    expect(written.outbox).toEqual([
      expect.objectContaining({
        recipient: "follower@example.org",
        dedupeKey: `${events[0]!.id}:follower@example.org`,
        locale: "en",
        status: "pending",
        attempts: 0,
        subject: expect.stringContaining(trackingId),
        body: expect.stringContaining(`/services/reporting/requests/${trackingId}`),
      }),
    ]);
  });

  it("answers service_requests/request in XML, and takes jurisdiction_id in the body", async () => {
    const answer = await post(h.url("platform", "requests.xml"), { jurisdiction_id: paris(), api_key: h.paris.apiKey, service_code: "graffiti", address_string: "Rue de Rivoli" });
    expect(answer.status, answer.text).toBe(200);
    const request = (answer.xml!.service_requests as { request: Record<string, string>[] }).request[0]!;
    expect(request.service_request_id).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(answer.text).toContain("<account_id/>");
    // Without a description, the report says what kind of issue it is.
    const stored = await withTenant(h.paris.id, (tx) => tx.reportingRequest.findFirstOrThrow({ where: { tenantId: h.paris.id, trackingId: request.service_request_id } }), database);
    expect(stored.description).toBe("Graffiti");
  });

  it("files next to an open report of the same kind too (no duplicate question for machines)", async () => {
    const first = await createIn(paris(), h.paris.apiKey, { lat: "48.80001", long: "2.30001" });
    const second = await createIn(paris(), h.paris.apiKey, { lat: "48.80002", long: "2.30002" });
    expect(second).not.toBe(first);
  });

  it.each(["json", "xml"])("refuses a missing or wrong api_key with 403 (%s)", async (format) => {
    const url = h.url(paris(), `requests.${format}`);
    expectError(await post(url, { service_code: "pothole", address_string: "x" }), 403, /api_key was not provided/);
    expectError(await post(url, { api_key: "nonsense", service_code: "pothole", address_string: "x" }), 403, /Invalid api_key/);
    const forged = `${h.paris.clientId}.${"A".repeat(43)}`;
    expectError(await post(url, { api_key: forged, service_code: "pothole", address_string: "x" }), 403, /Invalid api_key/);
  });

  it("refuses a revoked client's key, and a read-only client's, with 403", async () => {
    const url = h.url(paris(), "requests.json");
    expectError(await post(url, { api_key: h.paris.readOnlyKey, service_code: "pothole", address_string: "x" }), 403, /write/);
    await withTenant(h.paris.id, (tx) => tx.apiClient.updateMany({ where: { tenantId: h.paris.id, clientId: h.paris.readOnlyKey.split(".")[0] }, data: { revokedAt: new Date() } }), database);
    expectError(await post(url, { api_key: h.paris.readOnlyKey, service_code: "pothole", address_string: "x" }), 403, /Invalid api_key/);
  });

  it("a city's key is not a key at another city: Paris' key cannot create at Budapest", async () => {
    const before = await withTenant(h.budapest.id, (tx) => tx.reportingRequest.count({ where: { tenantId: h.budapest.id } }), database);
    expectError(await post(h.url(budapest(), "requests.json"), { api_key: h.paris.apiKey, service_code: "pothole", address_string: "x" }), 403, /Invalid api_key/);
    expectError(await post(h.url("platform", "requests.json"), { jurisdiction_id: budapest(), api_key: h.paris.apiKey, service_code: "pothole", address_string: "x" }), 403, /Invalid api_key/);
    expect(await withTenant(h.budapest.id, (tx) => tx.reportingRequest.count({ where: { tenantId: h.budapest.id } }), database)).toBe(before);
  });

  it.each(["json", "xml"])("answers 400 for a missing service_code and 404 for an unknown one (%s)", async (format) => {
    const url = h.url(paris(), `requests.${format}`);
    expectError(await post(url, { api_key: h.paris.apiKey, address_string: "x" }), 400, /service_code was not provided/);
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "volcano", address_string: "x" }), 404, /service_code volcano was not found/);
  });

  it("answers 400 for a missing or half location, and for address_id alone", async () => {
    const url = h.url(paris(), "requests.json");
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "pothole" }), 400, /location was not provided/);
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "pothole", lat: "48.1" }), 400, /lat and long/);
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "pothole", lat: "north", long: "2" }), 400, /lat must be a number/);
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "pothole", lat: "123", long: "2" }), 400, /lat: must be between -90 and 90/);
    expectError(await post(url, { api_key: h.paris.apiKey, service_code: "pothole", address_id: "545483" }), 400, /address_id/);
  });

  it("answers 400 for attributes the definition refuses, naming them as attribute[code]", async () => {
    const url = h.url(paris(), "requests.json");
    const base = { api_key: h.paris.apiKey, service_code: "bulky-waste", address_string: "x" };
    expectError(await post(url, base), 400, /attribute\[KIND\]: is required/);
    expectError(await post(url, { ...base, "attribute[KIND]": "piano" }), 400, /attribute\[KIND\]: is not one of the choices/);
    expectError(await post(url, { ...base, "attribute[KIND]": "sofa", "attribute[ITEMS][]": ["chair", "bed"] }), 400, /attribute\[ITEMS\]: has choices that do not exist: bed/);
    expectError(await post(url, { ...base, "attribute[KIND]": "sofa", "attribute[COUNT]": "many" }), 400, /attribute\[COUNT\]: must be a number/);
    expectError(await post(url, { ...base, "attribute[KIND]": "sofa", "attribute[NOPE]": "1" }), 400, /attribute\[NOPE\]: is not an attribute/);
  });

  it("answers 400 for bad optional fields, a body that is not a form, and one too long", async () => {
    const url = h.url(paris(), "requests.json");
    const base = { api_key: h.paris.apiKey, service_code: "pothole", address_string: "x" };
    expectError(await post(url, { ...base, email: "not-an-email" }), 400, /email: must be an email address/);
    expectError(await post(url, { ...base, description: "x".repeat(4001) }), 400, /description: must be at most 4000/);
    expectError(await post(url, { ...base, media_url: "javascript:alert(1)" }), 400, /media_url/);
    expectError(await call(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(base) }), 400, /form-encoded/);
    const huge = await call(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `description=${"x".repeat(70_000)}` });
    expect(huge.status).toBe(413);
  });
});

describe("GET requests and GET requests/{id}", () => {
  let ids: string[];
  beforeAll(async () => {
    ids = [
      await createIn(paris(), h.paris.apiKey, { service_code: "litter", address_string: "Place de la Bastille" }),
      await createIn(paris(), h.paris.apiKey, { service_code: "street-light", lat: "48.87", long: "2.33" }),
      await createIn(paris(), h.paris.apiKey, { service_code: "litter", address_string: "Quai de Jemmapes" }),
    ];
    await setRequestState(database, h.paris.id, ids[1]!, { status: "closed", closedAt: new Date() });
    await setRequestState(database, h.paris.id, ids[2]!, { status: "in_progress" });
    await createIn(budapest(), h.budapest.apiKey, { service_code: "litter", address_string: "Andrássy út" });
  });

  it("answers one request with every field, in the spec's order (XML)", async () => {
    const answer = await call(h.url(paris(), `requests/${ids[1]}.xml`));
    expect(answer.status, answer.text).toBe(200);
    const request = (answer.xml!.service_requests as { request: Record<string, string>[] }).request[0]!;
    expect(Object.keys(request)).toEqual([
      "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible", "service_notice",
      "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
    ]);
    expect(request).toMatchObject({ service_request_id: ids[1], status: "closed", service_code: "street-light", lat: "48.87", long: "2.33" });
    expect(request.requested_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it("answers one request in JSON; open, acknowledged and in progress are all open", async () => {
    const answer = await call(h.url(paris(), `requests/${ids[2]}.json`));
    expect(answer.status).toBe(200);
    const [request] = answer.json as Record<string, unknown>[];
    expect(request).toMatchObject({ service_request_id: ids[2], status: "open", service_name: "Litter or illegal dumping", address: "Quai de Jemmapes", lat: 48.8566, media_url: null });
    // Without an agency name in the settings, the city answers for itself.
    expect(request!.agency_responsible).toMatch(/^City \d+$/);
  });

  it.each(["json", "xml"])("answers 404 for a request the city does not have, another city's included (%s)", async (format) => {
    expectError(await call(h.url(paris(), `requests/ZZZZ-ZZZZ.${format}`)), 404, /service_request_id ZZZZ-ZZZZ was not found/);
    expectError(await call(h.url(budapest(), `requests/${ids[0]}.${format}`)), 404, /was not found/);
  });

  it("lists the last days' requests, newest first, never another city's", async () => {
    const answer = await call(h.url(paris(), "requests.json"));
    expect(answer.status).toBe(200);
    const listed = (answer.json as { service_request_id: string }[]).map((request) => request.service_request_id);
    expect(listed.slice(0, 3)).toEqual([ids[2], ids[1], ids[0]]);
    const budapestIds = ((await call(h.url(budapest(), "requests.json"))).json as { service_request_id: string }[]).map((request) => request.service_request_id);
    expect(budapestIds).toHaveLength(1);
    expect(listed).not.toContain(budapestIds[0]);
  });

  it("filters by status, service_code, and service_request_id (which overrides the rest)", async () => {
    const byStatus = (await call(h.url(paris(), "requests.json?status=closed"))).json as { service_request_id: string }[];
    expect(byStatus.map((request) => request.service_request_id)).toEqual([ids[1]]);
    const open = (await call(h.url(paris(), "requests.json?status=open&service_code=litter"))).json as { service_request_id: string }[];
    expect(open.map((request) => request.service_request_id)).toEqual([ids[2], ids[0]]);
    const both = (await call(h.url(paris(), "requests.json?status=open,closed&service_code=litter,street-light"))).json as unknown[];
    expect(both).toHaveLength(3);
    const chosen = (await call(h.url(paris(), `requests.json?service_request_id=${ids[0]},${ids[1]},ZZZZ-ZZZZ&status=open&service_code=graffiti`))).json as { service_request_id: string }[];
    expect(chosen.map((request) => request.service_request_id).sort()).toEqual([ids[0], ids[1]].sort());
  });

  it("filters by start_date and end_date (w3 format with a time zone) and keeps the window to 90 days", async () => {
    await backdateRequest(database, h.paris.id, ids[0]!, new Date("2020-03-10T12:00:00Z"));
    const inWindow = await call(h.url(paris(), "requests.xml?start_date=2020-03-10T00:00:00Z&end_date=2020-03-11T00:00:00%2B01:00"));
    expect(inWindow.status, inWindow.text).toBe(200);
    expect((inWindow.xml!.service_requests as { request: { service_request_id: string }[] }).request.map((request) => request.service_request_id)).toEqual([ids[0]]);
    const recent = (await call(h.url(paris(), "requests.json"))).json as { service_request_id: string }[];
    expect(recent.map((request) => request.service_request_id)).not.toContain(ids[0]);
    const onlyEnd = (await call(h.url(paris(), "requests.json?end_date=2020-04-01T00:00:00Z"))).json as { service_request_id: string }[];
    expect(onlyEnd.map((request) => request.service_request_id)).toEqual([ids[0]]);
    const empty = await call(h.url(paris(), "requests.xml?start_date=2019-01-01T00:00:00Z&end_date=2019-01-02T00:00:00Z"));
    expect(empty.text).toContain("<service_requests></service_requests>");
  });

  it.each(["json", "xml"])("answers 400 for bad dates, spans over 90 days and unknown statuses (%s)", async (format) => {
    const url = (query: string) => h.url(paris(), `requests.${format}?${query}`);
    expectError(await call(url("start_date=yesterday")), 400, /start_date must be a date and time in w3 format/);
    expectError(await call(url("end_date=2020-01-01T00:00:00")), 400, /end_date must be/);
    expectError(await call(url("start_date=2020-02-30T00:00:00Z")), 400, /start_date must be/);
    expectError(await call(url("start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z")), 400, /more than 90 days/);
    expectError(await call(url("start_date=2020-02-01T00:00:00Z&end_date=2020-01-01T00:00:00Z")), 400, /not be after/);
    expectError(await call(url("status=pending")), 400, /status must be open or closed/);
  });

  it("treats empty parameters as missing (the spec's optional arguments)", async () => {
    const plain = await call(h.url(paris(), "requests.json"));
    const empties = await call(h.url(paris(), "requests.json?status=&service_code=&start_date=&end_date=&service_request_id=&jurisdiction_id="));
    expect(empties.status).toBe(200);
    expect(empties.json).toEqual(plain.json);
  });
});

describe("what a request says", () => {
  // A city of its own, speaking three languages, so that the other tests' cities stay as they are.
  let slug: string;
  let tenantId: string;
  let apiKey: string;
  beforeAll(async () => {
    const { createCity } = await import("../../../tests/support/factories");
    const city = await createCity(database);
    await runReporting(database, city.id);
    ({ apiKey } = await apiClientWithKey(database, city.id, ["read", "write"]));
    ({ slug, id: tenantId } = city);
    await database.owner.query("UPDATE cities SET enabled_locales = ARRAY['en', 'fr', 'de'] WHERE id = $1", [tenantId]);
  });

  const listed = async (query: string, language: string) =>
    ((await call(h.url(slug, `requests.json?${query}`), { headers: { "Accept-Language": language } })).json as Record<string, unknown>[]);

  it("names the service in the client's language, else the city's, else in any language it has, else by its code", async () => {
    // bulky-waste is named in English and French; graffiti here in Hungarian only (the others empty).
    const bulky = await createIn(slug, apiKey, { service_code: "bulky-waste", "attribute[KIND]": "sofa" });
    const graffiti = await createIn(slug, apiKey, { service_code: "graffiti" });
    await database.owner.query(`UPDATE reporting_categories SET names = '{"de": "", "en": "", "hu": "Falfirka"}' WHERE tenant_id = $1 AND code = 'graffiti'`, [tenantId]);
    const names = async (language: string) =>
      Object.fromEntries((await listed(`service_request_id=${bulky},${graffiti}`, language)).map((request) => [request.service_code, request.service_name]));
    expect(await names("fr")).toEqual({ "bulky-waste": "Encombrants", graffiti: "Falfirka" });
    expect(await names("de")).toEqual({ "bulky-waste": "Bulky waste", graffiti: "Falfirka" });
    const xml = await call(h.url(slug, `requests/${bulky}.xml`), { headers: { "Accept-Language": "fr" } });
    expect((xml.xml!.service_requests as { request: Record<string, string>[] }).request[0]!.service_name).toBe("Encombrants");
    await database.owner.query(`UPDATE reporting_categories SET names = '{}' WHERE tenant_id = $1 AND code = 'graffiti'`, [tenantId]);
    expect((await names("fr")).graffiti).toBe("graffiti");
  });

  it("writes its datetimes in UTC, in whole seconds", async () => {
    const id = await createIn(slug, apiKey);
    await database.owner.query(
      "UPDATE reporting_requests SET created_at = '2021-06-01T12:34:56.789+02:00', updated_at = '2021-06-02T00:00:59.999999Z', expected_at = '2021-07-01T23:30:00-01:00' WHERE tenant_id = $1 AND tracking_id = $2",
      [tenantId, id],
    );
    for (const format of ["json", "xml"]) {
      const answer = await call(h.url(slug, `requests/${id}.${format}`));
      const request = format === "json" ? (answer.json as Record<string, string>[])[0] : (answer.xml!.service_requests as { request: Record<string, string>[] }).request[0];
      expect(request).toMatchObject({ requested_datetime: "2021-06-01T10:34:56Z", updated_datetime: "2021-06-02T00:00:59Z", expected_datetime: "2021-07-02T00:30:00Z" });
    }
    const [listedOne] = await listed(`start_date=2021-06-01T10:34:56Z&end_date=2021-06-01T10:34:57Z`, "en");
    expect(listedOne).toMatchObject({ service_request_id: id, requested_datetime: "2021-06-01T10:34:56Z" });
  });

  it("answers for the city's settings as they are now: a new agency name shows at once", async () => {
    const id = await createIn(slug, apiKey);
    const agency = async () => ((await call(h.url(slug, `requests/${id}.json`))).json as Record<string, unknown>[])[0]!.agency_responsible;
    const setAgency = (name: string) =>
      database.owner.query(`UPDATE plugin_installations SET settings = settings || jsonb_build_object('agencyName', jsonb_build_object('en', $2::text)) WHERE tenant_id = $1 AND plugin_id = 'reporting'`, [tenantId, name]);
    await setAgency("Roads department");
    expect(await agency()).toBe("Roads department");
    await setAgency("Cleanliness department");
    expect(await agency()).toBe("Cleanliness department");
  });

  it("answers a conditional GET of an unchanged list with 304, and HEAD with the headers alone", async () => {
    // node:http, not fetch: fetch marks a conditional request no-cache, which no server answers with 304.
    const ask = (method: string, headers: Record<string, string> = {}) =>
      rawRequest(h.port, { method, path: `/${slug}/open311/v2/requests.json?status=open`, headers: { Host: `127.0.0.1:${h.port}`, ...headers } });
    const first = await ask("GET");
    expect(first.status).toBe(200);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"[0-9a-f]+-/);
    const again = await ask("GET", { "If-None-Match": etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe("");
    const head = await ask("HEAD");
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(first.body)), etag });
    expect(head.body).toBe("");
    // A new request makes another list: another ETag, and the whole answer.
    await createIn(slug, apiKey);
    const changed = await ask("GET", { "If-None-Match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe("tokens", () => {
  it.each(["json", "xml"])("resolves a token (Civitas gives the service_request_id itself) and 404s an unknown one (%s)", async (format) => {
    const id = await createIn(paris(), h.paris.apiKey);
    const answer = await call(h.url(paris(), `tokens/${id}.${format}`));
    expect(answer.status).toBe(200);
    const request = format === "json" ? (answer.json as Record<string, string>[])[0] : (answer.xml!.service_requests as { request: Record<string, string>[] }).request[0];
    expect(request).toEqual({ service_request_id: id, token: id });
    expectError(await call(h.url(paris(), `tokens/0000-0000.${format}`)), 404, /token 0000-0000 was not found/);
  });
});

describe("jurisdiction_id", () => {
  it("selects the city on the platform's address, in the query string", async () => {
    const answer = await call(h.url("platform", `services.json?jurisdiction_id=${budapest()}`));
    expect(answer.status).toBe(200);
    expect((answer.json as unknown[]).length).toBe(5);
  });

  it.each(["json", "xml"])("answers 400 when the platform's address is not told which city (%s)", async (format) => {
    expectError(await call(h.url("platform", `services.${format}`)), 400, /jurisdiction_id was not provided/);
    expectError(await post(h.url("platform", `requests.${format}`), { api_key: h.paris.apiKey, service_code: "pothole", address_string: "x" }), 400, /jurisdiction_id was not provided/);
  });

  it.each(["json", "xml"])("answers 404 for an unknown jurisdiction_id, and for another city's at a city's address (%s)", async (format) => {
    expectError(await call(h.url("platform", `services.${format}?jurisdiction_id=atlantis`)), 404, /jurisdiction_id atlantis was not found/);
    expectError(await call(h.url("no-such-city", `services.${format}`)), 404, /jurisdiction/);
    expectError(await call(h.url(paris(), `requests.${format}?jurisdiction_id=${budapest()}`)), 404, /jurisdiction_id .* was not found/);
  });

  it("on a city's own host serves that city, with or without its jurisdiction_id", async () => {
    const own = await rawRequest(h.port, { path: `/open311/v2/services.json?jurisdiction_id=${paris()}`, headers: { Host: `${paris()}.example` } });
    expect(own.status).toBe(200);
    // The spec's clients may name the jurisdiction by its domain: the city's own host is its name.
    const byDomain = await rawRequest(h.port, { path: `/open311/v2/services.json?jurisdiction_id=${paris()}.example`, headers: { Host: `${paris()}.example` } });
    expect(byDomain.status).toBe(200);
    const other = await rawRequest(h.port, { path: `/open311/v2/services.json?jurisdiction_id=${budapest()}`, headers: { Host: `${paris()}.example` } });
    expect(other.status).toBe(404);
    const prefixed = await rawRequest(h.port, { path: `/${budapest()}/open311/v2/services.json`, headers: { Host: `${paris()}.example` } });
    expect(prefixed.status).toBe(404);
  });
});

describe("the reporting plugin switched off", () => {
  it.each(["json", "xml"])("answers not found for that city while the other keeps answering (%s)", async (format) => {
    await setReportingEnabled(database, h.budapest.id, false);
    try {
      for (const resource of ["services", "services/pothole", "requests", "requests/ABCD-EFGH", "tokens/ABCD-EFGH"]) {
        expectError(await call(h.url(budapest(), `${resource}.${format}`)), 404, /does not run an Open311 service/);
      }
      expectError(await post(h.url(budapest(), `requests.${format}`), { api_key: h.budapest.apiKey, service_code: "pothole", address_string: "x" }), 404, /does not run/);
      expectError(await call(`http://127.0.0.1:${h.port}/${budapest()}/open311/discovery.${format}`), 404, /does not run/);
      expect((await call(h.url(paris(), `services.${format}`))).status).toBe(200);
    } finally {
      await setReportingEnabled(database, h.budapest.id, true);
    }
    expect((await call(h.url(budapest(), `services.${format}`))).status).toBe(200);
  });
});

describe("discovery", () => {
  it("describes the city's endpoint in XML and JSON", async () => {
    const json = await call(`http://127.0.0.1:${h.port}/${paris()}/open311/discovery.json`);
    expect(json.status, json.text).toBe(200);
    expect(json.json).toEqual({
      changeset: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      contact: expect.stringContaining(`/${paris()}/`),
      key_service: expect.stringContaining("/admin/api-clients"),
      endpoints: [{
        specification: "http://wiki.open311.org/GeoReport_v2",
        url: `http://127.0.0.1:${h.port}/${paris()}/open311/v2`,
        changeset: expect.any(String),
        type: "production",
        formats: ["text/xml", "application/json"],
      }],
    });
    const document = (await call(`http://127.0.0.1:${h.port}/${paris()}/open311/discovery.xml`)).xml!.discovery as { endpoints: { endpoint: { formats: { format: string[] } }[] } };
    expect(document.endpoints.endpoint[0]!.formats.format).toEqual(["text/xml", "application/json"]);
  });
});

describe("the URL and the city", () => {
  it("answers 400 for a resource without a format and 404 for an unknown resource, in XML", async () => {
    const noFormat = await call(h.url(paris(), "services"));
    expectError(noFormat, 400, /must end with \.xml or \.json/);
    expect(noFormat.type).toBe("text/xml; charset=utf-8");
    expectError(await call(h.url(paris(), "potholes.json")), 404, /No such Open311 resource/);
  });

  it("answers 405 with Allow for a method the resource does not take", async () => {
    const answer = await call(h.url(paris(), "services.json"), { method: "POST" });
    expectError(answer, 405, /POST is not a method/);
    expect(answer.headers.get("allow")).toBe("GET");
  });

  it("answers 503 for a suspended city", async () => {
    const { createCity } = await import("../../../tests/support/factories");
    const city = await createCity(database);
    await suspendCity(database, city.id);
    expectError(await call(h.url(city.slug, "services.json")), 503, /suspended/);
  });

  it("has met no unexpected error in this file", () => {
    expect(h.unexpected).toEqual([]);
  });
});
