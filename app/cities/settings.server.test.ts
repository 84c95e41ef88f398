// A city's admins edit its names, languages, time zone and branding: the rules they meet, what
// is audited, and who may. Runs on PGlite and on PostgreSQL.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson, createFakeIdentity } from "../../tests/support/identity";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { Forbidden, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS, permissionsFor, type OperatorPrincipal } from "../auth/permissions";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import type { TenantResolver } from "../tenancy/resolve.server";
import { getCitySettings, updateCitySettings, type CitySettingsInput } from "./settings.server";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;

const adminOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });

async function personOf(city: TestCity, roles: ("staff" | "admin")[]): Promise<UserPrincipal> {
  const person = await addPerson(database, city, { roles });
  return userPrincipal({ tenantId: city.id, userId: person.userId, subject: person.subject, memberships: roles });
}

const operator: OperatorPrincipal = { kind: "operator", operatorId: "op-1", subject: "op", permissions: permissionsFor(["operator"]) };

const rowOf = (city: TestCity) => withPlatformAdmin((tx) => tx.city.findUniqueOrThrow({ where: { id: city.id } }), database);

const settingsEvents = (city: TestCity) =>
  withTenant(
    city.id,
    (tx) => tx.auditEvent.findMany({ where: { action: "city.settings_updated" }, orderBy: { occurredAt: "asc" } }),
    database,
  );

async function validationOf(city: TestCity, input: CitySettingsInput): Promise<ValidationFailed> {
  const error = await updateCitySettings(adminOf(city), input, { database }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationFailed);
  return error as ValidationFailed;
}

// The process resolver, replaced by one that counts how often it is told to forget.
const clear = vi.fn();
const store = globalThis as { __civitasTenantResolver?: TenantResolver };
let previousResolver: TenantResolver | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(() => {
  previousResolver = store.__civitasTenantResolver;
  clear.mockClear();
  store.__civitasTenantResolver = { resolve: vi.fn(), clear, size: () => 0 };
});

afterEach(() => {
  store.__civitasTenantResolver = previousResolver;
});

describe("getCitySettings", () => {
  it("gives the admin the city's settings, with branding safe to use", async () => {
    const settings = await getCitySettings(adminOf(paris), { database });
    expect(settings).toMatchObject({
      id: paris.id,
      slug: paris.slug,
      defaultLocale: "en",
      enabledLocales: ["en"],
      timeZone: "Europe/Paris",
      branding: { primaryColor: "#1d4ed8", accentColor: "#b45309", logoUrl: null },
    });
    expect(Object.keys(settings.names)).toEqual(["en"]);
  });

  it("is for admins only", async () => {
    await expect(getCitySettings(ANONYMOUS, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(getCitySettings(await personOf(paris, ["staff"]), { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(getCitySettings(adminOf(budapest), { tenantId: paris.id, database })).rejects.toBeInstanceOf(Forbidden);
  });
});

describe("updateCitySettings", () => {
  it("changes several fields at once, audits only what changed, and makes the process forget its lookups", async () => {
    const city = await createCity(database);
    const before = await rowOf(city);
    const change = await updateCitySettings(
      adminOf(city),
      {
        names: { en: "  Lyon  ", fr: "Lyon la ville" },
        enabledLocales: ["fr", "en"],
        defaultLocale: "fr",
        timeZone: "America/New_York",
        branding: { primaryColor: "#1F4E79", logoUrl: "https://lyon.example/logo.svg" },
      },
      { database, requestId: "req-settings" },
    );
    expect(change.changed).toBe(true);
    expect(change.changedFields).toEqual(["names", "enabledLocales", "defaultLocale", "timeZone", "branding"]);
    expect(change.settings).toMatchObject({
      names: { en: "Lyon", fr: "Lyon la ville" },
      enabledLocales: ["fr", "en"],
      defaultLocale: "fr",
      timeZone: "America/New_York",
      branding: { primaryColor: "#1f4e79", accentColor: "#b45309", logoUrl: "https://lyon.example/logo.svg" },
    });

    const row = await rowOf(city);
    expect(row).toMatchObject({
      names: { en: "Lyon", fr: "Lyon la ville" },
      enabledLocales: ["fr", "en"],
      defaultLocale: "fr",
      timeZone: "America/New_York",
      branding: { primaryColor: "#1f4e79", accentColor: "#b45309", logoUrl: "https://lyon.example/logo.svg" },
    });
    expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
    // What the slug and realm were stays: they are not settings.
    expect(row).toMatchObject({ slug: city.slug, identityRealm: before.identityRealm, status: "active" });

    const events = await settingsEvents(city);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorType: "user",
      actorId: city.userId,
      subjectType: "city",
      subjectId: city.id,
      requestId: "req-settings",
      before: {
        names: before.names,
        enabledLocales: ["en"],
        defaultLocale: "en",
        timeZone: "Europe/Paris",
        branding: { primaryColor: "#1d4ed8", accentColor: "#b45309" },
      },
      after: {
        names: { en: "Lyon", fr: "Lyon la ville" },
        enabledLocales: ["fr", "en"],
        defaultLocale: "fr",
        timeZone: "America/New_York",
        branding: { primaryColor: "#1f4e79", accentColor: "#b45309", logoUrl: "https://lyon.example/logo.svg" },
      },
    });
    expect(clear).toHaveBeenCalledTimes(1);
  });

  it("records only the fields that changed, and nothing at all when nothing changes", async () => {
    const city = await createCity(database);
    const change = await updateCitySettings(adminOf(city), { timeZone: "Europe/Budapest", defaultLocale: "en" }, { database });
    expect(change.changedFields).toEqual(["timeZone"]);
    const [event] = await settingsEvents(city);
    expect(event?.before).toEqual({ timeZone: "Europe/Paris" });
    expect(event?.after).toEqual({ timeZone: "Europe/Budapest" });

    clear.mockClear();
    const again = await updateCitySettings(
      adminOf(city),
      { timeZone: "Europe/Budapest", branding: { primaryColor: "#1D4ED8" }, names: null },
      { database },
    );
    expect(again).toMatchObject({ changed: false, changedFields: [] });
    expect(await settingsEvents(city)).toHaveLength(1);
    expect(clear).not.toHaveBeenCalled();
  });

  it("drops the names of a locale that is no longer offered, and removes the logo with logoUrl null", async () => {
    const city = await createCity(database);
    await updateCitySettings(
      adminOf(city),
      { enabledLocales: ["en", "fr"], names: { en: "Nantes", fr: "Nantes (fr)" }, branding: { logoUrl: "/logo.svg" } },
      { database },
    );
    const change = await updateCitySettings(adminOf(city), { enabledLocales: ["en"], branding: { logoUrl: null } }, { database });
    expect(change.changedFields).toEqual(["names", "enabledLocales", "branding"]);
    const row = await rowOf(city);
    expect(row.names).toEqual({ en: "Nantes" });
    expect(row.branding).toEqual({ primaryColor: "#1d4ed8", accentColor: "#b45309" });
  });

  it("refuses a colour that is not #rrggbb, naming which", async () => {
    const error = await validationOf(paris, { branding: { accentColor: "#12345g" } });
    expect(error.fields.branding).toEqual([expect.stringMatching(/^accentColor: "#12345g" is not a colour written #rrggbb/)]);
    const short = await validationOf(paris, { branding: { primaryColor: "#fff" } });
    expect(short.fields.branding?.[0]).toMatch(/^primaryColor: /);
  });

  it("refuses a primary colour white text cannot be read on, with its ratio", async () => {
    const error = await validationOf(paris, { branding: { primaryColor: "#f2c14e" } });
    expect(error.fields.branding).toEqual([
      expect.stringMatching(/^primaryColor: "#f2c14e" has a contrast of 1\.\d+:1 .*at least 4\.5:1 \(WCAG AA\)/),
    ]);
    // Just below AA is refused, just above is accepted.
    expect((await validationOf(paris, { branding: { primaryColor: "#777777" } })).fields.branding?.[0]).toMatch(/4\.47:1/);
    await expect(updateCitySettings(adminOf(paris), { branding: { primaryColor: "#767676" } }, { database })).resolves.toMatchObject({
      changed: true,
    });
  });

  it("refuses a default locale that is not enabled, and enabled locales that leave the default out", async () => {
    const error = await validationOf(paris, { defaultLocale: "de" });
    expect(error.fields.defaultLocale).toEqual(['"de" is not one of the enabled locales (en)']);
    const dropped = await validationOf(paris, { enabledLocales: ["fr"], names: { fr: "Paris" } });
    expect(dropped.fields.enabledLocales).toEqual(['leaves out the default locale "en": choose another default locale too']);
    // Both together are fine.
    const city = await createCity(database);
    await expect(
      updateCitySettings(adminOf(city), { enabledLocales: ["fr"], defaultLocale: "fr", names: { fr: "Ville" } }, { database }),
    ).resolves.toMatchObject({ changed: true });
  });

  it("refuses an unknown or offset time zone, and a zone in the wrong case", async () => {
    expect((await validationOf(paris, { timeZone: "Mars/Olympus_Mons" })).fields.timeZone).toEqual([
      '"Mars/Olympus_Mons" is not an IANA time zone (e.g. Europe/Paris, America/New_York)',
    ]);
    expect((await validationOf(paris, { timeZone: "+02:00" })).fields.timeZone?.[0]).toMatch(/is an offset/);
    expect((await validationOf(paris, { timeZone: "europe/paris" })).fields.timeZone).toEqual(['write it as "Europe/Paris"']);
  });

  it("wants the city's name in the default locale, and names only in enabled locales", async () => {
    expect((await validationOf(paris, { names: { fr: "Paris" } })).fields.names).toEqual([
      '"fr" is not an enabled locale (en)',
      'the default locale "en" needs the city\'s name',
    ]);
    expect((await validationOf(paris, { names: { en: "   " } })).fields.names).toEqual(["en: must not be empty"]);
    expect((await validationOf(paris, { names: { en: "x".repeat(101) } })).fields.names?.[0]).toBe("en: must be at most 100 characters");
    expect((await validationOf(paris, { names: { xx: "Paris", en: "Paris" } })).fields.names?.[0]).toMatch(
      /^"xx" is not a supported locale/,
    );
  });

  it("keeps a welcome text per enabled locale, refusing others and texts too long, and drops one whose locale goes", async () => {
    expect((await validationOf(budapest, { welcome: { fr: "Bienvenue" } })).fields.welcome).toEqual(['"fr" is not an enabled locale (en)']);
    expect((await validationOf(budapest, { welcome: { en: "x".repeat(2001) } })).fields.welcome).toEqual(["en: must be at most 2000 characters"]);
    const saved = await updateCitySettings(adminOf(budapest), { welcome: { en: "  Welcome to the city.  ", de: "" }, enabledLocales: ["en", "de"], names: { en: "City", de: "Stadt" } }, { database });
    // Trimmed; an empty text is no text.
    expect(saved.settings.welcome).toEqual({ en: "Welcome to the city." });
    const german = await updateCitySettings(adminOf(budapest), { welcome: { en: "Welcome", de: "Willkommen" } }, { database });
    expect(german.changedFields).toEqual(["welcome"]);
    const dropped = await updateCitySettings(adminOf(budapest), { enabledLocales: ["en"] }, { database });
    expect(dropped.settings.welcome).toEqual({ en: "Welcome" });
  });

  it("refuses unsupported, repeated or no locales, and fields that are not settings", async () => {
    expect((await validationOf(paris, { enabledLocales: [] })).fields.enabledLocales).toEqual(["must list at least one locale"]);
    expect((await validationOf(paris, { enabledLocales: ["en", "en"] })).fields.enabledLocales).toEqual(['"en" is listed twice']);
    expect((await validationOf(paris, { enabledLocales: ["en", "klingon"] })).fields.enabledLocales?.[0]).toMatch(
      /"klingon" is not a supported locale/,
    );
    const slug = await validationOf(paris, { slug: "elsewhere" } as CitySettingsInput);
    expect(slug.fields[""]?.[0]).toMatch(/slug/);
  });

  it("writes nothing when the input is refused", async () => {
    const before = await rowOf(paris);
    await validationOf(paris, { timeZone: "America/Chicago", branding: { primaryColor: "#ffff00" } });
    expect(await rowOf(paris)).toEqual(before);
  });

  it("is for the city's admins: not anonymous, residents, staff, another city's admin, or operators", async () => {
    const input = { timeZone: "Asia/Tokyo" };
    await expect(updateCitySettings(ANONYMOUS, input, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(updateCitySettings(await personOf(paris, []), input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(updateCitySettings(await personOf(paris, ["staff"]), input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(updateCitySettings(operator, input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(updateCitySettings(adminOf(budapest), input, { tenantId: paris.id, database })).rejects.toBeInstanceOf(Forbidden);
    expect((await rowOf(paris)).timeZone).toBe("Europe/Paris");
  });

  it("changes only the admin's own city", async () => {
    const lille = await createCity(database);
    const roubaix = await createCity(database);
    await updateCitySettings(adminOf(lille), { timeZone: "Asia/Tokyo" }, { database });
    expect((await rowOf(lille)).timeZone).toBe("Asia/Tokyo");
    expect((await rowOf(roubaix)).timeZone).toBe("Europe/Paris");
    expect(await settingsEvents(roubaix)).toEqual([]);
  });

  it("brings the realm's names and languages up to date when given the identity provider", async () => {
    const city = await createCity(database);
    const backend = createFakeIdentity();
    await updateCitySettings(
      adminOf(city),
      { enabledLocales: ["en", "hu"], names: { en: "Szeged", hu: "Szeged városa" } },
      { database, identity: { backend, publicUrl: "http://localhost:3000" } },
    );
    expect(backend.calls).toEqual([{ method: "ensureRealm", realm: city.slug }]);
    // A change the realm does not show (time zone) leaves the provider alone.
    await updateCitySettings(adminOf(city), { timeZone: "Europe/Budapest" }, { database, identity: { backend } });
    expect(backend.calls).toHaveLength(1);
  });
});
