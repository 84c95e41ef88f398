// `npm run bench`: what Civitas' GraphQL endpoint costs over a bare one. The same query (a city's
// first 25 members with their roles) goes to Civitas, signed in as the city's admin (Express,
// tenant resolution, token verification, limits, the principal and the request's transaction
// under RLS, Pothos and Prisma), and to a baseline: a minimal Yoga schema whose resolver reads
// the same rows with two raw queries as the owner (no tenancy, no auth). autocannon from a child
// process, 16 connections, a warm-up then a fixed duration each. On PostgreSQL when DATABASE_URL
// names a server (a throw-away database on it), else on embedded PGlite (in memory). Prints
// figures and the ratio (target on PostgreSQL: Civitas ≥ 0.7× the baseline's requests per
// second); asserts only that every answer was the expected one. A third, informative row: the
// same Civitas mount and token asked for `{ city { id } }`, which reads no rows (the city's id is
// known from its address): what every signed-in request costs before it reads anything.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import type { Database } from "../../app/db/database.server";
import { load } from "./load";

// Before the schema is imported: Pothos warns of unused queries outside production.
process.env.NODE_ENV = "production";
process.env.CIVITAS_DATA_DIR ??= "memory://";

const { createSchema, createYoga } = await import("graphql-yoga");
const { openDatabase } = await import("../../app/db/database.server");
const { migrate } = await import("../../app/db/migrate.server");
const { createScratchPostgres } = await import("../support/database");
const { createCity } = await import("../support/factories");
const { serveGraphQL } = await import("../support/graphql");
const { addPerson } = await import("../support/identity");

const CONNECTIONS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARM_UP_SECONDS = Math.max(1, Math.round(SECONDS / 5));
const TARGET = 0.7;
const PEOPLE = 40;
const QUERY = "{ city { members(first: 25) { edges { node { id displayName email roles createdAt } } } } }";

type Target = { label: string; url: string; headers: Record<string, string>; body: string };
type Row = { id: string; display_name: string | null; email: string | null; created_at: Date; provider_roles: string[] };

/** A bare GraphQL server for the same query: hand-written schema, two raw queries, no checks. */
function baselineServer(cityId: string, sql: <R>(text: string, params: unknown[]) => Promise<R[]>): http.Server {
  const yoga = createYoga({
    logging: false,
    landingPage: false,
    graphiql: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        scalar DateTime
        enum CityRole { resident staff admin }
        type Member { id: ID! displayName: String email: String roles: [CityRole!]! createdAt: DateTime! }
        type MemberEdge { node: Member! }
        type MemberConnection { edges: [MemberEdge!]! }
        type City { id: ID! members(first: Int = 25): MemberConnection! }
        type Query { city: City }
      `,
      resolvers: {
        DateTime: { serialize: (value: unknown) => (value as Date).toISOString() },
        Query: { city: () => ({ id: cityId }) },
        City: {
          members: async ({ id }: { id: string }, { first }: { first: number }) => {
            const users = await sql<Row>(
              `SELECT id::text, display_name, email, created_at, provider_roles::text[] AS provider_roles
                 FROM users WHERE tenant_id = $1 ORDER BY id LIMIT $2`,
              [id, first],
            );
            const memberships = await sql<{ user_id: string; role: string }>(
              "SELECT user_id::text, role::text FROM memberships WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])",
              [id, users.map((user) => user.id)],
            );
            return {
              edges: users.map((user) => {
                const held = new Set(["resident", ...user.provider_roles]);
                for (const membership of memberships) if (membership.user_id === user.id) held.add(membership.role);
                return {
                  node: {
                    // Civitas' global ids, so that both answers are the same bytes.
                    id: Buffer.from(`Member:${user.id}`, "utf8").toString("base64url"),
                    displayName: user.display_name,
                    email: user.email,
                    roles: ["resident", "staff", "admin"].filter((role) => held.has(role)),
                    createdAt: user.created_at,
                  },
                };
              }),
            };
          },
        },
      },
    }),
  });
  return http.createServer(yoga);
}

async function bench(database: Database, ownerUrl: string | undefined) {
  // One city, its admin (made with the city) and 40 more people: some staff, a few admins.
  const city = await createCity(database);
  for (let i = 1; i <= PEOPLE; i += 1) {
    const roles = i % 10 === 0 ? (["admin"] as const) : i % 4 === 0 ? (["staff"] as const) : [];
    await addPerson(database, city, { roles: [...roles], email: `person-${i}@example.org` });
  }

  // Civitas: the real mount, signed in as the city's admin.
  let unexpected = 0;
  const civitas = await serveGraphQL(database, {
    realms: [city.slug],
    limits: { perClientPerMinute: 1_000_000_000, perAddressPerMinute: 1_000_000_000 },
    // As in production: the city is looked up once every few seconds, not per request.
    tenantCacheMs: 5_000,
    onUnexpectedError: (error) => {
      unexpected += 1;
      console.error("Civitas: unexpected error", error);
    },
  });
  // The baseline: pg as the owner on PostgreSQL; PGlite has no server, so its raw session there.
  const pool = ownerUrl ? new pg.Pool({ connectionString: ownerUrl, max: 10 }) : null;
  const sql = async <R,>(text: string, params: unknown[]) =>
    (pool ? (await pool.query(text, params)).rows : await database.owner.query(text, params)) as R[];
  const baseline = baselineServer(city.id, sql);
  baseline.listen(0, "127.0.0.1");

  try {
    await new Promise((resolve) => baseline.once("listening", resolve));
    const token = await civitas.identity.accessToken(city.slug, { subject: `subject-${city.userId}`, lifetimeSeconds: 3_600 });
    const headers = { "Content-Type": "application/json", Accept: "application/graphql-response+json" };
    const body = JSON.stringify({ query: QUERY });
    const signedIn = { ...headers, Authorization: `Bearer ${token}` };
    const targets: Target[] = [
      { label: "Civitas (signed in, RLS)", url: civitas.url(city.slug), headers: signedIn, body },
      { label: "baseline (bare Yoga + raw SQL)", url: `http://127.0.0.1:${(baseline.address() as AddressInfo).port}/graphql`, headers, body },
    ];
    const floor: Target = { label: "Civitas, no rows read", url: civitas.url(city.slug), headers: signedIn, body: JSON.stringify({ query: "{ city { id } }" }) };

    // The first answer of each must be the full page, both the same; every later one must equal it.
    const answers: string[] = [];
    for (const target of targets) {
      const response = await fetch(target.url, { method: "POST", headers: target.headers, body });
      const text = await response.text();
      type Page = { data?: { city?: { members?: { edges?: { node: { roles: string[] } }[] } } } };
      const edges = (JSON.parse(text) as Page).data?.city?.members?.edges;
      if (response.status !== 200 || edges?.length !== 25 || !edges.every((edge) => edge.node.roles.includes("resident"))) {
        throw new Error(`${target.label}: expected 25 members with their roles, got ${response.status} ${text.slice(0, 500)}`);
      }
      answers.push(text);
    }
    if (!isDeepStrictEqual(JSON.parse(answers[0]!), JSON.parse(answers[1]!))) {
      throw new Error(`Civitas and the baseline disagree:\n${answers[0]}\n${answers[1]}`);
    }
    const floorAnswer = await (await fetch(floor.url, { method: "POST", headers: floor.headers, body: floor.body })).text();
    if (!/^\{"data":\{"city":\{"id":"[^"]+"\}\}\}$/.test(floorAnswer)) throw new Error(`${floor.label}: unexpected answer ${floorAnswer}`);
    targets.push(floor);
    answers.push(floorAnswer);

    const measure = async (target: Target, seconds: number) => {
      const cpu = process.cpuUsage();
      const result = await load({
        url: target.url,
        method: "POST",
        headers: target.headers,
        body: target.body,
        connections: CONNECTIONS,
        duration: seconds,
        expectBody: answers[targets.indexOf(target)],
      });
      const { user, system } = process.cpuUsage(cpu);
      const failures = result.non2xx + result.errors + result.timeouts + result.mismatches;
      if (failures > 0 || unexpected > 0) {
        throw new Error(
          `${target.label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ` +
            `${result.mismatches} unexpected bodies, ${unexpected} unexpected server errors`,
        );
      }
      return {
        label: target.label,
        perSecond: Math.round(result.requests.total / result.duration),
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
        // This process only (both servers, Prisma, pg): not PostgreSQL, not the load generator.
        cpuPerRequest: Number(((user + system) / 1000 / Math.max(1, result.requests.total)).toFixed(2)),
      };
    };
    for (const target of targets) await measure(target, WARM_UP_SECONDS);
    const results = [];
    for (const target of targets) results.push(await measure(target, SECONDS));
    return results;
  } finally {
    baseline.closeAllConnections();
    await new Promise((resolve) => baseline.close(resolve));
    await civitas.close();
    await pool?.end();
  }
}

const serverUrl = process.env.DATABASE_URL;
const scratch = serverUrl ? await createScratchPostgres(serverUrl) : null;
try {
  const database = await openDatabase(scratch ? { url: scratch.url } : { dataDir: "memory://" });
  try {
    await migrate(database.owner);
    const [ours, bare, floor] = await bench(database, scratch?.url);
    const ratio = ours!.perSecond / bare!.perSecond;
    console.log(
      `GraphQL, a city's first 25 members with their roles, on ${scratch ? `PostgreSQL (${new URL(serverUrl!).host})` : "embedded PGlite (in memory)"}: ` +
        `${CONNECTIONS} connections, ${SECONDS} s each after ${WARM_UP_SECONDS} s of warm-up ` +
        "(latency, and CPU time of this process per request, in ms)",
    );
    console.table([ours, bare, floor]);
    console.log(
      `Civitas / baseline: ${ratio.toFixed(2)}× the requests per second` +
        (scratch ? ` (target on PostgreSQL: ≥ ${TARGET}×, ${ratio >= TARGET ? "met" : "NOT met"})` : " (the target is for PostgreSQL)"),
    );
    console.log(
      `Civitas reading no rows / baseline reading 25: ${(floor!.perSecond / bare!.perSecond).toFixed(2)}× ` +
        "(the most the ratio could be if reading the page cost Civitas nothing)",
    );
    console.log(`process RSS after the run: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB`);
  } finally {
    await database.close();
  }
} finally {
  await scratch?.drop();
}
process.exit(0);
