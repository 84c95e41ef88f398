// `npm run bench`: a city's home page through the whole stack (Express, tenant resolution with
// its few-second cache, Remix SSR in the city's language) on embedded PGlite (in memory), by host
// and by path, with 16 clients on keep-alive connections. Prints figures; asserts nothing.
import { measureConcurrent, REQUESTS, CONCURRENCY, startBenchApp } from "./harness";

const app = await startBenchApp();
const get = (host: string, path: string) => () => app.send("GET", path, { Host: host });
const results = [
  await measureConcurrent("GET / on paris.localhost (host)", REQUESTS, get(`paris.localhost:${app.port}`, "/")),
  await measureConcurrent("GET /budapest on localhost (path)", REQUESTS, get(`localhost:${app.port}`, "/budapest")),
  await measureConcurrent("GET /healthz", REQUESTS, get(`localhost:${app.port}`, "/healthz")),
];
console.log(`HTTP, ${REQUESTS} requests each, ${CONCURRENCY} concurrent clients (latency in ms)`);
console.table(results);
console.log(`process RSS after the run: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MiB`);
await app.close();
// The compiler's esbuild services would keep the process alive.
process.exit(0);
