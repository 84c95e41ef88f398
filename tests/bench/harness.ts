// What the HTTP benchmarks share: the whole app on embedded PGlite (in memory) with the demo
// cities, on an ephemeral port, and a load loop of 16 clients on keep-alive connections.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createApp, remixHandler } from "../../app/http.server";
import { applyCityFiles } from "../../app/tenancy/city-files.server";
import { useFreshProcessDatabase } from "../support/process-database";
import { compileRemixBuild } from "../support/remix-build";

export const CONCURRENCY = 16;
export const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);

export type BenchApp = {
  port: number;
  /** Sends one request; resolves with its latency in ms, rejects on any status but 200. */
  send(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<number>;
  close(): Promise<void>;
};

export async function startBenchApp(): Promise<BenchApp> {
  delete process.env.DATABASE_URL;
  process.env.NODE_ENV = "production";
  // What `npm start` does on a machine with no Keycloak: the embedded provider, as an evaluation.
  process.env.CIVITAS_EMBEDDED_IDP ??= "allow";
  const database = await useFreshProcessDatabase();
  await applyCityFiles({ dir: "tenants", mode: "create-missing" });
  const remix = await compileRemixBuild();
  const app = createApp({ handler: remixHandler(remix.build), publicDir: remix.publicDir, logRequests: false });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  return {
    port,
    send: (method, path, headers = {}, body) =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const request = http.request({ host: "127.0.0.1", port, method, path, agent, headers }, (response) => {
          response.resume();
          response.on("end", () => {
            if (response.statusCode !== 200) reject(new Error(`${method} ${path}: ${response.statusCode}`));
            else resolve(performance.now() - started);
          });
        });
        request.on("error", reject);
        request.end(body);
      }),
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await database.release();
      await remix.remove();
    },
  };
}

export type Figures = { label: string; perSecond: number; p50: number; p95: number; p99: number };

export function figures(label: string, samples: number[], elapsedMs: number): Figures {
  samples.sort((a, b) => a - b);
  const at = (q: number) => Number((samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(3));
  return { label, perSecond: Math.round((samples.length / elapsedMs) * 1000), p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** `count` calls from CONCURRENCY clients at once, after a warm-up. */
export async function measureConcurrent(label: string, count: number, call: () => Promise<number>): Promise<Figures> {
  for (let i = 0; i < 50; i += 1) await call();
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        samples.push(await call());
      }
    }),
  );
  return figures(label, samples, performance.now() - started);
}
