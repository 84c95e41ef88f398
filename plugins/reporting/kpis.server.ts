// The city's reporting figures: volume by category and status, median times to acknowledge and
// to close, and the age of the open backlog. Computed in SQL from the requests themselves
// (percentile_cont for medians), for the staff dashboard, GraphQL and the plugin's KPIs.
import { z } from "zod";
import { parseInput } from "../../app/auth/errors";
import { requireCityPermission, type Principal } from "../../app/auth/permissions";
import type { ServiceContext } from "../../app/auth/principal.server";
import { withTenant, type Tx } from "../../app/db/database.server";
import type { Translated } from "./attributes";
import type { RequestStatus } from "./requests.server";
import { reportingSettings } from "./settings.server";

export type VolumeRow = { categoryId: string; categoryCode: string; categoryNames: Translated; status: RequestStatus; count: number };

export type ReportingKpis = {
  /** The period the volume and the medians cover (requests created in it). */
  from: Date;
  to: Date;
  total: number;
  volume: VolumeRow[];
  /** Seconds from report to first acknowledgement, over requests acknowledged; null without any. */
  medianSecondsToAcknowledge: number | null;
  /** Seconds from report to closing, over closed requests that were not merged duplicates. */
  medianSecondsToClose: number | null;
  backlog: {
    /** Requests not closed now, whenever reported. */
    open: number;
    oldestAgeSeconds: number | null;
    medianAgeSeconds: number | null;
    /** Open requests by age: under 7 days, 7 to 30 days, over 30 days. */
    under7Days: number;
    from7To30Days: number;
    over30Days: number;
  };
};

const DAY_MS = 86_400_000;
/** Without dates: the last 90 days. */
const DEFAULT_DAYS = 90;

const periodSchema = z
  .strictObject({ from: z.date({ error: "must be a date" }).nullish(), to: z.date({ error: "must be a date" }).nullish() })
  .refine((period) => !period.from || !period.to || period.from <= period.to, { error: "from must not be after to", path: ["from"] });

const seconds = (value: unknown): number | null => (value === null || value === undefined ? null : Math.round(Number(value)));

/** The figures of the city, inside its unit of work. `now` fixes "open for how long" (tests). */
export async function computeKpis(tx: Tx, tenantId: string, { from, to, now }: { from: Date; to: Date; now: Date }): Promise<ReportingKpis> {
  const volume = await tx.$queryRaw<{ category_id: string; code: string; names: unknown; status: RequestStatus; count: bigint }[]>`
    SELECT c."id" AS category_id, c."code", c."names", r."status"::text AS status, count(*) AS count
      FROM "reporting_requests" r
      JOIN "reporting_categories" c ON c."tenant_id" = r."tenant_id" AND c."id" = r."category_id"
     WHERE r."tenant_id" = ${tenantId}::uuid AND r."created_at" >= ${from} AND r."created_at" <= ${to}
     GROUP BY c."id", c."code", c."names", r."status"
     ORDER BY c."code", r."status"`;
  const [medians] = await tx.$queryRaw<{ acknowledge: number | null; close: number | null }[]>`
    SELECT
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ("acknowledged_at" - "created_at")))
        FILTER (WHERE "acknowledged_at" IS NOT NULL AND "merged_into_id" IS NULL) AS acknowledge,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ("closed_at" - "created_at")))
        FILTER (WHERE "closed_at" IS NOT NULL AND "merged_into_id" IS NULL) AS close
      FROM "reporting_requests"
     WHERE "tenant_id" = ${tenantId}::uuid AND "created_at" >= ${from} AND "created_at" <= ${to}`;
  const [backlog] = await tx.$queryRaw<{ open: bigint; oldest: number | null; median: number | null; under7: bigint; from7to30: bigint; over30: bigint }[]>`
    SELECT count(*) AS open,
           max(extract(epoch FROM (${now}::timestamptz - "created_at"))) AS oldest,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (${now}::timestamptz - "created_at"))) AS median,
           count(*) FILTER (WHERE "created_at" > ${now}::timestamptz - interval '7 days') AS under7,
           count(*) FILTER (WHERE "created_at" <= ${now}::timestamptz - interval '7 days' AND "created_at" > ${now}::timestamptz - interval '30 days') AS from7to30,
           count(*) FILTER (WHERE "created_at" <= ${now}::timestamptz - interval '30 days') AS over30
      FROM "reporting_requests"
     WHERE "tenant_id" = ${tenantId}::uuid AND "status" <> 'closed' AND "created_at" <= ${now}::timestamptz`;
  const rows = volume.map((row) => ({
    categoryId: row.category_id,
    categoryCode: row.code,
    categoryNames: (row.names ?? {}) as Translated,
    status: row.status,
    count: Number(row.count),
  }));
  return {
    from,
    to,
    total: rows.reduce((sum, row) => sum + row.count, 0),
    volume: rows,
    medianSecondsToAcknowledge: seconds(medians?.acknowledge),
    medianSecondsToClose: seconds(medians?.close),
    backlog: {
      open: Number(backlog?.open ?? 0),
      oldestAgeSeconds: seconds(backlog?.oldest),
      medianAgeSeconds: seconds(backlog?.median),
      under7Days: Number(backlog?.under7 ?? 0),
      from7To30Days: Number(backlog?.from7to30 ?? 0),
      over30Days: Number(backlog?.over30 ?? 0),
    },
  };
}

/** The period asked for, or the last 90 days up to now. */
export function kpiPeriod(input: { from?: Date | null; to?: Date | null }, now = new Date()): { from: Date; to: Date } {
  const to = input.to ?? now;
  return { from: input.from ?? new Date(to.getTime() - DEFAULT_DAYS * DAY_MS), to };
}

/** The city's figures for a period (staff: reporting.triage). */
export async function reportingKpis(
  principal: Principal,
  input: { from?: Date | null; to?: Date | null } = {},
  context: ServiceContext & { now?: Date } = {},
): Promise<ReportingKpis> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "reporting.triage");
  const period = parseInput(periodSchema, input);
  await reportingSettings(tenantId, context.database);
  const now = context.now ?? new Date();
  return withTenant(tenantId, (tx) => computeKpis(tx, tenantId, { ...kpiPeriod(period, now), now }), context.database);
}
