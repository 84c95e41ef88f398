// The issuers whose tokens Civitas accepts: one per city (its identity realm) plus the platform
// realm, read from the city table. A token's `iss` is looked up here before anything else is
// done with it; an issuer that is not listed is never contacted (no key URL is built from it).
import { withPlatformAdmin, type Database } from "../db/database.server";
import type { IdentityBackend } from "../identity/backend.server";
import { PLATFORM_REALM } from "../identity/realm";

export type IssuerEntry =
  | { realm: string; kind: "city"; tenantId: string; status: "active" | "suspended" }
  | { realm: typeof PLATFORM_REALM; kind: "platform" };

export type IssuerDirectory = {
  /** The realm behind an issuer, or null when no city (and not the platform) has it. */
  lookup(iss: string): Promise<IssuerEntry | null>;
  /** Forgets the table: the next lookup reads the cities again (after onboarding, a suspension). */
  invalidate(): void;
};

export type IssuerDirectoryOptions = {
  backend: Pick<IdentityBackend, "issuer">;
  /** Defaults to the process database. */
  database?: Database;
  /** How long the table is trusted; a suspended or moved city shows after at most this. */
  ttlMs?: number;
  /** A miss re-reads the table at most this often, so random issuers cannot hammer the database. */
  missRefreshIntervalMs?: number;
  now?: () => number;
};

const MAX_ISSUER_LENGTH = 2_048;

export function createIssuerDirectory(options: IssuerDirectoryOptions): IssuerDirectory {
  const { backend, database } = options;
  const ttlMs = options.ttlMs ?? 5_000;
  const missRefreshIntervalMs = options.missRefreshIntervalMs ?? 1_000;
  const now = options.now ?? Date.now;

  let table: ReadonlyMap<string, IssuerEntry> | null = null;
  let loadedAt = 0;
  let lastRefreshAt = Number.NEGATIVE_INFINITY;
  // Concurrent lookups share one read; invalidate() bumps the generation so a read that started
  // before it does not install an outdated table.
  let pending: Promise<ReadonlyMap<string, IssuerEntry>> | null = null;
  let generation = 0;

  async function load(): Promise<ReadonlyMap<string, IssuerEntry>> {
    const cities = await withPlatformAdmin(
      (tx) => tx.city.findMany({ select: { id: true, identityRealm: true, status: true } }),
      database,
    );
    const entries = new Map<string, IssuerEntry>();
    entries.set(backend.issuer(PLATFORM_REALM), { realm: PLATFORM_REALM, kind: "platform" });
    for (const city of cities) {
      // City files refuse the reserved realm; a row that has it anyway must not pass for operators.
      if (city.identityRealm === PLATFORM_REALM) continue;
      entries.set(backend.issuer(city.identityRealm), {
        realm: city.identityRealm,
        kind: "city",
        tenantId: city.id,
        status: city.status,
      });
    }
    return entries;
  }

  function refresh(): Promise<ReadonlyMap<string, IssuerEntry>> {
    if (pending) return pending;
    lastRefreshAt = now();
    const started = generation;
    const read = load()
      .then((entries) => {
        if (started === generation) {
          table = entries;
          loadedAt = now();
        }
        return entries;
      })
      .finally(() => {
        if (pending === read) pending = null;
      });
    pending = read;
    return read;
  }

  return {
    async lookup(iss) {
      if (typeof iss !== "string" || iss === "" || iss.length > MAX_ISSUER_LENGTH) return null;
      if (table === null || now() - loadedAt >= ttlMs) return (await refresh()).get(iss) ?? null;
      const hit = table.get(iss);
      if (hit) return hit;
      // A city onboarded a moment ago is found at once; anything else waits for the interval.
      if (now() - lastRefreshAt < missRefreshIntervalMs) return null;
      return (await refresh()).get(iss) ?? null;
    },
    invalidate() {
      generation += 1;
      table = null;
      pending = null;
    },
  };
}
