// `npm run bench`: what a city-bound unit of work costs over a bare transaction, on embedded
// PGlite and (when DATABASE_URL is set) on PostgreSQL. Prints figures; asserts nothing.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { openDatabase, withTenant, type Database } from "../../app/db/database.server";
import { migrate } from "../../app/db/migrate.server";
import { createTestDatabase } from "../support/database";
import { createCity } from "../support/factories";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const WARMUP = 200;

type Figures = { label: string; opsPerSecond: number; p50: number; p95: number; p99: number };

async function measure(label: string, run: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < WARMUP; i += 1) await run();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i += 1) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  const elapsed = performance.now() - started;
  samples.sort((a, b) => a - b);
  const at = (q: number) => Number((samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(3));
  return { label, opsPerSecond: Math.round((ITERATIONS / elapsed) * 1000), p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

async function benchmark(database: Database, backend: string): Promise<Figures[]> {
  const city = await createCity(database);
  for (let i = 0; i < 4; i += 1) await createCity(database); // neighbours RLS must filter out
  const query = (tx: Parameters<Parameters<typeof withTenant>[1]>[0]) =>
    tx.user.findMany({ where: { tenantId: city.id }, select: { id: true, email: true }, take: 25 });
  return [
    await measure(`${backend}: bare transaction (no RLS context)`, () =>
      database.unscopedPrisma.$transaction((tx) => query(tx)),
    ),
    await measure(`${backend}: withTenant (role + tenant, RLS)`, () => withTenant(city.id, query, database)),
  ];
}

const results: Figures[] = [];
const databaseUrl = process.env.DATABASE_URL;

// PGlite on disk, as `npm start` runs it (an in-memory one costs more: its files live in RAM).
const dataDir = await mkdtemp(path.join(os.tmpdir(), "civitas-bench-"));
const rssBefore = process.memoryUsage().rss;
const lite = await openDatabase({ dataDir: path.join(dataDir, "pglite") });
await migrate(lite.owner);
const rssPglite = process.memoryUsage().rss - rssBefore;
results.push(...(await benchmark(lite, "pglite")));
await lite.close();
await rm(dataDir, { recursive: true, force: true });

if (databaseUrl) {
  process.env.DATABASE_URL = databaseUrl;
  const postgres = await createTestDatabase();
  results.push(...(await benchmark(postgres, "postgres")));
  await postgres.drop();
}

console.log(`unit of work, ${ITERATIONS} iterations each (latency in ms)`);
console.table(results);
console.log(`embedded PGlite on disk: +${Math.round(rssPglite / 1024 / 1024)} MiB RSS once created and migrated`);
