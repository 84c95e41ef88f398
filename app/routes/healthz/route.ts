// Liveness: the process is up and answering. Deliberately touches nothing else (a database
// outage must not get the process restarted; that is what /readyz reports).
import { json } from "@remix-run/node";

export function loader() {
  return json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
