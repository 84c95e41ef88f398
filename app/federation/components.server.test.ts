// Components between cities: Paris publishes its reporting categories with a settings preset
// (its portable settings only: never its mail server or addresses), Budapest (which does not run
// reporting) imports them in one step, Vienna (which has its own pothole) sees conflicts, not
// overwrites; new versions are followed, updates touch only what a city left alone; withdrawal,
// permissions, tampering; a peer's signed components arriving in the inbox, hidden while the
// peering is not active, still importable after key rotations.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS } from "../auth/permissions";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import type { Prisma } from "../db/generated/client.ts";
import { updateServiceCategory, type CategoryInput } from "../../plugins/reporting/categories.server";
import { ensureReportingInCatalogue, personOf, runReporting, type Person } from "../../plugins/reporting/test-support";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { canonicalJson } from "./canonical";
import {
  getComponent,
  importComponent,
  listComponents,
  listImports,
  onComponentActivity,
  onPeerActivated,
  previewImport,
  publishComponent,
  setComponentFollowing,
  withdrawComponent,
  type ComponentEntry,
} from "./components.server";
import { InboxRefusal } from "./inbox.server";
import { cityUri, currentKey, publishedKeys, rotateKey, verifyDocument } from "./instance.server";
import { defineServiceCategory } from "../../plugins/reporting/categories.server";
import { definePlugin, PluginDefinitionError } from "../plugins/sdk.server";
import reportingPlugin from "../../plugins/reporting/plugin";

ensureReportingInCatalogue();

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;
let vienna: TestCity;
let lyon: TestCity;
let parisAdmin: Person;
let parisStaff: Person;
let parisResident: Person;
let budapestAdmin: Person;
let viennaAdmin: Person;
let lyonAdmin: Person;
/** An active peer of the instance: what is published is queued for it. */
let listeningPeerId: string;

const at = (city: TestCity) => ({ tenantId: city.id, database });

const POTHOLE: CategoryInput = {
  code: "pothole",
  names: { fr: "Nid-de-poule", en: "Pothole" },
  descriptions: { fr: "Un trou dans la chaussée", en: "A hole in the road" },
  groupNames: { fr: "Voirie", en: "Roads" },
  keywords: ["road", "hole"],
  position: 10,
  attributes: [
    {
      code: "size",
      datatype: "singlevaluelist",
      required: true,
      description: { fr: "Quelle taille ?", en: "How big?" },
      values: [
        { key: "small", name: { fr: "Petit", en: "Small" } },
        { key: "large", name: { fr: "Grand", en: "Large" } },
      ],
    },
    { code: "depth", datatype: "number", description: { fr: "Profondeur (cm)", en: "Depth (cm)" } },
  ],
};
const STREET_LIGHT: CategoryInput = {
  code: "street-light",
  names: { fr: "Lampadaire éteint", en: "Street light out" },
  groupNames: { fr: "Éclairage", en: "Lighting" },
  keywords: ["lamp"],
  position: 20,
  attributes: [{ code: "pole", datatype: "string", description: { fr: "Numéro du poteau", en: "Pole number" } }],
};

const PARIS_SETTINGS = {
  anonymousReports: false,
  photoMaxCount: 2,
  duplicateRadiusMeters: 80,
  agencyName: { fr: "Ville de Paris", en: "City of Paris" },
  notificationsFrom: "signalements@paris.example",
  smtp: { host: "smtp.paris.example", port: 587, secure: false, user: "reports", password: "s3cret-paris" },
};

/** What reporting lets a component carry: how it works, nothing of the city's own. */
const PORTABLE = ["anonymousReports", "defaultListDays", "duplicateRadiusMeters", "duplicateWindowDays", "photoMaxBytes", "photoMaxCount"];

async function setLanguages(city: TestCity, names: Record<string, string>, locales: string[]) {
  await withPlatformAdmin((tx) => tx.city.update({ where: { id: city.id }, data: { names, enabledLocales: locales, defaultLocale: locales[0]! } }), database);
}

async function categoriesOf(city: TestCity) {
  const rows = await withTenant(city.id, (tx) => tx.reportingCategory.findMany({ where: { tenantId: city.id }, orderBy: { code: "asc" } }), database);
  return Object.fromEntries(rows.map((row) => [row.code, row]));
}

async function installationOf(city: TestCity) {
  return withTenant(city.id, (tx) => tx.pluginInstallation.findFirst({ where: { tenantId: city.id, pluginId: "reporting" } }), database);
}

async function auditActions(city: TestCity): Promise<string[]> {
  const rows = await withTenant(city.id, (tx) => tx.auditEvent.findMany({ where: { tenantId: city.id }, orderBy: { occurredAt: "asc" }, select: { action: true } }), database);
  return rows.map((row) => row.action);
}

async function outboxFor(peerId: string) {
  const rows = await withPlatformAdmin((tx) => tx.federationOutbox.findMany({ where: { peerId }, orderBy: { createdAt: "asc" }, select: { activity: true } }), database);
  return rows.map((row) => row.activity as { type: string; actor: string; object: unknown });
}

async function storedDocument(componentId: string, version: number) {
  const row = await withPlatformAdmin(
    (tx) => tx.federationComponentVersion.findUniqueOrThrow({ where: { componentId_version: { componentId, version } }, select: { document: true } }),
    database,
  );
  return row.document as Record<string, unknown> & { proof: { keyId: string; signature: string } };
}

type TestPeer = { id: string; instanceId: string; keyId: string; privateKey: KeyObject; publicKeyPem: string };

async function addPeer(instanceId: string, options: { active?: boolean } = {}): Promise<TestPeer> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const keyId = `${instanceId}#k1`;
  const id = randomUUID();
  const active = options.active ?? true;
  await withPlatformAdmin(
    (tx) =>
      tx.federationPeer.create({
        data: {
          id,
          instanceId,
          baseUrl: instanceId,
          inboxUrl: `${instanceId}/federation/inbox`,
          name: `Peer ${instanceId}`,
          keys: [{ id: keyId, publicKeyPem, status: "current" }],
          discovery: { id: instanceId, capabilities: ["peering", "components"] },
          localAccepted: active,
          remoteAccepted: active,
        },
      }),
    database,
  );
  return { id, instanceId, keyId, privateKey, publicKeyPem };
}

/** Signs as a peer does: Ed25519 over the RFC 8785 form of the document without its proof. */
function signAs<T extends Record<string, unknown>>(peer: Pick<TestPeer, "keyId" | "privateKey">, document: T) {
  const { proof: _proof, ...unsigned } = document;
  const signature = sign(null, Buffer.from(canonicalJson(unsigned), "utf8"), peer.privateKey).toString("base64url");
  return { ...(unsigned as Omit<T, "proof">), proof: { type: "Ed25519Signature2026", keyId: peer.keyId, created: new Date().toISOString(), signature } };
}

function peerComponent(peer: TestPeer, version: number, overrides: Record<string, unknown> = {}, id = `${peer.instanceId}/federation/components/${randomUUID()}`) {
  return {
    type: "civitas:Component",
    id,
    version,
    plugin: { id: "reporting", versionRange: "^1.0.0" },
    kind: "categories",
    title: { en: `Park furniture v${version}`, de: "Parkmöbel" },
    summary: { en: "Benches and bins" },
    locales: ["en", "de"],
    settings: { photoMaxCount: 1 },
    definitions: {
      categories: [{ code: "bench", names: { en: `Broken bench v${version}`, de: "Kaputte Bank" }, keywords: ["bench"], position: 5 }],
    },
    origin: {
      instance: peer.instanceId,
      city: { id: `${peer.instanceId}/federation/cities/graz`, slug: "graz", names: { de: "Graz", en: "Graz" } },
      author: "Peer Author",
      published: new Date().toISOString(),
    },
    ...overrides,
  };
}

async function receive(peer: TestPeer, activity: Record<string, unknown>) {
  await withPlatformAdmin(async (tx) => {
    const row = await tx.federationPeer.findUniqueOrThrow({ where: { id: peer.id } });
    await onComponentActivity({ tx, peer: row, activity: activity as never, database });
  }, database);
}

async function setPeer(peer: TestPeer, data: { suspended?: boolean; localAccepted?: boolean; remoteAccepted?: boolean; keys?: Prisma.InputJsonValue }) {
  await withPlatformAdmin((tx) => tx.federationPeer.update({ where: { id: peer.id }, data }), database);
}

/** A peer's catalogue entry by its URI, as a city sees it (or undefined). */
async function entryByUri(city: TestCity, admin: Person, uri: string) {
  return (await listComponents(admin, { first: 100 }, at(city))).components.find((component) => component.uri === uri);
}

const withoutProof = (document: Record<string, unknown>) => {
  const { proof: _proof, ...rest } = document;
  return rest;
};

const activityOf = (peer: TestPeer, type: string, object: unknown) => ({
  "@context": "https://www.w3.org/ns/activitystreams",
  id: `${peer.instanceId}/federation/activities/${randomUUID()}`,
  type,
  actor: peer.instanceId,
  object,
  published: new Date().toISOString(),
});

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InboxRefusal);
  const { status, code } = error as InboxRefusal;
  return { status, code };
}

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database, { slug: "paris" });
  budapest = await createCity(database, { slug: "budapest" });
  vienna = await createCity(database, { slug: "vienna" });
  lyon = await createCity(database, { slug: "lyon" });
  await setLanguages(paris, { fr: "Paris", en: "Paris" }, ["fr", "en"]);
  await setLanguages(budapest, { hu: "Budapest", en: "Budapest" }, ["hu", "en"]);
  await setLanguages(vienna, { de: "Wien", en: "Vienna" }, ["de", "en"]);
  await runReporting(database, paris, PARIS_SETTINGS);
  await runReporting(database, vienna);

  parisAdmin = await personOf(database, paris, ["admin"]);
  parisStaff = await personOf(database, paris, ["staff"]);
  parisResident = await personOf(database, paris);
  budapestAdmin = await personOf(database, budapest, ["admin"]);
  viennaAdmin = await personOf(database, vienna, ["admin"]);
  lyonAdmin = await personOf(database, lyon, ["admin"]);
  await withPlatformAdmin((tx) => tx.user.updateMany({ where: { tenantId: paris.id, id: parisAdmin.userId }, data: { displayName: "Marie Curie" } }), database);

  await defineServiceCategory(parisAdmin, POTHOLE, at(paris));
  await defineServiceCategory(parisAdmin, STREET_LIGHT, at(paris));
  await defineServiceCategory(viennaAdmin, { code: "pothole", names: { de: "Schlagloch", en: "Hole in the road" }, position: 1 }, at(vienna));

  listeningPeerId = (await addPeer("https://listening.example")).id;
});

afterAll(async () => {
  await database?.drop();
});

let roads: ComponentEntry;

describe("publishing", () => {
  it("publishes Paris's categories with their translations and a preset of its portable settings only, signed, and sends Create to the peers", async () => {
    roads = await publishComponent(
      parisAdmin,
      { pluginId: "reporting", kind: "categories", title: { fr: "Voirie et éclairage", en: "Roads and street lights" }, summary: { en: "Potholes and street lights" } },
      at(paris),
    );
    expect(roads).toMatchObject({
      uri: `${cityUri("paris").replace("/cities/paris", "/components/")}${roads.id}`,
      pluginId: "reporting",
      kind: "categories",
      title: { fr: "Voirie et éclairage", en: "Roads and street lights" },
      locales: ["fr", "en"],
      latestVersion: 1,
      pluginVersionRange: "^1.0.0",
      origin: { city: { uri: cityUri("paris"), slug: "paris", names: { fr: "Paris", en: "Paris" } }, local: true, ownCity: true, author: "Marie Curie" },
      plugin: { available: true, version: "1.0.0", compatible: true },
      imported: null,
      withdrawnAt: null,
    });

    const document = await storedDocument(roads.id, 1);
    expect(document).toMatchObject({
      type: "civitas:Component",
      id: roads.uri,
      version: 1,
      plugin: { id: "reporting", versionRange: "^1.0.0" },
      kind: "categories",
      origin: { city: { id: cityUri("paris"), slug: "paris" }, author: "Marie Curie" },
    });
    // The preset is the portable settings only: Paris's mail server, sender address and agency
    // name stay in Paris.
    const settings = document.settings as Record<string, unknown>;
    expect(Object.keys(settings).sort()).toEqual(PORTABLE);
    expect(settings).toMatchObject({ anonymousReports: false, photoMaxCount: 2, duplicateRadiusMeters: 80, duplicateWindowDays: 30 });
    for (const kept of ["s3cret-paris", "smtp.paris.example", "signalements@paris.example", "Ville de Paris", "********"]) {
      expect(JSON.stringify(document)).not.toContain(kept);
    }
    const codes = (document.definitions as { categories: { code: string }[] }).categories.map((category) => category.code);
    expect(codes).toEqual(["pothole", "street-light"]);
    expect(verifyDocument(document as never, await publishedKeys(database))).toBe(true);

    const sent = await outboxFor(listeningPeerId);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: "Create", actor: cityUri("paris") });
    expect(sent[0]!.object).toEqual(document);
    expect(await auditActions(paris)).toContain("federation.component.published");
  });

  it("refuses titles in unsupported languages, an unknown kind, and a service the city does not run", async () => {
    await expect(publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { xx: "?" } }, at(paris))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "  " } }, at(paris))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "x".repeat(121) } }, at(paris))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(publishComponent(parisAdmin, { pluginId: "reporting", kind: "workflows", title: { en: "Workflows" } }, at(paris))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(publishComponent(budapestAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Nothing" } }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    await expect(publishComponent(parisAdmin, { pluginId: "no-such-service", kind: "categories", title: { en: "Nothing" } }, at(paris))).rejects.toBeInstanceOf(NotFound);
  });

  it("lets a plugin declare portable only settings fields it has and that hold no secret", () => {
    const settings = reportingPlugin.settings!;
    const manifest = (portable: string[]) => ({ ...reportingPlugin, settings: { ...settings, portable } });
    expect(() => definePlugin(manifest(["smtp"]))).toThrow(/portable field smtp holds the secret smtp.password/);
    expect(() => definePlugin(manifest(["mailServer"]))).toThrow(PluginDefinitionError);
    expect(() => definePlugin(manifest(["constructor"]))).toThrow(PluginDefinitionError);
    expect(definePlugin(manifest(["photoMaxCount"])).settings?.portable).toEqual(["photoMaxCount"]);
  });

  it("lists the catalogue for every city of the instance, with each city's view of it", async () => {
    const page = await listComponents(budapestAdmin, {}, at(budapest));
    expect(page.components.map((component) => component.id)).toEqual([roads.id]);
    expect(page.components[0]).toMatchObject({ origin: { ownCity: false, local: true }, imported: null, plugin: { compatible: true } });
    expect((await listComponents(budapestAdmin, { city: "paris" }, at(budapest))).components).toHaveLength(1);
    expect((await listComponents(budapestAdmin, { city: cityUri("paris") }, at(budapest))).components).toHaveLength(1);
    expect((await listComponents(budapestAdmin, { city: "vienna" }, at(budapest))).components).toHaveLength(0);
    expect((await listComponents(budapestAdmin, { locale: "fr" }, at(budapest))).components).toHaveLength(1);
    expect((await listComponents(budapestAdmin, { locale: "hu" }, at(budapest))).components).toHaveLength(0);
    expect((await listComponents(budapestAdmin, { pluginId: "notice-board" }, at(budapest))).components).toHaveLength(0);

    const details = await getComponent(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(details.versions.map((version) => version.version)).toEqual([1]);
    expect(details.items).toEqual([
      { key: "pothole", name: { fr: "Nid-de-poule", en: "Pothole" } },
      { key: "street-light", name: { fr: "Lampadaire éteint", en: "Street light out" } },
    ]);
  });
});

describe("importing", () => {
  it("previews Budapest's import: the plugin to install with the preset, every category to create", async () => {
    const preview = await previewImport(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(preview.plugin).toMatchObject({ available: true, compatible: true, installed: false, enabled: false });
    expect([...preview.settings].sort((a, b) => a.field.localeCompare(b.field))).toEqual(PORTABLE.map((field) => ({ field, action: "set" })));
    expect(preview.items).toEqual([
      { key: "pothole", name: { fr: "Nid-de-poule", en: "Pothole" }, action: "create" },
      { key: "street-light", name: { fr: "Lampadaire éteint", en: "Street light out" }, action: "create" },
    ]);
    expect(await installationOf(budapest)).toBeNull();
  });

  it("imports into Budapest in one step: reporting installed with the preset, the categories intact", async () => {
    const report = await importComponent(budapestAdmin, { componentId: roads.id, follow: true }, at(budapest));
    expect(report).toMatchObject({ version: 1, following: true, changed: true, applied: { installed: true, created: 2, updated: 0 } });

    const installation = await installationOf(budapest);
    expect(installation).toMatchObject({ enabled: true, version: "1.0.0" });
    expect(installation?.settings).toMatchObject({ anonymousReports: false, photoMaxCount: 2, duplicateRadiusMeters: 80 });
    // Budapest's mail goes nowhere until Budapest sets it up: not through Paris's server.
    expect(installation?.settings).toMatchObject({ smtp: null, notificationsFrom: "", agencyName: {} });

    const categories = await categoriesOf(budapest);
    // The install's own defaults stay beside them, but the imported codes are Paris's.
    expect(categories.pothole).toMatchObject({
      names: POTHOLE.names,
      descriptions: POTHOLE.descriptions,
      groupNames: POTHOLE.groupNames,
      keywords: ["road", "hole"],
      position: 10,
      archivedAt: null,
    });
    expect(categories.pothole!.attributes).toEqual([
      expect.objectContaining({
        code: "size",
        datatype: "singlevaluelist",
        required: true,
        description: { fr: "Quelle taille ?", en: "How big?" },
        values: [
          { key: "small", name: { fr: "Petit", en: "Small" } },
          { key: "large", name: { fr: "Grand", en: "Large" } },
        ],
      }),
      expect.objectContaining({ code: "depth", datatype: "number", description: { fr: "Profondeur (cm)", en: "Depth (cm)" } }),
    ]);
    expect(categories["street-light"]).toMatchObject({ names: STREET_LIGHT.names, groupNames: STREET_LIGHT.groupNames });
    expect(categories["street-light"]!.attributes).toEqual([expect.objectContaining({ code: "pole", description: { fr: "Numéro du poteau", en: "Pole number" } })]);

    const actions = await auditActions(budapest);
    expect(actions).toContain("plugin.installed");
    expect(actions).toContain("federation.component.imported");
    const [entry] = await listImports(budapestAdmin, at(budapest));
    expect(entry).toMatchObject({ version: 1, following: true, updateAvailable: false, component: { id: roads.id, imported: { version: 1, following: true } } });
  });

  it("importing the same version again changes nothing", async () => {
    const before = await categoriesOf(budapest);
    const audited = (await auditActions(budapest)).length;
    const report = await importComponent(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(report).toMatchObject({ changed: false, following: true, applied: { installed: false, created: 0, updated: 0 } });
    expect(report.items.map((item) => item.action)).toEqual(["unchanged", "unchanged"]);
    expect(report.settings.every((setting) => setting.action === "same")).toBe(true);
    expect(await categoriesOf(budapest)).toEqual(before);
    expect(await auditActions(budapest)).toHaveLength(audited);
  });

  it("imports once when the same import is sent twice at the same time", async () => {
    const reports = await Promise.all([
      importComponent(lyonAdmin, { componentId: roads.id }, at(lyon)),
      importComponent(lyonAdmin, { componentId: roads.id }, at(lyon)),
    ]);
    expect(reports.map((report) => report.changed).sort()).toEqual([false, true]);
    expect(reports.map((report) => report.applied.installed).sort()).toEqual([false, true]);
    expect(Object.keys(await categoriesOf(lyon)).sort()).toEqual(["graffiti", "litter", "pothole", "street-light"]);
    expect((await auditActions(lyon)).filter((action) => action === "federation.component.imported")).toHaveLength(1);
  });

  it("reports Vienna's own pothole and settings as conflicts and overwrites neither", async () => {
    const preview = await previewImport(viennaAdmin, { componentId: roads.id }, at(vienna));
    expect(preview.plugin).toMatchObject({ installed: true, enabled: true, compatible: true });
    expect(preview.items).toEqual([
      { key: "pothole", name: POTHOLE.names, action: "conflict", reason: "differs" },
      { key: "street-light", name: STREET_LIGHT.names, action: "create" },
    ]);
    const settings = Object.fromEntries(preview.settings.map((setting) => [setting.field, setting.action]));
    expect(settings).toEqual({
      anonymousReports: "conflict",
      photoMaxCount: "conflict",
      duplicateRadiusMeters: "conflict",
      duplicateWindowDays: "same",
      photoMaxBytes: "same",
      defaultListDays: "same",
    });
    const settingsBefore = (await installationOf(vienna))?.settings;

    const report = await importComponent(viennaAdmin, { componentId: roads.id }, at(vienna));
    expect(report).toMatchObject({ changed: true, applied: { installed: false, created: 1, updated: 0 } });
    expect(report.items.find((item) => item.key === "pothole")).toMatchObject({ action: "conflict", reason: "differs" });
    const categories = await categoriesOf(vienna);
    expect(categories.pothole).toMatchObject({ names: { de: "Schlagloch", en: "Hole in the road" } });
    expect(categories["street-light"]).toMatchObject({ names: STREET_LIGHT.names });
    expect((await installationOf(vienna))?.settings).toEqual(settingsBefore);
  });
});

describe("following new versions", () => {
  it("offers Paris's next version and updates only what Budapest left as imported", async () => {
    // Budapest makes the pothole its own; it leaves the street light as imported.
    const budapestPothole = (await categoriesOf(budapest)).pothole!;
    await updateServiceCategory(budapestAdmin, { id: budapestPothole.id, names: { hu: "Kátyú", en: "Pothole" } }, at(budapest));
    // Paris changes both and publishes version 2.
    const parisCategories = await categoriesOf(paris);
    await updateServiceCategory(parisAdmin, { id: parisCategories.pothole!.id, keywords: ["road", "hole", "asphalt"] }, at(paris));
    await updateServiceCategory(parisAdmin, { id: parisCategories["street-light"]!.id, names: { fr: "Éclairage public en panne", en: "Street lighting failure" } }, at(paris));
    const second = await publishComponent(parisAdmin, { componentId: roads.id, pluginId: "reporting", kind: "categories", title: { fr: "Voirie et éclairage", en: "Roads and lighting" } }, at(paris));
    expect(second).toMatchObject({ id: roads.id, latestVersion: 2, title: { en: "Roads and lighting" } });
    expect((await outboxFor(listeningPeerId)).map((activity) => activity.type)).toEqual(["Create", "Update"]);

    const [offered] = await listImports(budapestAdmin, at(budapest));
    expect(offered).toMatchObject({ version: 1, following: true, updateAvailable: true, component: { latestVersion: 2 } });

    const preview = await previewImport(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(preview.version).toBe(2);
    expect(preview.items.map(({ key, action, reason }) => ({ key, action, reason }))).toEqual([
      { key: "pothole", action: "conflict", reason: "changed_since_import" },
      { key: "street-light", action: "update", reason: undefined },
    ]);

    const report = await importComponent(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(report).toMatchObject({ version: 2, changed: true, applied: { created: 0, updated: 1 } });
    const categories = await categoriesOf(budapest);
    expect(categories.pothole).toMatchObject({ names: { hu: "Kátyú", en: "Pothole" }, keywords: ["road", "hole"] });
    expect(categories["street-light"]).toMatchObject({ names: { fr: "Éclairage public en panne", en: "Street lighting failure" } });

    const [current] = await listImports(budapestAdmin, at(budapest));
    expect(current).toMatchObject({ version: 2, updateAvailable: false });
    const again = await importComponent(budapestAdmin, { componentId: roads.id }, at(budapest));
    expect(again.changed).toBe(false);
  });

  it("keeps updating an item the city left alone, version after version", async () => {
    const parisCategories = await categoriesOf(paris);
    await updateServiceCategory(parisAdmin, { id: parisCategories["street-light"]!.id, position: 25 }, at(paris));
    await publishComponent(parisAdmin, { componentId: roads.id, pluginId: "reporting", kind: "categories", title: { en: "Roads and lighting" } }, at(paris));
    const report = await importComponent(budapestAdmin, { componentId: roads.id, version: 3 }, at(budapest));
    expect(report.items.find((item) => item.key === "street-light")).toMatchObject({ action: "update" });
    expect((await categoriesOf(budapest))["street-light"]).toMatchObject({ position: 25 });
  });

  it("numbers versions published at the same time one after the other", async () => {
    const twice = await publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Twice" } }, at(paris));
    const next = { componentId: twice.id, pluginId: "reporting", kind: "categories", title: { en: "Twice" } };
    const published = await Promise.all([publishComponent(parisAdmin, next, at(paris)), publishComponent(parisAdmin, next, at(paris))]);
    expect(published.every((entry) => entry.id === twice.id)).toBe(true);
    const details = await getComponent(parisAdmin, { componentId: twice.id }, at(paris));
    expect(details.versions.map((version) => version.version)).toEqual([3, 2, 1]);
    expect((await storedDocument(twice.id, 3)).version).toBe(3);
    await withdrawComponent(parisAdmin, { componentId: twice.id }, at(paris));
  });

  it("follows and unfollows an imported component", async () => {
    expect(await setComponentFollowing(budapestAdmin, { componentId: roads.id, following: false }, at(budapest))).toMatchObject({ following: false });
    expect(await setComponentFollowing(viennaAdmin, { componentId: roads.id, following: true }, at(vienna))).toMatchObject({ following: true, version: 1, updateAvailable: true });
    await expect(setComponentFollowing(parisAdmin, { componentId: roads.id, following: true }, at(paris))).rejects.toBeInstanceOf(NotFound);
    await expect(setComponentFollowing(budapestAdmin, { componentId: "not-an-id", following: true }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    expect(await auditActions(vienna)).toContain("federation.component.followed");
  });

  it("pages the catalogue newest first", async () => {
    const other = await publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Everything" } }, at(paris));
    const first = await listComponents(viennaAdmin, { first: 1 }, at(vienna));
    expect(first.components.map((component) => component.id)).toEqual([other.id]);
    expect(first.hasNextPage).toBe(true);
    const second = await listComponents(viennaAdmin, { first: 1, after: first.endCursor }, at(vienna));
    expect(second.components.map((component) => component.id)).toEqual([roads.id]);
    expect(second.components[0]!.imported).toEqual({ version: 1, following: true, updateAvailable: true });
    await expect(listComponents(viennaAdmin, { after: "nonsense!" }, at(vienna))).rejects.toBeInstanceOf(ValidationFailed);
    await withdrawComponent(parisAdmin, { componentId: other.id }, at(paris));
  });
});

describe("who may do what", () => {
  it("refuses staff, residents, anonymous visitors and other cities' principals", async () => {
    const publish = { pluginId: "reporting", kind: "categories", title: { en: "Mine" } };
    await expect(publishComponent(parisStaff, publish, at(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(publishComponent(parisResident, publish, at(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(publishComponent(ANONYMOUS, publish, at(paris))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(listComponents(parisStaff, {}, at(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(importComponent(parisStaff, { componentId: roads.id }, at(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(withdrawComponent(parisStaff, { componentId: roads.id }, at(paris))).rejects.toBeInstanceOf(Forbidden);
    // Budapest's admin, asking at Paris.
    await expect(withdrawComponent(budapestAdmin, { componentId: roads.id }, at(paris))).rejects.toBeInstanceOf(Forbidden);
  });

  it("answers not found to another city's admin acting on Paris's component", async () => {
    await expect(withdrawComponent(budapestAdmin, { componentId: roads.id }, at(budapest))).rejects.toBeInstanceOf(NotFound);
    await expect(
      publishComponent(viennaAdmin, { componentId: roads.id, pluginId: "reporting", kind: "categories", title: { en: "Hijacked" } }, at(vienna)),
    ).rejects.toBeInstanceOf(NotFound);
    expect((await getComponent(viennaAdmin, { componentId: roads.id }, at(vienna))).latestVersion).toBe(3);
    await expect(importComponent(parisAdmin, { componentId: roads.id }, at(paris))).rejects.toMatchObject({ reason: "own_component" });
  });
});

describe("trust", () => {
  it("refuses to import a stored version whose document was changed after signing", async () => {
    const bait = await publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Bait" } }, at(paris));
    const document = await storedDocument(bait.id, 1);
    const definitions = document.definitions as { categories: { code: string; names: Record<string, string> }[] };
    definitions.categories[0]!.names = { en: "Something else entirely" };
    await withPlatformAdmin(
      (tx) =>
        tx.federationComponentVersion.update({
          where: { componentId_version: { componentId: bait.id, version: 1 } },
          data: { document: document as unknown as Prisma.InputJsonValue },
        }),
      database,
    );
    const before = await categoriesOf(vienna);
    await expect(importComponent(viennaAdmin, { componentId: bait.id }, at(vienna))).rejects.toMatchObject({ reason: "proof_invalid" });
    expect(await categoriesOf(vienna)).toEqual(before);
    await withdrawComponent(parisAdmin, { componentId: bait.id }, at(paris));
  });
});

describe("withdrawing", () => {
  it("withdraws Paris's component: out of the catalogue, no more imports, Delete to the peers", async () => {
    const withdrawn = await withdrawComponent(parisAdmin, { componentId: roads.id }, at(paris));
    expect(withdrawn.withdrawnAt).toBeInstanceOf(Date);
    expect((await listComponents(viennaAdmin, {}, at(vienna))).components.map((component) => component.id)).not.toContain(roads.id);
    await expect(previewImport(viennaAdmin, { componentId: roads.id }, at(vienna))).rejects.toMatchObject({ reason: "withdrawn" });
    await expect(importComponent(viennaAdmin, { componentId: roads.id }, at(vienna))).rejects.toBeInstanceOf(Conflict);
    await expect(withdrawComponent(parisAdmin, { componentId: roads.id }, at(paris))).rejects.toMatchObject({ reason: "withdrawn" });
    await expect(
      publishComponent(parisAdmin, { componentId: roads.id, pluginId: "reporting", kind: "categories", title: { en: "Back" } }, at(paris)),
    ).rejects.toMatchObject({ reason: "withdrawn" });

    // Cities that imported it still see it, with nothing more to follow.
    const [imported] = await listImports(viennaAdmin, at(vienna));
    expect(imported).toMatchObject({ version: 1, updateAvailable: false, component: { id: roads.id } });
    expect(imported!.component.withdrawnAt).toBeInstanceOf(Date);
    const deletes = (await outboxFor(listeningPeerId)).filter((activity) => activity.type === "Delete");
    expect(deletes.map((activity) => activity.object)).toContain(roads.uri);
  });
});

describe("components from peers", () => {
  let graz: TestPeer;

  beforeAll(async () => {
    graz = await addPeer("https://graz.example");
  });

  it("stores a peer's signed component, once, and shows it in the catalogue", async () => {
    const document = signAs(graz, peerComponent(graz, 1));
    await receive(graz, activityOf(graz, "Create", document));
    await receive(graz, activityOf(graz, "Announce", document));
    const page = await listComponents(viennaAdmin, { city: `${graz.instanceId}/federation/cities/graz` }, at(vienna));
    expect(page.components).toHaveLength(1);
    const [entry] = page.components;
    expect(entry).toMatchObject({
      uri: document.id,
      latestVersion: 1,
      locales: ["en", "de"],
      origin: { instance: graz.instanceId, local: false, ownCity: false, author: "Peer Author", city: { slug: "graz" } },
      plugin: { compatible: true },
    });
    const stored = await storedDocument(entry!.id, 1);
    expect(stored).toEqual(document);

    // A newer version is kept; an older one arriving late changes nothing.
    const second = signAs(graz, peerComponent(graz, 2, {}, document.id as string));
    await receive(graz, activityOf(graz, "Update", second));
    await receive(graz, activityOf(graz, "Announce", document));
    const details = await getComponent(viennaAdmin, { componentId: entry!.id }, at(vienna));
    expect(details.versions.map((version) => version.version)).toEqual([2, 1]);
    expect(details.title).toEqual({ en: "Park furniture v2", de: "Parkmöbel" });

    // Imported as any other, verified with the peer's pinned keys.
    const report = await importComponent(viennaAdmin, { componentId: entry!.id }, at(vienna));
    expect(report.items).toEqual([{ key: "bench", name: { en: "Broken bench v2", de: "Kaputte Bank" }, action: "create" }]);
    expect((await categoriesOf(vienna)).bench).toMatchObject({ names: { en: "Broken bench v2", de: "Kaputte Bank" } });
  });

  it("refuses a version whose proof the peer's pinned keys do not verify", async () => {
    const signed = signAs(graz, peerComponent(graz, 1));
    const tampered = { ...signed, title: { en: "Changed on the way" } };
    expect(await refusal(receive(graz, activityOf(graz, "Create", tampered)))).toEqual({ status: 401, code: "bad_signature" });
    const stranger = { keyId: graz.keyId, privateKey: generateKeyPairSync("ed25519").privateKey };
    expect(await refusal(receive(graz, activityOf(graz, "Create", signAs(stranger, peerComponent(graz, 1)))))).toEqual({ status: 401, code: "bad_signature" });
    const unknownKey = { keyId: `${graz.instanceId}#other`, privateKey: graz.privateKey };
    expect(await refusal(receive(graz, activityOf(graz, "Create", signAs(unknownKey, peerComponent(graz, 1)))))).toEqual({ status: 401, code: "unknown_key" });
    expect((await listComponents(viennaAdmin, { locale: "de" }, at(vienna))).components.map((entry) => entry.title.en)).toEqual(["Park furniture v2"]);
  });

  it("refuses a component under another instance's id or origin, and malformed ones", async () => {
    const foreignId = signAs(graz, peerComponent(graz, 1, {}, `https://paris.example/federation/components/${randomUUID()}`));
    expect(await refusal(receive(graz, activityOf(graz, "Create", foreignId)))).toEqual({ status: 403, code: "actor_mismatch" });
    const base = peerComponent(graz, 1);
    const foreignOrigin = signAs(graz, { ...base, origin: { ...base.origin, instance: "https://paris.example" } });
    expect(await refusal(receive(graz, activityOf(graz, "Create", foreignOrigin)))).toEqual({ status: 403, code: "actor_mismatch" });
    // A lookalike host is not under the peer's id.
    const lookalike = signAs(graz, peerComponent(graz, 1, {}, `${graz.instanceId}.evil.example/federation/components/${randomUUID()}`));
    expect(await refusal(receive(graz, activityOf(graz, "Create", lookalike)))).toEqual({ status: 403, code: "actor_mismatch" });
    // Exactly `{instance id}/federation/components/{id}`: an instance served under a path of the
    // peer's host is another instance, and the peer does not speak for it.
    const notExactly = [
      `${graz.instanceId}/x/federation/components/${randomUUID()}`,
      `${graz.instanceId}/federation/components/`,
      `${graz.instanceId}/federation/cities/${randomUUID()}`,
    ];
    for (const id of notExactly) {
      expect(await refusal(receive(graz, activityOf(graz, "Create", signAs(graz, peerComponent(graz, 1, {}, id)))))).toEqual({ status: 403, code: "actor_mismatch" });
    }
    expect(await refusal(receive(graz, activityOf(graz, "Delete", notExactly[0])))).toEqual({ status: 403, code: "actor_mismatch" });
    const nestedCity = signAs(graz, { ...base, origin: { ...base.origin, city: { ...base.origin.city, id: `${graz.instanceId}/x/federation/cities/graz` } } });
    expect(await refusal(receive(graz, activityOf(graz, "Create", nestedCity)))).toEqual({ status: 403, code: "actor_mismatch" });

    const malformed = [
      signAs(graz, peerComponent(graz, 0)),
      signAs(graz, peerComponent(graz, 1, { title: {} })),
      signAs(graz, peerComponent(graz, 1, { title: { en: "x".repeat(201) } })),
      signAs(graz, peerComponent(graz, 1, { plugin: { id: "reporting", versionRange: "not a range" } })),
      signAs(graz, peerComponent(graz, 1, { definitions: null })),
      peerComponent(graz, 1),
      "just a string",
    ];
    for (const object of malformed) {
      expect(await refusal(receive(graz, activityOf(graz, "Create", object)))).toEqual({ status: 400, code: "malformed" });
    }
    expect(await refusal(receive(graz, activityOf(graz, "Like", signAs(graz, peerComponent(graz, 1)))))).toEqual({ status: 400, code: "malformed" });
    const huge = signAs(graz, peerComponent(graz, 1, { summary: { en: "x" }, definitions: { categories: [], padding: "x".repeat(1_000_000) } }));
    expect(await refusal(receive(graz, activityOf(graz, "Create", huge)))).toEqual({ status: 413, code: "too_large" });
  });

  it("withdraws a peer's component on its Delete, and only the peer's own", async () => {
    const [entry] = (await listComponents(viennaAdmin, { city: `${graz.instanceId}/federation/cities/graz` }, at(vienna))).components;
    expect(await refusal(receive(graz, activityOf(graz, "Delete", roads.uri)))).toEqual({ status: 403, code: "actor_mismatch" });
    expect((await getComponent(viennaAdmin, { componentId: roads.id }, at(vienna))).withdrawnAt).not.toBeNull();

    await receive(graz, activityOf(graz, "Delete", entry!.uri));
    await receive(graz, activityOf(graz, "Delete", entry!.uri));
    expect((await listComponents(viennaAdmin, { city: `${graz.instanceId}/federation/cities/graz` }, at(vienna))).components).toHaveLength(0);
    const [imported] = (await listImports(viennaAdmin, at(vienna))).filter((item) => item.component.id === entry!.id);
    expect(imported!.component.withdrawnAt).toBeInstanceOf(Date);
  });

  it("hides a peer's components while its peering is suspended or unfinished", async () => {
    const hidden = await addPeer("https://hidden.example");
    const document = signAs(hidden, peerComponent(hidden, 1));
    await receive(hidden, activityOf(hidden, "Create", document));
    const entry = await entryByUri(lyon, lyonAdmin, document.id);
    expect(entry).toBeDefined();
    await importComponent(lyonAdmin, { componentId: entry!.id, follow: true }, at(lyon));
    await receive(hidden, activityOf(hidden, "Update", signAs(hidden, peerComponent(hidden, 2, {}, document.id))));
    const offered = async () => (await listImports(lyonAdmin, at(lyon))).find((item) => item.component.id === entry!.id)?.updateAvailable;
    expect(await offered()).toBe(true);

    for (const state of [{ suspended: true }, { suspended: false, remoteAccepted: false }, { remoteAccepted: true, localAccepted: false }]) {
      await setPeer(hidden, state);
      expect(await entryByUri(lyon, lyonAdmin, document.id)).toBeUndefined();
      expect(await entryByUri(vienna, viennaAdmin, document.id)).toBeUndefined();
      await expect(getComponent(viennaAdmin, { componentId: entry!.id }, at(vienna))).rejects.toBeInstanceOf(NotFound);
      await expect(previewImport(viennaAdmin, { componentId: entry!.id }, at(vienna))).rejects.toBeInstanceOf(NotFound);
      await expect(importComponent(viennaAdmin, { componentId: entry!.id }, at(vienna))).rejects.toBeInstanceOf(NotFound);
      await expect(importComponent(lyonAdmin, { componentId: entry!.id }, at(lyon))).rejects.toBeInstanceOf(NotFound);
      // Lyon still sees what it imported, with nothing to take from it meanwhile.
      expect(await offered()).toBe(false);
    }

    await setPeer(hidden, { localAccepted: true });
    expect(await entryByUri(vienna, viennaAdmin, document.id)).toMatchObject({ latestVersion: 2 });
    expect(await offered()).toBe(true);
    expect((await previewImport(lyonAdmin, { componentId: entry!.id }, at(lyon))).version).toBe(2);
  });

  it("never takes a mail server, sender address or city text from a peer's preset, even when its document carries them", async () => {
    const rome = await createCity(database, { slug: "rome" });
    await setLanguages(rome, { it: "Roma", en: "Rome" }, ["it", "en"]);
    const romeAdmin = await personOf(database, rome, ["admin"]);
    const settings = {
      photoMaxCount: 1,
      smtp: { host: "smtp.graz.example", port: 25, secure: false, user: "relay" },
      notificationsFrom: "noreply@graz.example",
      agencyName: { en: "Graz roads office" },
      constructor: { polluted: true },
    };
    const document = signAs(graz, peerComponent(graz, 1, { settings }));
    await receive(graz, activityOf(graz, "Create", document));
    const entry = await entryByUri(rome, romeAdmin, document.id);

    const preview = await previewImport(romeAdmin, { componentId: entry!.id }, at(rome));
    expect(Object.fromEntries(preview.settings.map((setting) => [setting.field, setting.action]))).toEqual({
      photoMaxCount: "set",
      smtp: "dropped",
      notificationsFrom: "dropped",
      agencyName: "dropped",
      constructor: "dropped",
    });
    expect(preview.settings.find((setting) => setting.field === "smtp")?.reason).toBeTruthy();

    const report = await importComponent(romeAdmin, { componentId: entry!.id }, at(rome));
    expect(report.applied).toMatchObject({ installed: true, created: 1 });
    const installation = await installationOf(rome);
    expect(installation?.settings).toMatchObject({ photoMaxCount: 1, smtp: null, notificationsFrom: "", agencyName: {} });
    expect(JSON.stringify(installation?.settings)).not.toContain("graz");
    expect(Object.hasOwn(installation?.settings as object, "constructor")).toBe(false);
  });

  it("leaves a city's own item that equals the component's to the city: a later version offers a conflict, not an update", async () => {
    const salzburg = await createCity(database, { slug: "salzburg" });
    await setLanguages(salzburg, { de: "Salzburg", en: "Salzburg" }, ["de", "en"]);
    await runReporting(database, salzburg);
    const salzburgAdmin = await personOf(database, salzburg, ["admin"]);
    await defineServiceCategory(salzburgAdmin, { code: "bench", names: { en: "Broken bench v1", de: "Kaputte Bank" }, keywords: ["bench"], position: 5 }, at(salzburg));

    const first = signAs(graz, peerComponent(graz, 1));
    await receive(graz, activityOf(graz, "Create", first));
    const entry = await entryByUri(salzburg, salzburgAdmin, first.id);
    const report = await importComponent(salzburgAdmin, { componentId: entry!.id, follow: true }, at(salzburg));
    expect(report.items).toEqual([{ key: "bench", name: { en: "Broken bench v1", de: "Kaputte Bank" }, action: "unchanged" }]);

    await receive(graz, activityOf(graz, "Update", signAs(graz, peerComponent(graz, 2, {}, first.id))));
    const preview = await previewImport(salzburgAdmin, { componentId: entry!.id }, at(salzburg));
    expect(preview.items).toEqual([{ key: "bench", name: { en: "Broken bench v2", de: "Kaputte Bank" }, action: "conflict", reason: "differs" }]);
    await importComponent(salzburgAdmin, { componentId: entry!.id }, at(salzburg));
    expect((await categoriesOf(salzburg)).bench).toMatchObject({ names: { en: "Broken bench v1", de: "Kaputte Bank" } });
  });

  it("imports a peer's version after the peer rotated out the key that verified it on receipt", async () => {
    const fresh = signAs(graz, peerComponent(graz, 1));
    await receive(graz, activityOf(graz, "Create", fresh));
    const entry = await entryByUri(budapest, budapestAdmin, fresh.id);
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    await setPeer(graz, { keys: [{ id: `${graz.instanceId}#k2`, publicKeyPem: other, status: "current" }] });
    try {
      const report = await importComponent(budapestAdmin, { componentId: entry!.id }, at(budapest));
      expect(report.items).toEqual([{ key: "bench", name: { en: "Broken bench v1", de: "Kaputte Bank" }, action: "create" }]);
      expect((await categoriesOf(budapest)).bench).toMatchObject({ names: { en: "Broken bench v1", de: "Kaputte Bank" } });
    } finally {
      await setPeer(graz, { keys: [{ id: graz.keyId, publicKeyPem: graz.publicKeyPem, status: "current" }] });
    }
  });

  it("refuses a peer's version changed after receipt while the key that verified it is pinned", async () => {
    const fresh = signAs(graz, peerComponent(graz, 1));
    await receive(graz, activityOf(graz, "Create", fresh));
    const entry = await entryByUri(vienna, viennaAdmin, fresh.id);
    const document = await storedDocument(entry!.id, 1);
    (document.definitions as { categories: { names: Record<string, string> }[] }).categories[0]!.names = { en: "Not what was signed" };
    await withPlatformAdmin(
      (tx) =>
        tx.federationComponentVersion.update({
          where: { componentId_version: { componentId: entry!.id, version: 1 } },
          data: { document: document as unknown as Prisma.InputJsonValue },
        }),
      database,
    );
    await expect(importComponent(viennaAdmin, { componentId: entry!.id }, at(vienna))).rejects.toMatchObject({ reason: "proof_invalid" });
  });

  it("keeps the new proof of a version it holds when the peer signs it again with its new key", async () => {
    const document = signAs(graz, peerComponent(graz, 1));
    await receive(graz, activityOf(graz, "Create", document));
    const entry = await entryByUri(vienna, viennaAdmin, document.id);
    // Graz rotates: k2 is current, k1 retired and still accepted for a while.
    const next = generateKeyPairSync("ed25519");
    const k2 = { keyId: `${graz.instanceId}#k2`, privateKey: next.privateKey, publicKeyPem: next.publicKey.export({ type: "spki", format: "pem" }).toString() };
    const retired = { id: graz.keyId, publicKeyPem: graz.publicKeyPem, status: "retired", expires: new Date(Date.now() + 3_600_000).toISOString() };
    await setPeer(graz, { keys: [{ id: k2.keyId, publicKeyPem: k2.publicKeyPem, status: "current" }, retired] });
    try {
      const resigned = signAs(k2, document);
      await receive(graz, activityOf(graz, "Announce", resigned));
      expect(await storedDocument(entry!.id, 1)).toEqual(resigned);
      const keyId = async () =>
        (await withPlatformAdmin((tx) => tx.federationComponentVersion.findUniqueOrThrow({ where: { componentId_version: { componentId: entry!.id, version: 1 } } }), database)).keyId;
      expect(await keyId()).toBe(k2.keyId);

      // Another content under the same version number is no copy: it changes nothing.
      await receive(graz, activityOf(graz, "Announce", signAs(k2, { ...document, title: { en: "Something else" } })));
      expect(await storedDocument(entry!.id, 1)).toEqual(resigned);
      // Nor does the old copy arriving late.
      await receive(graz, activityOf(graz, "Announce", document));
      expect(await keyId()).toBe(k2.keyId);

      // k1 is gone; the version verifies with k2.
      await setPeer(graz, { keys: [{ id: k2.keyId, publicKeyPem: k2.publicKeyPem, status: "current" }] });
      expect(withoutProof(resigned)).toEqual(withoutProof(document));
      const report = await importComponent(viennaAdmin, { componentId: entry!.id }, at(vienna));
      expect(report.changed).toBe(true);
    } finally {
      await setPeer(graz, { keys: [{ id: graz.keyId, publicKeyPem: graz.publicKeyPem, status: "current" }] });
    }
  });

  it("announces this instance's current catalogue to a peer whose peering just became active", async () => {
    const current = await publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Current" } }, at(paris));
    const newcomer = await addPeer("https://newcomer.example", { active: false });
    // A peer that does not take components gets none.
    await withPlatformAdmin((tx) => onPeerActivated(tx, { id: newcomer.id, discovery: { capabilities: ["peering", "datasets"] } }), database);
    expect(await outboxFor(newcomer.id)).toEqual([]);
    await withPlatformAdmin((tx) => onPeerActivated(tx, { id: newcomer.id }), database);
    const sent = await outboxFor(newcomer.id);
    const local = await withPlatformAdmin(
      (tx) => tx.federationComponent.findMany({ where: { originTenantId: { not: null }, withdrawnAt: null }, select: { uri: true } }),
      database,
    );
    expect(local.length).toBeGreaterThan(0);
    expect(sent.map((activity) => activity.type)).toEqual(local.map(() => "Announce"));
    expect(sent.map((activity) => (activity.object as { id: string }).id).sort()).toEqual(local.map((row) => row.uri).sort());
    // Withdrawn ones and the peers' are not announced.
    expect(sent.map((activity) => (activity.object as { id: string }).id)).toContain(current.uri);
    expect(sent.map((activity) => (activity.object as { id: string }).id)).not.toContain(roads.uri);
  });

  it("after this instance rotates its key: its versions still import, and a new peer gets them signed with the current key", async () => {
    const before = await publishComponent(parisAdmin, { pluginId: "reporting", kind: "categories", title: { en: "Before the rotation" } }, at(paris));
    await withPlatformAdmin((tx) => rotateKey(tx), database);
    const { keyId } = await currentKey(database);
    expect((await storedDocument(before.id, 1)).proof.keyId).not.toBe(keyId);

    const report = await importComponent(lyonAdmin, { componentId: before.id }, at(lyon));
    expect(report.version).toBe(1);

    const later = await addPeer("https://later.example", { active: false });
    await withPlatformAdmin((tx) => onPeerActivated(tx, { id: later.id }), database);
    const announced = (await outboxFor(later.id)).map((activity) => activity.object as Record<string, unknown> & { id: string; proof: { keyId: string } });
    const sentBefore = announced.find((document) => document.id === before.uri);
    expect(sentBefore?.proof.keyId).toBe(keyId);
    expect(withoutProof(sentBefore!)).toEqual(withoutProof(await storedDocument(before.id, 1)));
    const published = await publishedKeys(database);
    for (const document of announced) {
      expect(document.proof.keyId).toBe(keyId);
      expect(verifyDocument(document, published)).toBe(true);
    }
  });
});
