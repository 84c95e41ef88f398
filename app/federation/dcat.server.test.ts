// The DCAT-AP 3.0 catalogue of public datasets (docs/federation.md §9): read back with n3's
// parser, it has DCAT-AP's mandatory classes and properties (and the recommended ones Civitas
// knows), only public datasets that are not withdrawn, and the JSON-LD says the same as the Turtle.
import express from "express";
import { Parser, type Quad } from "n3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { serve, type Served } from "../../tests/support/http";
import { userPrincipal } from "../auth/principal.server";
import { withPlatformAdmin } from "../db/database.server";
import { SUPPORTED_LOCALES } from "../i18n/locales";
import { addToCatalogue, loadCatalogue, removeFromCatalogue } from "../plugins/catalogue.server";
import { definePlugin, type PluginTranslations } from "../plugins/sdk.server";
import { datasetRoutes } from "./datasets-http.server";
import { publishDataset, withdrawDataset, type DatasetView } from "./datasets.server";
import { catalogueJsonLd, catalogueTurtle, catalogueUri, NAMESPACES, type JsonLdDocument } from "./dcat.server";
import { cityUri, instanceId, instanceName } from "./instance.server";

const { dcat, dct, foaf, rdf, xsd, csvw } = NAMESPACES;
const EU = "http://publications.europa.eu/resource/authority";

const openData = definePlugin({
  id: "test-open-data",
  version: "1.0.0",
  name: "test-open-data:plugin.name",
  description: "test-open-data:plugin.description",
  category: "other",
  icon: "box",
  translations: Object.fromEntries(
    SUPPORTED_LOCALES.map((locale) => [
      locale,
      {
        plugin: { name: `Open data ${locale}`, description: `Open data (${locale})` },
        trees: { name: `Trees ${locale}`, description: `Street trees (${locale})` },
        benches: { name: `Benches ${locale}`, description: `Benches (${locale})` },
        field: { species: `The species (${locale})`, planted: `When it was planted (${locale})` },
      },
    ]),
  ) as unknown as PluginTranslations,
  federation: {
    datasets: [
      {
        id: "trees",
        name: "test-open-data:trees.name",
        description: "test-open-data:trees.description",
        keywords: ["trees", "environment"],
        fields: [
          { name: "species", type: "string", description: "test-open-data:field.species" },
          { name: "planted", type: "date", description: "test-open-data:field.planted" },
        ],
        handler: async () => ({ snapshot: async () => [{ key: "t1", data: { species: "Platanus", planted: "1990-04-01" } }] }),
      },
      {
        id: "benches",
        name: "test-open-data:benches.name",
        description: "test-open-data:benches.description",
        fields: [],
        handler: async () => ({ snapshot: async () => [] }),
      },
    ],
  },
});

let database: TestDatabase;
let paris: TestCity;
let vienna: TestCity;
let trees: DatasetView;
let viennaTrees: DatasetView;
let server: Served;

const adminOf = (city: TestCity) => userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });
const at = (city: TestCity) => ({ tenantId: city.id, database });

beforeAll(async () => {
  loadCatalogue();
  addToCatalogue(openData);
  database = await createTestDatabase();
  paris = await createCity(database, { slug: "paris" });
  vienna = await createCity(database, { slug: "vienna" });
  await withPlatformAdmin(async (tx) => {
    await tx.city.update({ where: { id: paris.id }, data: { names: { fr: "Paris", en: "Paris" }, enabledLocales: ["fr", "en"], defaultLocale: "fr" } });
    await tx.city.update({ where: { id: vienna.id }, data: { names: { de: "Wien", en: "Vienna" }, enabledLocales: ["de", "en"], defaultLocale: "de" } });
    for (const city of [paris, vienna]) {
      await tx.pluginInstallation.create({ data: { tenantId: city.id, pluginId: openData.id, version: "1.0.0", enabled: true, settings: {} } });
    }
  }, database);
  trees = await publishDataset(
    adminOf(paris),
    { pluginId: openData.id, dataset: "trees", sharing: "public", title: { fr: "Arbres d'alignement", en: "Street trees" }, description: { fr: "Les arbres des rues", en: "The trees along the streets" } },
    at(paris),
  );
  viennaTrees = await publishDataset(adminOf(vienna), { pluginId: openData.id, dataset: "trees", sharing: "federation" }, at(vienna));
  const benches = await publishDataset(adminOf(vienna), { pluginId: openData.id, dataset: "benches", sharing: "public" }, at(vienna));
  await withdrawDataset(adminOf(vienna), { datasetId: benches.id }, at(vienna));
  const app = express();
  app.use(datasetRoutes({ database }));
  server = await serve(app);
});

afterAll(async () => {
  removeFromCatalogue(openData.id);
  await server?.close();
  await database?.drop();
});

// --- Reading the graph -----------------------------------------------------------------------

type Graph = { quads: Quad[]; objects(subject: string, predicate: string): Quad["object"][]; subjectsOf(type: string): string[] };

function graphOf(quads: Quad[]): Graph {
  return {
    quads,
    objects: (subject, predicate) => quads.filter((quad) => quad.subject.value === subject && quad.predicate.value === predicate).map((quad) => quad.object),
    subjectsOf: (type) => quads.filter((quad) => quad.predicate.value === `${rdf}type` && quad.object.value === type).map((quad) => quad.subject.value),
  };
}

const values = (terms: Quad["object"][]) => terms.map((term) => term.value).sort();
const tagged = (terms: Quad["object"][]) =>
  Object.fromEntries(terms.filter((term) => term.termType === "Literal").map((term) => [(term as { language: string }).language, term.value]));

/** The statements as comparable lines: subject, predicate, and the object with its language or datatype. */
function lines(quads: Quad[]): string[] {
  return quads
    .map((quad) => {
      const object = quad.object;
      const term =
        object.termType === "Literal"
          ? `"${object.value}"${object.language ? `@${object.language}` : `^^${object.datatype.value}`}`
          : `<${object.value}>`;
      return `<${quad.subject.value}> <${quad.predicate.value}> ${term}`;
    })
    .sort();
}

/** This catalogue's JSON-LD (a flat @graph, prefixed names) as the same lines. */
function jsonLdLines(document: JsonLdDocument): string[] {
  const context = document["@context"];
  const expand = (name: string) => {
    const [prefix, local] = name.split(/:(.*)/s) as [string, string];
    return context[prefix] !== undefined && !local.startsWith("//") ? `${context[prefix]}${local}` : name;
  };
  const result: string[] = [];
  for (const node of document["@graph"]) {
    for (const [key, raw] of Object.entries(node)) {
      if (key === "@id") continue;
      const predicate = key === "@type" ? `${rdf}type` : expand(key);
      for (const value of ([] as unknown[]).concat(raw)) {
        let term: string;
        if (key === "@type") term = `<${expand(value as string)}>`;
        else if (typeof value === "string") term = `"${value}"^^${xsd}string`;
        else if ("@id" in (value as object)) term = `<${(value as { "@id": string })["@id"]}>`;
        else if ("@language" in (value as object)) term = `"${(value as { "@value": string })["@value"]}"@${(value as { "@language": string })["@language"]}`;
        else term = `"${(value as { "@value": string })["@value"]}"^^${expand((value as { "@type": string })["@type"])}`;
        result.push(`<${node["@id"]}> <${predicate}> ${term}`);
      }
    }
  }
  return result.sort();
}

describe("the DCAT-AP 3.0 catalogue", () => {
  let turtle: string;
  let graph: Graph;

  beforeAll(async () => {
    turtle = await catalogueTurtle({ database });
    graph = graphOf(new Parser({ format: "text/turtle" }).parse(turtle));
  });

  it("is Turtle with the vocabularies' prefixes", () => {
    for (const prefix of ["dcat", "dct", "foaf", "xsd"]) expect(turtle).toContain(`@prefix ${prefix}: <${NAMESPACES[prefix as keyof typeof NAMESPACES]}>`);
    expect(graph.quads.length).toBeGreaterThan(30);
  });

  it("describes one catalogue with its title, description, publisher, homepage, languages and datasets", () => {
    expect(graph.subjectsOf(`${dcat}Catalog`)).toEqual([catalogueUri()]);
    const catalogue = catalogueUri();
    expect(values(graph.objects(catalogue, `${dct}title`))).toEqual([instanceName()]);
    // In the catalogue's languages (its datasets'), each translated, English among them.
    const descriptions = tagged(graph.objects(catalogue, `${dct}description`));
    expect(Object.keys(descriptions).sort()).toEqual(["en", "fr"]);
    expect(descriptions.en).toBe(`Open data published by the cities of ${instanceName()}, each dataset as JSON records with their provenance.`);
    expect(descriptions.fr).toMatch(new RegExp(`^Données ouvertes publiées par les villes de ${instanceName()}`));
    const publishers = graph.objects(catalogue, `${dct}publisher`);
    expect(values(publishers)).toEqual([instanceId()]);
    expect(graph.subjectsOf(`${foaf}Agent`)).toContain(instanceId());
    expect(values(graph.objects(instanceId(), `${foaf}name`))).toEqual([instanceName()]);
    expect(values(graph.objects(catalogue, `${foaf}homepage`))).toEqual([`${instanceId()}/`]);
    expect(values(graph.objects(catalogue, `${dct}language`))).toEqual([`${EU}/language/ENG`, `${EU}/language/FRA`]);
    expect(graph.objects(catalogue, `${dct}modified`)[0]).toMatchObject({ datatype: { value: `${xsd}dateTime` } });
  });

  it("lists only the public datasets that are not withdrawn", () => {
    expect(values(graph.objects(catalogueUri(), `${dcat}dataset`))).toEqual([trees.uri]);
    expect(graph.subjectsOf(`${dcat}Dataset`)).toEqual([trees.uri]);
    expect(turtle).not.toContain(viennaTrees.uri);
  });

  it("describes each dataset by its identifier, texts per language, publishing city, keywords, dates, languages, access rights and distribution", () => {
    const dataset = trees.uri;
    expect(values(graph.objects(dataset, `${dct}identifier`))).toEqual([trees.uri]);
    expect(tagged(graph.objects(dataset, `${dct}title`))).toEqual({ fr: "Arbres d'alignement", en: "Street trees" });
    expect(tagged(graph.objects(dataset, `${dct}description`))).toEqual({ fr: "Les arbres des rues", en: "The trees along the streets" });
    expect(values(graph.objects(dataset, `${dct}publisher`))).toEqual([cityUri("paris")]);
    expect(graph.subjectsOf(`${foaf}Agent`)).toContain(cityUri("paris"));
    expect(tagged(graph.objects(cityUri("paris"), `${foaf}name`))).toEqual({ fr: "Paris", en: "Paris" });
    expect(values(graph.objects(cityUri("paris"), `${dct}type`))).toEqual(["http://purl.org/adms/publishertype/LocalAuthority"]);
    expect(values(graph.objects(dataset, `${dcat}keyword`))).toEqual(["environment", "trees"]);
    for (const property of ["issued", "modified"]) {
      const [date] = graph.objects(dataset, `${dct}${property}`);
      expect(date).toMatchObject({ termType: "Literal", datatype: { value: `${xsd}dateTime` } });
      expect(Number.isNaN(Date.parse(date!.value))).toBe(false);
    }
    expect(values(graph.objects(dataset, `${dct}language`))).toEqual([`${EU}/language/ENG`, `${EU}/language/FRA`]);
    expect(values(graph.objects(dataset, `${dct}accessRights`))).toEqual([`${EU}/access-right/PUBLIC`]);
  });

  it("gives each dataset a JSON distribution: access and download URLs, format, media type, licence and its fields", () => {
    const [distribution] = values(graph.objects(trees.uri, `${dcat}distribution`));
    expect(graph.subjectsOf(`${dcat}Distribution`)).toEqual([distribution]);
    expect(values(graph.objects(distribution!, `${dcat}accessURL`))).toEqual([`${trees.uri}/records`]);
    expect(values(graph.objects(distribution!, `${dcat}downloadURL`))).toEqual([`${trees.uri}/records.json`]);
    // The download is paged: the distribution says how to read all of it.
    const howToRead = tagged(graph.objects(distribution!, `${dct}description`));
    expect(howToRead.en).toMatch(/pages of at most 1000 records.*"next".*Link header/);
    // And in its city's other language.
    expect(howToRead.fr).toMatch(/pages d'au plus 1000 enregistrements.*"next".*en-tête Link/);
    expect(values(graph.objects(distribution!, `${dct}format`))).toEqual([`${EU}/file-type/JSON`]);
    expect(values(graph.objects(distribution!, `${dcat}mediaType`))).toEqual(["https://www.iana.org/assignments/media-types/application/json"]);
    expect(values(graph.objects(distribution!, `${dct}license`))).toEqual([`${EU}/licence/CC_BY_4_0`]);
    const [schema] = values(graph.objects(distribution!, `${csvw}tableSchema`));
    const columns = values(graph.objects(schema!, `${csvw}column`));
    expect(columns.map((column) => values(graph.objects(column, `${csvw}name`))[0])).toEqual(["planted", "species"]);
    const species = columns.find((column) => values(graph.objects(column, `${csvw}name`))[0] === "species")!;
    expect(values(graph.objects(species, `${csvw}datatype`))).toEqual([`${xsd}string`]);
    expect(tagged(graph.objects(species, `${dct}description`)).fr).toBe("The species (fr)");
  });

  it("has every property DCAT-AP 3.0 makes mandatory, and at most one of those it caps", () => {
    const atLeastOne: [string, string[]][] = [
      [`${dcat}Catalog`, [`${dct}title`, `${dct}description`, `${dct}publisher`]],
      [`${dcat}Dataset`, [`${dct}title`, `${dct}description`]],
      [`${dcat}Distribution`, [`${dcat}accessURL`]],
      [`${foaf}Agent`, [`${foaf}name`]],
    ];
    for (const [type, properties] of atLeastOne) {
      for (const subject of graph.subjectsOf(type)) {
        for (const property of properties) expect(graph.objects(subject, property).length, `${subject} ${property}`).toBeGreaterThan(0);
      }
    }
    const atMostOne: [string, string[]][] = [
      [`${dcat}Catalog`, [`${dct}publisher`, `${foaf}homepage`, `${dct}modified`]],
      [`${dcat}Dataset`, [`${dct}publisher`, `${dct}issued`, `${dct}modified`, `${dct}accessRights`]],
      [`${dcat}Distribution`, [`${dct}format`, `${dct}license`, `${dcat}mediaType`]],
      [`${foaf}Agent`, [`${dct}type`]],
    ];
    for (const [type, properties] of atMostOne) {
      for (const subject of graph.subjectsOf(type)) {
        for (const property of properties) expect(graph.objects(subject, property).length, `${subject} ${property}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it("says the same in JSON-LD: a graph of nodes under the vocabularies' prefixes", async () => {
    const document = await catalogueJsonLd({ database });
    expect(document["@context"]).toMatchObject({ dcat, dct, foaf, xsd });
    const catalogue = document["@graph"].find((node) => node["@id"] === catalogueUri());
    expect(catalogue).toMatchObject({ "@type": "dcat:Catalog", "dct:title": instanceName(), "dcat:dataset": { "@id": trees.uri } });
    const dataset = document["@graph"].find((node) => node["@id"] === trees.uri);
    expect(dataset).toMatchObject({
      "@type": "dcat:Dataset",
      "dct:title": expect.arrayContaining([{ "@value": "Street trees", "@language": "en" }, { "@value": "Arbres d'alignement", "@language": "fr" }]),
      "dct:issued": { "@value": expect.any(String), "@type": "xsd:dateTime" },
      "dct:accessRights": { "@id": `${EU}/access-right/PUBLIC` },
    });
    expect(jsonLdLines(document)).toEqual(lines(graph.quads));
  });

  it("leaves out a suspended city's datasets, and its download with them", async () => {
    const setStatus = (status: "active" | "suspended") => withPlatformAdmin((tx) => tx.city.update({ where: { id: paris.id }, data: { status } }), database);
    await setStatus("suspended");
    try {
      const suspended = graphOf(new Parser({ format: "text/turtle" }).parse(await catalogueTurtle({ database })));
      expect(suspended.subjectsOf(`${dcat}Dataset`)).toEqual([]);
      expect(suspended.subjectsOf(`${foaf}Agent`)).not.toContain(cityUri("paris"));
      expect((await fetch(`http://127.0.0.1:${server.port}/federation/datasets/${trees.id}/records.json`)).status).toBe(404);
    } finally {
      await setStatus("active");
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/federation/datasets/${trees.id}/records.json`)).status).toBe(200);
  });

  it("is served as text/turtle and application/ld+json, to any origin", async () => {
    const ttl = await fetch(`http://127.0.0.1:${server.port}/federation/catalog.ttl`);
    expect(ttl.status).toBe(200);
    expect(ttl.headers.get("content-type")).toMatch(/^text\/turtle/);
    expect(ttl.headers.get("access-control-allow-origin")).toBe("*");
    expect(lines(new Parser().parse(await ttl.text()))).toEqual(lines(graph.quads));
    const jsonld = await fetch(`http://127.0.0.1:${server.port}/federation/catalog.jsonld`);
    expect(jsonld.headers.get("content-type")).toMatch(/^application\/ld\+json/);
    expect(jsonLdLines((await jsonld.json()) as JsonLdDocument)).toEqual(lines(graph.quads));
  });
});
