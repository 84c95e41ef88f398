// Readiness probe: 200 when the database answers and is fully migrated, 503 otherwise.
import { json } from "@remix-run/node";
import { checkReadiness } from "./readiness.server";

export async function loader() {
  const readiness = await checkReadiness();
  return json(readiness, {
    status: readiness.ready ? 200 : 503,
    headers: { "Cache-Control": "no-store" },
  });
}
