// Plugins' background jobs: run for each active city that has the plugin enabled, at the job's
// pace, and one city's failure does not stop the others'.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { withPlatformAdmin } from "../db/database.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { addToCatalogue, removeFromCatalogue } from "./catalogue.server";
import { startPluginJobs } from "./jobs.server";
import { definePlugin, type PluginTranslations } from "./sdk.server";

let database: TestDatabase;
let running: TestCity;
let disabled: TestCity;
let suspended: TestCity;
let failing: TestCity;
const runs: string[] = [];

const plugin = definePlugin({
  id: "test-sweeper",
  version: "1.0.0",
  name: "test-sweeper:plugin.name",
  description: "test-sweeper:plugin.description",
  category: "other",
  icon: "box",
  translations: Object.fromEntries(SUPPORTED_LOCALES.map((locale) => [locale, { plugin: { name: "Sweeper", description: "Sweeps" } }])) as unknown as PluginTranslations,
  jobs: [
    {
      name: "sweep",
      everySeconds: 60,
      run: async ({ tenantId, settings }) => {
        if (tenantId === failing.id) throw new Error("mail server down");
        runs.push(`${tenantId}:${String(settings.mark)}`);
      },
    },
  ],
});

const install = (city: TestCity, enabled = true) =>
  withPlatformAdmin((tx) => tx.pluginInstallation.create({ data: { tenantId: city.id, pluginId: plugin.id, version: "1.0.0", enabled, settings: { mark: city.slug } } }), database);

beforeAll(async () => {
  database = await createTestDatabase();
  [running, disabled, suspended, failing] = await Promise.all([createCity(database), createCity(database), createCity(database, { status: "suspended" }), createCity(database)]);
  addToCatalogue(plugin);
  await install(running);
  await install(disabled, false);
  await install(suspended);
  await install(failing);
});

afterAll(async () => {
  removeFromCatalogue(plugin.id);
  await database?.drop();
});

describe("plugin jobs", () => {
  it("run for active cities with the plugin enabled, at the job's pace, failures reported", async () => {
    let clock = 1_000_000;
    const log: string[] = [];
    const jobs = startPluginJobs({ database, tickMs: 3_600_000, now: () => clock, log: (line) => log.push(line) });
    try {
      await jobs.tick();
      expect(runs).toEqual([`${running.id}:${running.slug}`]);
      expect(log.join("\n")).toContain(`test-sweeper/sweep/${failing.id} failed: mail server down`);
      clock += 30_000;
      await jobs.tick();
      expect(runs).toHaveLength(1);
      clock += 31_000;
      await jobs.tick();
      expect(runs).toHaveLength(2);
    } finally {
      await jobs.stop();
    }
  });
});
