// A city's plugins over their life: install with requirements and settings checked, enable and
// disable, configure, upgrade with the settings migration, uninstall keeping or purging data;
// every step audited, and one city's steps never touching another's. PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { Conflict, Forbidden, NotFound, ValidationFailed } from "../auth/errors";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { addToCatalogue, removeFromCatalogue } from "./catalogue.server";
import { enabledPluginIds } from "./enablement.server";
import {
  configurePlugin,
  installPlugin,
  listCityPlugins,
  MASK,
  setPluginEnabled,
  uninstallPlugin,
  upgradePlugin,
} from "./lifecycle.server";
import { definePlugin, PluginDefinitionError, translatedSetting, type PluginManifest, type PluginTranslations } from "./sdk.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { postNotice, currentNotices } from "../../plugins/notice-board/notices.server";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;

const adminOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });
const staffOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["staff"] });

function texts(id: string): PluginTranslations {
  return Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, { plugin: { name: `${id} ${locale}`, description: `About ${id}` } }])) as unknown as PluginTranslations;
}

function testPlugin(id: string, extra: Partial<PluginManifest> = {}) {
  return definePlugin({
    id,
    version: "1.0.0",
    name: `${id}:plugin.name`,
    description: `${id}:plugin.description`,
    category: "other",
    icon: "box",
    translations: texts(id),
    ...extra,
  });
}

const mailer = testPlugin("test-mailer", {
  version: "2.1.0",
  settings: {
    schema: z.strictObject({
      sender: z.email({ error: "must be an email address" }),
      greeting: translatedSetting({ maxLength: 40 }),
      password: z.string().min(1),
    }),
    defaults: { sender: "city@example.org", greeting: {}, password: "initial-secret" },
    translatable: ["greeting"],
    secrets: ["password"],
  },
});
const relay = testPlugin("test-relay", {
  settings: {
    schema: z.strictObject({ smtp: z.strictObject({ host: z.string().min(1), password: z.string().min(1) }) }),
    defaults: { smtp: { host: "mail.city.example", password: "relay-secret" } },
    secrets: ["smtp.password"],
  },
});
const digest = testPlugin("test-digest", { requires: { plugins: { "test-mailer": "^2.0.0" } } });
const tooNew = testPlugin("test-future", { requires: { core: ">=9.0.0" } });
const wantsOld = testPlugin("test-legacy", { requires: { plugins: { "test-mailer": "^1.0.0" } } });

const eventsOf = (city: TestCity, pluginId: string) =>
  withTenant(city.id, (tx) => tx.auditEvent.findMany({ where: { subjectType: "plugin", subjectId: pluginId }, orderBy: { occurredAt: "asc" } }), database);

const service = (city: TestCity) => ({ tenantId: city.id, database });

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
  for (const plugin of [mailer, digest, tooNew, wantsOld, relay]) addToCatalogue(plugin);
});

afterAll(async () => {
  for (const plugin of [mailer, digest, tooNew, wantsOld, relay]) removeFromCatalogue(plugin.id);
  await database?.drop();
});

describe("the plugin contract", () => {
  it("refuses a manifest with a bad id, version, range, missing translations or defaults that fail the schema", () => {
    expect(() => testPlugin("Bad_Id")).toThrow(PluginDefinitionError);
    expect(() => testPlugin("ok-id", { version: "one" })).toThrow(/not semver/);
    expect(() => testPlugin("ok-id", { requires: { core: "not a range" } })).toThrow(/requires.core/);
    expect(() => testPlugin("ok-id", { translations: { ...texts("ok-id"), hu: undefined } as unknown as PluginTranslations })).toThrow(/translations for hu/);
    expect(() =>
      testPlugin("ok-id", { settings: { schema: z.strictObject({ n: z.number().max(3) }), defaults: { n: 9 } } }),
    ).toThrow(/defaults do not pass/);
    expect(() => testPlugin("common")).toThrow(PluginDefinitionError);
  });
});

describe("a city's plugin lifecycle", () => {
  it("installs with defaults and given settings, enabled, audited, and only in that city", async () => {
    const installed = await installPlugin(adminOf(paris), { pluginId: "test-mailer", settings: { greeting: { en: "Hello" } } }, service(paris));
    expect(installed).toMatchObject({ state: "enabled", installedVersion: "2.1.0", upgradable: false });
    expect(installed.settings).toEqual({ sender: "city@example.org", greeting: { en: "Hello" }, password: MASK });
    expect((await enabledPluginIds(paris.id, database)).has("test-mailer")).toBe(true);
    expect((await enabledPluginIds(budapest.id, database)).has("test-mailer")).toBe(false);
    const [event] = await eventsOf(paris, "test-mailer");
    expect(event).toMatchObject({ action: "plugin.installed", actorId: paris.userId });
    // The audit log never holds the secret.
    expect(JSON.stringify(event?.after)).not.toContain("initial-secret");
    await expect(installPlugin(adminOf(paris), { pluginId: "test-mailer" }, service(paris))).rejects.toBeInstanceOf(Conflict);
  });

  it("refuses invalid settings field by field, and a language the city does not use", async () => {
    const attempt = installPlugin(adminOf(budapest), { pluginId: "test-mailer", settings: { sender: "nobody", extra: 1 } }, service(budapest));
    await expect(attempt).rejects.toBeInstanceOf(ValidationFailed);
    const error = (await attempt.catch((e: unknown) => e)) as ValidationFailed;
    expect(Object.keys(error.fields)).toEqual(expect.arrayContaining(["sender"]));
    const foreign = (await installPlugin(adminOf(budapest), { pluginId: "test-mailer", settings: { greeting: { zh: "你好" } } }, service(budapest)).catch(
      (e: unknown) => e,
    )) as ValidationFailed;
    expect(foreign).toBeInstanceOf(ValidationFailed);
    expect(foreign.fields.greeting?.[0]).toMatch(/zh is not one of the city's languages/);
    // Nothing was installed by the refused attempts.
    expect((await enabledPluginIds(budapest.id, database)).has("test-mailer")).toBe(false);
  });

  it("checks requirements: the core's version, and required plugins installed, enabled, in range", async () => {
    await expect(installPlugin(adminOf(paris), { pluginId: "test-future" }, service(paris))).rejects.toThrow(/needs Civitas >=9.0.0/);
    await expect(installPlugin(adminOf(budapest), { pluginId: "test-digest" }, service(budapest))).rejects.toThrow(/needs the service test-mailer/);
    await expect(installPlugin(adminOf(paris), { pluginId: "test-legacy" }, service(paris))).rejects.toThrow(/needs test-mailer \^1.0.0, the city runs 2.1.0/);
    const digestInstalled = await installPlugin(adminOf(paris), { pluginId: "test-digest" }, service(paris));
    expect(digestInstalled.state).toBe("enabled");
  });

  it("will not disable or uninstall a plugin another one needs", async () => {
    await expect(setPluginEnabled(adminOf(paris), { pluginId: "test-mailer", enabled: false }, service(paris))).rejects.toThrow(/Disable test-digest first/);
    await setPluginEnabled(adminOf(paris), { pluginId: "test-digest", enabled: false }, service(paris));
    await expect(uninstallPlugin(adminOf(paris), { pluginId: "test-mailer" }, service(paris))).rejects.toThrow(/Uninstall test-digest first/);
    const off = await setPluginEnabled(adminOf(paris), { pluginId: "test-mailer", enabled: false }, service(paris));
    expect(off.state).toBe("disabled");
    expect((await enabledPluginIds(paris.id, database)).has("test-mailer")).toBe(false);
    // Enabling checks the requirements again.
    await expect(setPluginEnabled(adminOf(paris), { pluginId: "test-digest", enabled: true }, service(paris))).rejects.toThrow(/needs the service test-mailer/);
    await setPluginEnabled(adminOf(paris), { pluginId: "test-mailer", enabled: true }, service(paris));
    expect((await eventsOf(paris, "test-mailer")).map((event) => event.action)).toEqual(["plugin.installed", "plugin.disabled", "plugin.enabled"]);
  });

  it("configures: given settings over the current, the whole validated, a masked secret kept", async () => {
    const configured = await configurePlugin(adminOf(paris), { pluginId: "test-mailer", settings: { sender: "streets@paris.example", password: MASK } }, service(paris));
    expect(configured.settings).toMatchObject({ sender: "streets@paris.example", greeting: { en: "Hello" }, password: MASK });
    const stored = await withPlatformAdmin(
      (tx) => tx.pluginInstallation.findUniqueOrThrow({ where: { tenantId_pluginId: { tenantId: paris.id, pluginId: "test-mailer" } } }),
      database,
    );
    expect((stored.settings as { password: string }).password).toBe("initial-secret");
    await expect(configurePlugin(adminOf(paris), { pluginId: "test-mailer", settings: { sender: "" } }, service(paris))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(configurePlugin(adminOf(paris), { pluginId: "test-mailer", settings: "nope" as never }, service(paris))).rejects.toBeInstanceOf(ValidationFailed);
  });

  it("never sends a kept secret to a server the configure changed: the password must be typed again", async () => {
    await installPlugin(adminOf(budapest), { pluginId: "test-relay" }, service(budapest));
    const moved = configurePlugin(adminOf(budapest), { pluginId: "test-relay", settings: { smtp: { host: "evil.example", password: MASK } } }, service(budapest));
    await expect(moved).rejects.toBeInstanceOf(ValidationFailed);
    const same = await configurePlugin(adminOf(budapest), { pluginId: "test-relay", settings: { smtp: { host: "mail.city.example", password: MASK } } }, service(budapest));
    expect(same.settings).toEqual({ smtp: { host: "mail.city.example", password: MASK } });
    const retyped = await configurePlugin(adminOf(budapest), { pluginId: "test-relay", settings: { smtp: { host: "relay.city.example", password: "new-secret" } } }, service(budapest));
    expect(retyped.settings).toEqual({ smtp: { host: "relay.city.example", password: MASK } });
  });

  it("upgrades a city's older version, migrating its settings, and says when there is nothing to upgrade", async () => {
    // As if Budapest had installed the board's 1.0.0, whose setting was called `limit`.
    await withPlatformAdmin(
      (tx) =>
        tx.pluginInstallation.update({
          where: { tenantId_pluginId: { tenantId: budapest.id, pluginId: "notice-board" } },
          data: { version: "1.0.0", settings: { heading: {}, limit: 3 } },
        }),
      database,
    );
    const before = (await listCityPlugins(adminOf(budapest), service(budapest))).find((plugin) => plugin.id === "notice-board");
    expect(before).toMatchObject({ installedVersion: "1.0.0", upgradable: true });
    const upgraded = await upgradePlugin(adminOf(budapest), { pluginId: "notice-board" }, service(budapest));
    expect(upgraded).toMatchObject({ installedVersion: "1.1.0", upgradable: false, settings: { heading: {}, maxNotices: 3 } });
    await expect(upgradePlugin(adminOf(budapest), { pluginId: "notice-board" }, service(budapest))).rejects.toThrow(/already runs notice-board 1.1.0/);
    expect((await eventsOf(budapest, "notice-board")).map((event) => event.action)).toEqual(["plugin.upgraded"]);
  });

  it("uninstalls keeping the data, or purging it only when confirmed", async () => {
    const staff = staffOf(budapest);
    await postNotice(staff, { title: { en: "Road closed" } }, service(budapest));
    const notices = await withTenant(budapest.id, (tx) => tx.noticeBoardNotice.count(), database);
    expect(notices).toBeGreaterThan(0);
    await uninstallPlugin(adminOf(budapest), { pluginId: "notice-board" }, service(budapest));
    expect(await withTenant(budapest.id, (tx) => tx.noticeBoardNotice.count(), database)).toBe(notices);
    // The board is gone for Budapest (not found), its rows stay; reinstalling shows them again.
    await expect(currentNotices(service(budapest))).rejects.toBeInstanceOf(NotFound);
    await installPlugin(adminOf(budapest), { pluginId: "notice-board" }, service(budapest));
    expect(await currentNotices(service(budapest))).toHaveLength(notices);

    await expect(uninstallPlugin(adminOf(budapest), { pluginId: "notice-board", purge: true }, service(budapest))).rejects.toBeInstanceOf(ValidationFailed);
    await expect(uninstallPlugin(adminOf(budapest), { pluginId: "notice-board", purge: true, confirmPurge: "yes" }, service(budapest))).rejects.toBeInstanceOf(ValidationFailed);
    await uninstallPlugin(adminOf(budapest), { pluginId: "notice-board", purge: true, confirmPurge: "notice-board" }, service(budapest));
    expect(await withTenant(budapest.id, (tx) => tx.noticeBoardNotice.count(), database)).toBe(0);
    expect((await eventsOf(budapest, "notice-board")).map((event) => event.action)).toEqual([
      "plugin.upgraded",
      "plugin.uninstalled",
      "plugin.installed",
      "plugin.purged",
    ]);
  });

  it("needs plugins.manage at the city, and never reaches another city's installations", async () => {
    await expect(installPlugin(staffOf(paris), { pluginId: "notice-board" }, service(paris))).rejects.toBeInstanceOf(Forbidden);
    // Budapest's admin at Paris' address: refused; in Budapest, Paris' plugins are not theirs.
    await expect(setPluginEnabled(adminOf(budapest), { pluginId: "test-mailer", enabled: false }, service(paris))).rejects.toBeInstanceOf(Forbidden);
    await expect(configurePlugin(adminOf(budapest), { pluginId: "test-mailer", settings: {} }, service(budapest))).rejects.toThrow(/not installed/);
    await expect(installPlugin(adminOf(paris), { pluginId: "no-such-plugin" }, service(paris))).rejects.toBeInstanceOf(NotFound);
    expect((await enabledPluginIds(paris.id, database)).has("test-mailer")).toBe(true);
  });
});
