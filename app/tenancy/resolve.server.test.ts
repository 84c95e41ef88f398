// Tenant resolution: by a city's own domain, by {slug}.{platform domain}, by /{slug} on the
// platform host; unknown and suspended cities; the host header as hostile input; the cache.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { config, resetConfig } from "../config.server";
import { withPlatformAdmin } from "../db/database.server";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { normaliseHost } from "./host.server";
import { createTenantResolver, listActiveCities, type TenantResolution } from "./resolve.server";

let database: TestDatabase;
let active: TestCity;
let suspended: TestCity;

beforeAll(async () => {
  database = await createTestDatabase();
  active = await createCity(database, { slug: "riverton" });
  suspended = await createCity(database, { slug: "lakeside", status: "suspended" });
});

afterAll(async () => {
  await database?.drop();
});

const resolver = () => createTenantResolver({ database, domain: "civitas.test" });
const resolve = (host: string | undefined, pathname = "/") => resolver().resolve({ host, pathname });

function citySlug(resolution: TenantResolution): string | undefined {
  return resolution.kind === "city" ? resolution.city.slug : undefined;
}

describe("normaliseHost", () => {
  it("lower-cases, drops the port and a trailing dot", () => {
    expect(normaliseHost("Paris.LocalHost:3000")).toBe("paris.localhost");
    expect(normaliseHost("services.paris.example.")).toBe("services.paris.example");
    expect(normaliseHost("127.0.0.1:3000")).toBe("127.0.0.1");
    expect(normaliseHost("[::1]:3000")).toBe("[::1]");
  });

  it("rejects what is not a host name", () => {
    for (const garbage of [undefined, "", " ", "bad host", "a..b", "-a.example", "x:abc", "x:1:2", "[::1", "[zz]", "é.example", "a/b", "a".repeat(64) + ".example", "host:99999999"]) {
      expect(normaliseHost(garbage), String(garbage)).toBeNull();
    }
  });

  it("rejects what the URL parser rejects or reads as another host (the Request Remix builds)", () => {
    const refused = [
      "localhost:99999",
      "paris.localhost:65536",
      "localhost:",
      "[::1]:65536",
      "[1:2]",
      "[fe80::1%eth0]",
      // A numeric last label makes the name an IPv4 address to the URL parser.
      "999.999.999.999",
      "1.2.3.256",
      "a.999",
      "99999999999",
      "1234",
      "1.2.3",
      "01.2.3.4",
      "a.0x1",
      "0x7f.0x1",
      // Broken punycode.
      "xn--a",
      "xn--zz.localhost",
    ];
    for (const garbage of refused) expect(normaliseHost(garbage), garbage).toBeNull();
  });

  it("accepts ports up to 65535, dotted-quad IPv4, IPv6 (in its shortest form) and punycode", () => {
    expect(normaliseHost("localhost:65535")).toBe("localhost");
    expect(normaliseHost("localhost:0")).toBe("localhost");
    expect(normaliseHost("255.255.255.255")).toBe("255.255.255.255");
    expect(normaliseHost("10.0.0.7:3000")).toBe("10.0.0.7");
    expect(normaliseHost("[0:0:0:0:0:0:0:1]:8080")).toBe("[::1]");
    expect(normaliseHost("[::ffff:1.2.3.4]")).toBe("[::ffff:102:304]");
    expect(normaliseHost("xn--bcher-kva.example")).toBe("xn--bcher-kva.example");
    expect(normaliseHost("a1.example")).toBe("a1.example");
  });

  it("names the host the URL parser reads, for everything it accepts", () => {
    const hosts = ["Paris.LocalHost:3000", "services.paris.example.", "127.0.0.1:3000", "[::1]:3000", "xn--bcher-kva.example", "a.b.c.d.e"];
    for (const host of hosts) {
      const url = new URL(`http://${host}/`);
      expect(normaliseHost(host), host).toBe(url.hostname.replace(/\.$/, ""));
    }
  });
});

describe("the platform domain", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    resetConfig();
  });

  it("must be a bare host name in CIVITAS_DOMAIN: the process refuses to start otherwise", () => {
    for (const domain of ["https://civitas.example", "civitas.example/", "civitas.example:443", "civitas.example.", "bad domain", "", "a.999"]) {
      vi.stubEnv("CIVITAS_DOMAIN", domain);
      resetConfig();
      expect(() => config(), domain).toThrow(/CIVITAS_DOMAIN: must be a bare host name/);
    }
  });

  it("is lower-cased, and defaults to localhost", () => {
    vi.stubEnv("CIVITAS_DOMAIN", "Civitas.Example");
    resetConfig();
    expect(config().CIVITAS_DOMAIN).toBe("civitas.example");
    vi.stubEnv("CIVITAS_DOMAIN", undefined);
    resetConfig();
    expect(config().CIVITAS_DOMAIN).toBe("localhost");
  });

  it("must be a bare host name when a resolver is given one", () => {
    expect(() => createTenantResolver({ database, domain: "https://civitas.example" })).toThrow(/Not a platform domain/);
    expect(createTenantResolver({ database, domain: "Civitas.Test" })).toBeDefined();
  });
});

describe("resolution by host", () => {
  it("finds a city by its own domain", async () => {
    const resolution = await resolve(`${active.slug}.example`);
    expect(resolution).toMatchObject({ kind: "city", basePath: "", city: { id: active.id, slug: "riverton" } });
  });

  it("finds a city by {slug}.{CIVITAS_DOMAIN} and by {slug}.localhost, whatever the case and port", async () => {
    expect(citySlug(await resolve("riverton.civitas.test"))).toBe("riverton");
    expect(citySlug(await resolve("Riverton.Civitas.Test:8443"))).toBe("riverton");
    expect(await resolve("riverton.localhost:3000")).toMatchObject({ kind: "city", basePath: "" });
  });

  it("does not let the path choose another city on a city host (routes check the segment)", async () => {
    const resolution = await resolve("riverton.localhost", "/lakeside");
    expect(citySlug(resolution)).toBe("riverton");
  });

  it("answers unknown-city for a host no city holds", async () => {
    expect(await resolve("nowhere.civitas.test")).toEqual({ kind: "unknown-city", selector: "nowhere.civitas.test" });
    expect(await resolve("nowhere.example")).toEqual({ kind: "unknown-city", selector: "nowhere.example" });
    // One label only: a deeper name is not {slug}.{domain}.
    expect((await resolve("x.riverton.civitas.test")).kind).toBe("unknown-city");
  });

  it("treats a garbage Host header as an unknown city, never as the platform", async () => {
    expect((await resolve("bad host!")).kind).toBe("unknown-city");
    expect((await resolve(undefined)).kind).toBe("unknown-city");
  });
});

describe("resolution by path on the platform host", () => {
  it("takes the first segment as the city on CIVITAS_DOMAIN, localhost and 127.0.0.1", async () => {
    for (const host of ["civitas.test", "localhost:3000", "127.0.0.1:3000", "[::1]:3000"]) {
      const resolution = await resolve(host, "/riverton/some/page");
      expect(resolution, host).toMatchObject({ kind: "city", basePath: "/riverton", city: { slug: "riverton" } });
    }
  });

  it("answers platform for the bare host, reserved segments and non-slug segments", async () => {
    for (const pathname of ["/", "", "/graphql", "/build/app.css", "/favicon.ico", "/Riverton", "/%72iverton"]) {
      expect(await resolve("localhost", pathname), pathname).toEqual({ kind: "platform" });
    }
  });

  it("answers unknown-city for a slug no city holds", async () => {
    expect(await resolve("localhost", "/nowhere")).toEqual({ kind: "unknown-city", selector: "nowhere" });
  });
});

describe("probes", () => {
  it("are platform paths on every host, even unknown ones", async () => {
    for (const host of ["riverton.localhost", "10.0.0.7:3000", "nowhere.example", "bad host!"]) {
      expect(await resolve(host, "/healthz"), host).toEqual({ kind: "platform" });
      expect(await resolve(host, "/readyz"), host).toEqual({ kind: "platform" });
    }
  });
});

describe("suspended cities", () => {
  it("resolve (pages answer 503), by host and by path", async () => {
    expect(await resolve("lakeside.localhost")).toMatchObject({ kind: "city", city: { id: suspended.id, status: "suspended" } });
    expect(await resolve("localhost", "/lakeside")).toMatchObject({ kind: "city", city: { status: "suspended" } });
  });

  it("are left out of the platform's list of cities", async () => {
    const slugs = (await listActiveCities(database)).map((city) => city.slug);
    expect(slugs).toContain("riverton");
    expect(slugs).not.toContain("lakeside");
  });
});

describe("the resolved city", () => {
  it("is plain data that survives serialisation", async () => {
    const resolution = await resolve("riverton.localhost");
    expect(resolution.kind).toBe("city");
    expect(JSON.parse(JSON.stringify(resolution))).toEqual(resolution);
  });

  it("carries only colours and logo URLs that are safe to put in a page", async () => {
    const id = randomUUID();
    await withPlatformAdmin(
      (tx) =>
        tx.city.create({
          data: {
            id,
            slug: "oddity",
            names: { en: "Oddity", fr: 42, de: "" },
            defaultLocale: "en",
            enabledLocales: ["en"],
            timeZone: "UTC",
            branding: { primaryColor: "red;background:url(//evil)", accentColor: "#ABCDEF", logoUrl: "javascript:alert(1)" },
            identityRealm: "oddity",
          },
        }),
      database,
    );
    const resolution = await resolve("oddity.localhost");
    expect(resolution).toMatchObject({
      kind: "city",
      city: { names: { en: "Oddity" }, branding: { primaryColor: "#1f4e79", accentColor: "#abcdef", logoUrl: null } },
    });
  });
});

describe("the cache", () => {
  it("reuses a lookup within its time to live, and sees changes after it", async () => {
    let now = 1_000_000;
    const cached = createTenantResolver({ database, ttlMs: 5_000, now: () => now });
    const id = randomUUID();
    await withPlatformAdmin(
      (tx) =>
        tx.city.create({
          data: { id, slug: "cachetown", names: { en: "Cachetown" }, defaultLocale: "en", enabledLocales: ["en"], timeZone: "UTC", identityRealm: "cachetown" },
        }),
      database,
    );
    expect(await cached.resolve({ host: "cachetown.localhost", pathname: "/" })).toMatchObject({ city: { status: "active" } });

    await withPlatformAdmin((tx) => tx.city.update({ where: { id }, data: { status: "suspended" } }), database);
    now += 4_000;
    expect(await cached.resolve({ host: "cachetown.localhost", pathname: "/" })).toMatchObject({ city: { status: "active" } });
    now += 2_000;
    expect(await cached.resolve({ host: "cachetown.localhost", pathname: "/" })).toMatchObject({ city: { status: "suspended" } });

    await withPlatformAdmin((tx) => tx.city.update({ where: { id }, data: { status: "active" } }), database);
    cached.clear();
    expect(await cached.resolve({ host: "cachetown.localhost", pathname: "/" })).toMatchObject({ city: { status: "active" } });
  });

  it("stays bounded whatever hosts clients invent", async () => {
    const bounded = createTenantResolver({ database, maxEntries: 3 });
    for (let index = 0; index < 10; index += 1) {
      expect((await bounded.resolve({ host: `nowhere-${index}.example`, pathname: "/" })).kind).toBe("unknown-city");
    }
    expect(bounded.size()).toBeLessThanOrEqual(3);
    // Still answers correctly for a real city after evictions.
    expect(citySlug(await bounded.resolve({ host: "riverton.localhost", pathname: "/" }))).toBe("riverton");
  });
});
