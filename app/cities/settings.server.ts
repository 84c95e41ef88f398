// A city's own settings as its admins edit them (admin console, GraphQL): names, languages, time
// zone and branding. Slug, realm, domains and status are the platform's: request work cannot
// even write those columns. Field rules are the city files' (same zod pieces), plus what an
// admin editing one field at a time needs: the merged result is checked, and the primary colour
// must carry white text (WCAG AA).
import { z } from "zod";
import { recordAudit } from "../audit/audit.server";
import { parseInput, ValidationFailed } from "../auth/errors";
import { requireCityPermission, type Principal } from "../auth/permissions";
import { auditActor, type ServiceContext } from "../auth/principal.server";
import { withTenant } from "../db/database.server";
import type { Prisma } from "../db/generated/client.ts";
import type { IdentityBackend } from "../identity/backend.server";
import { provisionRealm } from "../identity/provision.server";
import { colourSchema, isLogoUrl, localeSchema, timeZoneProblem } from "../tenancy/city-file.server";
import { cityBranding, forgetTenantLookups, type CityBranding } from "../tenancy/resolve.server";
import { contrastRatio, formatContrast, MIN_TEXT_CONTRAST } from "./contrast";

export type CitySettings = {
  id: string;
  slug: string;
  /** The city's name per locale; the default locale always has one. */
  names: Record<string, string>;
  defaultLocale: string;
  /** In the order a language switcher shows them. */
  enabledLocales: string[];
  timeZone: string;
  branding: CityBranding;
  /** The welcome text on the portal's home, per locale (city-written; may be empty). */
  welcome: Record<string, string>;
  updatedAt: Date;
};

/**
 * A partial update: absent (or null) fields stay as they are. `names` replaces the whole set;
 * names of locales that `enabledLocales` drops are dropped with them. `branding` changes the
 * colours and logo given (`logoUrl: null` removes the logo).
 */
export type CitySettingsInput = {
  names?: Record<string, string> | null;
  enabledLocales?: string[] | null;
  defaultLocale?: string | null;
  timeZone?: string | null;
  branding?: { primaryColor?: string | null; accentColor?: string | null; logoUrl?: string | null } | null;
  /** Replaces the whole set; an empty text removes that locale's. */
  welcome?: Record<string, string> | null;
};

export type SettingsField = "names" | "enabledLocales" | "defaultLocale" | "timeZone" | "branding" | "welcome";

export type CitySettingsChange = {
  settings: CitySettings;
  changed: boolean;
  /** The fields that changed (the audit event holds their values before and after). */
  changedFields: SettingsField[];
};

export type SettingsContext = ServiceContext & {
  /**
   * The identity provider: given, the city's realm is brought up to date when its names or
   * languages change (they show on the sign-in pages); otherwise that waits for the next start.
   */
  identity?: { backend: IdentityBackend; publicUrl?: string };
};

const COLUMNS = {
  id: true,
  slug: true,
  names: true,
  defaultLocale: true,
  enabledLocales: true,
  timeZone: true,
  branding: true,
  welcome: true,
  identityRealm: true,
  updatedAt: true,
} as const;

type Row = Prisma.CityGetPayload<{ select: typeof COLUMNS }>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function namesOf(column: unknown): Record<string, string> {
  if (!isRecord(column)) return {};
  return Object.fromEntries(
    Object.entries(column).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1].trim() !== ""),
  );
}

function settingsOf(row: Row): CitySettings {
  return {
    id: row.id,
    slug: row.slug,
    names: namesOf(row.names),
    defaultLocale: row.defaultLocale,
    enabledLocales: [...row.enabledLocales],
    timeZone: row.timeZone,
    branding: cityBranding(row.branding),
    welcome: namesOf(row.welcome),
    updatedAt: row.updatedAt,
  };
}

/** The city's settings, for its admins' settings page (city.settings.update). */
export async function getCitySettings(principal: Principal, context: ServiceContext = {}): Promise<CitySettings> {
  const { tenantId } = requireCityPermission(principal, context.tenantId, "city.settings.update");
  const row = await withTenant(
    tenantId,
    (tx) => tx.city.findFirstOrThrow({ where: { id: tenantId }, select: COLUMNS }),
    context.database,
  );
  return settingsOf(row);
}

// --- Input ---------------------------------------------------------------------------------

const firstMessage = (issues: readonly { message: string }[]) => issues[0]?.message ?? "is not valid";

/** `schema`, its messages starting with `label` (which locale, which colour): the field key names only the top level. */
function labelled<S extends z.ZodType>(label: string, schema: S) {
  return z.unknown().transform((value, ctx): z.output<S> => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: `${label}: ${issue.message}` });
    return z.NEVER;
  });
}

const nameText = z
  .string({ error: "must be text" })
  .trim()
  .min(1, { error: "must not be empty" })
  .max(100, { error: "must be at most 100 characters" });

const namesSchema = z
  .record(z.string(), z.unknown(), { error: "must map locales to the city's name in each" })
  .transform((names, ctx) => {
    const checked: Record<string, string> = {};
    for (const [locale, value] of Object.entries(names)) {
      const key = localeSchema.safeParse(locale);
      if (!key.success) {
        ctx.addIssue({ code: "custom", message: firstMessage(key.error.issues) });
        continue;
      }
      const name = nameText.safeParse(value);
      if (!name.success) {
        ctx.addIssue({ code: "custom", message: `${locale}: ${firstMessage(name.error.issues)}` });
        continue;
      }
      checked[locale] = name.data;
    }
    return checked;
  });

const WELCOME_MAX = 2000;

const welcomeSchema = z
  .record(z.string(), z.unknown(), { error: "must map locales to the welcome text in each" })
  .transform((texts, ctx) => {
    const checked: Record<string, string> = {};
    for (const [locale, value] of Object.entries(texts)) {
      const key = localeSchema.safeParse(locale);
      if (!key.success) {
        ctx.addIssue({ code: "custom", message: firstMessage(key.error.issues) });
        continue;
      }
      if (typeof value !== "string") {
        ctx.addIssue({ code: "custom", message: `${locale}: must be text` });
        continue;
      }
      const text = value.trim();
      if (text.length > WELCOME_MAX) ctx.addIssue({ code: "custom", message: `${locale}: must be at most ${WELCOME_MAX} characters` });
      else if (text !== "") checked[locale] = text;
    }
    return checked;
  });

const enabledLocalesSchema = z
  .array(localeSchema, { error: "must be a list of locales" })
  .min(1, { error: "must list at least one locale" })
  .superRefine((locales, ctx) => {
    const seen = new Set<string>();
    for (const locale of locales) {
      if (seen.has(locale)) ctx.addIssue({ code: "custom", message: `"${locale}" is listed twice` });
      seen.add(locale);
    }
  });

const timeZoneSchema = z.string({ error: "must be an IANA time zone name, such as Europe/Paris" }).superRefine((value, ctx) => {
  const problem = timeZoneProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const brandingSchema = z.strictObject(
  {
    primaryColor: labelled("primaryColor", colourSchema("#1f4e79")).nullish(),
    accentColor: labelled("accentColor", colourSchema("#e0a526")).nullish(),
    logoUrl: labelled(
      "logoUrl",
      z.string({ error: "must be text" }).refine(isLogoUrl, { error: "must be an https:// URL or a path starting with /" }),
    ).nullable().optional(),
  },
  { error: "must be a mapping of primaryColor, accentColor and logoUrl" },
);

const settingsSchema = z.strictObject({
  names: namesSchema.nullish(),
  enabledLocales: enabledLocalesSchema.nullish(),
  defaultLocale: localeSchema.nullish(),
  timeZone: timeZoneSchema.nullish(),
  branding: brandingSchema.nullish(),
  welcome: welcomeSchema.nullish(),
});

type Parsed = z.output<typeof settingsSchema>;

// --- Merging and the rules across fields ---------------------------------------------------------

type Values = Pick<CitySettings, SettingsField>;

function merge(current: CitySettings, input: Parsed): Values {
  const enabledLocales = input.enabledLocales ?? current.enabledLocales;
  const names =
    input.names ??
    // Names of locales no longer offered go with them.
    Object.fromEntries(Object.entries(current.names).filter(([locale]) => enabledLocales.includes(locale)));
  const branding = { ...current.branding };
  if (input.branding?.primaryColor) branding.primaryColor = input.branding.primaryColor;
  if (input.branding?.accentColor) branding.accentColor = input.branding.accentColor;
  if (input.branding && input.branding.logoUrl !== undefined) branding.logoUrl = input.branding.logoUrl;
  // Like names: a text of a locale no longer offered goes with it.
  const welcome = input.welcome ?? Object.fromEntries(Object.entries(current.welcome).filter(([locale]) => enabledLocales.includes(locale)));
  return {
    names,
    enabledLocales,
    defaultLocale: input.defaultLocale ?? current.defaultLocale,
    timeZone: input.timeZone ?? current.timeZone,
    branding,
    welcome,
  };
}

function crossFieldProblems(wanted: Values, input: Parsed): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  const add = (field: string, message: string) => (problems[field] ??= []).push(message);
  const enabled = wanted.enabledLocales.join(", ");

  if (!wanted.enabledLocales.includes(wanted.defaultLocale)) {
    if (input.defaultLocale) add("defaultLocale", `"${wanted.defaultLocale}" is not one of the enabled locales (${enabled})`);
    else add("enabledLocales", `leaves out the default locale "${wanted.defaultLocale}": choose another default locale too`);
  }
  if (input.names) {
    for (const locale of Object.keys(input.names)) {
      if (!wanted.enabledLocales.includes(locale)) add("names", `"${locale}" is not an enabled locale (${enabled})`);
    }
  }
  if (input.welcome) {
    for (const locale of Object.keys(input.welcome)) {
      if (!wanted.enabledLocales.includes(locale)) add("welcome", `"${locale}" is not an enabled locale (${enabled})`);
    }
  }
  if (!wanted.names[wanted.defaultLocale]) {
    add("names", `the default locale "${wanted.defaultLocale}" needs the city's name`);
  }
  // Checked when it is set: a colour a city file chose earlier does not block other changes.
  const primary = input.branding?.primaryColor;
  if (primary) {
    const ratio = contrastRatio(primary, "#ffffff");
    if (ratio < MIN_TEXT_CONTRAST) {
      add(
        "branding",
        `primaryColor: "${primary}" has a contrast of ${formatContrast(ratio)} with the white text shown on it; ` +
          `it needs at least ${MIN_TEXT_CONTRAST}:1 (WCAG AA): choose a darker colour`,
      );
    }
  }
  return problems;
}

/** JSON with object keys sorted: `{fr, en}` and `{en, fr}` are the same names. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isRecord(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  );
}

const FIELDS: readonly SettingsField[] = ["names", "enabledLocales", "defaultLocale", "timeZone", "branding", "welcome"];

/** The branding column as city files write it: no logoUrl key when there is no logo. */
function brandingColumn({ primaryColor, accentColor, logoUrl }: CityBranding): Prisma.InputJsonObject {
  return logoUrl === null ? { primaryColor, accentColor } : { primaryColor, accentColor, logoUrl };
}

/**
 * Changes the city's settings (admins: city.settings.update). Only what really changes is
 * written and audited (`city.settings_updated`, those fields before and after); nothing to
 * change answers `changed: false` and records nothing.
 */
export async function updateCitySettings(
  principal: Principal,
  input: CitySettingsInput,
  context: SettingsContext = {},
): Promise<CitySettingsChange> {
  const actor = requireCityPermission(principal, context.tenantId, "city.settings.update");
  const { tenantId } = actor;
  const parsed = parseInput(settingsSchema, input);

  const result = await withTenant(
    tenantId,
    async (tx) => {
      // Two admins saving at once: the second reads what the first wrote, so its audit event's
      // "before" is true.
      await tx.$queryRaw`SELECT 1 FROM cities WHERE id = ${tenantId}::uuid FOR UPDATE`;
      const row = await tx.city.findFirstOrThrow({ where: { id: tenantId }, select: COLUMNS });
      const current = settingsOf(row);
      const wanted = merge(current, parsed);
      const problems = crossFieldProblems(wanted, parsed);
      if (Object.keys(problems).length > 0) throw new ValidationFailed(problems);

      const changedFields = FIELDS.filter((field) => canonical(current[field]) !== canonical(wanted[field]));
      if (changedFields.length === 0) return { settings: current, changed: false, changedFields, realm: row.identityRealm };

      const columns = {
        ...(changedFields.includes("names") && { names: wanted.names }),
        ...(changedFields.includes("enabledLocales") && { enabledLocales: wanted.enabledLocales }),
        ...(changedFields.includes("defaultLocale") && { defaultLocale: wanted.defaultLocale }),
        ...(changedFields.includes("timeZone") && { timeZone: wanted.timeZone }),
        ...(changedFields.includes("branding") && { branding: brandingColumn(wanted.branding) }),
        ...(changedFields.includes("welcome") && { welcome: wanted.welcome }),
      };
      const updatedAt = new Date();
      await tx.city.updateMany({ where: { id: tenantId }, data: { ...columns, updatedAt } });
      const pick = (values: Values) =>
        Object.fromEntries(changedFields.map((field) => [field, field === "branding" ? brandingColumn(values.branding) : values[field]]));
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "city.settings_updated",
        subject: { type: "city", id: tenantId },
        before: pick(current),
        after: pick(wanted),
        requestId: context.requestId,
      });
      return { settings: { ...current, ...wanted, updatedAt }, changed: true, changedFields, realm: row.identityRealm };
    },
    context.database,
  );

  const { realm, ...answer } = result;
  if (!answer.changed) return answer;
  const realmShows = ["names", "enabledLocales", "defaultLocale"] as const;
  const identity = answer.changedFields.some((field) => (realmShows as readonly string[]).includes(field)) ? context.identity : undefined;
  const publish = async () => {
    forgetTenantLookups();
    if (!identity) return;
    try {
      await provisionRealm(realm, tenantId, { backend: identity.backend, database: context.database, publicUrl: identity.publicUrl });
    } catch (error) {
      // The settings are saved; the realm catches up at the next start (provisionAllRealms).
      console.error(`[${context.requestId ?? "-"}] realm ${realm} could not be updated after a settings change:`, error);
    }
  };
  if (context.afterCommit) context.afterCommit(publish);
  else await publish();
  return answer;
}
