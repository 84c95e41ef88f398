// The DCAT-AP 3.0 catalogue of this instance's public datasets (docs/federation.md §9), for
// open-data portals: one set of statements, written as Turtle (n3's Writer) and as JSON-LD (a
// flat @graph of the same statements), so the two never say different things.
//
// DCAT-AP 3.0's mandatory properties are all there (Catalogue: title, description, publisher;
// Dataset: title, description; Distribution: access URL; Agent: name), with the recommended ones
// Civitas knows: the catalogue's homepage, languages, modification date and datasets; each
// dataset's publisher, keywords and distribution; each distribution's description (how its
// download is paged, in its city's languages), format and licence. Each
// distribution also describes its records' fields (the plugin's `fields`) as a CSVW table schema.
import type { TFunction } from "i18next";
import { DataFactory, Writer, type NamedNode, type Quad } from "n3";
import type { Database } from "../db/database.server";
import { translator } from "../i18n/i18n.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { MAX_DOWNLOAD_RECORDS, declaredDataset, pluginTexts, publicDatasets, type CatalogueDataset, type LanguageMap } from "./datasets.server";
import { instanceId, instanceName } from "./instance.server";

export const NAMESPACES = {
  dcat: "http://www.w3.org/ns/dcat#",
  dct: "http://purl.org/dc/terms/",
  foaf: "http://xmlns.com/foaf/0.1/",
  csvw: "http://www.w3.org/ns/csvw#",
  rdf: "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
} as const;

type Prefix = keyof typeof NAMESPACES;
/** A term by its prefixed name ("dcat:Dataset"). */
type Curie = `${Prefix}:${string}`;

const EU = "http://publications.europa.eu/resource/authority";
export const PUBLIC_ACCESS = `${EU}/access-right/PUBLIC`;
export const JSON_FORMAT = `${EU}/file-type/JSON`;
export const JSON_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/application/json";
export const LICENCE = `${EU}/licence/CC_BY_4_0`;
/** ADMS publisher type of a city (DCAT-AP recommends dct:type on an agent). */
export const LOCAL_AUTHORITY = "http://purl.org/adms/publishertype/LocalAuthority";

/** The EU Publications Office language authority's code of each shipped locale. */
const EU_LANGUAGES: Record<string, string> = {
  ar: "ARA",
  de: "DEU",
  en: "ENG",
  es: "SPA",
  fr: "FRA",
  hu: "HUN",
  it: "ITA",
  nl: "NLD",
  pt: "POR",
  zh: "ZHO",
};

export function languageUri(locale: string): string | null {
  const code = EU_LANGUAGES[locale.toLowerCase().split("-")[0] ?? ""];
  return code ? `${EU}/language/${code}` : null;
}

/**
 * Civitas' own texts (locales/{language}/federation.json, `dcat.*`) in each of `languages` it is
 * translated into, English always among them: the catalogue's in its datasets' languages, a
 * distribution's in its city's.
 */
function ownTexts(languages: Iterable<string>, say: (t: TFunction) => string): Term[] {
  const wanted = new Set(["en", ...[...languages].map((language) => language.toLowerCase().split("-")[0] ?? "")]);
  return SUPPORTED_LOCALES.filter((locale) => wanted.has(locale))
    .sort((a, b) => a.localeCompare(b))
    .map((locale) => text(say(translator(locale, "federation")), locale));
}

/** The xsd datatype of a plugin field's type (a translated field is a text per language). */
const FIELD_TYPES: Record<string, Curie> = {
  string: "xsd:string",
  integer: "xsd:integer",
  number: "xsd:decimal",
  date: "xsd:date",
  translated: "rdf:langString",
};

// --- Statements ----------------------------------------------------------------------------

export type Term =
  | { kind: "iri"; value: string }
  | { kind: "literal"; value: string; language?: string; datatype?: Curie };

export type Statement = { subject: string; predicate: Curie; object: Term };

const iri = (value: string): Term => ({ kind: "iri", value });
const curie = (value: Curie): Term => ({ kind: "iri", value: expand(value) });
const text = (value: string, language?: string): Term => ({ kind: "literal", value, ...(language && { language }) });
const dateTime = (value: Date): Term => ({ kind: "literal", value: value.toISOString(), datatype: "xsd:dateTime" });

export function expand(name: Curie): string {
  const [prefix, local] = name.split(/:(.*)/s) as [Prefix, string];
  return `${NAMESPACES[prefix]}${local}`;
}

/** Texts per language as language-tagged literals, in a fixed order. */
function texts(map: LanguageMap): Term[] {
  return Object.entries(map)
    .filter(([, value]) => value.trim() !== "")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([language, value]) => text(value, language));
}

export const catalogueUri = (): string => `${instanceId()}/federation/catalog`;

/** Everything the catalogue says, subject by subject. */
export function describeCatalogue(datasets: readonly CatalogueDataset[], options: { name?: string } = {}): Statement[] {
  const statements: Statement[] = [];
  const say = (subject: string, predicate: Curie, ...objects: Term[]) => {
    for (const object of objects) statements.push({ subject, predicate, object });
  };
  const name = options.name ?? instanceName();
  const catalogue = catalogueUri();
  const operator = instanceId();
  const homepage = `${instanceId()}/`;
  const languages = new Set<string>();
  const publishers = new Map<string, CatalogueDataset["origin"]>();

  say(catalogue, "rdf:type", curie("dcat:Catalog"));
  say(catalogue, "dct:title", text(name));
  const catalogueLanguages = datasets.flatMap((dataset) => dataset.origin.locales ?? []);
  say(catalogue, "dct:description", ...ownTexts(catalogueLanguages, (t) => t("dcat.catalogueDescription", { name })));
  say(catalogue, "dct:publisher", iri(operator));
  say(catalogue, "foaf:homepage", iri(homepage));
  const modified = datasets.reduce<Date | null>((latest, dataset) => (latest === null || dataset.modified > latest ? dataset.modified : latest), null);
  if (modified) say(catalogue, "dct:modified", dateTime(modified));
  for (const dataset of datasets) say(catalogue, "dcat:dataset", iri(dataset.uri));

  for (const dataset of datasets) {
    const found = declaredDataset(dataset.pluginId, dataset.dataset);
    const distribution = `${dataset.uri}#json`;
    const description = Object.keys(dataset.description).length > 0 ? dataset.description : dataset.title;
    const datasetLanguages = (dataset.origin.locales ?? []).map(languageUri).filter((uri): uri is string => uri !== null);
    for (const language of datasetLanguages) languages.add(language);
    publishers.set(dataset.origin.uri, dataset.origin);

    say(dataset.uri, "rdf:type", curie("dcat:Dataset"));
    say(dataset.uri, "dct:identifier", text(dataset.uri));
    say(dataset.uri, "dct:title", ...texts(dataset.title));
    say(dataset.uri, "dct:description", ...texts(description));
    say(dataset.uri, "dct:publisher", iri(dataset.origin.uri));
    say(dataset.uri, "dcat:keyword", ...(found?.declared.keywords ?? []).map((keyword) => text(keyword)));
    say(dataset.uri, "dct:issued", dateTime(dataset.issued));
    say(dataset.uri, "dct:modified", dateTime(dataset.modified));
    say(dataset.uri, "dct:language", ...datasetLanguages.map(iri));
    say(dataset.uri, "dct:accessRights", iri(PUBLIC_ACCESS));
    say(dataset.uri, "dcat:distribution", iri(distribution));

    say(distribution, "rdf:type", curie("dcat:Distribution"));
    say(distribution, "dct:description", ...ownTexts(dataset.origin.locales ?? [], (t) => t("dcat.distributionDescription", { max: MAX_DOWNLOAD_RECORDS })));
    say(distribution, "dcat:accessURL", iri(`${dataset.uri}/records`));
    say(distribution, "dcat:downloadURL", iri(`${dataset.uri}/records.json`));
    say(distribution, "dct:format", iri(JSON_FORMAT));
    say(distribution, "dcat:mediaType", iri(JSON_MEDIA_TYPE));
    say(distribution, "dct:license", iri(LICENCE));
    say(distribution, "dct:modified", dateTime(dataset.modified));
    if (found && found.declared.fields.length > 0) {
      const schema = `${dataset.uri}#schema`;
      say(distribution, "csvw:tableSchema", iri(schema));
      say(schema, "rdf:type", curie("csvw:Schema"));
      for (const field of found.declared.fields) {
        const column = `${dataset.uri}#field-${encodeURIComponent(field.name)}`;
        say(schema, "csvw:column", iri(column));
        say(column, "rdf:type", curie("csvw:Column"));
        say(column, "csvw:name", text(field.name));
        say(column, "csvw:datatype", curie(FIELD_TYPES[field.type] ?? "xsd:string"));
        say(column, "dct:description", ...texts(pluginTexts(found.plugin, field.description)));
      }
    }
  }

  say(operator, "rdf:type", curie("foaf:Agent"));
  say(operator, "foaf:name", text(name));
  say(homepage, "rdf:type", curie("foaf:Document"));
  for (const [uri, city] of [...publishers].sort(([a], [b]) => a.localeCompare(b))) {
    const names = texts(city.names);
    say(uri, "rdf:type", curie("foaf:Agent"));
    say(uri, "foaf:name", ...(names.length > 0 ? names : [text(city.slug)]));
    say(uri, "dct:type", iri(LOCAL_AUTHORITY));
  }
  // The catalogue's languages: those of its datasets, in the order the locales are shipped.
  const ordered = SUPPORTED_LOCALES.map(languageUri).filter((uri): uri is string => uri !== null && languages.has(uri));
  say(catalogue, "dct:language", ...ordered.map(iri));
  return statements;
}

// --- Turtle ----------------------------------------------------------------------------------

function quad(statement: Statement): Quad {
  const { namedNode, literal, quad: makeQuad } = DataFactory;
  const object = statement.object;
  const term =
    object.kind === "iri"
      ? namedNode(object.value)
      : literal(object.value, object.language ?? (object.datatype ? namedNode(expand(object.datatype)) : undefined));
  return makeQuad(namedNode(statement.subject), namedNode(expand(statement.predicate)), term);
}

/** Statements as Turtle, with the catalogue's prefixes, one block per subject. */
export function toTurtle(statements: readonly Statement[]): Promise<string> {
  const prefixes: Record<string, NamedNode | string> = { ...NAMESPACES };
  const writer = new Writer({ format: "text/turtle", prefixes });
  // Grouped by subject (in the order subjects first appear): the writer shares one block per run.
  const order = new Map<string, Statement[]>();
  for (const statement of statements) {
    const list = order.get(statement.subject) ?? [];
    list.push(statement);
    order.set(statement.subject, list);
  }
  for (const list of order.values()) for (const statement of list) writer.addQuad(quad(statement));
  return new Promise((resolve, reject) => writer.end((error, result) => (error ? reject(error) : resolve(result))));
}

// --- JSON-LD ---------------------------------------------------------------------------------

type JsonLdValue = string | { "@id": string } | { "@value": string; "@language": string } | { "@value": string; "@type": string };
export type JsonLdNode = { "@id": string; "@type"?: string | string[]; [property: string]: JsonLdValue | JsonLdValue[] | string | string[] | undefined };
export type JsonLdDocument = { "@context": Record<string, string>; "@graph": JsonLdNode[] };

/** A Curie when the IRI is in one of the namespaces, the IRI otherwise. */
function compact(value: string): string {
  for (const [prefix, namespace] of Object.entries(NAMESPACES)) {
    if (value.startsWith(namespace) && /^[A-Za-z_][\w.-]*$/.test(value.slice(namespace.length))) return `${prefix}:${value.slice(namespace.length)}`;
  }
  return value;
}

function jsonLdValue(term: Term): JsonLdValue {
  if (term.kind === "iri") return { "@id": term.value };
  if (term.language) return { "@value": term.value, "@language": term.language };
  if (term.datatype) return { "@value": term.value, "@type": term.datatype };
  return term.value;
}

/** Statements as one JSON-LD document: a node per subject, properties as prefixed names. */
export function toJsonLd(statements: readonly Statement[]): JsonLdDocument {
  const nodes = new Map<string, JsonLdNode>();
  for (const { subject, predicate, object } of statements) {
    const node = nodes.get(subject) ?? { "@id": subject };
    nodes.set(subject, node);
    if (predicate === "rdf:type" && object.kind === "iri") {
      const types = node["@type"] === undefined ? [] : ([] as string[]).concat(node["@type"]);
      node["@type"] = types.length === 0 ? compact(object.value) : [...types, compact(object.value)];
      continue;
    }
    const value = jsonLdValue(object);
    const current = node[predicate] as JsonLdValue | JsonLdValue[] | undefined;
    node[predicate] = current === undefined ? value : ([] as JsonLdValue[]).concat(current, value);
  }
  return { "@context": { ...NAMESPACES }, "@graph": [...nodes.values()] };
}

// --- The catalogue ---------------------------------------------------------------------------

export async function catalogueTurtle(options: { database?: Database } = {}): Promise<string> {
  return toTurtle(describeCatalogue(await publicDatasets(options)));
}

export async function catalogueJsonLd(options: { database?: Database } = {}): Promise<JsonLdDocument> {
  return toJsonLd(describeCatalogue(await publicDatasets(options)));
}
