// The reporting service's pages as the server calls them (loaders and actions with real
// requests, a real database and signed-in sessions): 404 where the city does not run it,
// anonymous reports as the city decides, the report form's refusals field by field, the
// duplicate offer and following instead, staff pages for staff only (sign-in for nobody, 403
// for residents), triage that the public page reflects, categories, photos, and CSRF.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, TEST_CSRF_SEED, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { CSRF_COOKIE, CSRF_FIELD, csrfToken } from "../../../app/auth/csrf.server";
import { defineServiceCategory } from "../categories.server";
import { ensureReportingInCatalogue, runReporting } from "../test-support";
import * as report from "./index";
import * as photo from "./photos.$photoId";
import * as tracking from "./requests.$trackingId";
import * as dashboard from "./staff.dashboard";
import * as categories from "./staff.categories";
import * as category from "./staff.categories.$categoryId";
import * as staffRequest from "./staff.requests.$trackingId";
import * as staffList from "./staff";

ensureReportingInCatalogue();

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let fermeeId: string;
let autreId: string;
const resolver = createTenantResolver();

// Place de l'Hôtel-de-Ville, Paris, and a point about 20 m north of it.
const HERE = { latitude: "48.856613", longitude: "2.352222" };
const NEAR = { latitude: "48.856793", longitude: "2.352222" };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville", en: "Town" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] });
  fermeeId = await insertCity({ slug: "fermee", names: { fr: "Fermée" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  await runReporting(processDatabase.database, { id: villeId });
  await runReporting(processDatabase.database, { id: fermeeId }, { anonymousReports: false });
  // Installed, then disabled: its pages do not exist.
  await runReporting(processDatabase.database, { id: autreId }, {}, false);
  for (const [id, slug] of [[villeId, "ville"], [fermeeId, "fermee"]] as const) {
    const { cookie } = await person(slug, id, ["city-admin"]);
    const principal = await principalFor(cookie, slug);
    await defineServiceCategory(
      principal,
      {
        code: "pothole",
        names: { fr: "Nid-de-poule", en: "Pothole" },
        groupNames: { fr: "Voirie", en: "Roads" },
        attributes: [
          {
            code: "size",
            datatype: "singlevaluelist",
            required: true,
            description: { fr: "Quelle taille ?", en: "How big is it?" },
            values: [
              { key: "small", name: { fr: "Petit", en: "Small" } },
              { key: "large", name: { fr: "Grand", en: "Large" } },
            ],
          },
          { code: "depth", datatype: "number", description: { fr: "Profondeur (cm)", en: "Depth (cm)" } },
        ],
      },
      { tenantId: id },
    );
  }
}, 60_000);

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

async function person(slug: string, tenantId: string, realmRoles: string[] = [], name = "Camille") {
  return signedInResident(fake, { id: tenantId, realm: slug, basePath: `/${slug}`, url: `http://localhost/${slug}` }, { name, realmRoles, locale: "en" });
}

/** The principal of a session cookie, as pages see it. */
async function principalFor(cookie: string, slug: string) {
  const { principalOf } = await import("~/auth/account.server");
  const args = await loaderArgs(resolver, `http://localhost/${slug}/services/reporting`, { headers: { Cookie: cookie } });
  return principalOf(args.request, args.context);
}

const staffCookie = async () => (await person("ville", villeId, ["city-staff"], "Sam Staff")).cookie;
const residentCookie = async () => (await person("ville", villeId, [], "Rita Resident")).cookie;

function get(module: { loader: (args: never) => unknown }, path: string, options: { cookie?: string; params?: Record<string, string>; city?: string } = {}) {
  const city = options.city ?? "ville";
  return loaderArgs(resolver, `http://localhost/${city}/services/reporting${path}`, { params: { city, ...options.params }, headers: options.cookie ? { Cookie: options.cookie } : {} }).then(
    (args) => module.loader(args as never) as Promise<Response>,
  );
}

async function post(
  module: { action: (args: never) => unknown },
  path: string,
  fields: Record<string, string>,
  options: { cookie?: string; params?: Record<string, string>; city?: string; csrf?: boolean } = {},
) {
  const city = options.city ?? "ville";
  const url = `http://localhost/${city}/services/reporting${path}`;
  const body = options.csrf === false ? new URLSearchParams(fields) : await formBody(fields);
  const args = await loaderArgs(resolver, url, { method: "POST", params: { city, ...options.params }, headers: formHeaders(url, options.cookie), body });
  return module.action(args as never) as Promise<Response>;
}

/** A multipart form, as the report form sends it (photos as files). */
async function postMultipart(fields: Record<string, string | string[]>, photos: Uint8Array[] = [], options: { cookie?: string; city?: string } = {}) {
  const city = options.city ?? "ville";
  const url = `http://localhost/${city}/services/reporting?category=pothole`;
  const form = new FormData();
  form.set(CSRF_FIELD, await csrfToken(TEST_CSRF_SEED));
  for (const [name, value] of Object.entries(fields)) for (const entry of [value].flat()) form.append(name, entry);
  for (const [index, bytes] of photos.entries()) form.append("photos", new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }), `photo-${index}.png`);
  const headers = { Origin: "http://localhost", Cookie: [`${CSRF_COOKIE}=${TEST_CSRF_SEED}`, options.cookie].filter(Boolean).join("; ") };
  const args = await loaderArgs(resolver, url, { method: "POST", params: { city }, headers, body: form });
  return report.action(args as never) as Promise<Response>;
}

const json = async (response: Response): Promise<Json> => (await response.json()) as Json;

const pothole = (overrides: Record<string, string | string[]> = {}) => ({
  intent: "report",
  category: "pothole",
  description: "A deep hole in the cycle lane",
  address: "Place de l'Hôtel-de-Ville",
  "attribute.size": "large",
  ...overrides,
});

/** Files a report and answers its tracking id (from the redirect to its page). */
async function filed(fields: Record<string, string | string[]>, photos: Uint8Array[] = [], cookie?: string): Promise<string> {
  const response = await postMultipart({ confirmNotDuplicate: "1", ...fields }, photos, { cookie });
  expect(response.status, JSON.stringify(response.status === 400 ? await response.clone().json() : {})).toBe(303);
  const match = /\/ville\/services\/reporting\/requests\/([0-9A-Z]{4}-[0-9A-Z]{4})\?reported=1$/.exec(response.headers.get("Location") ?? "");
  expect(match).not.toBeNull();
  return match![1]!;
}

describe("the reporting pages of a city that does not run the plugin", () => {
  it("are not found, whoever asks, while they exist for a city that runs it", async () => {
    const pages: [{ loader: (args: never) => unknown }, string, Record<string, string>][] = [
      [report, "", {}],
      [tracking, "/requests/K7M2-Q9XH", { trackingId: "K7M2-Q9XH" }],
      [photo, "/photos/00000000-0000-4000-8000-000000000000", { photoId: "00000000-0000-4000-8000-000000000000" }],
      [staffList, "/staff", {}],
      [staffRequest, "/staff/requests/K7M2-Q9XH", { trackingId: "K7M2-Q9XH" }],
      [dashboard, "/staff/dashboard", {}],
      [categories, "/staff/categories", {}],
    ];
    for (const [module, path, params] of pages) {
      const response = await thrownResponse(get(module, path, { city: "autre", params }));
      expect(response.status, path).toBe(404);
    }
    // Posting there is not found either (before any form is read).
    expect((await thrownResponse(post(report, "", pothole() as Record<string, string>, { city: "autre" }))).status).toBe(404);
    expect((await get(report, "")).status).toBe(200);
  });
});

describe("reporting an issue", () => {
  it("lists the city's categories by group, then asks for the chosen one's own questions", async () => {
    const page = await json(await get(report, ""));
    expect(page.mayReport).toBe(true);
    expect(page.chosen).toBeNull();
    expect(page.categories).toEqual([{ code: "pothole", name: { text: "Nid-de-poule" }, description: null, group: { text: "Voirie" } }]);
    const form = await json(await get(report, "?category=pothole"));
    expect(form.chosen.attributes.map((field: Json) => [field.code, field.datatype, field.required])).toEqual([
      ["size", "singlevaluelist", true],
      ["depth", "number", false],
    ]);
    expect(form.chosen.attributes[0].choices).toEqual([
      { key: "small", label: { text: "Petit" } },
      { key: "large", label: { text: "Grand" } },
    ]);
    // An unknown category: the choice again, with an error.
    const unknown = await json(await get(report, "?category=nope"));
    expect(unknown.chosen).toBeNull();
    expect(unknown.categoryError).toEqual({ key: "reporting:form.errors.category" });
  });

  it("takes an anonymous report with a photo: a tracking id, a page to follow it, the photo served without its metadata", async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#c0392b" } })
      .png()
      .withMetadata({ exif: { IFD0: { Copyright: "Secret camera serial" } } })
      .toBuffer();
    expect(png.includes(Buffer.from("Secret camera serial"))).toBe(true);
    const trackingId = await filed(pothole({ email: "reporter@example.org" }), [new Uint8Array(png)]);

    const page = await json(await get(tracking, `/requests/${trackingId}?reported=1`, { params: { trackingId } }));
    expect(page.notice).toBe("reported");
    expect(page.request).toMatchObject({ trackingId, status: "open", description: "A deep hole in the cycle lane", category: { text: "Nid-de-poule" } });
    expect(page.history.map((event: Json) => event.kind)).toEqual(["created"]);
    // Nothing of the reporter on the public page.
    expect(JSON.stringify(page)).not.toContain("reporter@example.org");
    expect(page.follow).toBe("email");
    expect(page.request.photos).toHaveLength(1);

    const photoId = String(page.request.photos[0]).split("/").at(-1)!;
    const served = await get(photo, `/photos/${photoId}`, { params: { photoId } });
    expect(served.status).toBe(200);
    expect(served.headers.get("Content-Type")).toBe("image/png");
    const bytes = Buffer.from(await served.arrayBuffer());
    expect((await sharp(bytes).metadata()).width).toBe(40);
    expect(bytes.includes(Buffer.from("Secret camera serial"))).toBe(false);
  });

  it("finds a report by its tracking id as people type it, and says when it is not one", async () => {
    const trackingId = await filed(pothole({ address: "Rue de Rivoli" }));
    const typed = trackingId.toLowerCase().replace("-", " ");
    const found = await thrownResponse(get(report, `?track=${encodeURIComponent(typed)}`));
    expect(found.status).toBe(302);
    expect(found.headers.get("Location")).toBe(`/ville/services/reporting/requests/${trackingId}`);
    const wrong = await json(await get(report, "?track=hello"));
    expect(wrong.trackError).toEqual({ key: "reporting:form.errors.trackingIdInvalid" });
    // A tracking id that is no report of this city: not found.
    expect((await thrownResponse(get(tracking, "/requests/ZZZZ-ZZZZ", { params: { trackingId: "ZZZZ-ZZZZ" } }))).status).toBe(404);
  });

  it("refuses what cannot be filed, field by field, keeping what was typed", async () => {
    const cases: [Record<string, string | string[]>, Record<string, Json>][] = [
      [pothole({ description: "   " }), { description: { key: "reporting:form.errors.descriptionMissing" } }],
      [pothole({ description: "x".repeat(4001) }), { description: { key: "reporting:form.errors.descriptionTooLong", values: { max: 4000 } } }],
      [pothole({ address: "" }), { address: { key: "reporting:form.errors.locationMissing" } }],
      [pothole({ latitude: "north", longitude: "2.35" }), { latitude: { key: "reporting:form.errors.latitude" } }],
      [pothole({ address: "", latitude: "48.85" }), { longitude: { key: "reporting:form.errors.longitude" } }],
      [pothole({ "attribute.size": "" }), { "attribute.size": { key: "reporting:form.errors.attributeRequired" } }],
      [pothole({ "attribute.size": "huge" }), { "attribute.size": { key: "reporting:form.errors.attributeChoice" } }],
      [pothole({ "attribute.depth": "deep" }), { "attribute.depth": { key: "reporting:form.errors.attributeNumber" } }],
      [pothole({ email: "not an address" }), { email: { key: "reporting:form.errors.email" } }],
      [pothole({ category: "graffiti" }), { category: { key: "reporting:form.errors.category" } }],
    ];
    for (const [fields, errors] of cases) {
      const response = await postMultipart(fields);
      expect(response.status, JSON.stringify(errors)).toBe(400);
      const body = await json(response);
      expect(body.kind).toBe("invalid");
      expect(body.errors).toEqual(errors);
      expect(body.values.description).toBe(String(fields.description));
    }
  });

  it("refuses a photo that is not an image", async () => {
    const response = await postMultipart(pothole(), [new TextEncoder().encode("#!/bin/sh\necho not a picture\n")]);
    expect(response.status).toBe(400);
    expect((await json(response)).errors).toEqual({ photos: { key: "reporting:form.errors.photos", values: { max: 3, size: "3 MB" } } });
  });

  it("offers an open report nearby instead, to follow by email; sends a new one only when asked", async () => {
    const first = await filed(pothole({ ...HERE, address: "" }));
    const second = await postMultipart(pothole({ ...NEAR, address: "", email: "neighbour@example.org" }));
    expect(second.status).toBe(200);
    const offer = await json(second);
    expect(offer.kind).toBe("duplicates");
    expect(offer.candidates.map((candidate: Json) => candidate.trackingId)).toContain(first);
    expect(offer.candidates.find((candidate: Json) => candidate.trackingId === first).distanceMeters).toBeLessThanOrEqual(25);
    expect(offer.values.email).toBe("neighbour@example.org");

    // Following it instead: by email for someone not signed in.
    const noEmail = await post(tracking, `/requests/${first}`, { intent: "follow" }, { params: { trackingId: first } });
    expect(noEmail.status).toBe(400);
    expect((await json(noEmail)).errors).toEqual({ email: { key: "reporting:form.errors.followEmail" } });
    const follow = await post(tracking, `/requests/${first}`, { intent: "follow", email: "neighbour@example.org" }, { params: { trackingId: first } });
    expect(follow.status).toBe(303);
    expect(follow.headers.get("Location")).toBe(`/ville/services/reporting/requests/${first}?following=1`);
    const followers = await withPlatformAdmin((tx) => tx.reportingFollower.findMany({ where: { tenantId: villeId, email: "neighbour@example.org" }, select: { requestId: true } }));
    expect(followers).toHaveLength(1);

    // "None of these": the same form sent again with the confirmation files it.
    const confirmed = await postMultipart({ ...pothole({ ...NEAR, address: "" }), confirmNotDuplicate: "1" });
    expect(confirmed.status).toBe(303);
  });

  it("lets a signed-in resident report and follow with their account", async () => {
    const cookie = await residentCookie();
    const trackingId = await filed(pothole({ address: "Quai de Gesvres" }), [], cookie);
    const page = await json(await get(tracking, `/requests/${trackingId}`, { cookie, params: { trackingId } }));
    expect(page.follow).toBe("account");
    expect(page.following).toBe(true);
    const stop = await post(tracking, `/requests/${trackingId}`, { intent: "unfollow" }, { cookie, params: { trackingId } });
    expect(stop.headers.get("Location")).toBe(`/ville/services/reporting/requests/${trackingId}?unfollowed=1`);
    expect((await json(await get(tracking, `/requests/${trackingId}`, { cookie, params: { trackingId } }))).following).toBe(false);
    // Staff links are for staff only.
    expect(page.staffHref).toBeNull();
  });

  it("asks anonymous visitors to sign in where the city takes reports from its people only", async () => {
    const page = await json(await get(report, "", { city: "fermee" }));
    expect(page.mayReport).toBe(false);
    expect(page.signInHref).toBe("/fermee/auth/login?returnTo=%2Ffermee%2Fservices%2Freporting");
    const sent = await thrownResponse(postMultipart(pothole(), [], { city: "fermee" }));
    expect(sent.status).toBe(302);
    expect(sent.headers.get("Location")).toMatch(/^\/fermee\/auth\/login\?returnTo=/);
    const { cookie } = await person("fermee", fermeeId);
    expect((await json(await get(report, "", { city: "fermee", cookie }))).mayReport).toBe(true);
  });

  it("refuses a form without its CSRF token", async () => {
    const forged = await thrownResponse(post(report, "", pothole() as Record<string, string>, { csrf: false }));
    expect(forged.status).toBe(403);
    const trackingId = await filed(pothole());
    const follow = await thrownResponse(post(tracking, `/requests/${trackingId}`, { intent: "follow", email: "x@example.org" }, { csrf: false, params: { trackingId } }));
    expect(follow.status).toBe(403);
  });
});

describe("the staff pages", () => {
  const staffPages: [{ loader: (args: never) => unknown }, string, Record<string, string>][] = [
    [staffList, "/staff", {}],
    [dashboard, "/staff/dashboard", {}],
    [categories, "/staff/categories", {}],
  ];

  it("send nobody to sign in and back, and refuse residents", async () => {
    for (const [module, path] of staffPages) {
      const anonymous = await thrownResponse(get(module, path));
      expect(anonymous.status, path).toBe(302);
      expect(anonymous.headers.get("Location")).toBe(`/ville/auth/login?returnTo=${encodeURIComponent(`/ville/services/reporting${path}`)}`);
    }
    const cookie = await residentCookie();
    for (const [module, path] of staffPages) expect((await thrownResponse(get(module, path, { cookie }))).status, path).toBe(403);
    const trackingId = await filed(pothole());
    expect((await thrownResponse(get(staffRequest, `/staff/requests/${trackingId}`, { cookie, params: { trackingId } }))).status).toBe(403);
    expect((await thrownResponse(post(staffRequest, `/staff/requests/${trackingId}`, { intent: "note", body: "x" }, { cookie, params: { trackingId } }))).status).toBe(403);
    // Configuring categories is for admins: staff are refused too.
    expect((await thrownResponse(get(categories, "/staff/categories", { cookie: await staffCookie() }))).status).toBe(403);
  });

  it("let staff triage: acknowledge, post a public update, write an internal note the public never sees", async () => {
    const cookie = await staffCookie();
    const trackingId = await filed(pothole({ email: "private@example.org", address: "Pont d'Arcole" }));
    const list = await json(await get(staffList, "/staff?status=open&category=pothole&q=Arcole", { cookie }));
    expect(list.requests.map((request: Json) => request.trackingId)).toEqual([trackingId]);

    const params = { trackingId };
    const path = `/staff/requests/${trackingId}`;
    const before = await json(await get(staffRequest, path, { cookie, params }));
    expect(before.request.reporter.email).toBe("private@example.org");
    expect(before.nextStatuses).toEqual(["acknowledged", "in_progress", "closed"]);

    const acknowledged = await post(staffRequest, path, { intent: "status", status: "acknowledged", reason: "", note: "" }, { cookie, params });
    expect(acknowledged.status).toBe(303);
    expect(acknowledged.headers.get("Location")).toBe(`/ville/services/reporting${path}?done=status`);
    expect((await post(staffRequest, path, { intent: "update", body: "A crew comes on Monday." }, { cookie, params })).status).toBe(303);
    expect((await post(staffRequest, path, { intent: "note", body: "Needs the big truck." }, { cookie, params })).status).toBe(303);

    const publicPage = await json(await get(tracking, `/requests/${trackingId}`, { params }));
    expect(publicPage.request.status).toBe("acknowledged");
    expect(publicPage.history.map((event: Json) => [event.kind, event.body])).toEqual([
      ["created", null],
      ["status_changed", null],
      ["public_update", "A crew comes on Monday."],
    ]);
    expect(JSON.stringify(publicPage)).not.toContain("big truck");

    const after = await json(await get(staffRequest, `${path}?done=note`, { cookie, params }));
    expect(after.done).toBe("note");
    expect(after.history.map((event: Json) => [event.kind, event.public])).toEqual([
      ["created", true],
      ["status_changed", true],
      ["public_update", true],
      ["internal_note", false],
    ]);
    expect(after.history.at(-1).actor).toBe("Sam Staff");
  });

  it("answer refusals on the form that was sent: closing needs a reason, an impossible move, an empty note", async () => {
    const cookie = await staffCookie();
    const trackingId = await filed(pothole());
    const params = { trackingId };
    const path = `/staff/requests/${trackingId}`;
    const noReason = await post(staffRequest, path, { intent: "status", status: "closed", reason: "" }, { cookie, params });
    expect(noReason.status).toBe(400);
    expect(await json(noReason)).toMatchObject({ form: "status", errors: { reason: { key: "reporting:staff.errors.reason" } } });
    const again = await post(staffRequest, path, { intent: "status", status: "open" }, { cookie, params });
    expect(again.status).toBe(409);
    expect((await json(again)).errors).toEqual({ form: { key: "reporting:staff.errors.sameStatus" } });
    const empty = await post(staffRequest, path, { intent: "note", body: "  " }, { cookie, params });
    expect((await json(empty)).errors).toEqual({ body: { key: "reporting:staff.errors.textMissing", values: { max: 4000 } } });
    const closed = await post(staffRequest, path, { intent: "status", status: "closed", reason: "fixed", note: "Filled in." }, { cookie, params });
    expect(closed.status).toBe(303);
    const publicPage = await json(await get(tracking, `/requests/${trackingId}`, { params }));
    expect(publicPage.request).toMatchObject({ status: "closed", closeReason: "fixed" });
  });

  it("let staff merge a duplicate: it points at the other report, and its page says so", async () => {
    const cookie = await staffCookie();
    const kept = await filed(pothole({ address: "Rue du Renard" }));
    const duplicate = await filed(pothole({ address: "Rue du Renard, au coin" }));
    const path = `/staff/requests/${duplicate}`;
    const missing = await post(staffRequest, path, { intent: "merge", into: "ZZZZ-ZZZZ" }, { cookie, params: { trackingId: duplicate } });
    expect((await json(missing)).errors).toEqual({ into: { key: "reporting:staff.errors.mergeTargetMissing" } });
    const merged = await post(staffRequest, path, { intent: "merge", into: kept.toLowerCase(), note: "Same hole." }, { cookie, params: { trackingId: duplicate } });
    expect(merged.status).toBe(303);
    const page = await json(await get(tracking, `/requests/${duplicate}`, { params: { trackingId: duplicate } }));
    expect(page.request).toMatchObject({ status: "closed", mergedInto: kept });
    // Each side's history names the other: this one is the duplicate, the other the one kept.
    expect(page.history.at(-1)).toMatchObject({ kind: "merged", body: "Same hole.", related: { trackingId: kept, duplicate: true } });
    const keptPage = await json(await get(tracking, `/requests/${kept}`, { params: { trackingId: kept } }));
    expect(keptPage.history.at(-1)).toMatchObject({ kind: "merged", related: { trackingId: duplicate, duplicate: false } });
  });

  it("filter the list by dates in the city's time zone, and say when a filter cannot be read", async () => {
    const cookie = await staffCookie();
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date());
    const all = await json(await get(staffList, `/staff?from=${today}&to=${today}`, { cookie }));
    expect(all.requests.length).toBeGreaterThan(0);
    const past = await json(await get(staffList, "/staff?to=2020-01-01", { cookie }));
    expect(past.requests).toEqual([]);
    const bad = await json(await get(staffList, "/staff?from=yesterday&lat=95", { cookie }));
    expect(bad.errors).toEqual({ from: { key: "reporting:staff.errors.date" }, lat: { key: "reporting:form.errors.latitude" }, long: { key: "reporting:form.errors.longitude" } });
  });

  it("show staff the dashboard's figures", async () => {
    const page = await json(await get(dashboard, "/staff/dashboard", { cookie: await staffCookie() }));
    expect(page.total).toBeGreaterThan(0);
    // In the signed-in person's language (English), among the city's.
    expect(page.volume[0]).toMatchObject({ code: "pothole", name: { text: "Pothole" } });
    expect(page.backlog.open).toBeGreaterThan(0);
  });

  it("let admins define a category with its questions in each language, then residents see them", async () => {
    const { cookie } = await person("ville", villeId, ["city-admin"]);
    const created = await post(categories, "/staff/categories", { intent: "create", code: "graffiti", "name.fr": "Graffiti", "name.en": "Graffiti", "group.fr": "Propreté", keywords: "tag, peinture" }, { cookie });
    expect(created.status).toBe(303);
    const id = /categories\/([0-9a-f-]{36})\?done=created$/.exec(created.headers.get("Location") ?? "")?.[1];
    expect(id).toBeDefined();
    const taken = await post(categories, "/staff/categories", { intent: "create", code: "graffiti", "name.fr": "Autre" }, { cookie });
    expect((await json(taken)).errors).toEqual({ code: { key: "reporting:staff.errors.codeTaken" } });

    const path = `/staff/categories/${id}`;
    const saved = await post(
      category,
      path,
      {
        intent: "save",
        "name.fr": "Graffiti",
        "name.en": "Graffiti",
        "attr.0.code": "surface",
        "attr.0.datatype": "multivaluelist",
        "attr.0.required": "1",
        "attr.0.label.fr": "Sur quoi ?",
        "attr.0.label.en": "On what?",
        "attr.0.choices.fr": "wall = Mur\nshutter = Rideau",
        "attr.0.choices.en": "wall = Wall\nshutter = Shutter",
      },
      { cookie, params: { categoryId: id! } },
    );
    expect(saved.status).toBe(303);
    const form = await json(await get(report, "?category=graffiti"));
    expect(form.chosen.attributes).toEqual([
      {
        code: "surface",
        datatype: "multivaluelist",
        required: true,
        variable: true,
        label: { text: "Sur quoi ?" },
        hint: null,
        choices: [
          { key: "wall", label: { text: "Mur" } },
          { key: "shutter", label: { text: "Rideau" } },
        ],
      },
    ]);
    const edit = await json(await get(category, path, { cookie, params: { categoryId: id! } }));
    expect(edit.values).toMatchObject({ "attr.0.code": "surface", "attr.0.choices.en": "wall = Wall\nshutter = Shutter", "attr.0.required": "1" });

    const refused = await post(category, path, { intent: "save", "name.fr": "Graffiti", "attr.0.code": "surface", "attr.0.datatype": "singlevaluelist", "attr.0.label.fr": "Sur quoi ?" }, { cookie, params: { categoryId: id! } });
    expect(refused.status).toBe(400);
    expect(await json(refused)).toMatchObject({ errors: { attributes: { key: "reporting:staff.errors.attributes" } }, attributeCount: 1 });

    const archived = await post(categories, "/staff/categories", { intent: "archive", id: id! }, { cookie });
    expect(archived.headers.get("Location")).toBe("/ville/services/reporting/staff/categories?done=archive");
    expect((await json(await get(report, ""))).categories.map((entry: Json) => entry.code)).toEqual(["pothole"]);
  });

  it("do not show a city's report at another city", async () => {
    const trackingId = await filed(pothole());
    const { cookie } = await person("fermee", fermeeId, ["city-staff"]);
    const elsewhere = await thrownResponse(get(staffRequest, `/staff/requests/${trackingId}`, { city: "fermee", cookie, params: { trackingId } }));
    expect(elsewhere.status).toBe(404);
    expect((await thrownResponse(get(tracking, `/requests/${trackingId}`, { city: "fermee", params: { trackingId } }))).status).toBe(404);
  });
});
