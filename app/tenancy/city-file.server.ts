// A city file (tenants/<slug>.yaml) declares one city. This module holds its schema and turns a
// file into either a city or a CityFileError that lists every problem with file, field and line,
// because a typo in a file that seeds production must never pass silently.
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { platformDomain as platformDomainFor } from "../config.server";
import { LABEL_PATTERN } from "./host.server";
import { isSupportedLocale, SUPPORTED_LOCALES } from "../i18n/locales";

/** First path segments the platform routes itself: a city slug must not shadow them. */
export const RESERVED_SLUGS = [
  "healthz",
  "readyz",
  "graphql",
  "realms",
  "federation",
  "open311",
  "api",
  "admin",
  "platform",
  "assets",
  "build",
  "static",
  "login",
  "logout",
  "auth",
  "developer",
  "account",
  "accessibility",
  "language",
  "locales",
  "favicon.ico",
  "robots.txt",
] as const;

/** Realms that are not a city's: Keycloak's administration realm and the operators' realm. */
export const RESERVED_REALMS = ["master", "platform"] as const;

export const SLUG_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;
const REALM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// Written with both cases instead of the i flag: JSON Schema patterns have no flags.
export const COLOUR_PATTERN = /^#[0-9a-fA-F]{6}$/;

export type CityFileProblem = {
  /** The file, relative to the working directory. */
  file: string;
  /** Field path such as `locales.default` or `domains[1]`; empty for the file as a whole. */
  field: string;
  line?: number;
  column?: number;
  message: string;
};

/** Everything wrong with one or more city files, one problem a line. */
export class CityFileError extends Error {
  override name = "CityFileError";
  readonly problems: CityFileProblem[];

  constructor(problems: CityFileProblem[]) {
    const files = new Set(problems.map((problem) => problem.file));
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const where = files.size === 1 ? [...files][0] : `${files.size} files`;
    super(
      [
        `Invalid city file${files.size === 1 ? "" : "s"} (${count} in ${where}):`,
        ...problems.map((p) => `  ${formatProblem(p)}`),
      ].join("\n"),
    );
    this.problems = problems;
  }
}

/** `tenants/paris.yaml:7: locales.default: …`, the form editors and terminals link. */
export function formatProblem(problem: CityFileProblem): string {
  const position =
    problem.line === undefined
      ? ""
      : `:${problem.line}${problem.column === undefined ? "" : `:${problem.column}`}`;
  const field = problem.field ? ` ${problem.field}:` : "";
  return `${problem.file}${position}:${field} ${problem.message}`;
}

// --- Schema --------------------------------------------------------------------------------

const show = (value: unknown): string => {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
};

/** A supported UI locale (the city settings share it). */
export const localeSchema = z.enum(SUPPORTED_LOCALES, {
  error: (issue) =>
    issue.input === undefined
      ? undefined
      : `${show(issue.input)} is not a supported locale (supported: ${SUPPORTED_LOCALES.join(", ")})`,
});

const slugSchema = z
  .string()
  .regex(SLUG_PATTERN, {
    error: (issue) =>
      `${show(issue.input)} is not a valid slug: ` +
      "2 to 63 lowercase letters, digits and hyphens, starting with a letter",
  })
  .refine((slug) => !(RESERVED_SLUGS as readonly string[]).includes(slug), {
    error: (issue) =>
      `${show(issue.input)} is reserved for the platform's own paths (${RESERVED_SLUGS.join(", ")})`,
  })
  .meta({
    description: "The city's id in URLs ({slug}.{platform domain} or /{slug}); must equal the file name.",
  });

/** A `#rrggbb` colour, lower-cased; `example` is shown in the messages. */
export const colourSchema = (example: string) =>
  z
    .string({
      // `primaryColor: #1f4e79` is a key followed by a comment: YAML gives null.
      error: (issue) =>
        issue.input === null
          ? `is empty: write the colour in quotes, e.g. "${example}" (an unquoted # starts a YAML comment)`
          : undefined,
    })
    .regex(COLOUR_PATTERN, {
      error: (issue) => `${show(issue.input)} is not a colour written #rrggbb (e.g. "${example}")`,
    })
    .toLowerCase();

/** An https URL, or a path on this instance (never protocol-relative). */
export function isLogoUrl(value: string): boolean {
  // "//host/logo.svg" is protocol-relative: it would load from another host.
  if (value.startsWith("/")) return !value.startsWith("//") && !value.includes("\\");
  try {
    const url = new URL(value);
    return url.protocol === "https:" && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Why a text is not an IANA time zone name, or undefined when it is one. */
export function timeZoneProblem(value: string): string | undefined {
  if (/^[+-]\d/.test(value)) {
    return (
      `${show(value)} is an offset; use an IANA zone name such as Europe/Paris ` +
      "(offsets ignore daylight saving time)"
    );
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat("en-US", { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return `${show(value)} is not an IANA time zone (e.g. Europe/Paris, America/New_York)`;
  }
  // Intl ignores case; PostgreSQL, Keycloak and people reading the file do not all do so.
  if (resolved !== value && resolved.toLowerCase() === value.toLowerCase()) {
    return `write it as "${resolved}"`;
  }
  return undefined;
}

function hostnameProblem(value: string): string | undefined {
  if (value.includes("://") || value.includes("/")) {
    return `${show(value)}: write only the host name, without scheme or path`;
  }
  if (value.includes(":")) return `${show(value)}: write only the host name, without a port`;
  if (value.endsWith(".")) return `${show(value)}: write it without the trailing dot`;
  if (value !== value.toLowerCase()) return `${show(value)} must be lowercase ("${value.toLowerCase()}")`;
  if (/[^\x20-\x7e]/.test(value)) {
    let ascii = "";
    try {
      ascii = new URL(`http://${value}`).hostname;
    } catch {
      // not convertible: the message below stays generic
    }
    const written = ascii ? `"${ascii}"` : "xn--…";
    return `${show(value)}: write internationalised names in their ASCII form (${written})`;
  }
  const labels = value.split(".");
  if (value.length > 253 || labels.length < 2 || !labels.every((label) => LABEL_PATTERN.test(label))) {
    const rule = "dot-separated labels of letters, digits and inner hyphens";
    return `${show(value)} is not a valid host name (e.g. services.paris.example: ${rule})`;
  }
  if (/^\d+$/.test(labels.at(-1) ?? "")) return `${show(value)} is an IP address; use a DNS name`;
  return undefined;
}

const withProblem =
  (problemOf: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
    const message = problemOf(value);
    if (message) ctx.addIssue({ code: "custom", message, input: value });
  };

const namesSchema = z
  .partialRecord(localeSchema, z.string().trim().min(1, { error: "must not be empty" }))
  .meta({
    description: "The city's name per locale; every enabled locale needs one.",
    examples: [{ fr: "Paris", en: "Paris" }],
  });

const localesSchema = z
  .strictObject({
    default: localeSchema.meta({
      description: "The language residents see when they have not chosen one; must be enabled.",
    }),
    enabled: z
      .array(localeSchema)
      .min(1, { error: "must list at least one locale" })
      .meta({ description: "The languages this city offers, in the order a language switcher shows them." }),
  })
  .meta({ description: "Languages the city is served in." });

const brandingSchema = z
  .strictObject({
    primaryColor: colourSchema("#1f4e79").meta({
      description: "Main colour, #rrggbb; white text sits on it, so aim for 4.5:1 contrast.",
    }),
    accentColor: colourSchema("#e0a526").meta({ description: "Secondary colour, #rrggbb." }),
    logoUrl: z
      .string()
      .refine(isLogoUrl, {
        error: (issue) => `${show(issue.input)} must be an https:// URL or a path starting with /`,
      })
      .optional()
      .meta({ description: "Logo: an https:// URL or a path on this instance starting with /." }),
  })
  .meta({ description: "Colours and logo." });

const identitySchema = z
  .strictObject({
    realm: z
      .string()
      .regex(REALM_PATTERN, {
        error: (issue) =>
          `${show(issue.input)} is not a valid realm name: lowercase letters, digits, "-" and "_", up to 63`,
      })
      .optional()
      .meta({ description: "Keycloak realm holding this city's identities; defaults to the slug." }),
  })
  .meta({ description: "Where the city's residents and staff sign in." });

// The fields, kept apart from the cross-field rules so that unknown-key hints can list them.
const cityFileFields = z.strictObject({
  slug: slugSchema,
  names: namesSchema,
  locales: localesSchema,
  timeZone: z
    .string()
    .superRefine(withProblem(timeZoneProblem))
    .meta({ description: "IANA time zone, e.g. Europe/Paris.", examples: ["Europe/Paris"] }),
  status: z
    .enum(["active", "suspended"], {
      error: (issue) =>
        issue.input === undefined ? undefined : `${show(issue.input)} must be active or suspended`,
    })
    .default("active")
    .meta({ description: "A suspended city answers no requests." }),
  branding: brandingSchema,
  domains: z
    .array(z.string().superRefine(withProblem(hostnameProblem)))
    .default([])
    .meta({
      description:
        "Custom host names, lowercase; the first is the primary one. Not the platform domain, " +
        "localhost, or a name under them: cities answer there by slug already.",
    }),
  identity: identitySchema.optional(),
});

type CityFileFields = z.output<typeof cityFileFields>;

const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": Object.keys(cityFileFields.shape),
  locales: Object.keys(localesSchema.shape),
  branding: Object.keys(brandingSchema.shape),
  identity: Object.keys(identitySchema.shape),
  names: SUPPORTED_LOCALES,
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function duplicateIndexes(values: unknown[]): number[] {
  const seen = new Set<unknown>();
  return values.flatMap((value, index) => {
    if (seen.has(value)) return [index];
    seen.add(value);
    return [];
  });
}

// Rules between fields. They run even when some fields are invalid (so that a file's problems
// all show at once), hence the defensive look at every value.
function crossFieldRules(city: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const locales = isRecord(city.locales) ? city.locales : {};
  const enabled = Array.isArray(locales.enabled) ? locales.enabled : [];
  for (const index of duplicateIndexes(enabled)) {
    ctx.addIssue({
      code: "custom",
      path: ["locales", "enabled", index],
      message: `${show(enabled[index])} is listed twice`,
    });
  }
  // An unsupported locale has its own problem already; these rules only relate valid ones.
  if (
    typeof locales.default === "string" &&
    isSupportedLocale(locales.default) &&
    enabled.length > 0 &&
    !enabled.includes(locales.default)
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["locales", "default"],
      message: `${show(locales.default)} is not one of locales.enabled (${[...new Set(enabled)].join(", ")})`,
    });
  }
  if (isRecord(city.names)) {
    const names = city.names;
    for (const locale of new Set(enabled)) {
      if (typeof locale === "string" && isSupportedLocale(locale) && !(locale in names)) {
        ctx.addIssue({
          code: "custom",
          path: ["names", locale],
          message: `is missing: every enabled locale needs the city's name`,
        });
      }
    }
  }
  const domains = Array.isArray(city.domains) ? city.domains : [];
  for (const index of duplicateIndexes(domains)) {
    ctx.addIssue({
      code: "custom",
      path: ["domains", index],
      message: `${show(domains[index])} is listed twice`,
    });
  }
  const identity = isRecord(city.identity) ? city.identity : {};
  const realm = identity.realm ?? city.slug;
  if (typeof realm === "string" && (RESERVED_REALMS as readonly string[]).includes(realm)) {
    ctx.addIssue({
      code: "custom",
      path: identity.realm === undefined ? ["slug"] : ["identity", "realm"],
      message:
        identity.realm === undefined
          ? `the default realm ${show(realm)} is reserved (${RESERVED_REALMS.join(", ")}); set identity.realm`
          : `${show(realm)} is reserved (${RESERVED_REALMS.join(", ")})`,
    });
  }
}

export const cityFileSchema = cityFileFields
  .superRefine(crossFieldRules, { when: (payload) => isRecord(payload.value) })
  .transform((city: CityFileFields) => ({ ...city, identity: { realm: city.identity?.realm ?? city.slug } }));

/** A city as its file declares it, defaults filled in (status, domains, identity.realm). */
export type CityFile = z.output<typeof cityFileSchema>;

/** The JSON Schema behind `# yaml-language-server: $schema=./city.schema.json` (editor hints). */
export function cityFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(cityFileSchema, {
    io: "input",
    target: "draft-7",
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === slugSchema) jsonSchema.not = { enum: [...RESERVED_SLUGS] };
    },
  });
  return {
    ...schema,
    title: "Civitas city file",
    description: "One partner city, declared as code (tenants/<slug>.yaml). See tenants/README.md.",
  };
}

// --- Parsing -------------------------------------------------------------------------------

/** A parsed city file with where each field sits, for problems found later (across files, in the database). */
export type ParsedCityFile = {
  /** Path relative to the working directory, as messages show it. */
  file: string;
  city: CityFile;
  lines: ReadonlyMap<string, number>;
};

/** `["locales", "enabled", 2]` → `locales.enabled[2]` */
export function fieldPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((joined, segment) => {
    if (typeof segment === "number") return `${joined}[${segment}]`;
    return joined ? `${joined}.${String(segment)}` : String(segment);
  }, "");
}

function fieldLines(root: unknown, lineCounter: LineCounter): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (node: unknown, segments: PropertyKey[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const at = [...segments, String(key)];
        const offset =
          (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ??
          (isScalar(pair.value) ? pair.value.range?.[0] : undefined);
        if (offset !== undefined) lines.set(fieldPath(at), lineCounter.linePos(offset).line);
        visit(pair.value, at);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const at = [...segments, index];
        const range = (item as { range?: [number, number, number] } | null)?.range;
        if (range) lines.set(fieldPath(at), lineCounter.linePos(range[0]).line);
        visit(item, at);
      });
    }
  };
  visit(root, []);
  return lines;
}

/** The line of a field, or of its closest ancestor written in the file (a missing key points at its parent). */
function lineOf(lines: ReadonlyMap<string, number>, segments: readonly PropertyKey[]): number | undefined {
  for (let length = segments.length; length > 0; length -= 1) {
    const line = lines.get(fieldPath(segments.slice(0, length)));
    if (line !== undefined) return line;
  }
  return undefined;
}

/** A problem with a field of an already parsed file (duplicates across files, database conflicts). */
export function problemAt(
  parsed: ParsedCityFile,
  segments: readonly PropertyKey[],
  message: string,
): CityFileProblem {
  return { file: parsed.file, field: fieldPath(segments), line: lineOf(parsed.lines, segments), message };
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function unknownKeyMessage(parent: string, key: string): string {
  const known = KNOWN_KEYS[parent] ?? [];
  if (parent === "names") return `${show(key)} is not a supported locale (supported: ${known.join(", ")})`;
  const simplify = (text: string) => text.toLowerCase().replace(/[-_ ]/g, "");
  const guess = known.find((candidate) => levenshtein(simplify(candidate), simplify(key)) <= 2);
  if (guess) return `unknown field; did you mean "${guess}"?`;
  return known.length > 0 ? `unknown field (allowed here: ${known.join(", ")})` : "unknown field";
}

const TYPE_NAMES: Record<string, string> = {
  string: "a text",
  object: "a mapping (key: value lines)",
  array: "a list",
  number: "a number",
  boolean: "true or false",
};

// Messages for the issues no schema above words itself: missing fields and wrong types.
function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "is required";
  return `should be ${TYPE_NAMES[issue.expected] ?? issue.expected}, not ${show(issue.input)}`;
}

function issueProblems(
  issue: z.core.$ZodIssue,
  file: string,
  lines: ReadonlyMap<string, number>,
): CityFileProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const segments = [...issue.path, key];
      return {
        file,
        field: fieldPath(segments),
        line: lineOf(lines, segments),
        message: unknownKeyMessage(fieldPath(issue.path), key),
      };
    });
  }
  return [{ file, field: fieldPath(issue.path), line: lineOf(lines, issue.path), message: issue.message }];
}

/**
 * Why a host name cannot be a city's own domain: the platform domain and localhost answer by
 * slug ({slug}.{domain}), and the resolver looks custom domains up first, so a city claiming
 * `paris.{domain}` would take over Paris' address.
 */
function platformHostnameProblem(hostname: string, platformDomain: string): string | undefined {
  for (const domain of new Set([platformDomain, "localhost"])) {
    const which = domain === platformDomain ? `the platform domain ${domain}` : domain;
    if (hostname === domain) {
      const itself = domain === platformDomain ? "the platform domain" : domain;
      return `${show(hostname)} is ${itself}; cities answer under it by slug already`;
    }
    if (hostname.endsWith(`.${domain}`)) {
      return `${show(hostname)} is under ${which}; cities answer there by slug already`;
    }
  }
  return undefined;
}

function platformDomainProblems(
  data: unknown,
  platformDomain: string,
  file: string,
  lines: ReadonlyMap<string, number>,
): CityFileProblem[] {
  const domains = isRecord(data) && Array.isArray(data.domains) ? (data.domains as unknown[]) : [];
  return domains.flatMap((hostname, index) => {
    // A malformed host name has its own problem already.
    if (typeof hostname !== "string" || hostnameProblem(hostname)) return [];
    const message = platformHostnameProblem(hostname, platformDomain);
    if (!message) return [];
    const segments = ["domains", index];
    return [{ file, field: fieldPath(segments), line: lineOf(lines, segments), message }];
  });
}

export type ParseCityFileOptions = {
  /** Where the file was read from: messages name it relative to the working directory. */
  file: string;
  text: string;
  /** The platform domain (cities answer at {slug}.{domain}); defaults to CIVITAS_DOMAIN. */
  platformDomain?: string;
};

// The pretty message repeats the position and quotes the source; its first clause is the news.
const syntaxMessage = (message: string) =>
  (message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");

/**
 * Parses and validates the text of one city file. `file` is where it was read from: messages
 * name it relative to the working directory, and the slug must equal its base name. Host names
 * under `platformDomain` (default CIVITAS_DOMAIN) or localhost are refused.
 * Throws a CityFileError listing every problem.
 */
export function parseCityFile({ file, text, platformDomain }: ParseCityFileOptions): ParsedCityFile {
  const shown = path.relative(process.cwd(), path.resolve(file)) || file;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new CityFileError(
      document.errors.map((error) => ({
        file: shown,
        field: "",
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
        message: `YAML syntax: ${syntaxMessage(error.message)}`,
      })),
    );
  }
  const lines = fieldLines(document.contents, lineCounter);
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    // An alias expanding past the yaml package's limit (a "billion laughs" file) ends here.
    const message = error instanceof Error ? error.message : String(error);
    throw new CityFileError([{ file: shown, field: "", message: `YAML: ${message}` }]);
  }
  const { city, problems } = checkCity(data, { file: shown, lines, platformDomain });
  if (data === null || data === undefined) {
    problems.splice(0, problems.length, {
      file: shown,
      field: "",
      message: "is empty: a city file is a mapping of fields (see tenants/README.md)",
    });
  }
  const expectedSlug = path.basename(file).replace(/\.ya?ml$/, "");
  const slug = isRecord(data) ? data.slug : undefined;
  // An invalid slug already has its problem; asking to rename the file after it would mislead.
  if (typeof slug === "string" && SLUG_PATTERN.test(slug) && slug !== expectedSlug) {
    problems.push({
      file: shown,
      field: "slug",
      line: lineOf(lines, ["slug"]),
      message:
        `${show(slug)} does not match the file name: ` +
        `rename the file to ${slug}.yaml or set slug: ${expectedSlug}`,
    });
  }
  if (!city || problems.length > 0) {
    throw new CityFileError(problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }
  return { file: shown, city, lines };
}

/** The schema, then the platform domain's rules: what a city must satisfy, file or not. */
function checkCity(
  data: unknown,
  { file, lines, platformDomain }: { file: string; lines: ReadonlyMap<string, number>; platformDomain?: string },
): { city: CityFile | undefined; problems: CityFileProblem[] } {
  const result = cityFileSchema.safeParse(data ?? undefined, { error: fallbackMessage });
  const problems = result.success
    ? []
    : result.error.issues.flatMap((issue) => issueProblems(issue, file, lines));
  problems.push(...platformDomainProblems(data, platformDomainFor(platformDomain), file, lines));
  return { city: result.success ? result.data : undefined, problems };
}

/**
 * Validates a city given as data rather than as a file (onboarding through the API or the
 * platform console) with the rules of a city file, but no file name for the slug to match.
 * Throws a CityFileError listing every problem; `source` stands for the file in them.
 */
export function parseCityData(
  data: unknown,
  { source = "input", platformDomain }: { source?: string; platformDomain?: string } = {},
): CityFile {
  const { city, problems } = checkCity(data, { file: source, lines: new Map(), platformDomain });
  if (!city || problems.length > 0) throw new CityFileError(problems);
  return city;
}
