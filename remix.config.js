// Remix classic compiler (see docs/decisions on the classic compiler and its way out).
// The server build is one ESM module that server.ts imports; the browser build goes to
// public/build, which server.ts serves with a long cache (file names carry a content hash).

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
  watchPaths: ["locales/**/*.json"],
  // React Router v7 behaviour that changes nothing for Civitas today. Single fetch and lazy
  // route discovery change data loading and wait for the move off the classic compiler.
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
  },
};
