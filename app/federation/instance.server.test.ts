// The instance's identity: its id, its keys (created once, rotated, retired ones published for a
// day), documents signed on their own, and the discovery document. PGlite and PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity } from "../../tests/support/factories";
import { resetConfig } from "../config.server";
import { withPlatformAdmin } from "../db/database.server";
import { parseDiscoveryDocument } from "./fetch.server";
import {
  cityUri,
  currentKey,
  discoveryDocument,
  instanceId,
  instanceKey,
  instanceOfKeyId,
  isActorOf,
  isFederationIdOf,
  keyIdOf,
  newActivityId,
  publishedKeys,
  rotateKey,
  signDocument,
  verifyDocument,
} from "./instance.server";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  resetConfig();
});

const keyRows = () =>
  withPlatformAdmin((tx) => tx.federationKey.findMany({ orderBy: { createdAt: "asc" }, select: { kid: true, status: true, retiredAt: true } }), database);

describe("identifiers", () => {
  it("is the public URL in one spelling: lower-case host, no default port, no trailing slash", () => {
    vi.stubEnv("CIVITAS_PUBLIC_URL", "https://Civitas.Example:443/");
    resetConfig();
    expect(instanceId()).toBe("https://civitas.example");
    expect(cityUri("paris")).toBe("https://civitas.example/federation/cities/paris");
    expect(newActivityId()).toMatch(/^https:\/\/civitas\.example\/federation\/activities\/[0-9a-f-]{36}$/);
    expect(keyIdOf("k1")).toBe("https://civitas.example#k1");
  });

  it("reads the instance of a key id, and what is under an instance", () => {
    expect(instanceOfKeyId("https://a.example#k1")).toBe("https://a.example");
    expect(instanceOfKeyId("https://a.example")).toBeNull();
    expect(instanceOfKeyId("#k1")).toBeNull();
    expect(instanceOfKeyId("https://a.example#")).toBeNull();
    expect(isFederationIdOf("https://a.example", "https://a.example/federation/components/1")).toBe(true);
    expect(isFederationIdOf("https://a.example", "https://a.example/federation/components/1", "components")).toBe(true);
    expect(isFederationIdOf("https://a.example", "https://a.example/federation/components/1", "datasets")).toBe(false);
    expect(isFederationIdOf("https://a.example", "https://a.example/federation/components/", "components")).toBe(false);
    // A longer host that starts the same is another instance.
    expect(isFederationIdOf("https://a.example", "https://a.example.evil/federation/components/1")).toBe(false);
    expect(isFederationIdOf("https://a.example", 42)).toBe(false);
    expect(isActorOf("https://a.example", "https://a.example")).toBe(true);
    expect(isActorOf("https://a.example", "https://a.example/federation/cities/paris")).toBe(true);
    expect(isActorOf("https://a.example", "https://a.example/federation/components/1")).toBe(false);
  });

  it("does not take the ids of an instance served under a path for those of the instance at its origin", () => {
    // Two instances on one host: https://h.example, and https://h.example/x.
    const nested = "https://h.example/x/federation/components/1";
    expect(isFederationIdOf("https://h.example", nested)).toBe(false);
    expect(isFederationIdOf("https://h.example", "https://h.example/x/federation/activities/1", "activities")).toBe(false);
    expect(isActorOf("https://h.example", "https://h.example/x")).toBe(false);
    expect(isActorOf("https://h.example", "https://h.example/x/federation/cities/paris")).toBe(false);
    expect(isFederationIdOf("https://h.example/x", nested, "components")).toBe(true);
  });
});

describe("keys", () => {
  it("creates one key on first use, even when several ask at once", async () => {
    const keys = await Promise.all(Array.from({ length: 6 }, () => currentKey(database)));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(keys[0]!.keyId).toBe(keyIdOf(keys[0]!.kid));
    expect(keys[0]!.privateKey.asymmetricKeyType).toBe("ed25519");
    const rows = await keyRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "current", retiredAt: null });
  });

  it("rotates: a new current key, the old one retired and still published for 24 hours", async () => {
    const before = await currentKey(database);
    const now = new Date();
    const { previous, current } = await withPlatformAdmin((tx) => rotateKey(tx, now), database);
    expect(previous).toBe(before.kid);
    expect((await currentKey(database)).kid).toBe(current);

    const rows = await keyRows();
    expect(rows.find((row) => row.kid === previous)).toMatchObject({ status: "retired", retiredAt: now });
    const published = await publishedKeys(database, now);
    expect(published.map((key) => [key.id, key.status])).toEqual([
      [keyIdOf(current), "current"],
      [keyIdOf(previous), "retired"],
    ]);
    expect(published[1]!.retired).toBe(now.toISOString());

    // A day later only the current key is published, but the retired one still exists to sign
    // for peers that have not heard of the rotation.
    const later = new Date(now.getTime() + 24 * 60 * 60 * 1000 + 1000);
    expect((await publishedKeys(database, later)).map((key) => key.id)).toEqual([keyIdOf(current)]);
    expect((await instanceKey(previous, database))?.kid).toBe(previous);
    expect(await instanceKey("k-unknown", database)).toBeNull();
  });
});

describe("signed documents", () => {
  const component = () => ({
    type: "civitas:Component",
    id: `${instanceId()}/federation/components/0b6f`,
    version: 2,
    title: { fr: "Voirie et éclairage", en: "Roads and street lights" },
    definitions: { categories: [{ code: "pothole", names: { fr: "Nid-de-poule" } }] },
  });

  it("signs a document that verifies with the published keys, however it is re-serialised", async () => {
    const signed = await signDocument(component(), database);
    expect(signed.proof).toMatchObject({ type: "Ed25519Signature2026", keyId: (await currentKey(database)).keyId });
    const keys = await publishedKeys(database);
    expect(verifyDocument(signed, keys)).toBe(true);
    // Through JSON with its members in another order: the same canonical bytes.
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(signed).reverse())));
    expect(verifyDocument(reordered, keys)).toBe(true);
  });

  it("refuses a changed document, an unknown key, and a missing or malformed proof", async () => {
    const signed = await signDocument(component(), database);
    const keys = await publishedKeys(database);
    expect(verifyDocument({ ...signed, version: 3 }, keys)).toBe(false);
    expect(verifyDocument({ ...signed, title: { ...signed.title, en: "Roads" } }, keys)).toBe(false);
    expect(verifyDocument(signed, [])).toBe(false);
    expect(verifyDocument(signed, keys.map((key) => ({ ...key, id: `${key.id}-other` })))).toBe(false);
    expect(verifyDocument(component(), keys)).toBe(false);
    expect(verifyDocument({ ...signed, proof: { ...signed.proof, signature: "AAAA" } }, keys)).toBe(false);
    expect(verifyDocument({ ...signed, proof: { ...signed.proof, type: "Other" as "Ed25519Signature2026" } }, keys)).toBe(false);
  });

  it("keeps verifying a document signed before a rotation with the retired key", async () => {
    const signed = await signDocument(component(), database);
    await withPlatformAdmin((tx) => rotateKey(tx), database);
    expect(verifyDocument(signed, await publishedKeys(database))).toBe(true);
  });
});

describe("discovery document", () => {
  it("describes the instance, its published keys and its active cities", async () => {
    const active = await createCity(database, { slug: "discovery-active" });
    await createCity(database, { slug: "discovery-suspended", status: "suspended" });
    const document = await discoveryDocument(database);
    expect(document).toMatchObject({
      type: "CivitasInstance",
      protocol: "civitas-federation/1",
      id: instanceId(),
      inbox: `${instanceId()}/federation/inbox`,
      capabilities: ["peering", "components", "datasets", "dataset-feed", "dcat-ap-3"],
      endpoints: { dcatTurtle: `${instanceId()}/federation/catalog.ttl`, dcatJsonLd: `${instanceId()}/federation/catalog.jsonld` },
    });
    expect(document.name).toMatch(/^Civitas /);
    expect(document.keys.filter((key) => key.status === "current")).toHaveLength(1);
    const slugs = document.cities.map((city) => city.slug);
    expect(slugs).toContain(active.slug);
    expect(slugs).not.toContain("discovery-suspended");
    expect(document.cities.find((city) => city.slug === active.slug)).toEqual({
      id: cityUri(active.slug),
      slug: active.slug,
      names: { en: expect.any(String) },
      locales: ["en"],
    });
    // What this instance publishes passes its own check of a peer's document.
    expect(parseDiscoveryDocument(JSON.parse(JSON.stringify(document)), instanceId())).toMatchObject({ id: instanceId() });
  });

  it("takes the instance name from CIVITAS_INSTANCE_NAME", async () => {
    vi.stubEnv("CIVITAS_INSTANCE_NAME", "Civitas Rhône-Alpes");
    resetConfig();
    expect((await discoveryDocument(database)).name).toBe("Civitas Rhône-Alpes");
  });
});
