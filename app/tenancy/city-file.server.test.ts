import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resetConfig } from "../config.server";
import {
  CityFileError,
  cityFileJsonSchema,
  formatProblem,
  parseCityFile,
  RESERVED_SLUGS,
  type CityFileProblem,
} from "./city-file.server";

const FILE = path.resolve("tenants/lyon.yaml");

// Line numbers below refer to this text.
const VALID = `# yaml-language-server: $schema=./city.schema.json
slug: lyon
names:
  fr: Lyon
  en: Lyon
locales:
  default: fr
  enabled: [fr, en]
timeZone: Europe/Paris
branding:
  primaryColor: "#8b1e3f"
  accentColor: "#f2c14e"
domains:
  - services.lyon.example
  - lyon.civitas.example
`;

function problemsOf(text: string, file = FILE): CityFileProblem[] {
  try {
    parseCityFile({ file, text });
  } catch (error) {
    expect(error).toBeInstanceOf(CityFileError);
    return (error as CityFileError).problems;
  }
  throw new Error("expected the file to be rejected");
}

function messageOf(text: string, file = FILE): string {
  try {
    parseCityFile({ file, text });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the file to be rejected");
}

/** Replaces one line of VALID (exact match) so each test changes one thing. */
function edit(from: string, to: string): string {
  expect(VALID).toContain(from);
  return VALID.replace(from, to);
}

describe("parseCityFile", () => {
  it("accepts a valid file and fills in the defaults", () => {
    const { file, city, lines } = parseCityFile({ file: FILE, text: VALID });
    expect(file).toBe(path.join("tenants", "lyon.yaml"));
    expect(city).toEqual({
      slug: "lyon",
      names: { fr: "Lyon", en: "Lyon" },
      locales: { default: "fr", enabled: ["fr", "en"] },
      timeZone: "Europe/Paris",
      status: "active",
      branding: { primaryColor: "#8b1e3f", accentColor: "#f2c14e" },
      domains: ["services.lyon.example", "lyon.civitas.example"],
      identity: { realm: "lyon" },
    });
    expect(lines.get("locales.default")).toBe(7);
  });

  it("normalises colours to lowercase and keeps an explicit realm", () => {
    const text =
      edit(`  primaryColor: "#8b1e3f"`, `  primaryColor: "#8B1E3F"`) + "identity:\n  realm: lyon-metropole\n";
    const { city } = parseCityFile({ file: FILE, text });
    expect(city.branding.primaryColor).toBe("#8b1e3f");
    expect(city.identity.realm).toBe("lyon-metropole");
  });

  it("names file, line and field in the message", () => {
    const message = messageOf(edit("  default: fr", "  default: de"));
    expect(message).toContain(`${path.join("tenants", "lyon.yaml")}:7: locales.default:`);
  });

  it("reports a YAML syntax error with its position", () => {
    const [problem, ...rest] = problemsOf(edit("slug: lyon", "slug: lyon: metropole"));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: path.join("tenants", "lyon.yaml"), line: 2, column: 7 });
    expect(problem?.message).toMatch(/^YAML syntax: \S/);
    expect(formatProblem(problem as CityFileProblem)).toMatch(/^tenants.lyon\.yaml:2:7: YAML syntax: /);
  });

  it("rejects a key written twice instead of keeping the last one", () => {
    const problems = problemsOf(`${VALID}timeZone: America/New_York\n`);
    expect(problems).toEqual([
      expect.objectContaining({ line: 16, message: expect.stringMatching(/unique/) }),
    ]);
  });

  it("rejects an empty file", () => {
    expect(problemsOf("# nothing here\n")).toEqual([
      expect.objectContaining({ field: "", message: expect.stringMatching(/empty/) }),
    ]);
  });

  it("rejects unknown keys and suggests the field meant", () => {
    const problems = problemsOf(
      edit(`  accentColor: "#f2c14e"`, `  accentColor: "#f2c14e"\n  accentColour: "#000000"`) +
        "timezone: UTC\n",
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        field: "branding.accentColour",
        line: 13,
        message: `unknown field; did you mean "accentColor"?`,
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ field: "timezone", message: `unknown field; did you mean "timeZone"?` }),
    );
  });

  it("says which field is missing", () => {
    const problems = problemsOf(VALID.replace("timeZone: Europe/Paris\n", ""));
    expect(problems).toEqual([
      { file: path.join("tenants", "lyon.yaml"), field: "timeZone", line: undefined, message: "is required" },
    ]);
  });

  it("explains a wrong type", () => {
    const problems = problemsOf(edit("  enabled: [fr, en]", "  enabled: fr"));
    expect(problems).toContainEqual(
      expect.objectContaining({ field: "locales.enabled", message: `should be a list, not "fr"` }),
    );
  });

  it("requires the slug to match the file name", () => {
    const problems = problemsOf(VALID, path.resolve("tenants/lyons.yaml"));
    expect(problems).toEqual([
      expect.objectContaining({
        field: "slug",
        line: 2,
        message: expect.stringContaining("does not match the file name"),
      }),
    ]);
  });

  it("rejects a malformed slug", () => {
    const problems = problemsOf(edit("slug: lyon", "slug: Lyon_1"), path.resolve("tenants/Lyon_1.yaml"));
    expect(problems).toEqual([
      expect.objectContaining({ field: "slug", message: expect.stringContaining("not a valid slug") }),
    ]);
  });

  it.each(RESERVED_SLUGS.filter((slug) => /^[a-z][a-z0-9-]+$/.test(slug)))(
    "rejects the reserved slug %s",
    (slug) => {
      const problems = problemsOf(edit("slug: lyon", `slug: ${slug}`), path.resolve(`tenants/${slug}.yaml`));
      expect(problems).toContainEqual(
        expect.objectContaining({ field: "slug", message: expect.stringContaining("reserved") }),
      );
    },
  );

  it("rejects a realm reserved for Keycloak or the operators", () => {
    const problems = problemsOf(`${VALID}identity:\n  realm: master\n`);
    expect(problems).toEqual([
      expect.objectContaining({
        field: "identity.realm",
        line: 17,
        message: expect.stringContaining("reserved"),
      }),
    ]);
  });

  it("rejects a default locale that is not enabled", () => {
    const problems = problemsOf(edit("  default: fr", "  default: de"));
    expect(problems).toEqual([
      expect.objectContaining({
        field: "locales.default",
        line: 7,
        message: `"de" is not one of locales.enabled (fr, en)`,
      }),
    ]);
  });

  it("rejects an unsupported locale wherever it appears", () => {
    const problems = problemsOf(
      edit("  enabled: [fr, en]", "  enabled: [fr, en, xx]").replace("  en: Lyon", "  en: Lyon\n  xx: Lyon"),
    );
    expect(problems.map((problem) => problem.field)).toEqual(["names.xx", "locales.enabled[2]"]);
    for (const problem of problems)
      expect(problem.message).toMatch(/^"xx" is not a supported locale \(supported: en, fr/);
  });

  it("rejects a locale enabled twice", () => {
    const problems = problemsOf(edit("  enabled: [fr, en]", "  enabled: [fr, en, fr]"));
    expect(problems).toEqual([
      expect.objectContaining({ field: "locales.enabled[2]", message: `"fr" is listed twice` }),
    ]);
  });

  it("requires a name for every enabled locale", () => {
    const problems = problemsOf(edit("  enabled: [fr, en]", "  enabled: [fr, en, es]"));
    expect(problems).toEqual([
      expect.objectContaining({
        field: "names.es",
        line: 3,
        message: expect.stringContaining("every enabled locale needs the city's name"),
      }),
    ]);
  });

  it("rejects an empty name", () => {
    const problems = problemsOf(edit("  en: Lyon", `  en: "  "`));
    expect(problems).toEqual([
      expect.objectContaining({ field: "names.en", line: 5, message: "must not be empty" }),
    ]);
  });

  it.each([
    ["Mars/Olympus_Mons", "not an IANA time zone"],
    ["europe/paris", `write it as "Europe/Paris"`],
    ["+01:00", "is an offset"],
  ])("rejects the time zone %s", (timeZone, message) => {
    const problems = problemsOf(edit("timeZone: Europe/Paris", `timeZone: "${timeZone}"`));
    expect(problems).toEqual([
      expect.objectContaining({ field: "timeZone", line: 9, message: expect.stringContaining(message) }),
    ]);
  });

  it.each([
    [`"red"`, `"red" is not a colour written #rrggbb`],
    [`"#8b1e3"`, "is not a colour written #rrggbb"],
    // Unquoted, "#8b1e3f" is a YAML comment and the value is empty.
    ["#8b1e3f", "an unquoted # starts a YAML comment"],
  ])("rejects the colour %s", (value, message) => {
    const problems = problemsOf(edit(`  primaryColor: "#8b1e3f"`, `  primaryColor: ${value}`));
    expect(problems).toEqual([
      expect.objectContaining({
        field: "branding.primaryColor",
        line: 11,
        message: expect.stringContaining(message),
      }),
    ]);
  });

  it.each(["http://lyon.example/logo.svg", "//cdn.example/logo.svg", "logo.svg"])(
    "rejects the logo URL %s",
    (logoUrl) => {
      const problems = problemsOf(
        edit(`  accentColor: "#f2c14e"`, `  accentColor: "#f2c14e"\n  logoUrl: "${logoUrl}"`),
      );
      expect(problems).toEqual([
        expect.objectContaining({
          field: "branding.logoUrl",
          line: 13,
          message: expect.stringContaining("https://"),
        }),
      ]);
    },
  );

  it.each(["https://lyon.example/logo.svg", "/assets/lyon/logo.svg"])(
    "accepts the logo URL %s",
    (logoUrl) => {
      const text = edit(`  accentColor: "#f2c14e"`, `  accentColor: "#f2c14e"\n  logoUrl: "${logoUrl}"`);
      expect(parseCityFile({ file: FILE, text }).city.branding.logoUrl).toBe(logoUrl);
    },
  );

  it.each([
    ["Services.Lyon.example", "must be lowercase"],
    ["https://services.lyon.example", "without scheme or path"],
    ["services.lyon.example:8443", "without a port"],
    ["localhost", "not a valid host name"],
    ["-bad.lyon.example", "not a valid host name"],
    ["192.168.1.10", "IP address"],
    ["mairie.lyon.exämple", `"mairie.lyon.xn--exmple-cua"`],
  ])("rejects the host name %s", (hostname, message) => {
    const problems = problemsOf(edit("  - lyon.civitas.example", `  - "${hostname}"`));
    expect(problems).toEqual([
      expect.objectContaining({ field: "domains[1]", line: 15, message: expect.stringContaining(message) }),
    ]);
  });

  it("rejects a host name listed twice", () => {
    const problems = problemsOf(edit("  - lyon.civitas.example", "  - services.lyon.example"));
    expect(problems).toEqual([
      expect.objectContaining({ field: "domains[1]", message: `"services.lyon.example" is listed twice` }),
    ]);
  });

  describe("host names of the platform", () => {
    afterEach(() => {
      vi.unstubAllEnvs();
      resetConfig();
    });

    const withDomain = (hostname: string) => edit("  - lyon.civitas.example", `  - "${hostname}"`);
    const problemsUnder = (text: string, platformDomain: string) => {
      try {
        parseCityFile({ file: FILE, text, platformDomain });
      } catch (error) {
        expect(error).toBeInstanceOf(CityFileError);
        return (error as CityFileError).problems;
      }
      return [];
    };

    it("refuses a name under the platform domain, which {slug}.{domain} already answers", () => {
      const message = (() => {
        try {
          parseCityFile({ file: FILE, text: withDomain("paris.localhost"), platformDomain: "localhost" });
        } catch (error) {
          return (error as Error).message;
        }
        throw new Error("expected the file to be rejected");
      })();
      expect(message).toContain(
        `${path.join("tenants", "lyon.yaml")}:15: domains[1]: "paris.localhost" is under the platform ` +
          "domain localhost; cities answer there by slug already",
      );
    });

    it.each([
      ["paris.civitas.example", "is under the platform domain civitas.example"],
      ["lyon.civitas.example", "is under the platform domain civitas.example"],
      ["www.paris.civitas.example", "is under the platform domain civitas.example"],
      ["civitas.example", "is the platform domain; cities answer under it by slug already"],
      // localhost serves cities by slug whatever the platform domain (developer machines).
      ["paris.localhost", "is under localhost; cities answer there by slug already"],
    ])("refuses %s on the platform civitas.example", (hostname, message) => {
      for (const platformDomain of ["civitas.example", "Civitas.Example"]) {
        expect(problemsUnder(withDomain(hostname), platformDomain)).toEqual([
          expect.objectContaining({
            field: "domains[1]",
            line: 15,
            message: expect.stringContaining(message),
          }),
        ]);
      }
    });

    it.each(["civitas.example.org", "notcivitas.example", "example", "services.lyon.example"])(
      "accepts %s on the platform civitas.example, which only looks alike",
      (hostname) => {
        const problems = problemsUnder(withDomain(hostname), "civitas.example");
        // "example" alone is not a host name at all: that problem, not a platform one.
        expect(problems.filter((problem) => /platform|localhost/.test(problem.message))).toEqual([]);
      },
    );

    it("refuses a platform domain that is not a bare host name", () => {
      expect(() => parseCityFile({ file: FILE, text: VALID, platformDomain: "https://civitas.example" })).toThrow(
        /Not a platform domain/,
      );
    });

    it("reads the platform domain from CIVITAS_DOMAIN by default", () => {
      vi.stubEnv("CIVITAS_DOMAIN", "civitas.example");
      resetConfig();
      expect(problemsOf(VALID)).toEqual([
        expect.objectContaining({
          field: "domains[1]",
          message:
            `"lyon.civitas.example" is under the platform domain civitas.example; ` +
            "cities answer there by slug already",
        }),
      ]);
      vi.stubEnv("CIVITAS_DOMAIN", "civitas.test");
      resetConfig();
      expect(parseCityFile({ file: FILE, text: VALID }).city.domains).toContain("lyon.civitas.example");
    });

    it("reports a malformed name once, not also as a platform name", () => {
      expect(problemsUnder(withDomain("Paris.localhost"), "localhost")).toEqual([
        expect.objectContaining({
          field: "domains[1]",
          message: expect.stringContaining("must be lowercase"),
        }),
      ]);
    });
  });

  it("rejects an unknown status", () => {
    const problems = problemsOf(`${VALID}status: closed\n`);
    expect(problems).toEqual([
      expect.objectContaining({ field: "status", line: 16, message: `"closed" must be active or suspended` }),
    ]);
  });

  it("collects every problem of a file, in line order", () => {
    const text = VALID.replace("  default: fr", "  default: de")
      .replace("timeZone: Europe/Paris", "timeZone: Nowhere")
      .replace(`  accentColor: "#f2c14e"`, `  accentColor: gold`);
    const problems = problemsOf(text);
    expect(problems.map((problem) => [problem.line, problem.field])).toEqual([
      [7, "locales.default"],
      [9, "timeZone"],
      [12, "branding.accentColor"],
    ]);
  });
});

describe("tenants/city.schema.json", () => {
  it("is what scripts/tenants-schema.ts generates from the code (run it after changing the schema)", async () => {
    const committed: unknown = JSON.parse(await readFile(path.resolve("tenants/city.schema.json"), "utf8"));
    expect(committed).toEqual(cityFileJsonSchema());
  });
});
