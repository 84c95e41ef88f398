// The notice board: the smallest complete plugin, kept small on purpose. docs/plugins.md walks
// through it: manifest, settings and their migration, a table, a service, GraphQL, a page.
import { definePlugin } from "../../app/plugins/sdk.server";
import { translations } from "./locales";
import { defaultSettings, PLUGIN_ID, settingsSchema } from "./settings";

export default definePlugin({
  id: PLUGIN_ID,
  version: "1.1.0",
  name: "notice-board:plugin.name",
  description: "notice-board:plugin.description",
  category: "information",
  icon: "megaphone",
  requires: { core: ">=0.1.0 <1.0.0" },
  settings: {
    schema: settingsSchema,
    defaults: defaultSettings,
    translatable: ["heading"],
    // The heading is the city's own text; how many notices to show may travel with a component.
    portable: ["maxNotices"],
    // 1.0.0 called the number of notices shown `limit`.
    migrations: [
      {
        to: "1.1.0",
        migrate: ({ limit, ...rest }) => ({ ...rest, maxNotices: typeof limit === "number" ? limit : defaultSettings.maxNotices }),
      },
    ],
  },
  permissions: [{ id: "notice_board.publish", description: "notice-board:permission.publish", grantedTo: ["staff"], clientScope: "write" }],
  translations,
  graphql: () => import("./graphql"),
  pages: [{ path: "", title: "notice-board:page.title" }],
  purge: async ({ tx, tenantId }) => {
    await tx.noticeBoardNotice.deleteMany({ where: { tenantId } });
  },
});
