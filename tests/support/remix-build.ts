// The real Remix build for HTTP tests, compiled on the fly by the classic compiler (what
// `remix build` runs, a second or two) into a throw-away folder: tests never depend on a prior
// `npm run build`, and never touch build/ or public/build of a developer's checkout. Under vitest
// the run's global setup compiles it once per backend (global-setup.ts) and test files share it.
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { create } from "@remix-run/dev/dist/compiler/compiler.js";
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

/** Where the run's shared build is (the global setup's, through setup.ts). */
export const REMIX_BUILD_ENV = "CIVITAS_TEST_REMIX_BUILD";

/** Compiles the build into `dir` (server bundle `index.js`, browser build in `public/build`). */
export async function compileRemixBuildInto(dir: string): Promise<void> {
  const root = process.cwd();
  const config = await readConfig(root, ServerMode.Production);
  const compiler = await create({
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
  try {
    await compiler.compile();
  } finally {
    // What `remix build` leaves to process exit: its esbuild contexts, whose service process
    // would keep the process that compiled (the run's main process) from exiting.
    await compiler.dispose();
  }
}

/** A folder for a build: inside the project (in the ignored .cache/), so the bundle's imports find node_modules. */
export const remixBuildDir = (): string => path.join(process.cwd(), ".cache", "http-tests", randomUUID());

/** The run's shared build when there is one (removing it is the run's business), else a new one. */
export async function compileRemixBuild(): Promise<TestRemixBuild> {
  const shared = process.env[REMIX_BUILD_ENV];
  const dir = shared ?? remixBuildDir();
  if (!shared) await compileRemixBuildInto(dir);
  const serverBuild = (await import(/* @vite-ignore */ pathToFileURL(path.join(dir, "index.js")).href)) as ServerBuild;
  return {
    build: serverBuild,
    publicDir: path.join(dir, "public"),
    remove: shared ? async () => undefined : () => rm(dir, { recursive: true, force: true }),
  };
}
