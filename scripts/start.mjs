// `npm start`: builds when build/ is missing or older than the sources, then runs the bundled
// server in this process (so signals reach it directly) with NODE_ENV=production unless set.
// With NODE_ENV unset and no KEYCLOAK_URL it is an evaluation instance (embedded provider).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

const OUTPUTS = ["build/index.js", "build/server.js", "public/build"];
const SOURCES = ["app", "graphql", "plugins", "locales", "server.ts", "remix.config.js", "tsconfig.json", "package.json", "scripts/build-server.mjs"];
const IGNORED = /(^|\/)(node_modules|\.cache)(\/|$)|\.test\.[jt]sx?$/;

function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const stats = statSync(target);
  if (!stats.isDirectory()) return IGNORED.test(target) ? 0 : stats.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) {
    const child = path.join(target, entry);
    if (!IGNORED.test(child)) newest = Math.max(newest, newestMtime(child));
  }
  return newest;
}

function buildIsCurrent() {
  if (!OUTPUTS.every((output) => existsSync(output))) return false;
  // `npm run dev` writes a development build to the same place: never serve that.
  if (!/\bmode = "production"/.test(readFileSync("build/index.js", "utf8"))) return false;
  const builtAt = Math.min(...OUTPUTS.slice(0, 2).map((output) => statSync(output).mtimeMs));
  return SOURCES.every((source) => newestMtime(source) <= builtAt);
}

if (!buildIsCurrent()) {
  console.log("civitas: building (build/ is missing or older than the sources)");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["run", "build"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (process.env.NODE_ENV === undefined) {
  process.env.NODE_ENV = "production";
  // `npm start` with nothing configured is the evaluation instance the README promises: it signs
  // people in with the embedded provider. A deployment that sets NODE_ENV=production itself gets
  // no such default and must name KEYCLOAK_URL (or opt in with CIVITAS_EMBEDDED_IDP=allow).
  // Its demo sign-ins have a published password: it only listens on this machine unless HOST says.
  if (!process.env.KEYCLOAK_URL && process.env.CIVITAS_EMBEDDED_IDP === undefined) {
    process.env.CIVITAS_EMBEDDED_IDP = "allow";
    process.env.CIVITAS_DEMO_USERS ??= "true";
    process.env.HOST ??= "127.0.0.1";
    console.log(
      `civitas: evaluation mode: embedded identity provider with demo users, listening on ${process.env.HOST} only ` +
        "(set KEYCLOAK_URL for production)",
    );
  }
}
await import(pathToFileURL(path.join(root, "build/server.js")).href);
