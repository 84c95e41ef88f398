// The staff dashboard (reporting.triage): the city's figures over a period (by default the last
// 90 days): reports by category and status, median times to acknowledge and to close, and the
// open backlog by age.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { can } from "../../../app/auth/permissions";
import { reportingKpis } from "../kpis.server";
import { REQUEST_STATUSES } from "../requests.server";
import type { FieldError } from "./index.server";
import { displayOf, localText, NO_STORE, pageTitle, staffPage } from "./page.server";
import { startOfDay } from "./staff.server";

export async function dashboardPage(args: LoaderFunctionArgs) {
  const page = await staffPage(args, "reporting.triage");
  const url = new URL(args.request.url);
  const typed = { from: url.searchParams.get("from") ?? "", to: url.searchParams.get("to") ?? "" };
  const errors: Record<string, FieldError> = {};
  const from = typed.from ? startOfDay(typed.from, page.city.timeZone) : null;
  const toNext = typed.to ? startOfDay(typed.to, page.city.timeZone, 1) : null;
  if (typed.from && !from) errors.from = { key: "reporting:staff.errors.date" };
  if (typed.to && !toNext) errors.to = { key: "reporting:staff.errors.date" };
  const to = toNext ? new Date(toNext.getTime() - 1) : null;
  if (from && to && from > to) errors.from = { key: "reporting:staff.errors.period" };
  const kpis = await reportingKpis(page.principal, Object.keys(errors).length === 0 ? { from, to } : {}, page.service);
  // One row per category, one column per status.
  const categories = new Map<string, { code: string; name: ReturnType<typeof localText>; counts: Record<string, number>; total: number }>();
  for (const row of kpis.volume) {
    const entry = categories.get(row.categoryId) ?? { code: row.categoryCode, name: localText(page, row.categoryNames), counts: {}, total: 0 };
    entry.counts[row.status] = (entry.counts[row.status] ?? 0) + row.count;
    entry.total += row.count;
    categories.set(row.categoryId, entry);
  }
  return json(
    {
      title: pageTitle(page, "reporting:staff.dashboard.title"),
      display: displayOf(page),
      servicePath: page.servicePath,
      canConfigure: can(page.principal, "reporting.configure"),
      typed,
      errors,
      period: { from: kpis.from.toISOString(), to: kpis.to.toISOString() },
      total: kpis.total,
      statuses: REQUEST_STATUSES,
      volume: [...categories.values()],
      medianSecondsToAcknowledge: kpis.medianSecondsToAcknowledge,
      medianSecondsToClose: kpis.medianSecondsToClose,
      backlog: kpis.backlog,
    },
    { headers: NO_STORE },
  );
}
