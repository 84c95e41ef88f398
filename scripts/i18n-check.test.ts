// The translation check on the shipped translations (part of `npm test`), and on small made-up
// projects showing each problem it reports.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NAMESPACES } from "../app/i18n/resources.server";
import { checkTranslations, formatProblem, type Problem } from "./i18n-check";

describe("the shipped translations", () => {
  it("are complete in every locale, consistent, not copies of English, and all used", () => {
    const problems = checkTranslations({ root: process.cwd(), bundledNamespaces: NAMESPACES });
    expect(problems.map(formatProblem)).toEqual([]);
  });
});

// --- Made-up projects --------------------------------------------------------------------------

let root: string | undefined;

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

type Project = { locales: Record<string, Record<string, unknown>>; sources?: Record<string, string> };

function check({ locales, sources = {} }: Project, options: { bundledNamespaces?: string[] } = {}): string[] {
  root = mkdtempSync(path.join(tmpdir(), "i18n-check-"));
  for (const [file, content] of Object.entries(locales)) {
    mkdirSync(path.join(root, "locales", path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, "locales", file), JSON.stringify(content));
  }
  for (const [file, content] of Object.entries(sources)) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return checkTranslations({ root, locales: ["en", "fr", "ar"], ...options }).map((problem: Problem) => formatProblem(problem));
}

const english = { greeting: "Hello {{name}}", nested: { bye: "Goodbye" } };
const french = { greeting: "Bonjour {{name}}", nested: { bye: "Au revoir" } };
const arabic = { greeting: "مرحبا {{name}}", nested: { bye: "وداعا" } };
const uses = { "app/page.tsx": 'const { t } = useTranslation();\nt("greeting", { name });\nt("nested.bye");\n' };

describe("checkTranslations", () => {
  it("accepts a complete, used project", () => {
    expect(check({ locales: { "en/common.json": english, "fr/common.json": french, "ar/common.json": arabic }, sources: uses })).toEqual([]);
  });

  it("reports missing files, missing keys and keys English lacks", () => {
    const problems = check({
      locales: { "en/common.json": english, "fr/common.json": { greeting: "Bonjour {{name}}", extra: "En trop" } },
      sources: uses,
    });
    expect(problems).toEqual([
      'locales/fr/common.json: "nested.bye" is missing',
      'locales/fr/common.json: "extra" is not in locales/en/common.json',
      "locales/ar/common.json: is missing",
    ]);
  });

  it("reports interpolations that differ from English, and copies of the English text", () => {
    const problems = check({
      locales: {
        "en/common.json": english,
        "fr/common.json": { greeting: "Bonjour {{nom}}", nested: { bye: "Goodbye" } },
        "ar/common.json": arabic,
      },
      sources: uses,
    });
    expect(problems).toEqual([
      'locales/fr/common.json: "greeting" uses {{nom}} where English uses {{name}}',
      'locales/fr/common.json: "nested.bye" is a copy of the English text',
    ]);
  });

  it("requires exactly the plural forms of each locale's rules (Arabic: six), {{count}} optional in a form", () => {
    const en = { ...english, items_one: "{{count}} item in {{list}}", items_other: "{{count}} items in {{list}}" };
    const fr = { ...french, items_one: "Un élément dans {{list}}", items_many: "{{count}} d’éléments dans {{list}}", items_other: "{{count}} éléments dans {{list}}" };
    const ar = { ...arabic, items_one: "عنصر واحد في {{list}}", items_other: "{{count}} عنصر في {{list}}", items_dual: "x" };
    const sources = { "app/page.tsx": `${uses["app/page.tsx"]}t("items", { count, list });\n` };
    const forms = "zero, one, two, few, many, other";
    expect(check({ locales: { "en/common.json": en, "fr/common.json": fr, "ar/common.json": ar }, sources })).toEqual([
      `locales/ar/common.json: "items_zero" is missing: ar needs the plural forms ${forms}`,
      `locales/ar/common.json: "items_two" is missing: ar needs the plural forms ${forms}`,
      `locales/ar/common.json: "items_few" is missing: ar needs the plural forms ${forms}`,
      `locales/ar/common.json: "items_many" is missing: ar needs the plural forms ${forms}`,
      'locales/ar/common.json: "items_dual" is not in locales/en/common.json',
    ]);
    // A form may leave {{count}} out, not the other variables.
    const frWithout = { ...fr, items_one: "Un élément" };
    const problems = check({ locales: { "en/common.json": en, "fr/common.json": frWithout, "ar/common.json": ar }, sources });
    expect(problems).toContain('locales/fr/common.json: "items_one" uses none where English uses {{count}}, {{list}}');
  });

  it("reports unused keys with their file, and keys the code uses that English lacks, with file and line", () => {
    const locales = { "en/common.json": english, "fr/common.json": french, "ar/common.json": arabic };
    const sources = { "app/page.tsx": 'const { t } = useTranslation();\n\nt("greeting", { name });\nt("nested.hello");\n' };
    expect(check({ locales, sources })).toEqual([
      'app/page.tsx:4: "nested.hello" is used but not in locales/en/common.json',
      'locales/en/common.json: "nested.bye" is not used in app/, graphql/, plugins/',
    ]);
  });

  it("refuses keys built at run time", () => {
    const locales = { "en/common.json": english, "fr/common.json": french, "ar/common.json": arabic };
    const sources = { "app/page.tsx": `${uses["app/page.tsx"]}t(\`nested.\${which}\`);\n` };
    expect(check({ locales, sources })).toEqual([
      'app/page.tsx:4: "`nested.${which}`" is a key built at run time: spell each key out (a const map of "ns:key" strings)',
    ]);
  });

  it("reads namespaces from the file (useTranslation, translator, handle.i18n) and \"ns:key\" data anywhere", () => {
    const locales = {
      "en/common.json": { save: "Save" },
      "fr/common.json": { save: "Enregistrer" },
      "ar/common.json": { save: "حفظ" },
      "en/shop.json": { title: "Shop", closed: "Closed", open: "Open" },
      "fr/shop.json": { title: "Boutique", closed: "Fermé", open: "Ouvert" },
      "ar/shop.json": { title: "متجر", closed: "مغلق", open: "مفتوح" },
    };
    const sources = {
      // Unprefixed keys: the file's namespace first, then common (i18next's fallback namespace).
      "plugins/shop/page.tsx": 'export const handle = { i18n: ["shop"] };\nconst { t } = useTranslation("shop");\nt("title"); t("save");\n',
      // A key held as data, spelt with its namespace; comments do not count: t("closed").
      "plugins/shop/status.ts": 'export const STATUS = { open: "shop:open" } as const;\n// t("closed")\n',
      "tests/shop.test.ts": 't("shop:closed")',
    };
    expect(check({ locales, sources })).toEqual(['locales/en/shop.json: "closed" is not used in app/, graphql/, plugins/']);
  });

  it("reports a namespace the server does not bundle", () => {
    const locales = { "en/common.json": english, "fr/common.json": french, "ar/common.json": arabic };
    expect(check({ locales, sources: uses }, { bundledNamespaces: [] })).toEqual([
      'app/i18n/resources.server.ts: "common" namespace is not bundled: import its files there',
    ]);
  });
});
