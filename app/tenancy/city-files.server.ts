// Applies the folder of city files (tenants/) to the database. At server start only cities not
// known yet are created, so what admins changed since stays; `npm run db:seed` makes the
// database match the files. Applying the same files twice writes nothing.
import { randomUUID } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { withPlatformAdmin, type Database, type Tx } from "../db/database.server";
import { Prisma } from "../db/generated/client.ts";
import {
  CityFileError,
  parseCityFile,
  problemAt,
  type CityFile,
  type CityFileProblem,
  type ParsedCityFile,
} from "./city-file.server";

/** "create-missing": create cities whose slug is unknown, leave the others. "sync": create or update to match. */
export type ApplyMode = "create-missing" | "sync";

/** Slugs by outcome; `unchanged` also holds existing cities that "create-missing" left alone. */
export type CityFilesReport = { created: string[]; updated: string[]; unchanged: string[] };

// Any fixed number: two processes starting together must not both create the same city.
const APPLY_LOCK_KEY = 7_311_312;

const CITY_FILE_NAME = /^[^.].*\.ya?ml$/;

/**
 * Reads and validates every `*.yaml` / `*.yml` file of `dir`, and checks that no two files claim
 * the same slug, realm or host name. Throws one CityFileError listing the problems of all files.
 * `platformDomain` defaults to CIVITAS_DOMAIN (see parseCityFile).
 */
export async function loadCityFiles(
  dir: string,
  { platformDomain }: { platformDomain?: string } = {},
): Promise<ParsedCityFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => CITY_FILE_NAME.test(name)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    const shown = path.relative(process.cwd(), path.resolve(dir)) || dir;
    throw new CityFileError([
      {
        file: shown,
        field: "",
        message: "no such folder (CIVITAS_TENANTS_DIR names the folder of city files)",
      },
    ]);
  }

  const parsed: ParsedCityFile[] = [];
  const problems: CityFileProblem[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    // stat follows symbolic links: a Kubernetes ConfigMap mounts its files as links.
    if (!(await stat(file)).isFile()) continue;
    try {
      parsed.push(parseCityFile({ file, text: await readFile(file, "utf8"), platformDomain }));
    } catch (error) {
      if (!(error instanceof CityFileError)) throw error;
      problems.push(...error.problems);
    }
  }
  problems.push(...claimedTwice(parsed));
  if (problems.length > 0) throw new CityFileError(problems);
  return parsed;
}

function claimedTwice(files: ParsedCityFile[]): CityFileProblem[] {
  const problems: CityFileProblem[] = [];
  const slugs = new Map<string, string>();
  const realms = new Map<string, string>();
  const hostnames = new Map<string, string>();
  for (const parsed of files) {
    const { city } = parsed;
    const slugOwner = slugs.get(city.slug);
    if (slugOwner) {
      problems.push(problemAt(parsed, ["slug"], `"${city.slug}" is also declared by ${slugOwner}`));
    }
    slugs.set(city.slug, parsed.file);
    const realmOwner = realms.get(city.identity.realm);
    if (realmOwner) {
      problems.push(
        problemAt(
          parsed,
          ["identity", "realm"],
          `"${city.identity.realm}" is also the realm of ${realmOwner}`,
        ),
      );
    }
    realms.set(city.identity.realm, parsed.file);
    city.domains.forEach((hostname, index) => {
      const owner = hostnames.get(hostname);
      if (owner)
        problems.push(problemAt(parsed, ["domains", index], `"${hostname}" is also claimed by ${owner}`));
      hostnames.set(hostname, parsed.file);
    });
  }
  return problems;
}

// --- Snapshots: what a file sets, in the shape the audit log records -------------------------

type DomainEntry = { hostname: string; primary: boolean };

type CitySnapshot = {
  names: Prisma.InputJsonValue;
  status: "active" | "suspended";
  defaultLocale: string;
  enabledLocales: string[];
  timeZone: string;
  branding: Prisma.InputJsonValue;
  identityRealm: string;
  domains: DomainEntry[];
};

type SnapshotField = keyof CitySnapshot;

const CITY_COLUMNS = {
  id: true,
  slug: true,
  names: true,
  status: true,
  defaultLocale: true,
  enabledLocales: true,
  timeZone: true,
  branding: true,
  identityRealm: true,
  domains: { select: { hostname: true, isPrimary: true } },
} as const;

type CityRow = Prisma.CityGetPayload<{ select: typeof CITY_COLUMNS }>;

// The order of the other domains carries no meaning; sorting keeps comparisons stable.
const byPrimaryThenName = (a: DomainEntry, b: DomainEntry) =>
  Number(b.primary) - Number(a.primary) || (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0);

function snapshotOfFile(city: CityFile): CitySnapshot {
  const { primaryColor, accentColor, logoUrl } = city.branding;
  return {
    names: city.names,
    status: city.status,
    defaultLocale: city.locales.default,
    enabledLocales: city.locales.enabled,
    timeZone: city.timeZone,
    branding: logoUrl === undefined ? { primaryColor, accentColor } : { primaryColor, accentColor, logoUrl },
    identityRealm: city.identity.realm,
    domains: city.domains
      .map((hostname, index) => ({ hostname, primary: index === 0 }))
      .sort(byPrimaryThenName),
  };
}

function snapshotOfRow(row: CityRow): CitySnapshot {
  return {
    names: row.names ?? {},
    status: row.status,
    defaultLocale: row.defaultLocale,
    enabledLocales: row.enabledLocales,
    timeZone: row.timeZone,
    branding: row.branding ?? {},
    identityRealm: row.identityRealm,
    domains: row.domains
      .map((domain) => ({ hostname: domain.hostname, primary: domain.isPrimary }))
      .sort(byPrimaryThenName),
  };
}

/** JSON with object keys sorted: `{fr, en}` and `{en, fr}` are the same names. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function changedFields(current: CitySnapshot, wanted: CitySnapshot): SnapshotField[] {
  return (Object.keys(wanted) as SnapshotField[]).filter(
    (field) => canonical(current[field]) !== canonical(wanted[field]),
  );
}

function pick(snapshot: CitySnapshot, fields: SnapshotField[]): Prisma.InputJsonObject {
  return Object.fromEntries(fields.map((field) => [field, snapshot[field]]));
}

// --- Applying ------------------------------------------------------------------------------

const OUTCOME = { create: "created", update: "updated", unchanged: "unchanged" } as const;

type Plan =
  | { kind: "create"; parsed: ParsedCityFile; wanted: CitySnapshot }
  | {
      kind: "update";
      parsed: ParsedCityFile;
      row: CityRow;
      current: CitySnapshot;
      wanted: CitySnapshot;
      fields: SnapshotField[];
    }
  | { kind: "unchanged"; parsed: ParsedCityFile };

function plan(files: ParsedCityFile[], rows: CityRow[], mode: ApplyMode): Plan[] {
  const existing = new Map(rows.map((row) => [row.slug, row]));
  return files.map((parsed): Plan => {
    const wanted = snapshotOfFile(parsed.city);
    const row = existing.get(parsed.city.slug);
    if (!row) return { kind: "create", parsed, wanted };
    if (mode === "create-missing") return { kind: "unchanged", parsed };
    const current = snapshotOfRow(row);
    const fields = changedFields(current, wanted);
    return fields.length === 0
      ? { kind: "unchanged", parsed }
      : { kind: "update", parsed, row, current, wanted, fields };
  });
}

/**
 * Realms and host names are unique across the instance. A city outside the files (made in the
 * admin console) that holds one is a conflict the file's author must resolve; a city of these
 * files that holds one in "sync" mode gives it up in the same transaction.
 */
async function refuseConflicts(tx: Tx, plans: Plan[], mode: ApplyMode): Promise<void> {
  const writing = plans.filter((item) => item.kind !== "unchanged");
  if (writing.length === 0) return;
  const inFiles = new Set(mode === "sync" ? plans.map((item) => item.parsed.city.slug) : []);
  const yields = (ownerSlug: string, slug: string) => ownerSlug === slug || inFiles.has(ownerSlug);

  const realmOwners = await tx.city.findMany({
    where: { identityRealm: { in: writing.map((item) => item.parsed.city.identity.realm) } },
    select: { slug: true, identityRealm: true },
  });
  const domainOwners = await tx.cityDomain.findMany({
    where: { hostname: { in: writing.flatMap((item) => item.parsed.city.domains) } },
    select: { hostname: true, city: { select: { slug: true } } },
  });
  const realmOwner = new Map(realmOwners.map((owner) => [owner.identityRealm, owner.slug]));
  const domainOwner = new Map(domainOwners.map((owner) => [owner.hostname, owner.city.slug]));

  const problems: CityFileProblem[] = [];
  for (const { parsed } of writing) {
    const { slug, identity, domains } = parsed.city;
    const owner = realmOwner.get(identity.realm);
    if (owner && !yields(owner, slug)) {
      problems.push(
        problemAt(
          parsed,
          ["identity", "realm"],
          `"${identity.realm}" is already the realm of city "${owner}"`,
        ),
      );
    }
    domains.forEach((hostname, index) => {
      const holder = domainOwner.get(hostname);
      if (holder && !yields(holder, slug)) {
        problems.push(
          problemAt(parsed, ["domains", index], `"${hostname}" already belongs to city "${holder}"`),
        );
      }
    });
  }
  if (problems.length > 0) throw new CityFileError(problems);
}

/** A value no realm can take (realm names start with a letter or digit), unique per call. */
const movingRealm = () => `~moving~${randomUUID()}`;

/**
 * Realms are unique, and cities are written one at a time: a realm passed from one city of the
 * files to another (beta's realm to alpha, a swap) would collide with its holder not yet
 * written. Every city whose realm changes first gives it up for a temporary value; the writes
 * that follow set the final ones, which the files and refuseConflicts keep unique.
 */
async function releaseChangingRealms(tx: Tx, plans: Plan[]): Promise<void> {
  for (const item of plans) {
    if (item.kind !== "update" || !item.fields.includes("identityRealm")) continue;
    await tx.city.update({ where: { id: item.row.id }, data: { identityRealm: movingRealm() } });
  }
}

const isUniqueViolation = (error: unknown): error is Prisma.PrismaClientKnownRequestError =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/**
 * The checks above leave no unique value to collide, unless another writer (the admin console,
 * which does not take APPLY_LOCK_KEY) took one meanwhile. Says which field of which file then,
 * rather than Prisma's P2002. PGlite names the columns, PostgreSQL the index: both contain the
 * column name.
 */
function uniqueViolationError(
  error: Prisma.PrismaClientKnownRequestError,
  { parsed, addedDomains }: { parsed: ParsedCityFile; addedDomains: string[] },
): CityFileError {
  const target = JSON.stringify(error.meta ?? {});
  const { slug, identity } = parsed.city;
  const problem = (segments: PropertyKey[], message: string) =>
    new CityFileError([problemAt(parsed, segments, message)]);
  if (target.includes("identity_realm")) {
    return problem(["identity", "realm"], `"${identity.realm}" is already the realm of another city`);
  }
  if (target.includes("hostname") || target.includes("city_domains")) {
    const taken = addedDomains.map((hostname) => `"${hostname}"`).join(", ");
    const index = addedDomains.length === 1 ? parsed.city.domains.indexOf(addedDomains[0] ?? "") : -1;
    return problem(
      index === -1 ? ["domains"] : ["domains", index],
      addedDomains.length === 0
        ? "a host name of this file already belongs to another city"
        : addedDomains.length === 1
          ? `${taken} already belongs to another city`
          : `one of ${taken} already belongs to another city`,
    );
  }
  if (target.includes("slug")) return problem(["slug"], `"${slug}" is already the slug of another city`);
  const detail = error.message.split("\n").at(-1) ?? "unique violation";
  return problem([], `conflicts with another city: ${detail}`);
}

// Where a change came from, whatever folder the files were read from.
const fileActor = (file: string): AuditActor => ({ type: "system", id: `tenants/${path.basename(file)}` });

async function audit(
  tx: Tx,
  {
    tenantId,
    file,
    action,
    before,
    after,
  }: {
    tenantId: string;
    file: string;
    action: string;
    before?: Prisma.InputJsonObject;
    after: Prisma.InputJsonObject;
  },
): Promise<void> {
  await recordAudit(tx, tenantId, { actor: fileActor(file), action, subject: { type: "city", id: tenantId }, before, after });
}

/**
 * Creates a city as its file declares it (onboarding through the API passes a city validated by
 * parseCityData), with a `city.created` event by `actor` in its audit log. Inside a
 * platform-admin unit of work; a taken slug, realm or host name fails with Prisma's P2002.
 * Returns the new city's id.
 */
export async function insertCity(
  tx: Tx,
  city: CityFile,
  { actor, requestId }: { actor: AuditActor; requestId?: string | null },
): Promise<string> {
  const id = randomUUID();
  const wanted = snapshotOfFile(city);
  const { domains, ...columns } = wanted;
  await tx.city.create({
    data: {
      id,
      slug: city.slug,
      ...columns,
      domains: {
        create: domains.map((domain) => ({ hostname: domain.hostname, isPrimary: domain.primary })),
      },
    },
  });
  await recordAudit(tx, id, {
    actor,
    action: "city.created",
    subject: { type: "city", id },
    after: { ...wanted },
    requestId,
  });
  return id;
}

async function createCity(tx: Tx, { parsed }: { parsed: ParsedCityFile }): Promise<void> {
  await insertCity(tx, parsed.city, { actor: fileActor(parsed.file) });
}

async function updateCity(
  tx: Tx,
  { parsed, row, current, wanted, fields }: Extract<Plan, { kind: "update" }>,
): Promise<void> {
  const columns = Object.fromEntries(
    fields.filter((field) => field !== "domains").map((field) => [field, wanted[field]]),
  );
  // Set explicitly: a change of domains alone is a change of the city too.
  await tx.city.update({ where: { id: row.id }, data: { ...columns, updatedAt: new Date() } });

  if (fields.includes("domains")) {
    const had = new Map(current.domains.map((domain) => [domain.hostname, domain.primary]));
    const flips = wanted.domains.filter(
      (domain) => had.has(domain.hostname) && had.get(domain.hostname) !== domain.primary,
    );
    for (const primary of [false, true]) {
      const hostnames = flips.filter((domain) => domain.primary === primary).map((domain) => domain.hostname);
      if (hostnames.length === 0) continue;
      await tx.cityDomain.updateMany({
        where: { tenantId: row.id, hostname: { in: hostnames } },
        data: { isPrimary: primary },
      });
    }
    const added = wanted.domains.filter((domain) => !had.has(domain.hostname));
    if (added.length > 0) {
      await tx.cityDomain.createMany({
        data: added.map((domain) => ({
          tenantId: row.id,
          hostname: domain.hostname,
          isPrimary: domain.primary,
        })),
      });
    }
  }
  await audit(tx, {
    tenantId: row.id,
    file: parsed.file,
    action: "city.updated",
    before: pick(current, fields),
    after: pick(wanted, fields),
  });
}

/**
 * Applies the city files of `dir` in one transaction as platform administrator. Each city
 * created or updated gets an audit event (actor `system`, `tenants/<file>`). Invalid files, or
 * a realm or host name that a city outside the files holds, abort it with a CityFileError
 * before anything is written. Cities of the files may pass realms and host names among
 * themselves in "sync" mode (chains and swaps included).
 */
export async function applyCityFiles({
  dir,
  mode,
  database,
  platformDomain,
}: {
  dir: string;
  mode: ApplyMode;
  database?: Database;
  /** Defaults to CIVITAS_DOMAIN; host names under it are refused (see parseCityFile). */
  platformDomain?: string;
}): Promise<CityFilesReport> {
  const files = await loadCityFiles(dir, { platformDomain });
  return withPlatformAdmin(async (tx) => {
    // Only the lock matters, not the (void) result: hence $executeRaw.
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${APPLY_LOCK_KEY})`);
    const rows = await tx.city.findMany({
      where: { slug: { in: files.map((parsed) => parsed.city.slug) } },
      select: CITY_COLUMNS,
    });
    const plans = plan(files, rows, mode);
    await refuseConflicts(tx, plans, mode);

    // Host names leave their old city before any city takes them (the index is instance-wide).
    for (const item of plans) {
      if (item.kind !== "update" || !item.fields.includes("domains")) continue;
      const keep = new Set(item.wanted.domains.map((domain) => domain.hostname));
      const removed = item.current.domains
        .map((domain) => domain.hostname)
        .filter((hostname) => !keep.has(hostname));
      if (removed.length === 0) continue;
      await tx.cityDomain.deleteMany({ where: { tenantId: item.row.id, hostname: { in: removed } } });
    }

    await releaseChangingRealms(tx, plans);

    const report: CityFilesReport = { created: [], updated: [], unchanged: [] };
    for (const item of plans) {
      try {
        if (item.kind === "create") await createCity(tx, item);
        if (item.kind === "update") await updateCity(tx, item);
      } catch (error) {
        if (!isUniqueViolation(error) || item.kind === "unchanged") throw error;
        const had = item.kind === "update" ? item.current.domains.map((domain) => domain.hostname) : [];
        const addedDomains = item.parsed.city.domains.filter((hostname) => !had.includes(hostname));
        throw uniqueViolationError(error, { parsed: item.parsed, addedDomains });
      }
      report[OUTCOME[item.kind]].push(item.parsed.city.slug);
    }
    return report;
  }, database);
}
