// Smoke test of the production build: starts build/server.js on a fresh embedded database,
// asks it what a browser and a load balancer would, then stops it with SIGTERM.
// Usage: npm run build && node scripts/smoke.mjs   (PORT defaults to 3100)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 3100);
const dataDir = mkdtempSync(path.join(tmpdir(), "civitas-smoke-"));

const server = spawn(process.execPath, ["build/server.js"], {
  cwd: root,
  env: { ...process.env, PORT: String(port), CIVITAS_DATA_DIR: dataDir, NODE_ENV: "production" },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
server.stdout.on("data", (chunk) => (output += chunk));
server.stderr.on("data", (chunk) => (output += chunk));
const exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));

// By Host header, not by name: *.localhost does not resolve everywhere outside browsers.
function get(host, pathname) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path: pathname, headers: { host } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

async function waitForServer() {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (server.exitCode !== null) break;
    try {
      if ((await get("localhost", "/healthz")).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the server did not come up:\n${output}`);
}

const failures = [];
function check(label, condition, detail = "") {
  console.log(`${condition ? "ok  " : "FAIL"} ${label}${condition ? "" : ` ${detail}`}`);
  if (!condition) failures.push(label);
}

const local = `localhost:${port}`;
try {
  await waitForServer();

  const byHost = await get(`paris.localhost:${port}`, "/");
  check("paris.localhost/ → 200, French, Paris colours", byHost.status === 200 && byHost.body.includes('<html lang="fr" dir="ltr"') && byHost.body.includes("--brand-primary:#1d3a6e") && byHost.body.includes("<h1>Bienvenue à Paris</h1>"), `${byHost.status}`);

  const byPath = await get(local, "/paris");
  check("localhost/paris → 200, same page", byPath.status === 200 && byPath.body.includes("<h1>Bienvenue à Paris</h1>"), `${byPath.status}`);

  const budapest = await get(`budapest.localhost:${port}`, "/");
  check("budapest.localhost/ → 200, Hungarian", budapest.status === 200 && budapest.body.includes('<html lang="hu"'), `${budapest.status}`);

  const platform = await get(local, "/");
  check("localhost/ → 200, lists the cities", platform.status === 200 && ["/paris", "/baltimore", "/budapest"].every((href) => platform.body.includes(`href="${href}"`)), `${platform.status}`);

  const health = await get(local, "/healthz");
  check("/healthz → 200 no-store", health.status === 200 && health.headers["cache-control"] === "no-store" && JSON.parse(health.body).status === "ok", health.body);

  const ready = await get(local, "/readyz");
  check("/readyz → 200 ready", ready.status === 200 && JSON.parse(ready.body).ready === true, ready.body);

  const missing = await get(local, "/nope");
  check("/nope → 404 page", missing.status === 404 && missing.body.includes("<h1>Page not found</h1>"), `${missing.status}`);

  const conflict = await get(`paris.localhost:${port}`, "/budapest");
  check("paris.localhost/budapest → 404 in French", conflict.status === 404 && conflict.body.includes("<h1>Page introuvable</h1>"), `${conflict.status}`);

  const unknownHost = await get(`atlantis.localhost:${port}`, "/");
  check("atlantis.localhost/ → 404", unknownHost.status === 404, `${unknownHost.status}`);

  const badHost = await get("bad host!", "/");
  check("garbage Host header → 400", badHost.status === 400, `${badHost.status}`);

  const badPath = await get(local, "/%E0%A4%A");
  check("malformed URL encoding → 400", badPath.status === 400, `${badPath.status}`);

  const stylesheet = platform.body.match(/href="(\/build\/_assets\/[^"]+\.css)"/)?.[1];
  const css = stylesheet ? await get(local, stylesheet) : { status: 0, headers: {} };
  check("stylesheet served with a long cache", css.status === 200 && String(css.headers["cache-control"]).includes("immutable"), `${css.status}`);
} catch (error) {
  failures.push(String(error));
  console.error(error);
} finally {
  server.kill("SIGTERM");
  const code = await exited;
  check("SIGTERM → clean exit", code === 0, `exit code ${code}\n${output}`);
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(failures.length === 0 ? "smoke: all good" : `smoke: ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
