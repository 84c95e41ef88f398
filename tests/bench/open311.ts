// `npm run bench`: Open311 GeoReport v2 throughput — POST requests (a report filed by an API
// client: api_key check, validation, the request, its history, follower, audit and outbox) and GET
// requests (a list filtered by service_code, ~25 requests, and one request by id), through the
// real Express mount. autocannon from a child process, 16 connections, a warm-up then a fixed
// duration each. On PostgreSQL when DATABASE_URL names a server (a throw-away database on it; the
// targets are for it: ≥ 300 created/s, ≥ 1000 reads/s on 2 cores), else on embedded PGlite (in
// memory). Prints figures, with the SQL round trips of one call as the database's onQuery hook
// counts them (a script of readInTenant or writeInTenant is one) and the server process' CPU time
// per call (the load generator runs apart; PostgreSQL's own time is not in it), steadier than the
// rates on a shared machine; asserts only that every answer was a 200.
import { load } from "./load";

process.env.NODE_ENV = "production";
process.env.CIVITAS_DATA_DIR ??= "memory://";

const { openDatabase } = await import("../../app/db/database.server");
const { migrate } = await import("../../app/db/migrate.server");
const { createScratchPostgres } = await import("../support/database");
const { startOpen311 } = await import("../../plugins/reporting/open311/harness");

const CONNECTIONS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARM_UP_SECONDS = Math.max(1, Math.round(SECONDS / 5));
const SEEDED = 500;
const CODES = ["pothole", "street-light", "graffiti", "litter"];

const serverUrl = process.env.DATABASE_URL;
const scratch = serverUrl ? await createScratchPostgres(serverUrl) : null;
try {
  let roundTrips = 0;
  const onQuery = () => void (roundTrips += 1);
  const database = await openDatabase(scratch ? { url: scratch.url, poolSize: 10, onQuery } : { dataDir: "memory://", onQuery });
  try {
    await migrate(database.owner);
    const h = await startOpen311(database, { tenantCacheMs: 5_000 });
    const form = { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" };
    const report = (code: string, i: number) =>
      new URLSearchParams({ api_key: h.paris.apiKey, service_code: code, lat: String(48.8 + i / 10_000), long: String(2.3 + i / 10_000), description: `Report ${i}`, email: `r${i}@example.org` }).toString();
    let id = "";
    for (let i = 0; i < SEEDED; i += 1) {
      const response = await fetch(h.url(h.paris.slug, "requests.json"), { method: "POST", headers: form, body: report(CODES[i % CODES.length]!, i) });
      if (response.status !== 200) throw new Error(`seeding: ${response.status} ${await response.text()}`);
      id = ((await response.json()) as { service_request_id: string }[])[0]!.service_request_id;
    }
    // Spread the reports over five days, so that a client polling one category's open requests
    // of the last half day gets a page of 25 (one report in 20 is graffiti from today).
    await database.owner.query(
      `UPDATE reporting_requests r SET created_at = now() - ((s.n % 5) * interval '1 day') - interval '1 minute'
         FROM (SELECT tenant_id, id, row_number() OVER (ORDER BY created_at, id) - 1 AS n FROM reporting_requests) s
        WHERE s.tenant_id = r.tenant_id AND s.id = r.id`,
    );
    const since = new Date(Date.now() - 12 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const listUrl = h.url(h.paris.slug, `requests.json?service_code=graffiti&status=open&start_date=${since}`);
    const listed = ((await (await fetch(listUrl)).json()) as unknown[]).length;

    const targets = [
      { label: "POST requests (create)", url: h.url(h.paris.slug, "requests.json"), method: "POST" as const, headers: form, body: report("litter", 0) },
      { label: `GET requests (list of ${listed})`, url: listUrl, method: "GET" as const, headers: {}, body: undefined },
      { label: "GET requests/{id}", url: h.url(h.paris.slug, `requests/${id}.json`), method: "GET" as const, headers: {}, body: undefined },
      { label: "GET requests/{id} (XML)", url: h.url(h.paris.slug, `requests/${id}.xml`), method: "GET" as const, headers: {}, body: undefined },
    ];
    // Counted one call at a time before any load: a load's last calls may still be running after it.
    const perCall = new Map<string, number>();
    for (const target of targets) {
      roundTrips = 0;
      const one = await fetch(target.url, { method: target.method, headers: target.headers, body: target.body });
      if (one.status !== 200) throw new Error(`${target.label}: ${one.status} ${await one.text()}`);
      await one.arrayBuffer();
      perCall.set(target.label, roundTrips);
    }
    const rows = [];
    for (const target of targets) {
      for (const seconds of [WARM_UP_SECONDS, SECONDS]) {
        const cpu = process.cpuUsage();
        const result = await load({ url: target.url, method: target.method, headers: target.headers, body: target.body, connections: CONNECTIONS, duration: seconds });
        const { user, system } = process.cpuUsage(cpu);
        const failures = result.non2xx + result.errors + result.timeouts;
        if (failures > 0 || h.unexpected.length > 0) {
          throw new Error(`${target.label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${h.unexpected.length} unexpected: ${String(h.unexpected[0] ?? "")}`);
        }
        if (seconds === SECONDS) {
          rows.push({ label: target.label, perSecond: Math.round(result.requests.total / result.duration), p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, roundTrips: perCall.get(target.label), serverCpuMs: Number(((user + system) / 1000 / result.requests.total).toFixed(2)) });
        }
      }
    }
    console.log(
      `Open311 GeoReport v2 on ${scratch ? `PostgreSQL (${new URL(serverUrl!).host})` : "embedded PGlite (in memory)"}: ` +
        `${CONNECTIONS} connections, ${SECONDS} s each after ${WARM_UP_SECONDS} s of warm-up (latency and CPU in ms; targets on PostgreSQL: ≥ 300 created/s, ≥ 1000 reads/s)`,
    );
    console.table(rows);
    await h.close();
  } finally {
    await database.close();
  }
} finally {
  await scratch?.drop();
}
