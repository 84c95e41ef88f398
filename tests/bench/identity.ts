// `npm run bench`: what identity costs per request, on embedded PGlite (in memory) with the
// embedded provider: verifying an API token in process, an authenticated API call over HTTP
// (Bearer token checked with jose against the realm's keys, API client looked up), a page view
// with a signed-in session (session row, token re-verified), and the provider's token endpoint
// (client credentials). 16 clients on keep-alive connections. Prints figures; asserts nothing.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { resetConfig } from "../../app/config.server";
import { withPlatformAdmin } from "../../app/db/database.server";
import { createIdentity, identity, setIdentity } from "../../app/identity/identity.server";
import { provisionAllRealms } from "../../app/identity/provision.server";
import { TestBrowser } from "../support/browser";
import { CONCURRENCY, figures, measureConcurrent, REQUESTS, startBenchApp } from "./harness";

const app = await startBenchApp();
const send = app.send;
const base = `http://127.0.0.1:${app.port}`;
process.env.CIVITAS_PUBLIC_URL = base;
resetConfig();
await setIdentity(createIdentity());
const { backend, verifier } = identity();
await provisionAllRealms({ backend });
await backend.ensureUser("paris", { username: "resident", password: "bench" });

// An API client of Paris, registered as the admin page does.
const paris = await withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { slug: "paris" } }));
const clientId = "paris-bench";
const { clientSecret } = await backend.createMachineClient("paris", { clientId, name: "Bench", scopes: ["read"] });
await withPlatformAdmin((tx) => tx.apiClient.create({ data: { tenantId: paris.id, id: randomUUID(), clientId, name: "Bench", scopes: ["read"] } }));
const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
const tokenAnswer = await fetch(`${base}/realms/paris/protocol/openid-connect/token`, {
  method: "POST",
  headers: { Authorization: basic, "Content-Type": "application/x-www-form-urlencoded" },
  body: "grant_type=client_credentials",
});
const { access_token: token } = (await tokenAnswer.json()) as { access_token: string };

// A signed-in resident's cookies.
const browser = new TestBrowser();
const login = await browser.go(`${base}/paris/auth/login`);
await browser.submit(login, { username: "resident", password: "bench" }, /password/i);
const sessionCookie = browser.cookieHeader(new URL(`${base}/paris`));

async function measureInProcess(label: string, count: number, call: () => Promise<unknown>) {
  for (let i = 0; i < 200; i += 1) await call();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const at = performance.now();
    await call();
    samples.push(performance.now() - at);
  }
  return figures(label, samples, performance.now() - started);
}

const results = [
  await measureInProcess("verify an API token (in process, sequential)", REQUESTS * 2, () => verifier.verify(token, { tenantId: paris.id })),
  await measureConcurrent("GET /paris/api/me with a Bearer token", REQUESTS, () => send("GET", "/paris/api/me", { Authorization: `Bearer ${token}` })),
  await measureConcurrent("GET /paris signed in (session)", REQUESTS, () => send("GET", "/paris", { Cookie: sessionCookie })),
  await measureConcurrent("GET /paris anonymous", REQUESTS, () => send("GET", "/paris", {})),
  await measureConcurrent("POST token endpoint (client credentials)", Math.ceil(REQUESTS / 6), () =>
    send("POST", "/realms/paris/protocol/openid-connect/token", { Authorization: basic, "Content-Type": "application/x-www-form-urlencoded" }, "grant_type=client_credentials"),
  ),
];
console.log(`Identity, ${REQUESTS} requests per HTTP row, ${CONCURRENCY} concurrent clients (latency in ms)`);
console.table(results);
console.log(`process RSS after the run: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB`);

await setIdentity(undefined);
await app.close();
process.exit(0);
