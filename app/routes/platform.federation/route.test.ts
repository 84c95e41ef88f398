// The platform console's federation page: operators only, on the platform's address; the
// instance and its keys (a rotation only once confirmed); a peer added by its address (a fake
// instance on loopback answering discovery and its inbox), suspended, resumed and removed only
// once confirmed; a peer that asked, accepted; refused addresses on the address field.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInOperator, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action, loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let cookie: string;
let parisId: string;
let peer: { base: string; inbox: string[]; close(): Promise<void> };
const resolver = createTenantResolver();
const PAGE = "http://localhost/platform/federation";

/** Another instance, as far as peering by address needs: its discovery document, and an inbox that takes anything. */
async function fakeInstance(): Promise<typeof peer> {
  const { publicKey } = generateKeyPairSync("ed25519");
  const received: string[] = [];
  const server: Server = createServer((request, response) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (request.method === "GET" && request.url === "/.well-known/civitas-federation") {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(
        JSON.stringify({
          type: "CivitasInstance",
          protocol: "civitas-federation/1",
          id: base,
          name: "Wien Civitas",
          inbox: `${base}/federation/inbox`,
          keys: [{ id: `${base}#k1`, type: "Ed25519", status: "current", publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), created: new Date().toISOString() }],
          cities: [{ id: `${base}/federation/cities/wien`, slug: "wien", names: { de: "Wien" }, locales: ["de"] }],
          capabilities: ["peering", "components", "datasets"],
          endpoints: {},
        }),
      );
      return;
    }
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      received.push(body);
      response.writeHead(202, { "Content-Type": "application/json" });
      response.end('{"status":"accepted"}');
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inbox: received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  parisId = await insertCity({ slug: "paris", names: { fr: "Paris" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  ({ cookie } = await signedInOperator(fake));
  peer = await fakeInstance();
});

afterAll(async () => {
  await peer?.close();
  await setIdentity(undefined);
  await processDatabase?.release();
});

async function post(fields: Record<string, string>, as = cookie) {
  return action(await loaderArgs(resolver, PAGE, { method: "POST", headers: formHeaders(PAGE, as), body: await formBody(fields) }));
}
const page = async (query = "") => bodyOf(await loader(await loaderArgs(resolver, `${PAGE}${query}`, { headers: { Cookie: cookie } })));
const peers = () => withPlatformAdmin((tx) => tx.federationPeer.findMany({ select: { id: true, instanceId: true, localAccepted: true, suspended: true } }));

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("the platform console's federation page", () => {
  it("sends a visitor to sign in, refuses a city's admin, and is no page of a city", async () => {
    const visitor = await thrownResponse(loader(await loaderArgs(resolver, PAGE)));
    expect(visitor.headers.get("Location")).toBe("/auth/login?returnTo=%2Fplatform%2Ffederation");
    const admin = await signedInResident(fake, { id: parisId, realm: "paris", basePath: "/paris", url: "http://localhost/paris" }, { realmRoles: ["city-admin"] });
    // A city's session is nobody on the platform's address: sent to sign in there.
    expect((await thrownResponse(post({ intent: "rotate", confirm: "yes" }, admin.cookie))).status).toBe(302);
    expect((await thrownResponse(loader(await loaderArgs(resolver, "http://paris.localhost/platform/federation", { headers: { Cookie: cookie } })))).status).toBe(404);
  });

  it("shows the instance, its current key and no peer yet, titled like the console's other pages", async () => {
    const shown = await page();
    expect(shown.title).toBe("Federation – Platform console – Civitas");
    expect(shown.instance).toMatchObject({ protocol: "civitas-federation/1", keys: [expect.objectContaining({ status: "current" })] });
    expect(shown.peers).toEqual([]);
    expect(shown.outbox).toEqual({ pending: 0, failed: 0, lastErrors: [] });
  });

  it("refuses an address that is none, or does not answer, on the address field", async () => {
    const refused = await post({ intent: "add", url: "civitas dot example" });
    expect(refused.status).toBe(400);
    expect(await bodyOf(refused)).toEqual({ kind: "invalid", form: "add", errors: { url: "federation:platform.errors.url" }, detail: null, values: { url: "civitas dot example" } });
    const silent = await bodyOf(await post({ intent: "add", url: "http://127.0.0.1:1" }));
    expect(silent).toMatchObject({ form: "add", errors: { url: "federation:platform.errors.unreachable" }, detail: expect.any(String) });
    expect(await peers()).toEqual([]);
  });

  it("adds a peer by its address, suspends and resumes it, and removes it only once confirmed", async () => {
    const added = await post({ intent: "add", url: `${peer.base}/` });
    expect(added.status).toBe(303);
    const [row] = await peers();
    expect(row).toMatchObject({ instanceId: peer.base, localAccepted: true, suspended: false });
    expect(added.headers.get("Location")).toBe(`/platform/federation?done=added&peer=${row!.id}`);
    const shown = await page(`?done=added&peer=${row!.id}`);
    expect(shown.notice).toEqual({ kind: "added", peer: "Wien Civitas" });
    expect(shown.peers).toEqual([expect.objectContaining({ name: "Wien Civitas", instanceId: peer.base, state: "requested", cities: 1 })]);
    // Our Follow waits in the outbox.
    expect(shown.outbox.pending).toBe(1);

    expect((await post({ intent: "suspend", peerId: row!.id })).headers.get("Location")).toBe(`/platform/federation?done=suspended&peer=${row!.id}`);
    expect((await page()).peers[0].state).toBe("suspended");
    await post({ intent: "resume", peerId: row!.id });
    expect((await page()).peers[0].state).toBe("requested");

    const unconfirmed = await post({ intent: "remove", peerId: row!.id });
    expect(unconfirmed.status).toBe(400);
    expect(await bodyOf(unconfirmed)).toEqual({ kind: "invalid", form: "remove", peerId: row!.id, errors: { confirm: "federation:platform.errors.confirm" } });
    expect(await peers()).toHaveLength(1);
    expect((await post({ intent: "remove", peerId: row!.id, confirm: "yes" })).headers.get("Location")).toBe("/platform/federation?done=removed");
    expect(await peers()).toEqual([]);
    // Told at once, best effort: an Undo of our Follow.
    expect(peer.inbox.some((body) => JSON.parse(body).type === "Undo")).toBe(true);
  });

  it("accepts a peer that asked, and answers an unknown one with a 404", async () => {
    const id = randomUUID();
    await withPlatformAdmin((tx) =>
      tx.federationPeer.create({
        data: { id, instanceId: peer.base, baseUrl: peer.base, inboxUrl: `${peer.base}/federation/inbox`, name: "Wien Civitas", keys: [], discovery: {}, remoteAccepted: true, followId: `${peer.base}/federation/activities/${randomUUID()}` },
      }),
    );
    expect((await page()).peers[0].state).toBe("pending");
    expect((await post({ intent: "accept", peerId: id })).headers.get("Location")).toBe(`/platform/federation?done=accepted&peer=${id}`);
    expect((await page()).peers[0].state).toBe("active");
    // Rejecting it now: its state moved on, said on the peer's card.
    expect(await bodyOf(await post({ intent: "reject", peerId: id }))).toEqual({ kind: "refused", peerId: id, error: "federation:platform.errors.state" });
    expect((await thrownResponse(post({ intent: "suspend", peerId: randomUUID() }))).status).toBe(404);
  });

  it("rotates the signing key only once confirmed", async () => {
    const before = (await page()).instance.keys;
    expect(await bodyOf(await post({ intent: "rotate" }))).toEqual({ kind: "invalid", form: "rotate", errors: { confirm: "federation:platform.errors.confirm" } });
    expect((await page()).instance.keys).toEqual(before);
    expect((await post({ intent: "rotate", confirm: "yes" })).headers.get("Location")).toBe("/platform/federation?done=rotated");
    const keys: { id: string; status: string }[] = (await page()).instance.keys;
    expect(keys.map((key) => key.status).sort()).toEqual(["current", "retired"]);
    expect(keys.find((key) => key.status === "retired")?.id).toBe(before[0].id);
  });
});
