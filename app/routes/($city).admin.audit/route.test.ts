// The audit log page: admins only; newest first, a page at a time; filters by action, person
// (their address) and the city's days; bad filters said so; another city's events never shown.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { startOfDay } from "./audit.server";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let autreId: string;
let adminCookie: string;
let adminId: string;
const resolver = createTenantResolver();
const BASE = "http://localhost/ville/admin/audit";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  // Tokyo: the city's days are not UTC's.
  villeId = await insertCity({ slug: "ville", names: { en: "Town" }, defaultLocale: "en", enabledLocales: ["en"] });
  await withPlatformAdmin((tx) => tx.city.update({ where: { id: villeId }, data: { timeZone: "Asia/Tokyo" } }));
  autreId = await insertCity({ slug: "autre", names: { en: "Other" }, defaultLocale: "en", enabledLocales: ["en"] });
  ({ cookie: adminCookie, userId: adminId } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: BASE }, { realmRoles: ["city-admin"], email: "admin@ville.test" }));
  const event = (tenantId: string, action: string, occurredAt: string, actorId: string | null = null) => ({
    tenantId,
    id: randomUUID(),
    actorType: actorId ? ("user" as const) : ("system" as const),
    actorId,
    action,
    subjectType: "city",
    subjectId: tenantId,
    occurredAt: new Date(occurredAt),
  });
  await withPlatformAdmin((tx) =>
    tx.auditEvent.createMany({
      data: [
        // 2026-03-01 in Tokyo starts at 2026-02-28T15:00Z.
        event(villeId, "test.before", "2026-02-28T14:59:00Z"),
        event(villeId, "test.first_day", "2026-02-28T15:00:00Z", adminId),
        event(villeId, "test.second_day", "2026-03-02T10:00:00Z"),
        ...Array.from({ length: 30 }, (_, index) => event(villeId, "test.bulk", `2026-04-01T00:${String(index).padStart(2, "0")}:00Z`)),
        event(autreId, "test.first_day", "2026-02-28T16:00:00Z"),
      ],
    }),
  );
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

async function page(query: string, cookie = adminCookie) {
  const response = await loader(await loaderArgs(resolver, `${BASE}${query}`, { params: { city: "ville" }, headers: { Cookie: cookie } }));
  return { status: response.status, body: await bodyOf(response) };
}

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("the audit log page", () => {
  it("sends a visitor to sign in and refuses a resident", async () => {
    expect((await thrownResponse(loader(await loaderArgs(resolver, BASE, { params: { city: "ville" } })))).status).toBe(302);
    const { cookie } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: BASE });
    expect((await thrownResponse(loader(await loaderArgs(resolver, BASE, { params: { city: "ville" }, headers: { Cookie: cookie } })))).status).toBe(403);
  });

  it("pages forward through the events, newest first, 25 at a time", async () => {
    const first = await page("?action=test.bulk");
    expect(first.body.events).toHaveLength(25);
    expect(first.body.events[0].occurredAt).toBe("2026-04-01T00:29:00.000Z");
    expect(first.body.nextHref).toMatch(/^\/ville\/admin\/audit\?action=test.bulk&after=/);
    const second = await page(first.body.nextHref.slice("/ville/admin/audit".length));
    expect(second.body.events.map((event: { occurredAt: string }) => event.occurredAt.slice(11, 16))).toEqual(["00:04", "00:03", "00:02", "00:01", "00:00"]);
    expect(second.body.nextHref).toBeNull();
    expect(second.body.firstHref).toBe("/ville/admin/audit?action=test.bulk");
  });

  it("filters by the city's days and by a person's address, and shows who", async () => {
    const day = await page("?from=2026-03-01&to=2026-03-01");
    expect(day.body.timeZone).toBe("Asia/Tokyo");
    expect(day.body.events.map((event: { action: string }) => event.action)).toEqual(["test.first_day"]);
    const byPerson = await page("?actor=ADMIN@ville.test&action=test.first_day");
    expect(byPerson.body.events).toEqual([expect.objectContaining({ action: "test.first_day", actorType: "user", actor: "admin@ville.test" })]);
  });

  it("says what is wrong with a filter instead of failing", async () => {
    const bad = await page("?from=2026-02-30&to=someday&actor=nobody@ville.test");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual({
      "filter-from": "admin:audit.errors.date",
      "filter-to": "admin:audit.errors.date",
      "filter-actor": "admin:audit.errors.actor",
    });
    expect((await page("?from=2026-03-02&to=2026-03-01")).body.errors).toEqual({ "filter-to": "admin:audit.errors.range" });
    expect((await page("?after=not-a-cursor")).body.errors).toEqual({ "filter-action": "admin:audit.errors.cursor" });
  });

  it("never shows another city's events", async () => {
    const all = await page("?action=test.first_day");
    expect(all.body.events).toHaveLength(1);
  });
});

describe("startOfDay", () => {
  it("is midnight in the zone, across a daylight-saving change", () => {
    expect(startOfDay("2026-03-01", "Asia/Tokyo")?.toISOString()).toBe("2026-02-28T15:00:00.000Z");
    // Paris moves to summer time on 2026-03-29: that day starts at UTC+1, the next at UTC+2.
    expect(startOfDay("2026-03-29", "Europe/Paris")?.toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(startOfDay("2026-03-29", "Europe/Paris", 1)?.toISOString()).toBe("2026-03-29T22:00:00.000Z");
    expect(startOfDay("2026-02-30", "UTC")).toBeNull();
  });
});
