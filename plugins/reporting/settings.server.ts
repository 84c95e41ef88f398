// A city's settings of the reporting plugin (plugin_installations.settings): who may report,
// how duplicates are found, photo limits, and how notifications leave. The lifecycle validates
// them on every change with `reportingSettingsSchema`; services read them with `reportingSettings`,
// which also answers NotFound("service") where the city does not run the plugin.
import { z } from "zod";
import { MULTIPART_FORM_LIMIT } from "../../app/http-limits";
import { translatedSetting } from "../../app/plugins/sdk.server";
import { requireEnabledPlugin } from "../../app/plugins/enablement.server";
import type { Database } from "../../app/db/database.server";

export const REPORTING_PLUGIN_ID = "reporting";

const smtpSchema = z.strictObject({
  host: z.string({ error: "must be a host name" }).trim().min(1, { error: "is required" }).max(253, { error: "must be at most 253 characters" }),
  port: z.number({ error: "must be a port number" }).int({ error: "must be a whole number" }).min(1, { error: "must be a port number" }).max(65535, { error: "must be a port number" }),
  secure: z.boolean({ error: "must be true or false" }),
  user: z.string().trim().max(320, { error: "must be at most 320 characters" }).nullish(),
  password: z.string().max(1000, { error: "must be at most 1000 characters" }).nullish(),
});

const whole = (min: number, max: number, unit = "") =>
  z
    .number({ error: "must be a number" })
    .int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min}${unit}` })
    .max(max, { error: `must be at most ${max}${unit}` });

/** What the photos of one report may weigh together: the portal's form limit, less room for the text. */
export const PHOTOS_PER_FORM = MULTIPART_FORM_LIMIT - 512 * 1024;

export const reportingSettingsSchema = z.object({
  /** Whether people who are not signed in may report (and follow by email). */
  anonymousReports: z.boolean({ error: "must be true or false" }),
  /** A new report this close to an open one of the same category is offered as a duplicate. */
  duplicateRadiusMeters: whole(0, 5000, " metres"),
  /** ... if that one was reported within these last days (0: no duplicate check). */
  duplicateWindowDays: whole(0, 365, " days"),
  photoMaxBytes: whole(10_000, 20_000_000, " bytes"),
  photoMaxCount: whole(0, 10),
  /** The From address of notifications; empty: no email leaves (they stay in the outbox log). */
  notificationsFrom: z.union([z.literal(""), z.email({ error: "must be an email address" })]),
  /** Null: messages go to the log transport (data/outbox/), not to a mail server. */
  smtp: smtpSchema.nullable(),
  /** Open311 GET requests without dates answers this many last days. */
  defaultListDays: whole(1, 3650, " days"),
  /** Open311 agency_responsible, per locale (defaults to the city's name). */
  agencyName: translatedSetting({ maxLength: 200 }),
}).refine((settings) => settings.photoMaxCount * settings.photoMaxBytes <= PHOTOS_PER_FORM, {
  path: ["photoMaxBytes"],
  error: `photoMaxCount × photoMaxBytes must fit in one form: at most ${PHOTOS_PER_FORM} bytes together`,
});

export type ReportingSettings = z.infer<typeof reportingSettingsSchema>;
export type SmtpSettings = NonNullable<ReportingSettings["smtp"]>;

export const REPORTING_DEFAULTS: ReportingSettings = {
  anonymousReports: true,
  duplicateRadiusMeters: 50,
  duplicateWindowDays: 30,
  photoMaxBytes: 3_000_000,
  photoMaxCount: 3,
  notificationsFrom: "",
  smtp: null,
  defaultListDays: 90,
  agencyName: {},
};

/**
 * Stored settings over the defaults. Settings written by the lifecycle passed the schema; if a
 * field does not (an older version's), its default stands in rather than breaking the city.
 */
export function readSettings(stored: Record<string, unknown>): ReportingSettings {
  const merged = { ...REPORTING_DEFAULTS, ...stored };
  const parsed = reportingSettingsSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const repaired: Record<string, unknown> = { ...merged };
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (typeof field === "string" && field in REPORTING_DEFAULTS) repaired[field] = REPORTING_DEFAULTS[field as keyof ReportingSettings];
  }
  const second = reportingSettingsSchema.safeParse(repaired);
  return second.success ? second.data : REPORTING_DEFAULTS;
}

/** The city's settings; NotFound("service") when it does not run the plugin. */
export async function reportingSettings(tenantId: string, database?: Database): Promise<ReportingSettings> {
  const installation = await requireEnabledPlugin(tenantId, REPORTING_PLUGIN_ID, database);
  return readSettings(installation.settings);
}

/** What may be shown of the settings (GraphQL, admin pages): the SMTP password never is. */
export function publicSettings(settings: ReportingSettings) {
  const { smtp, ...rest } = settings;
  return {
    ...rest,
    smtp: smtp ? { host: smtp.host, port: smtp.port, secure: smtp.secure, user: smtp.user ?? null, hasPassword: Boolean(smtp.password) } : null,
  };
}
