// npm run i18n:check (and a test of `npm test`): the translations in locales/{lng}/{ns}.json are
// complete, used and consistent.
// - Every shipped locale has every namespace and every English key, and nothing English lacks.
// - A pluralised key (key_one, key_other...) has exactly the forms Intl.PluralRules names for
//   each locale (Arabic: zero, one, two, few, many, other; Chinese: other).
// - Translations are not copies of the English text, and use the same {{variables}} (a plural
//   form may leave out {{count}}: "one language").
// - The code (app/, graphql/, plugins/; tests aside), read with the TypeScript parser, uses every
//   English key and names no key English lacks. Uses are t("key") / t("ns:key"), <Trans
//   i18nKey="...">, and "ns:key" strings anywhere (keys held as data: permission descriptions, a
//   failure's message). An unprefixed key belongs to the namespaces its file declares
//   (useTranslation("ns"), translator(locale, "ns"), handle.i18n) or to `common`, as at run time
//   (common is the fallback namespace). Keys built at run time (t(`a.${b}`)) are refused.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { SUPPORTED_LOCALES } from "../app/i18n/locales";

export type Problem = { file: string; key?: string; message: string };

export type CheckOptions = {
  /** The project folder (locales/ and the source folders are under it). */
  root: string;
  locales?: readonly string[];
  sourceDirs?: readonly string[];
  /** The namespaces the server bundles (app/i18n/resources.server.ts); unchecked when absent. */
  bundledNamespaces?: readonly string[];
};

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;
const VARIABLE = /\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g;
const SOURCE_FILE = /\.(ts|tsx|js|jsx|mjs)$/;
const SKIPPED_FILE = /\.(test|spec)\.[jt]sx?$|\.d\.ts$/;
const SKIPPED_DIRS = new Set(["node_modules", "generated", "build", ".cache"]);
const ENGLISH = "en";
const DEFAULT_NAMESPACE = "common";

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const flat = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const full = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") flat.set(full, value);
    else for (const [childKey, text] of flatten(value, full)) flat.set(childKey, text);
  }
  return flat;
}

/** A key and its plural forms by category ("" for a key that is not pluralised). */
type Entry = { forms: Map<string, string> };

/** Keys by base key: "home.count_one" and "home.count_other" are one entry "home.count". */
function entries(flat: Map<string, string>): Map<string, Entry> {
  const result = new Map<string, Entry>();
  for (const [key, text] of flat) {
    const match = PLURAL_SUFFIX.exec(key);
    const base = match ? key.slice(0, match.index) : key;
    const category = match?.[1] ?? "";
    const entry = result.get(base) ?? { forms: new Map<string, string>() };
    entry.forms.set(category, text);
    result.set(base, entry);
  }
  return result;
}

const isPlural = (entry: Entry) => !entry.forms.has("");

function variables(text: string): Set<string> {
  return new Set([...text.matchAll(VARIABLE)].map((match) => match[1] ?? ""));
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((value) => b.has(value));
const describe = (set: Set<string>) => (set.size === 0 ? "none" : [...set].sort().map((name) => `{{${name}}}`).join(", "));

const CATEGORY_ORDER = ["zero", "one", "two", "few", "many", "other"];

/** The plural forms a locale's rules distinguish (Intl.PluralRules, as i18next uses it). */
function pluralCategories(locale: string): string[] {
  const categories = new Intl.PluralRules(locale).resolvedOptions().pluralCategories.map(String);
  return CATEGORY_ORDER.filter((category) => categories.includes(category));
}

function readTree(file: string, problems: Problem[], relative: string): Tree | null {
  try {
    const value: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    const bad = [...flattenLoose(value as Record<string, unknown>)].find(([, text]) => typeof text !== "string");
    if (bad) {
      problems.push({ file: relative, key: bad[0], message: "is not text" });
      return null;
    }
    return value as Tree;
  } catch (error) {
    problems.push({ file: relative, message: `cannot be read: ${error instanceof Error ? error.message : String(error)}` });
    return null;
  }
}

function* flattenLoose(value: Record<string, unknown>, prefix = ""): Generator<[string, unknown]> {
  for (const [key, child] of Object.entries(value)) {
    const full = prefix ? `${prefix}.${key}` : key;
    if (typeof child === "object" && child !== null && !Array.isArray(child)) yield* flattenLoose(child as Record<string, unknown>, full);
    else yield [full, child];
  }
}

// --- Translation files ------------------------------------------------------------------------

/**
 * Where each namespace's file for a locale is: locales/{lng}/{ns}.json for the core's, and
 * plugins/{id}/locales/{lng}.json for a plugin's (its namespace is its id).
 */
function namespaceFiles(root: string): Map<string, (locale: string) => string> {
  const files = new Map<string, (locale: string) => string>();
  const englishDir = path.join(root, "locales", ENGLISH);
  if (existsSync(englishDir)) {
    for (const file of readdirSync(englishDir).filter((name) => name.endsWith(".json")).sort()) {
      const namespace = file.slice(0, -".json".length);
      files.set(namespace, (locale) => `locales/${locale}/${namespace}.json`);
    }
  }
  const pluginsDir = path.join(root, "plugins");
  if (existsSync(pluginsDir)) {
    for (const id of readdirSync(pluginsDir).sort()) {
      if (!existsSync(path.join(pluginsDir, id, "locales", `${ENGLISH}.json`))) continue;
      if (files.has(id)) throw new Error(`plugins/${id}: its namespace is also a file in locales/${ENGLISH}/`);
      files.set(id, (locale) => `plugins/${id}/locales/${locale}.json`);
    }
  }
  return files;
}

function checkFiles(root: string, locales: readonly string[], problems: Problem[]): Map<string, Map<string, Entry>> {
  const files = namespaceFiles(root);
  const english = new Map<string, Map<string, Entry>>();
  for (const [namespace, fileOf] of files) {
    const relative = fileOf(ENGLISH);
    const tree = readTree(path.join(root, relative), problems, relative);
    english.set(namespace, tree ? entries(flatten(tree)) : new Map());
  }

  for (const locale of locales) {
    const dir = path.join(root, "locales", locale);
    const present = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith(".json")) : [];
    for (const file of present) {
      const namespace = file.slice(0, -".json".length);
      if (!english.has(namespace)) problems.push({ file: `locales/${locale}/${file}`, message: `namespace "${namespace}" has no English file` });
    }
    const categories = new Set(pluralCategories(locale));
    for (const [namespace, englishEntries] of english) {
      const relative = files.get(namespace)!(locale);
      if (!existsSync(path.join(root, relative))) {
        problems.push({ file: relative, message: "is missing" });
        continue;
      }
      const tree = readTree(path.join(root, relative), problems, relative);
      if (!tree) continue;
      const translated = entries(flatten(tree));
      for (const [key, reference] of englishEntries) {
        const entry = translated.get(key);
        if (!entry) {
          problems.push({ file: relative, key, message: "is missing" });
          continue;
        }
        checkEntry({ file: relative, key, locale, entry, reference, categories }, problems);
      }
      for (const key of translated.keys()) {
        if (!englishEntries.has(key)) problems.push({ file: relative, key, message: `is not in ${files.get(namespace)!(ENGLISH)}` });
      }
    }
  }
  return english;
}

type EntryCheck = { file: string; key: string; locale: string; entry: Entry; reference: Entry; categories: Set<string> };

function checkEntry({ file, key, locale, entry, reference, categories }: EntryCheck, problems: Problem[]): void {
  if (isPlural(reference) !== isPlural(entry)) {
    problems.push({ file, key, message: isPlural(reference) ? "must be pluralised as in English (key_one, key_other...)" : "is pluralised but not in English" });
    return;
  }
  const referenceVariables = new Set([...reference.forms.values()].flatMap((text) => [...variables(text)]));
  if (!isPlural(entry)) {
    const text = entry.forms.get("") ?? "";
    const englishText = reference.forms.get("") ?? "";
    if (!sameSet(variables(text), referenceVariables)) {
      problems.push({ file, key, message: `uses ${describe(variables(text))} where English uses ${describe(referenceVariables)}` });
    }
    if (locale !== ENGLISH && text === englishText) problems.push({ file, key, message: "is a copy of the English text" });
    return;
  }
  for (const category of categories) {
    if (!entry.forms.has(category)) problems.push({ file, key: `${key}_${category}`, message: `is missing: ${locale} needs the plural forms ${[...categories].join(", ")}` });
  }
  for (const [category, text] of entry.forms) {
    const formKey = `${key}_${category}`;
    if (!categories.has(category)) {
      problems.push({ file, key: formKey, message: `is not a plural form of ${locale} (${[...categories].join(", ")})` });
      continue;
    }
    // A form may say the number in words ("one language"): only {{count}} may be left out.
    const expected = new Set([...referenceVariables].filter((name) => name !== "count"));
    const used = variables(text);
    const missing = [...expected].filter((name) => !used.has(name));
    const unknown = [...used].filter((name) => !referenceVariables.has(name));
    if (missing.length > 0 || unknown.length > 0) {
      problems.push({ file, key: formKey, message: `uses ${describe(used)} where English uses ${describe(referenceVariables)}` });
    }
    if (locale !== ENGLISH && text === reference.forms.get(category)) problems.push({ file, key: formKey, message: "is a copy of the English text" });
  }
}

// --- Uses in the code ---------------------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIPPED_DIRS.has(name) || name.startsWith(".")) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) files.push(...sourceFiles(full));
    else if (SOURCE_FILE.test(name) && !SKIPPED_FILE.test(name)) files.push(full);
  }
  return files;
}

/** The namespaces a file names for its unprefixed keys (useTranslation("ns"), translator(locale, "ns"), handle.i18n), `common` last. */
function fileNamespaces(file: ts.SourceFile, known: Set<string>): string[] {
  const named = new Set<string>();
  const addLiterals = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node)) {
      if (known.has(node.text)) named.add(node.text);
      return;
    }
    ts.forEachChild(node, addLiterals);
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && NAMESPACE_FUNCTIONS.has(node.expression.text)) {
      node.arguments.forEach(addLiterals);
    }
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === "i18n") addLiterals(node.initializer);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return [...named, DEFAULT_NAMESPACE];
}

const LOGICAL = new Set([ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.AmpersandAmpersandToken]);

const NAMESPACE_FUNCTIONS = new Set(["useTranslation", "translator", "getFixedT", "withTranslation"]);

/** t("key"), i18n.t("key"): the call's callee is `t`. */
function isTranslateCall(node: ts.Node): node is ts.CallExpression {
  if (!ts.isCallExpression(node)) return false;
  const callee = node.expression;
  return (ts.isIdentifier(callee) && callee.text === "t") || (ts.isPropertyAccessExpression(callee) && callee.name.text === "t");
}

type Usage = { used: Map<string, Set<string>>; problems: Problem[] };

function findUses(root: string, sourceDirs: readonly string[], english: Map<string, Map<string, Entry>>): Usage {
  const known = new Set(english.keys());
  const used = new Map<string, Set<string>>([...known].map((namespace) => [namespace, new Set<string>()]));
  const problems: Problem[] = [];
  const exists = (namespace: string, key: string) => english.get(namespace)?.has(key) ?? false;

  for (const absolute of sourceDirs.flatMap((dir) => sourceFiles(path.join(root, dir)))) {
    const relative = path.relative(root, absolute).split(path.sep).join("/");
    const file = ts.createSourceFile(relative, readFileSync(absolute, "utf8"), ts.ScriptTarget.Latest, true, scriptKind(relative));
    const where = (node: ts.Node) => `${relative}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
    const namespaces = fileNamespaces(file, known);

    /** A key in first position of t(...) or in i18nKey: unprefixed, it is one of the file's namespaces'. */
    const useKey = (node: ts.Node): void => {
      if (ts.isTemplateExpression(node)) {
        problems.push({ file: where(node), key: node.getText(file), message: 'is a key built at run time: spell each key out (a const map of "ns:key" strings)' });
        return;
      }
      // The values the expression can take: t(done ? "a" : "b"), t(key ?? "a"), t(("a")).
      if (ts.isConditionalExpression(node)) return [node.whenTrue, node.whenFalse].forEach(useKey);
      if (ts.isBinaryExpression(node) && LOGICAL.has(node.operatorToken.kind)) return [node.left, node.right].forEach(useKey);
      if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return useKey(node.expression);
      if (ts.isJsxExpression(node)) return node.expression ? useKey(node.expression) : undefined;
      // Anything else (a variable, a map lookup) holds keys spelt "ns:key" elsewhere in the code.
      if (!ts.isStringLiteralLike(node) || node.text === "") return;
      const key = node.text;
      const prefix = /^([\w-]+):/.exec(key)?.[1];
      if (prefix !== undefined) {
        // Prefixed keys of known namespaces are counted with every "ns:key" string below.
        if (!known.has(prefix)) problems.push({ file: where(node), key, message: `names a namespace with no file in locales/${ENGLISH}/` });
        return;
      }
      const owner = namespaces.find((namespace) => exists(namespace, key));
      if (owner) used.get(owner)?.add(key);
      else problems.push({ file: where(node), key, message: `is used but not in ${namespaces.map((ns) => `locales/${ENGLISH}/${ns}.json`).join(" or ")}` });
    };

    const visit = (node: ts.Node) => {
      // "ns:key" anywhere: a prefixed t("ns:key"), or a key held as data.
      if (ts.isStringLiteralLike(node)) {
        const match = /^([\w-]+):([\w.-]+)$/.exec(node.text);
        const [, namespace = "", key = ""] = match ?? [];
        if (match && known.has(namespace)) {
          if (exists(namespace, key)) used.get(namespace)?.add(key);
          else problems.push({ file: where(node), key: node.text, message: `is used but not in locales/${ENGLISH}/${namespace}.json` });
        }
      }
      if (isTranslateCall(node) && node.arguments[0]) useKey(node.arguments[0]);
      if (ts.isJsxAttribute(node) && node.name.getText(file) === "i18nKey" && node.initializer) useKey(node.initializer);
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { used, problems };
}

function scriptKind(file: string): ts.ScriptKind {
  if (file.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (file.endsWith(".jsx")) return ts.ScriptKind.JSX;
  return file.endsWith(".ts") ? ts.ScriptKind.TS : ts.ScriptKind.JS;
}

// --- The check --------------------------------------------------------------------------------

export function checkTranslations({
  root,
  locales = SUPPORTED_LOCALES,
  sourceDirs = ["app", "graphql", "plugins"],
  bundledNamespaces,
}: CheckOptions): Problem[] {
  const problems: Problem[] = [];
  if (!locales.includes(ENGLISH)) throw new Error("English is the reference: it must be one of the locales.");
  const english = checkFiles(root, locales, problems);
  if (bundledNamespaces) {
    for (const namespace of english.keys()) {
      if (!bundledNamespaces.includes(namespace)) {
        problems.push({ file: "app/i18n/resources.server.ts", key: namespace, message: "namespace is not bundled: import its files there" });
      }
    }
  }
  const usage = findUses(root, sourceDirs, english);
  problems.push(...usage.problems);
  for (const [namespace, entriesOfNamespace] of english) {
    for (const key of entriesOfNamespace.keys()) {
      if (!usage.used.get(namespace)?.has(key)) {
        problems.push({ file: `locales/${ENGLISH}/${namespace}.json`, key, message: `is not used in ${sourceDirs.join("/, ")}/` });
      }
    }
  }
  return problems;
}

export function formatProblem({ file, key, message }: Problem): string {
  return key === undefined ? `${file}: ${message}` : `${file}: "${key}" ${message}`;
}

async function main(): Promise<void> {
  const { NAMESPACES } = await import("../app/i18n/resources.server");
  const problems = checkTranslations({ root: process.cwd(), bundledNamespaces: NAMESPACES });
  for (const problem of problems) console.error(formatProblem(problem));
  if (problems.length > 0) {
    console.error(`i18n:check: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    process.exitCode = 1;
    return;
  }
  console.log(`i18n:check: ${SUPPORTED_LOCALES.length} locales complete, every key used`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
