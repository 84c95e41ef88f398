// Reporting: residents report non-emergency issues in public space (FixMyStreet, DansMaRue),
// staff triage them, everyone follows them; Open311 GeoReport v2 on the same services.
// The manifest imports data only (settings, translations); behaviour is loaded when used, so the
// catalogue never pulls the services in (they import the core, which reads the catalogue).
import { definePlugin, type PluginCityContext } from "../../app/plugins/sdk.server";
import { SUPPORTED_LOCALES } from "../../app/i18n/locales";
import { translations } from "./locales";
import { readSettings, REPORTING_DEFAULTS, REPORTING_PLUGIN_ID, reportingSettingsSchema } from "./settings.server";

/** A text of the plugin's namespace in every shipped language (seeded categories). */
function inEveryLanguage(key: string): Record<string, string> {
  const lookup = (tree: unknown, path: string[]): unknown =>
    path.reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), tree);
  const path = key.replace(/^reporting:/, "").split(".");
  return Object.fromEntries(SUPPORTED_LOCALES.flatMap((locale) => {
    const text = lookup(translations[locale], path);
    return typeof text === "string" ? [[locale, text]] : [];
  }));
}

// What a new city starts with; staff rename, extend or archive them.
const DEFAULT_CATEGORIES = [
  { code: "pothole", name: "reporting:plugin.defaultCategory.pothole", group: "reporting:plugin.defaultGroup.roads", keywords: ["road", "hole"] },
  { code: "street-light", name: "reporting:plugin.defaultCategory.streetLight", group: "reporting:plugin.defaultGroup.roads", keywords: ["lamp", "light"] },
  { code: "graffiti", name: "reporting:plugin.defaultCategory.graffiti", group: "reporting:plugin.defaultGroup.cleanliness", keywords: ["tag", "paint"] },
  { code: "litter", name: "reporting:plugin.defaultCategory.litter", group: "reporting:plugin.defaultGroup.cleanliness", keywords: ["rubbish", "waste", "dumping"] },
] as const;

type Figures = Awaited<ReturnType<(typeof import("./kpis.server"))["computeKpis"]>>;

const kpi = (id: string, name: string, pick: (figures: Figures) => unknown) => ({
  id,
  name,
  compute: async ({ tx, tenantId }: PluginCityContext) => {
    const { computeKpis, kpiPeriod } = await import("./kpis.server");
    const now = new Date();
    return pick(await computeKpis(tx, tenantId, { ...kpiPeriod({}, now), now }));
  },
});

export default definePlugin({
  id: REPORTING_PLUGIN_ID,
  version: "1.0.0",
  name: "reporting:plugin.name",
  description: "reporting:plugin.description",
  category: "reporting",
  icon: "megaphone",
  requires: { core: ">=0.1.0 <1.0.0" },
  settings: {
    schema: reportingSettingsSchema,
    defaults: REPORTING_DEFAULTS,
    translatable: ["agencyName"],
    secrets: ["smtp.password"],
    // What a categories component carries to another city: how reporting works. The mail server,
    // the From address and the agency's name are the city's own.
    portable: ["anonymousReports", "duplicateRadiusMeters", "duplicateWindowDays", "photoMaxBytes", "photoMaxCount", "defaultListDays"],
  },
  permissions: [
    { id: "reporting.report", description: "reporting:permission.report", grantedTo: ["resident"], clientScope: "write" },
    // Not for machine clients: an integration given `write` to file reports must not read
    // reporters' contact details or close requests.
    { id: "reporting.triage", description: "reporting:permission.triage", grantedTo: ["staff"] },
    { id: "reporting.configure", description: "reporting:permission.configure", grantedTo: ["admin"] },
  ],
  translations,
  graphql: () => import("./graphql"),
  endpoints: [{ name: "open311", handler: async () => (await import("./open311/routes.server")).open311Routes() }],
  pages: [
    { path: "", title: "reporting:page.report.title" },
    { path: "requests/:trackingId", title: "reporting:page.tracking.title" },
    { path: "staff", title: "reporting:staff.list.title" },
    { path: "staff/dashboard", title: "reporting:staff.dashboard.title" },
    { path: "staff/categories", title: "reporting:staff.categories.title" },
  ],
  account: async (context) => (await import("./account.server")).accountSection(context),
  demo: async ({ tenantId, slug, database, log }) => {
    const { ensureDemoOpen311Client } = await import("./open311/demo.server");
    if (await ensureDemoOpen311Client({ tenantId, slug, database })) log(`open311: ${slug}'s demo api_key is ${slug}-open311-demo.demo (README)`);
  },
  install: async ({ tx, tenantId }) => {
    const { insertCategory } = await import("./categories.server");
    const existing = await tx.reportingCategory.count({ where: { tenantId } });
    if (existing > 0) return; // reinstalled after an uninstall that kept the data
    for (const [position, category] of DEFAULT_CATEGORIES.entries()) {
      await insertCategory(tx, tenantId, {
        code: category.code,
        names: inEveryLanguage(category.name),
        groupNames: inEveryLanguage(category.group),
        keywords: [...category.keywords],
        position: position * 10,
      });
    }
  },
  purge: async ({ tx, tenantId }) => {
    // History, followers and photos go with their requests (ON DELETE CASCADE).
    await tx.reportingOutboxMessage.deleteMany({ where: { tenantId } });
    await tx.reportingRequest.deleteMany({ where: { tenantId } });
    await tx.reportingCategory.deleteMany({ where: { tenantId } });
  },
  jobs: [
    {
      name: "deliver-notifications",
      everySeconds: 60,
      run: async ({ tenantId, settings, database }) => {
        const { deliverOutbox } = await import("./notifications.server");
        await deliverOutbox({ tenantId, settings: readSettings(settings), database });
      },
    },
  ],
  kpis: [
    kpi("volume", "reporting:kpi.volume", (figures) => ({ total: figures.total, volume: figures.volume })),
    kpi("median-acknowledge", "reporting:kpi.medianAcknowledge", (figures) => figures.medianSecondsToAcknowledge),
    kpi("median-close", "reporting:kpi.medianClose", (figures) => figures.medianSecondsToClose),
    kpi("backlog", "reporting:kpi.backlog", (figures) => figures.backlog),
  ],
  federation: {
    components: [
      { kind: "categories", name: "reporting:plugin.categoriesComponent", handler: async () => (await import("./federation.server")).categoriesComponent },
    ],
    datasets: [
      {
        id: "request-statistics",
        name: "reporting:plugin.statisticsDataset",
        description: "reporting:plugin.statisticsDatasetDescription",
        keywords: ["service requests", "Open311", "public works"],
        fields: [
          { name: "category", type: "string", description: "reporting:plugin.statisticsField.category" },
          { name: "categoryName", type: "translated", description: "reporting:plugin.statisticsField.categoryName" },
          { name: "month", type: "string", description: "reporting:plugin.statisticsField.month" },
          { name: "received", type: "integer", description: "reporting:plugin.statisticsField.received" },
          { name: "closed", type: "integer", description: "reporting:plugin.statisticsField.closed" },
          { name: "open", type: "integer", description: "reporting:plugin.statisticsField.open" },
          { name: "medianHoursToClose", type: "number", description: "reporting:plugin.statisticsField.medianHoursToClose" },
        ],
        handler: async () => (await import("./federation.server")).requestStatisticsDataset,
      },
    ],
  },
});
