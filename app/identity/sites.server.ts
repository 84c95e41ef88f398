// Where a realm's people come from: every address its city answers at. Redirect addresses of
// the realm's clients are built from these, so sign-in works at {slug}.{domain}, at the city's
// own domains and at {public URL}/{slug}, and nowhere else.
import { platformDomain, publicUrl } from "../config.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { withPlatformAdmin, type Database } from "../db/database.server";
import { PLATFORM_REALM, type RealmSite, type RealmSpec } from "./realm";

type CityForSites = { slug: string; domains: string[] };

/** The sites of one city, given the instance's public URL and platform domain. */
export function citySites(city: CityForSites, options: { publicUrl?: string; domain?: string } = {}): RealmSite[] {
  const base = new URL(options.publicUrl ?? publicUrl());
  const domain = platformDomain(options.domain);
  const port = base.port ? `:${base.port}` : "";
  const hosts = [`${city.slug}.${domain}`, ...city.domains];
  // On a developer machine {slug}.localhost works whatever the platform domain is.
  if (base.hostname === "localhost" || base.hostname === "127.0.0.1") hosts.push(`${city.slug}.localhost`);
  const sites: RealmSite[] = [...new Set(hosts)].map((host) => ({ origin: `${base.protocol}//${host}${port}`, basePath: "" }));
  sites.push({ origin: base.origin, basePath: `/${city.slug}` });
  return sites;
}

/** The platform realm's only site: the platform host. */
export function platformSites(options: { publicUrl?: string } = {}): RealmSite[] {
  return [{ origin: new URL(options.publicUrl ?? publicUrl()).origin, basePath: "" }];
}

/**
 * The spec of a realm as the database describes it now, or null for a realm no city (and not
 * the platform) owns. Platform-admin work: call it outside any city's unit of work.
 */
export async function realmSpec(
  realm: string,
  options: { database?: Database; publicUrl?: string; domain?: string } = {},
): Promise<RealmSpec | null> {
  return withPlatformAdmin(async (tx) => {
    const record = await tx.identityRealm.findUnique({ where: { realm } });
    if (realm === PLATFORM_REALM) {
      if (!record) return null;
      return {
        realm,
        tenantId: null,
        displayName: { en: "Civitas" },
        defaultLocale: "en",
        enabledLocales: [...SUPPORTED_LOCALES],
        webClientSecret: record.webClientSecret,
        sites: platformSites(options),
      };
    }
    const city = await tx.city.findUnique({
      where: { identityRealm: realm },
      include: { domains: { select: { hostname: true } } },
    });
    if (!city || !record) return null;
    return {
      realm,
      tenantId: city.id,
      displayName: city.names as Record<string, string>,
      defaultLocale: city.defaultLocale,
      enabledLocales: city.enabledLocales,
      webClientSecret: record.webClientSecret,
      sites: citySites({ slug: city.slug, domains: city.domains.map((d) => d.hostname) }, options),
    };
  }, options.database);
}
