// Bundles server.ts into build/server.js (after `remix build` wrote build/index.js). Packages
// stay external and load from node_modules at run time: Prisma's query compiler (wasm) and
// PGlite's data files are found next to their own package code, exactly as in development.
import { build } from "esbuild";

await build({
  entryPoints: ["server.ts"],
  outfile: "build/server.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
console.log("built build/server.js");
