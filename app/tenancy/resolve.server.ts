// Which city a request is for. The server asks once per request, from the host (a city's own
// domain, or {slug}.{CIVITAS_DOMAIN}) or, on the platform host, from the first path segment.
// Host and path are only selectors: the answer always comes from the cities table.
import { platformDomain } from "../config.server";
import { withPlatformAdmin, type Database } from "../db/database.server";
import { COLOUR_PATTERN, isLogoUrl, RESERVED_SLUGS, SLUG_PATTERN } from "./city-file.server";
import { normaliseHost } from "./host.server";

export type CityBranding = {
  /** #rrggbb, safe to put in CSS. */
  primaryColor: string;
  /** #rrggbb, safe to put in CSS. */
  accentColor: string;
  /** https URL or a path on this host, or null. */
  logoUrl: string | null;
};

/** The city handed to loaders: plain data, serialisable, nothing secret. */
export type ResolvedCity = {
  id: string;
  slug: string;
  /** City name per BCP 47 locale. */
  names: Record<string, string>;
  status: "active" | "suspended";
  defaultLocale: string;
  enabledLocales: string[];
  timeZone: string;
  branding: CityBranding;
  /** The realm holding this city's identities (Keycloak's, or the embedded provider's). */
  identityRealm: string;
};

export type TenantResolution =
  /** `basePath` is "" on a city host and "/{slug}" on the platform host: links start with it. */
  | { kind: "city"; city: ResolvedCity; basePath: string }
  /** The platform host itself (no city selected), or a platform path such as /healthz. */
  | { kind: "platform" }
  /** A host or first path segment that names no city. */
  | { kind: "unknown-city"; selector: string };

export type TenantSelector = {
  /** The Host header (port allowed); anything the client sent. */
  host: string | undefined;
  /** The URL path, not decoded. */
  pathname: string;
};

const RESERVED: ReadonlySet<string> = new Set(RESERVED_SLUGS);
// Probes answer on any host: a load balancer or kubelet calls them by IP, not by city.
const PROBES: ReadonlySet<string> = new Set(["healthz", "readyz"]);
// Hosts that always mean "the platform itself", whatever CIVITAS_DOMAIN says, so that
// http://localhost:3000/paris and http://paris.localhost:3000/ work on a developer machine.
const LOCAL_PLATFORM_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

export const DEFAULT_BRANDING: CityBranding = { primaryColor: "#1f4e79", accentColor: "#e0a526", logoUrl: null };

function firstSegment(pathname: string): string {
  return pathname.split("/")[1] ?? "";
}

// --- Reading cities ---------------------------------------------------------------------------

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
} as const;

type CityRow = {
  id: string;
  slug: string;
  names: unknown;
  status: "active" | "suspended";
  defaultLocale: string;
  enabledLocales: string[];
  timeZone: string;
  branding: unknown;
  identityRealm: string;
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// The JSON columns are edited by admins and by the API: whatever is in them, pages must get
// strings they can print and colours they can put in CSS without escaping.
function toResolvedCity(row: CityRow): ResolvedCity {
  const names: Record<string, string> = {};
  if (isRecord(row.names)) {
    for (const [locale, name] of Object.entries(row.names)) {
      if (typeof name === "string" && name.trim() !== "") names[locale] = name;
    }
  }
  return {
    id: row.id,
    slug: row.slug,
    names,
    status: row.status,
    defaultLocale: row.defaultLocale,
    enabledLocales: [...row.enabledLocales],
    timeZone: row.timeZone,
    identityRealm: row.identityRealm,
    branding: cityBranding(row.branding),
  };
}

/** A branding column as pages may use it: colours safe in CSS, a logo URL safe in HTML. */
export function cityBranding(column: unknown): CityBranding {
  const branding = isRecord(column) ? column : {};
  const colour = (value: unknown, fallback: string) =>
    typeof value === "string" && COLOUR_PATTERN.test(value.toLowerCase()) ? value.toLowerCase() : fallback;
  return {
    primaryColor: colour(branding.primaryColor, DEFAULT_BRANDING.primaryColor),
    accentColor: colour(branding.accentColor, DEFAULT_BRANDING.accentColor),
    logoUrl: typeof branding.logoUrl === "string" && isLogoUrl(branding.logoUrl) ? branding.logoUrl : null,
  };
}

async function cityByHostname(hostname: string, database?: Database): Promise<ResolvedCity | null> {
  const domain = await withPlatformAdmin(
    (tx) => tx.cityDomain.findUnique({ where: { hostname }, select: { city: { select: CITY_COLUMNS } } }),
    database,
  );
  return domain ? toResolvedCity(domain.city) : null;
}

async function cityBySlug(slug: string, database?: Database): Promise<ResolvedCity | null> {
  const row = await withPlatformAdmin(
    (tx) => tx.city.findUnique({ where: { slug }, select: CITY_COLUMNS }),
    database,
  );
  return row ? toResolvedCity(row) : null;
}

/** Active cities, by slug: the platform home lists them. */
export async function listActiveCities(database?: Database): Promise<ResolvedCity[]> {
  const rows = await withPlatformAdmin(
    (tx) => tx.city.findMany({ where: { status: "active" }, select: CITY_COLUMNS, orderBy: { slug: "asc" } }),
    database,
  );
  return rows.map(toResolvedCity);
}

// --- The resolver -----------------------------------------------------------------------------

export type TenantResolverOptions = {
  /** Defaults to the process database. */
  database?: Database;
  /** Platform domain (a bare host name; anything else throws); defaults to CIVITAS_DOMAIN. */
  domain?: string;
  /** How long a lookup (found or not) is reused. A changed or suspended city shows after this. */
  ttlMs?: number;
  /** Bound on remembered lookups, so random host names cannot grow memory. */
  maxEntries?: number;
  now?: () => number;
};

export type TenantResolver = {
  resolve(selector: TenantSelector): Promise<TenantResolution>;
  /** Forgets every cached lookup (after a city was changed in this process). */
  clear(): void;
  /** How many lookups are remembered. */
  size(): number;
};

type CacheEntry = { expiresAt: number; city: Promise<ResolvedCity | null> };

export function createTenantResolver(options: TenantResolverOptions = {}): TenantResolver {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 1_000;
  const now = options.now ?? Date.now;
  const fixedDomain = options.domain === undefined ? undefined : platformDomain(options.domain);
  // Keyed "host:<name>" or "slug:<slug>". Entries hold the promise, so concurrent requests for
  // one city share a single query.
  const cache = new Map<string, CacheEntry>();

  function cached(key: string, lookup: () => Promise<ResolvedCity | null>): Promise<ResolvedCity | null> {
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return hit.city;
    if (hit) cache.delete(key);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    const city = lookup();
    cache.set(key, { expiresAt: now() + ttlMs, city });
    // A failed lookup (database down) must not be remembered.
    city.catch(() => {
      if (cache.get(key)?.city === city) cache.delete(key);
    });
    return city;
  }

  const bySlug = (slug: string) => cached(`slug:${slug}`, () => cityBySlug(slug, options.database));
  const byHostname = (hostname: string) =>
    cached(`host:${hostname}`, () => cityByHostname(hostname, options.database));

  async function resolve({ host, pathname }: TenantSelector): Promise<TenantResolution> {
    const segment = firstSegment(pathname);
    if (PROBES.has(segment)) return { kind: "platform" };

    const hostname = normaliseHost(host);
    if (hostname === null) return { kind: "unknown-city", selector: String(host ?? "").slice(0, 100) };

    // Read per request (tests change the environment); config() checked and normalised it.
    const domain = fixedDomain ?? platformDomain();
    const platformHosts = new Set([domain, ...LOCAL_PLATFORM_HOSTS]);

    if (platformHosts.has(hostname)) {
      // Not slug-shaped or reserved: a platform path (or nothing at all), routed by Remix.
      if (!SLUG_PATTERN.test(segment) || RESERVED.has(segment)) return { kind: "platform" };
      const city = await bySlug(segment);
      return city
        ? { kind: "city", city, basePath: `/${city.slug}` }
        : { kind: "unknown-city", selector: segment };
    }

    // A city's own domain wins over the {slug}.{domain} pattern: an operator may map any name.
    const byDomain = await byHostname(hostname);
    if (byDomain) return { kind: "city", city: byDomain, basePath: "" };

    const parent = [domain, "localhost"].find((name) => hostname.endsWith(`.${name}`));
    if (parent) {
      const label = hostname.slice(0, -parent.length - 1);
      const city = SLUG_PATTERN.test(label) && !RESERVED.has(label) ? await bySlug(label) : null;
      if (city) return { kind: "city", city, basePath: "" };
    }
    return { kind: "unknown-city", selector: hostname };
  }

  return { resolve, clear: () => cache.clear(), size: () => cache.size };
}

// One resolver per process. Only server.ts resolves (the Remix build reads the result from the
// load context), but services in either bundle change cities: kept on globalThis, like the
// database, so that forgetTenantLookups reaches the resolver in use whichever bundle calls it.
const processState = globalThis as typeof globalThis & { __civitasTenantResolver?: TenantResolver };

export function resolveTenant(selector: TenantSelector): Promise<TenantResolution> {
  processState.__civitasTenantResolver ??= createTenantResolver();
  return processState.__civitasTenantResolver.resolve(selector);
}

/**
 * Forgets the process resolver's lookups: call it after a city's settings, status or existence
 * changed, so this process shows the change at once (other processes within the resolver's time
 * to live).
 */
export function forgetTenantLookups(): void {
  processState.__civitasTenantResolver?.clear();
}
