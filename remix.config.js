// Remix classic compiler (see docs/decisions on the classic compiler and its way out).
// The server build is one ESM module that server.ts imports; the browser build goes to
// public/build, which server.ts serves with a long cache (file names carry a content hash).

import { readdirSync } from "node:fs";

/**
 * Each plugin's pages, plugins/<id>/pages/<name>.tsx, at /services/<id>/<name> (and under
 * /{slug}/ on the platform host), named like flat routes: `index` is the service's home, a dot
 * is a slash and `$param` a dynamic segment (`requests.$trackingId.tsx` → requests/:trackingId).
 */
function pluginPages(route) {
  const plugins = readdirSync("plugins", { withFileTypes: true }).filter((entry) => entry.isDirectory());
  for (const plugin of plugins) {
    let files = [];
    try {
      files = readdirSync(`plugins/${plugin.name}/pages`).filter((file) => /\.tsx?$/.test(file) && !/\.(test|server)\./.test(file));
    } catch {
      continue;
    }
    for (const file of files.sort()) {
      const name = file.replace(/\.tsx?$/, "");
      const segments = name === "index" ? [] : name.split(".").map((part) => (part.startsWith("$") ? `:${part.slice(1)}` : part));
      const path = [":city?", "services", plugin.name, ...segments].join("/");
      route(path, `../plugins/${plugin.name}/pages/${file}`, { id: `plugins/${plugin.name}/${name}`, index: false });
    }
  }
}

/** @type {import('@remix-run/dev').AppConfig} */
export default {
  appDirectory: "app",
  serverBuildPath: "build/index.js",
  serverModuleFormat: "esm",
  serverPlatform: "node",
  assetsBuildDirectory: "public/build",
  publicPath: "/build/",
  // Tests sit next to route modules; route folders hold helpers besides route.tsx.
  ignoredRouteFiles: ["**/.*", "**/*.test.*"],
  // Translations live outside app/: rebuild when they change.
  watchPaths: ["locales/**/*.json", "plugins/**/*.json"],
  // React Router v7 behaviour that changes nothing for Civitas today. Single fetch and lazy
  // route discovery change data loading and wait for the move off the classic compiler.
  routes: async (defineRoutes) => defineRoutes(pluginPages),
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
  },
};
