// Federation of reporting: categories exported by one city and imported by another (checked,
// compared by hash, applied only where chosen), and the monthly request statistics a city shares.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Conflict, ValidationFailed } from "../../app/auth/errors";
import { withPlatformAdmin, withTenant } from "../../app/db/database.server";
import type { ComponentItem, DatasetHandler, PluginCityContext } from "../../app/plugins/sdk.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { archiveServiceCategory, defineServiceCategory, insertCategory, type CategoryInput } from "./categories.server";
import { categoriesComponent, MAX_COMPONENT_CATEGORIES, requestStatistics, type CategoryDefinitions } from "./federation.server";
import reporting from "./plugin";
import { newTrackingId } from "./requests.server";
import { ensureReportingInCatalogue, personOf, runReporting, type Person } from "./test-support";

ensureReportingInCatalogue();

let database: TestDatabase;
let lyon: TestCity;
let nantes: TestCity;
let lyonAdmin: Person;
let nantesAdmin: Person;

const at = (city: TestCity) => ({ tenantId: city.id, database });
const inCity = <T>(city: TestCity, work: (context: PluginCityContext) => Promise<T>) =>
  withTenant(city.id, (tx) => work({ tx, tenantId: city.id, settings: {} }), database);
const byKey = (items: ComponentItem[]) => Object.fromEntries(items.map((item) => [item.key, item.hash]));

const POTHOLE: CategoryInput = {
  code: "pothole",
  names: { en: "Pothole", fr: "Nid-de-poule" },
  descriptions: { en: "A hole in the road" },
  groupNames: { en: "Roads", fr: "Voirie" },
  keywords: ["Road", "hole"],
  position: 10,
  attributes: [
    { code: "size", datatype: "singlevaluelist", required: true, description: { en: "How big?", fr: "Quelle taille ?" }, values: [{ key: "small", name: { en: "Small", fr: "Petit" } }, { key: "large", name: { en: "Large", fr: "Grand" } }] },
    { code: "depth", datatype: "number", description: { en: "Depth (cm)" } },
  ],
};
const STREET_LIGHT: CategoryInput = {
  code: "street-light",
  names: { en: "Street light out", fr: "Lampadaire éteint" },
  keywords: ["lamp", "light"],
  position: 30,
  attributes: [{ code: "pole", datatype: "string", order: 1, description: { en: "Pole number", fr: "Numéro du poteau" } }],
};
const LITTER: CategoryInput = { code: "litter", names: { en: "Litter" }, position: 40 };

beforeAll(async () => {
  database = await createTestDatabase();
  lyon = await createCity(database);
  nantes = await createCity(database);
  await runReporting(database, lyon);
  await runReporting(database, nantes);
  lyonAdmin = await personOf(database, lyon, ["admin"]);
  nantesAdmin = await personOf(database, nantes, ["admin"]);

  await defineServiceCategory(lyonAdmin, POTHOLE, at(lyon));
  await defineServiceCategory(lyonAdmin, { code: "graffiti", names: { en: "Graffiti", fr: "Tag" }, position: 20 }, at(lyon));
  await defineServiceCategory(lyonAdmin, STREET_LIGHT, at(lyon));
  await defineServiceCategory(lyonAdmin, LITTER, at(lyon));
  const retired = await defineServiceCategory(lyonAdmin, { code: "old-bins", names: { en: "Old bins" } }, at(lyon));
  await archiveServiceCategory(lyonAdmin, { id: retired.id }, at(lyon));

  // Nantes: its own pothole (with a report), Lyon's street light typed differently (keys in
  // another order, an empty text, no attribute order, a repeated keyword), Lyon's litter but
  // archived, and a category of its own.
  await defineServiceCategory(nantesAdmin, { code: "pothole", names: { en: "Hole in the road" }, position: 5 }, at(nantes));
  await defineServiceCategory(
    nantesAdmin,
    {
      position: 30,
      attributes: [{ description: { fr: "Numéro du poteau", en: "Pole number", de: "" }, datatype: "string", code: "pole" }],
      keywords: ["Lamp", "lamp", "light"],
      names: { fr: "Lampadaire éteint", en: "Street light out" },
      code: "street-light",
    },
    at(nantes),
  );
  const litter = await defineServiceCategory(nantesAdmin, LITTER, at(nantes));
  await archiveServiceCategory(nantesAdmin, { id: litter.id }, at(nantes));
  await defineServiceCategory(nantesAdmin, { code: "bench", names: { en: "Broken bench" } }, at(nantes));
});

afterAll(async () => {
  await database?.drop();
});

describe("the categories component", () => {
  it("is loaded lazily from the manifest", async () => {
    const component = reporting.federation?.components?.find((entry) => entry.kind === "categories");
    expect(await component?.handler()).toBe(categoriesComponent);
  });

  it("exports the city's active categories, which parse and list back as the city has them", async () => {
    const exported = (await inCity(lyon, (context) => categoriesComponent.export(context))) as CategoryDefinitions;
    expect(exported.categories.map((category) => category.code)).toEqual(["pothole", "graffiti", "street-light", "litter"]);
    expect(exported.categories[0]).toEqual({
      code: "pothole",
      names: { en: "Pothole", fr: "Nid-de-poule" },
      descriptions: { en: "A hole in the road" },
      groupNames: { en: "Roads", fr: "Voirie" },
      keywords: ["road", "hole"],
      position: 10,
      attributes: [
        {
          code: "size",
          datatype: "singlevaluelist",
          required: true,
          variable: true,
          order: 1,
          description: { en: "How big?", fr: "Quelle taille ?" },
          datatypeDescription: {},
          values: [
            { key: "small", name: { en: "Small", fr: "Petit" } },
            { key: "large", name: { en: "Large", fr: "Grand" } },
          ],
        },
        { code: "depth", datatype: "number", required: false, variable: true, order: 2, description: { en: "Depth (cm)" }, datatypeDescription: {}, values: [] },
      ],
    });

    // As it travels: JSON text, then checked on the other side.
    const received = JSON.parse(JSON.stringify(exported)) as unknown;
    expect(categoriesComponent.parse(received)).toEqual(exported);
    const items = categoriesComponent.items(received);
    expect(items.map((item) => [item.key, item.name])).toEqual([
      ["pothole", { en: "Pothole", fr: "Nid-de-poule" }],
      ["graffiti", { en: "Graffiti", fr: "Tag" }],
      ["street-light", { en: "Street light out", fr: "Lampadaire éteint" }],
      ["litter", { en: "Litter" }],
    ]);
    for (const item of items) expect(item.hash).toMatch(/^[0-9a-f]{64}$/);

    const current = await inCity(lyon, (context) => categoriesComponent.current(context));
    const { "old-bins": archived, ...active } = byKey(current);
    expect(active).toEqual(byKey(items));
    expect(archived).toMatch(/^[0-9a-f]{64}$/);
  });

  it("hashes equal content equally in two cities, however it was typed, and different content differently", async () => {
    const offered = byKey(categoriesComponent.items(await inCity(lyon, (context) => categoriesComponent.export(context))));
    const held = byKey(await inCity(nantes, (context) => categoriesComponent.current(context)));
    expect(held["street-light"]).toBe(offered["street-light"]);
    expect(held["pothole"]).not.toBe(offered["pothole"]);
    // The same content archived in Nantes shows as differing: importing it means bringing it back.
    expect(held["litter"]).toBeDefined();
    expect(held["litter"]).not.toBe(offered["litter"]);
    expect(held["bench"]).toBeDefined();
  });

  describe("refuses bad definitions with the path and the reason", () => {
    const valid = { code: "pothole", names: { en: "Pothole" } };
    const refusal = (definitions: unknown): Record<string, readonly string[]> => {
      try {
        categoriesComponent.parse(definitions);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationFailed);
        return (error as ValidationFailed).fields;
      }
      throw new Error("the definitions were accepted");
    };

    it("a bad code, a duplicated code", () => {
      expect(refusal({ categories: [{ ...valid, code: "Pot hole!" }] })).toEqual({ "categories.0.code": ["must be lower-case letters, digits, - or _ (at most 64)"] });
      expect(refusal({ categories: [valid, { ...valid, names: { en: "Again" } }] })).toEqual({ "categories.1.code": ["pothole is given twice"] });
    });

    it("a bad attribute", () => {
      const list = { code: "size", datatype: "singlevaluelist", description: { en: "Size" } };
      expect(refusal({ categories: [{ ...valid, attributes: [list] }] })).toEqual({ "categories.0.attributes.0.values": ["a list needs at least one choice"] });
      expect(refusal({ categories: [{ ...valid, attributes: [{ ...list, datatype: "script" }] }] })["categories.0.attributes.0.datatype"]).toEqual([
        "must be one of string, number, datetime, text, singlevaluelist, multivaluelist",
      ]);
      expect(refusal({ categories: [{ ...valid, attributes: [{ ...list, code: "1x", datatype: "string" }] }] })).toEqual({
        "categories.0.attributes.0.code": ["must be a letter then letters, digits, - or _ (at most 64)"],
      });
    });

    it("too many categories, too long texts", () => {
      const many = Array.from({ length: MAX_COMPONENT_CATEGORIES + 1 }, (_, index) => ({ code: `c${index}`, names: { en: `Category ${index}` } }));
      expect(refusal({ categories: many })).toEqual({ categories: [`must have at most ${MAX_COMPONENT_CATEGORIES} categories`] });
      expect(categoriesComponent.items({ categories: many.slice(0, MAX_COMPONENT_CATEGORIES) })).toHaveLength(MAX_COMPONENT_CATEGORIES);
      expect(refusal({ categories: [{ ...valid, names: { en: "x".repeat(121) } }] })).toEqual({ "categories.0.names.en": ["must be at most 120 characters"] });
    });

    it("wrong types, unknown fields and languages", () => {
      expect(refusal(null)).toEqual({ "": ["category definitions must be an object with a list of categories"] });
      expect(refusal([valid])).toEqual({ "": ["category definitions must be an object with a list of categories"] });
      expect(refusal({ categories: "pothole" })).toEqual({ categories: ["must be a list of categories"] });
      const wrong = refusal({ categories: [{ code: "pothole", names: "Pothole", position: "1", keywords: "road" }] });
      expect(Object.keys(wrong).sort()).toEqual(["categories.0.keywords", "categories.0.names", "categories.0.position"]);
      expect(wrong["categories.0.position"]).toEqual(["must be a number"]);
      expect(wrong["categories.0.keywords"]).toEqual(["must be a list of words"]);
      expect(refusal({ categories: [{ ...valid, names: { xx: "Pothole" } }] })["categories.0.names"]).toContain('Unrecognized key: "xx"');
      // Ids, dates and archiving never travel; nor does anything besides the list.
      expect(Object.keys(refusal({ categories: [{ ...valid, id: randomUUID() }] }))).toEqual(["categories.0"]);
      expect(Object.keys(refusal({ categories: [valid], script: "alert(1)" }))).toEqual([""]);
    });
  });

  it("applies in one city: creates what is chosen, replaces only what is chosen, keeps ids and reports", async () => {
    const definitions = JSON.parse(JSON.stringify(await inCity(lyon, (context) => categoriesComponent.export(context)))) as unknown;
    const offered = byKey(categoriesComponent.items(definitions));
    const lyonBefore = await inCity(lyon, (context) => categoriesComponent.current(context));
    const nantesBefore = byKey(await inCity(nantes, (context) => categoriesComponent.current(context)));
    const pothole = await withTenant(nantes.id, (tx) => tx.reportingCategory.findFirstOrThrow({ where: { tenantId: nantes.id, code: "pothole" } }), database);
    const requestId = await addRequest(nantes, pothole.id, { createdAt: new Date("2026-01-10T10:00:00Z") });

    await inCity(nantes, (context) => categoriesComponent.apply(context, definitions, { create: ["graffiti"], replace: ["pothole"] }));

    const after = byKey(await inCity(nantes, (context) => categoriesComponent.current(context)));
    expect(Object.keys(after).sort()).toEqual(["bench", "graffiti", "litter", "pothole", "street-light"]);
    expect(after["graffiti"]).toBe(offered["graffiti"]);
    expect(after["pothole"]).toBe(offered["pothole"]);
    // Not chosen: as they were (the archived litter stays archived).
    expect(after["bench"]).toBe(nantesBefore["bench"]);
    expect(after["litter"]).toBe(nantesBefore["litter"]);
    expect(after["street-light"]).toBe(nantesBefore["street-light"]);

    const rows = await withTenant(nantes.id, (tx) => tx.reportingCategory.findMany({ where: { tenantId: nantes.id } }), database);
    const replaced = rows.find((row) => row.code === "pothole")!;
    expect(replaced.id).toBe(pothole.id);
    expect(replaced.names).toEqual({ en: "Pothole", fr: "Nid-de-poule" });
    const request = await withTenant(nantes.id, (tx) => tx.reportingRequest.findFirstOrThrow({ where: { tenantId: nantes.id, id: requestId } }), database);
    expect(request.categoryId).toBe(pothole.id);
    const lyonGraffiti = await withTenant(lyon.id, (tx) => tx.reportingCategory.findFirstOrThrow({ where: { tenantId: lyon.id, code: "graffiti" } }), database);
    expect(rows.find((row) => row.code === "graffiti")!.id).not.toBe(lyonGraffiti.id);

    // The city it came from is untouched.
    expect(await inCity(lyon, (context) => categoriesComponent.current(context))).toEqual(lyonBefore);
  });

  it("never creates a code the city holds archived; replacing it brings it back", async () => {
    const definitions = await inCity(lyon, (context) => categoriesComponent.export(context));
    const offered = byKey(categoriesComponent.items(definitions));
    const create = inCity(nantes, (context) => categoriesComponent.apply(context, definitions, { create: ["litter"], replace: [] }));
    await expect(create).rejects.toBeInstanceOf(Conflict);
    await expect(create).rejects.toMatchObject({ reason: "category_code_taken" });

    await inCity(nantes, (context) => categoriesComponent.apply(context, definitions, { create: [], replace: ["litter"] }));
    const litter = await withTenant(nantes.id, (tx) => tx.reportingCategory.findFirstOrThrow({ where: { tenantId: nantes.id, code: "litter" } }), database);
    expect(litter.archivedAt).toBeNull();
    expect(byKey(await inCity(nantes, (context) => categoriesComponent.current(context)))["litter"]).toBe(offered["litter"]);
  });

  it("refuses choices the definitions or the city do not hold, changing nothing", async () => {
    const definitions = await inCity(lyon, (context) => categoriesComponent.export(context));
    const before = await inCity(nantes, (context) => categoriesComponent.current(context));
    await expect(inCity(nantes, (context) => categoriesComponent.apply(context, definitions, { create: ["noise"], replace: [] }))).rejects.toMatchObject({
      fields: { noise: ["is not a category of the component"] },
    });
    await expect(inCity(nantes, (context) => categoriesComponent.apply(context, definitions, { create: ["graffiti"], replace: ["graffiti"] }))).rejects.toMatchObject({
      fields: { graffiti: ["is chosen more than once"] },
    });
    await expect(inCity(nantes, (context) => categoriesComponent.apply(context, { categories: [{ code: "BAD CODE" }] }, { create: [], replace: [] }))).rejects.toBeInstanceOf(
      ValidationFailed,
    );
    // Replacing what a city does not have (a third city, with none): refused before anything
    // is written.
    const rennes = await createCity(database);
    await runReporting(database, rennes);
    await expect(inCity(rennes, (context) => categoriesComponent.apply(context, definitions, { create: ["graffiti"], replace: ["pothole"] }))).rejects.toMatchObject({
      reason: "category_missing",
    });
    expect(await inCity(rennes, (context) => categoriesComponent.current(context))).toEqual([]);
    expect(await inCity(nantes, (context) => categoriesComponent.current(context))).toEqual(before);
  });
});

// --- Statistics ---------------------------------------------------------------------------------

const HOUR = 3_600_000;

async function addRequest(
  city: TestCity,
  categoryId: string,
  known: { createdAt: Date; closedAfterHours?: number; mergedIntoId?: string },
): Promise<string> {
  const id = randomUUID();
  const closed = known.closedAfterHours !== undefined;
  await withTenant(
    city.id,
    (tx) =>
      tx.reportingRequest.create({
        data: {
          tenantId: city.id,
          id,
          trackingId: newTrackingId(),
          categoryId,
          status: closed ? "closed" : "open",
          closeReason: closed ? (known.mergedIntoId ? "duplicate" : "fixed") : null,
          mergedIntoId: known.mergedIntoId ?? null,
          description: "Known",
          address: "Somewhere",
          source: "graphql",
          locale: "en",
          createdAt: known.createdAt,
          closedAt: closed ? new Date(known.createdAt.getTime() + known.closedAfterHours! * HOUR) : null,
        },
      }),
    database,
  );
  return id;
}

async function categoryIn(city: TestCity, code: string, names: Record<string, string>): Promise<string> {
  return withTenant(city.id, async (tx) => (await insertCategory(tx, city.id, { code, names })).id, database);
}

describe("the request-statistics dataset", () => {
  // Paris is UTC+1 in November 2026 and in December 2024.
  const NOW = new Date("2026-11-27T12:00:00Z");

  it("is described for catalogues and loaded lazily from the manifest", async () => {
    const dataset = reporting.federation?.datasets?.find((entry) => entry.id === "request-statistics");
    expect(dataset?.keywords).toContain("Open311");
    expect(dataset?.fields.map((field) => field.name)).toEqual(["category", "categoryName", "month", "received", "closed", "open", "medianHoursToClose"]);
    const handler: DatasetHandler | undefined = await dataset?.handler();
    expect(handler?.snapshot).toBeTypeOf("function");
  });

  it("counts per category and month of the city's time zone, with medians, over 24 months", async () => {
    const paris = await createCity(database);
    const other = await createCity(database);
    const pothole = await categoryIn(paris, "pothole", { en: "Pothole", fr: "Nid-de-poule", de: "" });
    const graffiti = await categoryIn(paris, "graffiti", { en: "Graffiti" });
    const elsewhere = await categoryIn(other, "pothole", { en: "Pothole" });

    // 23:30 UTC on 31 October is 00:30 on 1 November in Paris; 22:30 UTC is still October.
    const kept = await addRequest(paris, pothole, { createdAt: new Date("2026-10-31T23:30:00Z"), closedAfterHours: 10 });
    await addRequest(paris, pothole, { createdAt: new Date("2026-11-05T10:00:00Z"), closedAfterHours: 2 });
    await addRequest(paris, pothole, { createdAt: new Date("2026-11-10T10:00:00Z"), closedAfterHours: 4 });
    await addRequest(paris, pothole, { createdAt: new Date("2026-11-20T10:00:00Z") });
    // A duplicate merged at once: closed, but not in the median.
    await addRequest(paris, pothole, { createdAt: new Date("2026-11-21T10:00:00Z"), closedAfterHours: 0.5, mergedIntoId: kept });
    await addRequest(paris, pothole, { createdAt: new Date("2026-10-31T22:30:00Z"), closedAfterHours: 1 });
    await addRequest(paris, pothole, { createdAt: new Date("2026-10-02T08:00:00Z"), closedAfterHours: 2 });
    await addRequest(paris, pothole, { createdAt: new Date("2026-10-03T08:00:00Z") });
    // 24 months back starts on 1 December 2024 in Paris (23:00 UTC the day before).
    await addRequest(paris, graffiti, { createdAt: new Date("2024-11-30T23:00:00Z"), closedAfterHours: 24.5 });
    await addRequest(paris, graffiti, { createdAt: new Date("2024-11-30T22:59:59Z"), closedAfterHours: 1 });
    // After the snapshot's time, and in another city: not counted.
    await addRequest(paris, graffiti, { createdAt: new Date("2026-11-27T12:00:01Z") });
    await addRequest(other, elsewhere, { createdAt: new Date("2026-11-05T10:00:00Z") });

    const records = await withTenant(paris.id, (tx) => requestStatistics(tx, paris.id, { now: NOW }), database);
    expect(records).toEqual([
      {
        key: "graffiti/2024-12",
        data: { category: "graffiti", categoryName: { en: "Graffiti" }, month: "2024-12", received: 1, closed: 1, open: 0, medianHoursToClose: 24.5 },
      },
      {
        key: "pothole/2026-10",
        data: { category: "pothole", categoryName: { en: "Pothole", fr: "Nid-de-poule" }, month: "2026-10", received: 3, closed: 2, open: 1, medianHoursToClose: 1.5 },
      },
      {
        key: "pothole/2026-11",
        data: { category: "pothole", categoryName: { en: "Pothole", fr: "Nid-de-poule" }, month: "2026-11", received: 5, closed: 4, open: 1, medianHoursToClose: 4 },
      },
    ]);

    // The same instants in a city on New York time: 23:30 UTC on 31 October is still October
    // there, and its 24 months start on 1 December 2024 at 05:00 UTC, after both graffiti.
    await withPlatformAdmin((tx) => tx.city.update({ where: { id: paris.id }, data: { timeZone: "America/New_York" } }), database);
    const newYork = await withTenant(paris.id, (tx) => requestStatistics(tx, paris.id, { now: NOW }), database);
    expect(newYork.map((record) => [record.key, record.data.received])).toEqual([
      ["pothole/2026-10", 4],
      ["pothole/2026-11", 4],
    ]);
  });

  it("snapshots the city's figures now, in the city's unit of work", async () => {
    const city = await createCity(database);
    const litter = await categoryIn(city, "litter", { en: "Litter" });
    await addRequest(city, litter, { createdAt: new Date(Date.now() - HOUR), closedAfterHours: 0.25 });
    const month = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris", year: "numeric", month: "2-digit" }).format(new Date(Date.now() - HOUR));
    const records = await withTenant(city.id, (tx) => reporting.federation!.datasets![0]!.handler().then((handler) => handler.snapshot({ tx, tenantId: city.id, settings: {} })), database);
    expect(records).toEqual([
      { key: `litter/${month}`, data: { category: "litter", categoryName: { en: "Litter" }, month, received: 1, closed: 1, open: 0, medianHoursToClose: 0.25 } },
    ]);
  });
});
