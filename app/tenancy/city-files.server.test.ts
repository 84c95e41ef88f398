import { randomUUID } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import { CityFileError } from "./city-file.server";
import { applyCityFiles, loadCityFiles } from "./city-files.server";

const SHIPPED = path.resolve("tenants");

let database: TestDatabase;
let scratch: string;

beforeEach(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(path.join(os.tmpdir(), "civitas-tenants-"));
});

afterEach(async () => {
  await database.drop();
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of the shipped city files that a test may edit. */
async function copyOfShipped(): Promise<string> {
  const dir = path.join(scratch, "tenants");
  await cp(SHIPPED, dir, { recursive: true, filter: (source) => !/\.(md|json)$/.test(source) });
  return dir;
}

async function editFile(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, "utf8");
  expect(text).toContain(from);
  await writeFile(file, text.replace(from, to));
}

/** A minimal city file with the given realm. */
async function writeCity(dir: string, slug: string, realm: string): Promise<void> {
  const lines = [
    "# yaml-language-server: $schema=./city.schema.json",
    `slug: ${slug}`,
    `names: { en: ${slug} }`,
    "locales: { default: en, enabled: [en] }",
    "timeZone: Europe/Paris",
    `branding: { primaryColor: "#1f4e79", accentColor: "#e0a526" }`,
    `identity: { realm: ${realm} }`,
  ];
  await writeFile(path.join(dir, `${slug}.yaml`), `${lines.join("\n")}\n`);
}

const realms = async () =>
  Object.fromEntries((await cities()).map((city) => [city.slug, city.identityRealm]));

const realmUpdates = async () =>
  (await auditEvents())
    .filter((event) => event.action === "city.updated")
    .map(({ city, actorId, before, after }) => ({ slug: city.slug, actorId, before, after }));

const cities = () =>
  withPlatformAdmin(
    (tx) =>
      tx.city.findMany({
        orderBy: { slug: "asc" },
        select: {
          slug: true,
          names: true,
          status: true,
          defaultLocale: true,
          enabledLocales: true,
          timeZone: true,
          branding: true,
          identityRealm: true,
          updatedAt: true,
          domains: { select: { hostname: true, isPrimary: true }, orderBy: { hostname: "asc" } },
        },
      }),
    database,
  );

const auditEvents = () =>
  withPlatformAdmin(
    (tx) =>
      tx.auditEvent.findMany({
        orderBy: { occurredAt: "asc" },
        select: {
          actorType: true,
          actorId: true,
          action: true,
          subjectType: true,
          before: true,
          after: true,
          city: { select: { slug: true } },
        },
      }),
    database,
  );

function relativeLuminance(hex: string): number {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((start) => {
    const channel = Number.parseInt(hex.slice(start, start + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe("the shipped city files", () => {
  it("are valid and declare Paris, Baltimore and Budapest with their languages", async () => {
    const files = await loadCityFiles(SHIPPED);
    const declared = Object.fromEntries(files.map(({ city }) => [city.slug, city.locales]));
    expect(declared).toEqual({
      paris: { default: "fr", enabled: ["fr", "en", "es", "ar"] },
      baltimore: { default: "en", enabled: ["en", "es"] },
      budapest: { default: "hu", enabled: ["hu", "en", "de"] },
    });
  });

  it("use primary colours that white text can sit on (WCAG AA, 4.5:1) and only example host names", async () => {
    for (const { file, city } of await loadCityFiles(SHIPPED)) {
      const contrast = 1.05 / (relativeLuminance(city.branding.primaryColor) + 0.05);
      expect(contrast, file).toBeGreaterThanOrEqual(4.5);
      for (const hostname of city.domains) expect(hostname, file).toMatch(/\.example$/);
      expect(await readFile(path.resolve(file), "utf8"), file).toMatch(
        /^# yaml-language-server: \$schema=\.\/city\.schema\.json\n/,
      );
    }
  });
});

describe("applyCityFiles", () => {
  it("creates the three cities with their domains, and audits each creation", async () => {
    const report = await applyCityFiles({ dir: SHIPPED, mode: "create-missing", database });
    expect(report).toEqual({ created: ["baltimore", "budapest", "paris"], updated: [], unchanged: [] });

    const stored = await cities();
    expect(stored.map((city) => city.slug)).toEqual(["baltimore", "budapest", "paris"]);
    const paris = stored.find((city) => city.slug === "paris");
    expect(paris).toMatchObject({
      names: { fr: "Paris", en: "Paris", es: "París", ar: "باريس" },
      status: "active",
      defaultLocale: "fr",
      enabledLocales: ["fr", "en", "es", "ar"],
      timeZone: "Europe/Paris",
      identityRealm: "paris",
      domains: [{ hostname: "services.paris.example", isPrimary: true }],
    });

    const events = await auditEvents();
    expect(events).toHaveLength(3);
    expect(events.find((event) => event.city.slug === "paris")).toMatchObject({
      actorType: "system",
      actorId: "tenants/paris.yaml",
      action: "city.created",
      subjectType: "city",
      before: null,
      after: { timeZone: "Europe/Paris", domains: [{ hostname: "services.paris.example", primary: true }] },
    });
  });

  it("writes nothing when the same files are applied again, in either mode", async () => {
    await applyCityFiles({ dir: SHIPPED, mode: "sync", database });
    const before = await cities();

    for (const mode of ["sync", "create-missing"] as const) {
      const report = await applyCityFiles({ dir: SHIPPED, mode, database });
      expect(report).toEqual({ created: [], updated: [], unchanged: ["baltimore", "budapest", "paris"] });
    }
    expect(await cities()).toEqual(before);
    expect(await auditEvents()).toHaveLength(3);
  });

  it("in sync mode, updates a city whose file changed and audits only the changed fields", async () => {
    const dir = await copyOfShipped();
    await applyCityFiles({ dir, mode: "sync", database });
    const paris = path.join(dir, "paris.yaml");
    await editFile(paris, `accentColor: "#c9a227"`, `accentColor: "#E1000F"`);
    await editFile(
      paris,
      "  - services.paris.example",
      "  - demarches.paris.example\n  - services.paris.example",
    );

    const report = await applyCityFiles({ dir, mode: "sync", database });
    expect(report).toEqual({ created: [], updated: ["paris"], unchanged: ["baltimore", "budapest"] });

    const stored = (await cities()).find((city) => city.slug === "paris");
    expect(stored?.branding).toEqual({ primaryColor: "#1d3a6e", accentColor: "#e1000f" });
    expect(stored?.domains).toEqual([
      { hostname: "demarches.paris.example", isPrimary: true },
      { hostname: "services.paris.example", isPrimary: false },
    ]);
    const updates = (await auditEvents()).filter((event) => event.action === "city.updated");
    expect(updates).toEqual([
      {
        actorType: "system",
        actorId: "tenants/paris.yaml",
        action: "city.updated",
        subjectType: "city",
        city: { slug: "paris" },
        before: {
          branding: { primaryColor: "#1d3a6e", accentColor: "#c9a227" },
          domains: [{ hostname: "services.paris.example", primary: true }],
        },
        after: {
          branding: { primaryColor: "#1d3a6e", accentColor: "#e1000f" },
          domains: [
            { hostname: "demarches.paris.example", primary: true },
            { hostname: "services.paris.example", primary: false },
          ],
        },
      },
    ]);

    expect((await applyCityFiles({ dir, mode: "sync", database })).updated).toEqual([]);
  });

  it("in sync mode, moves a host name from one city to another", async () => {
    const dir = await copyOfShipped();
    await applyCityFiles({ dir, mode: "sync", database });
    await editFile(path.join(dir, "paris.yaml"), "  - services.paris.example", "  - shared.civitas.example");
    await applyCityFiles({ dir, mode: "sync", database });
    await editFile(path.join(dir, "paris.yaml"), "  - shared.civitas.example", "  - services.paris.example");
    await editFile(
      path.join(dir, "budapest.yaml"),
      "  - ugyintezes.budapest.example",
      "  - shared.civitas.example",
    );

    const report = await applyCityFiles({ dir, mode: "sync", database });
    expect(report.updated).toEqual(["budapest", "paris"]);
    const owners = (await cities()).flatMap((city) =>
      city.domains.map((domain) => `${domain.hostname} → ${city.slug}`),
    );
    expect(owners).toContain("shared.civitas.example → budapest");
    expect(owners).toContain("services.paris.example → paris");
  });

  describe("in sync mode, passes realms between cities of the files", () => {
    let dir: string;

    beforeEach(async () => {
      dir = path.join(scratch, "realms");
      await mkdir(dir);
      await writeCity(dir, "alpha", "r-alpha");
      await writeCity(dir, "beta", "r-beta");
      await applyCityFiles({ dir, mode: "sync", database });
    });

    it.each([
      ["along a chain: alpha takes beta's realm while beta takes a new one", "r-beta", "r-beta2"],
      ["in a swap of two realms", "r-beta", "r-alpha"],
    ])("%s", async (_case, alphaRealm, betaRealm) => {
      await writeCity(dir, "alpha", alphaRealm);
      await writeCity(dir, "beta", betaRealm);

      const report = await applyCityFiles({ dir, mode: "sync", database });
      expect(report).toEqual({ created: [], updated: ["alpha", "beta"], unchanged: [] });
      expect(await realms()).toEqual({ alpha: alphaRealm, beta: betaRealm });
      expect(await realmUpdates()).toEqual([
        {
          slug: "alpha",
          actorId: "tenants/alpha.yaml",
          before: { identityRealm: "r-alpha" },
          after: { identityRealm: alphaRealm },
        },
        {
          slug: "beta",
          actorId: "tenants/beta.yaml",
          before: { identityRealm: "r-beta" },
          after: { identityRealm: betaRealm },
        },
      ]);

      const again = await applyCityFiles({ dir, mode: "sync", database });
      expect(again).toEqual({ created: [], updated: [], unchanged: ["alpha", "beta"] });
      expect(await realmUpdates()).toHaveLength(2);
    });

    it("to a new city created before the city that gives the realm up is updated", async () => {
      // Files apply in name order: "able" is created before "beta" is written.
      await writeCity(dir, "able", "r-beta");
      await writeCity(dir, "beta", "r-beta2");

      const report = await applyCityFiles({ dir, mode: "sync", database });
      expect(report).toEqual({ created: ["able"], updated: ["beta"], unchanged: ["alpha"] });
      expect(await realms()).toEqual({ able: "r-beta", alpha: "r-alpha", beta: "r-beta2" });
    });
  });

  // PGlite has one connection: no two transactions run at once there.
  it.skipIf(backend() !== "postgres")(
    "names the file and field when another writer takes a realm or slug meanwhile",
    async () => {
      // The checks before writing see no holder; a city the admin console creates at the same
      // time (uncommitted, then committed) makes the insert fail with a unique violation.
      for (const [slug, realm, field, message] of [
        ["lyon", "alpha", "identity.realm", `"alpha" is already the realm of another city`],
        ["alpha", "lyon", "slug", `"alpha" is already the slug of another city`],
      ] as const) {
        await database.drop();
        database = await createTestDatabase();
        const dir = await mkdtemp(path.join(scratch, "race-"));
        await writeCity(dir, "alpha", "alpha");

        const other = new pg.Client({ connectionString: database.url });
        await other.connect();
        try {
          await other.query("BEGIN");
          await other.query("SET LOCAL ROLE app_admin");
          await other.query(
            `INSERT INTO cities (id, slug, names, default_locale, enabled_locales, time_zone, identity_realm)
           VALUES ($1, $2, '{"en": "Lyon"}', 'en', '{en}', 'Europe/Paris', $3)`,
            [randomUUID(), slug, realm],
          );
          const applying = applyCityFiles({ dir, mode: "sync", database }).catch((thrown: unknown) => thrown);
          // Wait until the insert of alpha waits on the other transaction's row (asked as the
          // owner: app_admin does not see other sessions' wait events).
          let waiting = false;
          for (let attempt = 0; attempt < 500 && !waiting; attempt += 1) {
            const [row] = await database.owner.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            );
            waiting = (row?.n ?? 0) > 0;
            if (!waiting) await new Promise((resolve) => setTimeout(resolve, 10));
          }
          expect(waiting).toBe(true);
          await other.query("COMMIT");

          const error = await applying;
          expect(error).toBeInstanceOf(CityFileError);
          expect((error as CityFileError).problems).toEqual([
            {
              file: path.relative(process.cwd(), path.join(dir, "alpha.yaml")),
              field,
              line: field === "slug" ? 2 : 7,
              message,
            },
          ]);
          expect((error as Error).message).not.toMatch(/P2002|Unique constraint/);
        } finally {
          await other.end();
        }
        expect((await cities()).map((city) => city.slug)).toEqual([slug]);
      }
    },
  );

  it("refuses a host name under the platform domain", async () => {
    const dir = await copyOfShipped();
    await editFile(path.join(dir, "budapest.yaml"), "  - ugyintezes.budapest.example", "  - paris.localhost");
    const error = await applyCityFiles({ dir, mode: "sync", database }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CityFileError);
    expect((error as CityFileError).problems).toEqual([
      expect.objectContaining({
        file: path.relative(process.cwd(), path.join(dir, "budapest.yaml")),
        field: "domains[0]",
        message:
          `"paris.localhost" is under the platform domain localhost; ` +
          "cities answer there by slug already",
      }),
    ]);

    // The platform domain can be given, as CIVITAS_DOMAIN gives it by default.
    const shipped = await applyCityFiles({
      dir: SHIPPED,
      mode: "sync",
      database,
      platformDomain: "paris.example",
    }).catch((thrown: unknown) => thrown);
    expect((shipped as CityFileError).problems).toEqual([
      expect.objectContaining({
        file: path.join("tenants", "paris.yaml"),
        field: "domains[0]",
        message: expect.stringContaining(
          `"services.paris.example" is under the platform domain paris.example`,
        ),
      }),
    ]);
    expect(await cities()).toEqual([]);
  });

  it("in create-missing mode, creates new cities but leaves what admins changed", async () => {
    const dir = await copyOfShipped();
    await applyCityFiles({ dir, mode: "create-missing", database });
    const paris = (
      await withPlatformAdmin(
        (tx) => tx.city.findUniqueOrThrow({ where: { slug: "paris" }, select: { id: true } }),
        database,
      )
    ).id;
    // What the admin console does: a city admin's unit of work on their own city.
    await withTenant(
      paris,
      (tx) => tx.city.updateMany({ where: { id: paris }, data: { timeZone: "Europe/Monaco" } }),
      database,
    );
    const lyon = (await readFile(path.join(dir, "paris.yaml"), "utf8"))
      .replace("slug: paris", "slug: lyon")
      .replace("realm: paris", "realm: lyon")
      .replace("services.paris.example", "services.lyon.example");
    await writeFile(path.join(dir, "lyon.yaml"), lyon);

    const report = await applyCityFiles({ dir, mode: "create-missing", database });
    expect(report).toEqual({ created: ["lyon"], updated: [], unchanged: ["baltimore", "budapest", "paris"] });
    const stored = await cities();
    expect(stored.find((city) => city.slug === "paris")?.timeZone).toBe("Europe/Monaco");
    expect(stored.map((city) => city.slug)).toEqual(["baltimore", "budapest", "lyon", "paris"]);

    // `npm run db:seed` is the way to bring the file back into force.
    expect((await applyCityFiles({ dir, mode: "sync", database })).updated).toEqual(["paris"]);
    expect((await cities()).find((city) => city.slug === "paris")?.timeZone).toBe("Europe/Paris");
  });

  it("reports every bad file of the folder at once and writes nothing", async () => {
    const dir = await copyOfShipped();
    await editFile(path.join(dir, "paris.yaml"), "timeZone: Europe/Paris", "timeZone: Europe/Lutetia");
    await editFile(path.join(dir, "baltimore.yaml"), "  default: en", "  default: fr");
    // A valid file can still clash with another: the host name budapest.yaml already claims.
    const lyon = (await readFile(path.join(dir, "budapest.yaml"), "utf8"))
      .replace("slug: budapest", "slug: lyon")
      .replace("realm: budapest", "realm: lyon");
    await writeFile(path.join(dir, "lyon.yaml"), lyon);

    const error = await applyCityFiles({ dir, mode: "sync", database }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CityFileError);
    const shown = (file: string) => path.relative(process.cwd(), path.join(dir, file));
    expect((error as CityFileError).problems).toEqual([
      expect.objectContaining({ file: shown("baltimore.yaml"), field: "locales.default", line: 8 }),
      expect.objectContaining({ file: shown("paris.yaml"), field: "timeZone", line: 12 }),
      expect.objectContaining({
        file: shown("lyon.yaml"),
        field: "domains[0]",
        line: 17,
        message: `"ugyintezes.budapest.example" is also claimed by ${shown("budapest.yaml")}`,
      }),
    ]);
    const message = (error as Error).message;
    expect(message).toContain(
      `${shown("paris.yaml")}:12: timeZone: "Europe/Lutetia" is not an IANA time zone`,
    );
    expect(message).toContain(
      `${shown("baltimore.yaml")}:8: locales.default: "fr" is not one of locales.enabled (en, es)`,
    );
    expect(await cities()).toEqual([]);
  });

  it("refuses a host name or realm held by a city that no file declares", async () => {
    await withPlatformAdmin(async (tx) => {
      const id = randomUUID();
      await tx.city.create({
        data: {
          id,
          slug: "lyon",
          names: { fr: "Lyon" },
          defaultLocale: "fr",
          enabledLocales: ["fr"],
          timeZone: "Europe/Paris",
          identityRealm: "budapest",
          domains: { create: [{ hostname: "services.paris.example", isPrimary: true }] },
        },
      });
    }, database);

    const error = await applyCityFiles({ dir: SHIPPED, mode: "create-missing", database }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(CityFileError);
    expect((error as CityFileError).problems).toEqual([
      expect.objectContaining({
        file: path.join("tenants", "budapest.yaml"),
        field: "identity.realm",
        message: `"budapest" is already the realm of city "lyon"`,
      }),
      expect.objectContaining({
        file: path.join("tenants", "paris.yaml"),
        field: "domains[0]",
        message: `"services.paris.example" already belongs to city "lyon"`,
      }),
    ]);
    expect((await cities()).map((city) => city.slug)).toEqual(["lyon"]);
  });

  it("reports a folder that does not exist", async () => {
    await expect(
      applyCityFiles({ dir: path.join(scratch, "missing"), mode: "sync", database }),
    ).rejects.toThrow(/no such folder/);
  });
});
