// `npm run bench`: a city's home page through the whole stack (Express, tenant resolution with
// its few-second cache, Remix SSR in the city's language) on embedded PGlite (in memory), by host
// and by path, with 16 clients on keep-alive connections. Prints figures; asserts nothing.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { applyCityFiles } from "../../app/tenancy/city-files.server";
import { createApp, remixHandler } from "../../app/http.server";
import { useFreshProcessDatabase } from "../support/process-database";
import { compileRemixBuild } from "../support/remix-build";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = 16;

delete process.env.DATABASE_URL;
process.env.NODE_ENV = "production";
const database = await useFreshProcessDatabase();
await applyCityFiles({ dir: "tenants", mode: "create-missing" });
const remix = await compileRemixBuild();
const app = createApp({ handler: remixHandler(remix.build), publicDir: remix.publicDir, logRequests: false });
const server = app.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const { port } = server.address() as AddressInfo;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.get({ host: "127.0.0.1", port, path, agent, headers: { Host: host } }, (response) => {
      response.resume();
      response.on("end", () => {
        if (response.statusCode !== 200) reject(new Error(`${host}${path}: ${response.statusCode}`));
        else resolve(performance.now() - started);
      });
    });
    request.on("error", reject);
  });
}

async function measure(label: string, host: string, path: string) {
  for (let i = 0; i < 100; i += 1) await get(host, path);
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next += 1;
        samples.push(await get(host, path));
      }
    }),
  );
  const elapsed = performance.now() - started;
  samples.sort((a, b) => a - b);
  const at = (q: number) => Number((samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(2));
  return { label, requestsPerSecond: Math.round((samples.length / elapsed) * 1000), p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const results = [
  await measure("GET / on paris.localhost (host)", `paris.localhost:${port}`, "/"),
  await measure("GET /budapest on localhost (path)", `localhost:${port}`, "/budapest"),
  await measure("GET /healthz", `localhost:${port}`, "/healthz"),
];
console.log(`HTTP, ${REQUESTS} requests each, ${CONCURRENCY} concurrent clients (latency in ms)`);
console.table(results);
console.log(`process RSS after the run: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB`);

agent.destroy();
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
await database.release();
await remix.remove();
// The compiler's esbuild services would keep the process alive.
process.exit(0);
