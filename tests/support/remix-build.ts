// The real Remix build for HTTP tests, compiled on the fly by the classic compiler (what
// `remix build` runs, about a second) into a throw-away folder: tests never depend on a prior
// `npm run build`, and never touch build/ or public/build of a developer's checkout.
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "@remix-run/dev/dist/compiler/build.js";
import { createFileWatchCache } from "@remix-run/dev/dist/compiler/fileWatchCache.js";
import { readConfig } from "@remix-run/dev/dist/config.js";
import { ServerMode } from "@remix-run/dev/dist/config/serverModes.js";
import { logger } from "@remix-run/dev/dist/tux/logger.js";
import type { ServerBuild } from "@remix-run/node";

export type TestRemixBuild = {
  build: ServerBuild;
  /** Serve it with createApp({ publicDir }): the browser build is in `build/` under it. */
  publicDir: string;
  remove(): Promise<void>;
};

const quiet = () => undefined;

export async function compileRemixBuild(): Promise<TestRemixBuild> {
  const root = process.cwd();
  // Inside the project (in the ignored .cache/), so the bundle's imports find node_modules.
  const dir = path.join(root, ".cache", "http-tests", randomUUID());
  const config = await readConfig(root, ServerMode.Production);
  await build({
    config: {
      ...config,
      serverBuildPath: path.join(dir, "index.js"),
      assetsBuildDirectory: path.join(dir, "public", "build"),
      relativeAssetsBuildDirectory: path.relative(root, path.join(dir, "public", "build")),
    },
    options: { mode: ServerMode.Production, sourcemap: false },
    fileWatchCache: createFileWatchCache(),
    // Errors only: the future-flag notices would repeat in every test run.
    logger: { debug: quiet, info: quiet, warn: quiet, error: logger.error },
  });
  const serverBuild = (await import(/* @vite-ignore */ pathToFileURL(path.join(dir, "index.js")).href)) as ServerBuild;
  return {
    build: serverBuild,
    publicDir: path.join(dir, "public"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
