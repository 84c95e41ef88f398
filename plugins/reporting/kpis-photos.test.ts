// Figures computed from requests with known times, and photos stored without their metadata.
import { randomUUID } from "node:crypto";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS } from "../../app/auth/permissions";
import { withTenant } from "../../app/db/database.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { defineServiceCategory } from "./categories.server";
import { reportingKpis } from "./kpis.server";
import { getPhoto, photoType } from "./photos.server";
import { newTrackingId, reportIssue } from "./requests.server";
import { ensureReportingInCatalogue, personOf, runReporting, type Person } from "./test-support";

ensureReportingInCatalogue();

let database: TestDatabase;
let city: TestCity;
let other: TestCity;
let staff: Person;
let resident: Person;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date("2026-11-27T12:00:00Z");
const at = (c: TestCity) => ({ tenantId: c.id, database });

beforeAll(async () => {
  database = await createTestDatabase();
  city = await createCity(database);
  other = await createCity(database);
  await runReporting(database, city, { photoMaxCount: 2, photoMaxBytes: 200_000 });
  await runReporting(database, other);
  const admin = await personOf(database, city, ["admin"]);
  staff = await personOf(database, city, ["staff"]);
  resident = await personOf(database, city);
  await defineServiceCategory(admin, { code: "pothole", names: { en: "Pothole" } }, at(city));
  await defineServiceCategory(admin, { code: "graffiti", names: { en: "Graffiti" } }, at(city));
});

afterAll(async () => {
  await database?.drop();
});

type Known = { code: string; createdAgo: number; acknowledgedAfter?: number; closedAfter?: number; status: "open" | "acknowledged" | "in_progress" | "closed" };

async function insert(target: TestCity, rows: Known[]) {
  await withTenant(
    target.id,
    async (tx) => {
      const categories = await tx.reportingCategory.findMany({ where: { tenantId: target.id }, select: { id: true, code: true } });
      for (const row of rows) {
        const createdAt = new Date(NOW.getTime() - row.createdAgo);
        await tx.reportingRequest.create({
          data: {
            tenantId: target.id,
            id: randomUUID(),
            trackingId: newTrackingId(),
            categoryId: categories.find((c) => c.code === row.code)!.id,
            status: row.status,
            closeReason: row.status === "closed" ? "fixed" : null,
            description: "Known",
            address: "Somewhere",
            source: "graphql",
            locale: "en",
            createdAt,
            acknowledgedAt: row.acknowledgedAfter === undefined ? null : new Date(createdAt.getTime() + row.acknowledgedAfter),
            closedAt: row.closedAfter === undefined ? null : new Date(createdAt.getTime() + row.closedAfter),
          },
        });
      }
    },
    database,
  );
}

describe("KPIs", () => {
  it("are computed from the requests: volume, medians, backlog age", async () => {
    await insert(city, [
      { code: "pothole", createdAgo: 2 * DAY, status: "open" },
      { code: "pothole", createdAgo: 10 * DAY, acknowledgedAfter: 2 * HOUR, status: "acknowledged" },
      { code: "pothole", createdAgo: 40 * DAY, acknowledgedAfter: 4 * HOUR, closedAfter: 3 * DAY, status: "closed" },
      { code: "graffiti", createdAgo: 20 * DAY, acknowledgedAfter: 6 * HOUR, status: "in_progress" },
      { code: "graffiti", createdAgo: 50 * DAY, acknowledgedAfter: 10 * HOUR, closedAfter: 5 * DAY, status: "closed" },
      // Outside the 90 days: in the backlog (still open), not in the volume or the medians.
      { code: "graffiti", createdAgo: 100 * DAY, status: "open" },
    ]);
    await insert(other, []);
    const kpis = await reportingKpis(staff, {}, { ...at(city), now: NOW });
    expect(kpis.total).toBe(5);
    expect(kpis.volume.map((row) => [row.categoryCode, row.status, row.count])).toEqual([
      ["graffiti", "in_progress", 1],
      ["graffiti", "closed", 1],
      ["pothole", "open", 1],
      ["pothole", "acknowledged", 1],
      ["pothole", "closed", 1],
    ]);
    // Acknowledged after 2, 4, 6 and 10 hours: the median is 5 hours.
    expect(kpis.medianSecondsToAcknowledge).toBe(5 * 3600);
    // Closed after 3 and 5 days: 4 days.
    expect(kpis.medianSecondsToClose).toBe(4 * 86_400);
    expect(kpis.backlog).toEqual({
      open: 4,
      oldestAgeSeconds: 100 * 86_400,
      medianAgeSeconds: 15 * 86_400, // 2, 10, 20 and 100 days
      under7Days: 1,
      from7To30Days: 2,
      over30Days: 1,
    });

    const narrow = await reportingKpis(staff, { from: new Date(NOW.getTime() - 15 * DAY), to: NOW }, { ...at(city), now: NOW });
    expect(narrow.total).toBe(2);
    expect(narrow.medianSecondsToClose).toBeNull();
  });

  it("are for staff of the city, and another city's are its own", async () => {
    await expect(reportingKpis(resident, {}, at(city))).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(reportingKpis(ANONYMOUS, {}, at(city))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(reportingKpis(staff, { from: NOW, to: new Date(NOW.getTime() - DAY) }, at(city))).rejects.toMatchObject({ fields: { from: ["from must not be after to"] } });
    const otherStaff = await personOf(database, other, ["staff"]);
    const kpis = await reportingKpis(otherStaff, {}, { ...at(other), now: NOW });
    expect(kpis).toMatchObject({ total: 0, volume: [], medianSecondsToAcknowledge: null, backlog: { open: 0, oldestAgeSeconds: null } });
  });
});

async function jpegWithExif(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .withMetadata({
      exif: {
        IFD0: { Make: "PhoneMaker", Model: "Secret Model", Copyright: "Resident" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 1060/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 20/1 5964/100" },
      },
    })
    .toBuffer();
}

describe("photos", () => {
  it("are stored re-encoded, without EXIF or GPS", async () => {
    const original = await jpegWithExif();
    const before = await sharp(original).metadata();
    expect(before.exif?.toString("latin1")).toContain("Secret Model");
    const png = await sharp({ create: { width: 10, height: 10, channels: 4, background: "#00ff00" } }).png().toBuffer();

    const result = await reportIssue(resident, { categoryCode: "pothole", description: "With photos", address: "Rue C", photos: [original, png] }, at(city));
    if (result.kind !== "created") throw new Error("expected a new request");
    expect(result.request!.photoIds).toHaveLength(2);
    const stored = await getPhoto(ANONYMOUS, { id: result.request!.photoIds[0]! }, at(city));
    expect(stored.contentType).toBe("image/jpeg");
    const after = await sharp(Buffer.from(stored.bytes)).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.width).toBe(64);
    expect(Buffer.from(stored.bytes).toString("latin1")).not.toContain("Secret Model");
    expect(Buffer.from(stored.bytes).toString("latin1")).not.toContain("PhoneMaker");
    expect((await getPhoto(ANONYMOUS, { id: result.request!.photoIds[1]! }, at(city))).contentType).toBe("image/png");
    // Another city does not serve it.
    await expect(getPhoto(ANONYMOUS, { id: result.request!.photoIds[0]! }, at(other))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuse what is not an image, too large, too many, or broken", async () => {
    const report = (photos: Uint8Array[]) => reportIssue(resident, { categoryCode: "pothole", description: "Photos", address: "Rue D", photos }, at(city));
    const jpeg = await jpegWithExif();
    await expect(report([Buffer.from("GIF89a not accepted")])).rejects.toMatchObject({ fields: { photos: ["photo 1: must be a JPEG, PNG or WebP image"] } });
    await expect(report([jpeg, jpeg, jpeg])).rejects.toMatchObject({ fields: { photos: ["at most 2 photos"] } });
    await expect(report([jpeg, new Uint8Array(200_001).fill(0xff)])).rejects.toMatchObject({ fields: { photos: ["photo 2: must be at most 200 kB"] } });
    await expect(report([Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0x02])])).rejects.toMatchObject({ fields: { photos: ["photo 1: could not be read as an image"] } });
    expect(photoType(Buffer.from("RIFF\0\0\0\0WEBPVP8 "))).toBe("image/webp");
  });
});
