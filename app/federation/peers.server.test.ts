// Peering: the operators' services and their rules, and the handshake as a fake peer on
// 127.0.0.1 plays it through this instance's inbox (receiveActivity) and outbox (deliverDue).
// PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import {
  insertPeer,
  operator,
  ourPublicKeys,
  peerActivity,
  signedPost,
  startFakePeer,
  type FakeKey,
  type FakePeer,
  type ReceivedRequest,
} from "../../tests/support/federation";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS } from "../auth/permissions";
import { userPrincipal } from "../auth/principal.server";
import { withPlatformAdmin } from "../db/database.server";
import type { FederationPeer } from "../db/generated/client.ts";
import { receiveActivity, requestTarget } from "./inbox.server";
import { activityUri, instanceId, keyIdOf } from "./instance.server";
import { deliverDue, type Activity } from "./outbox.server";
import {
  acceptPeer,
  addPeer,
  federationOverview,
  getPeer,
  listPeers,
  rejectPeer,
  removePeer,
  resumePeer,
  rotateInstanceKey,
  suspendPeer,
} from "./peers.server";
import { verifyRequest } from "./signatures.server";

let database: TestDatabase;
let city: TestCity;
const fakes: FakePeer[] = [];
const context = () => ({ database, requestId: "test-request" });

beforeAll(async () => {
  database = await createTestDatabase();
  city = await createCity(database);
});

afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
  await database.drop();
});

beforeEach(async () => {
  await withPlatformAdmin((tx) => tx.federationPeer.deleteMany(), database);
});

async function newFake(name?: string): Promise<FakePeer> {
  const fake = await startFakePeer({ name });
  fakes.push(fake);
  return fake;
}

/** The fake POSTs an activity to this instance's inbox, signed with its key (or another). */
async function receive(activity: Activity, key: FakeKey): Promise<void> {
  const body = JSON.stringify(activity);
  const url = requestTarget("/federation/inbox");
  const { headers } = signedPost(url, body, key);
  await receiveActivity({ method: "POST", url, headers, body: Buffer.from(body), contentType: headers["content-type"] }, { database });
}

const peerRow = (instance: string) => withPlatformAdmin((tx) => tx.federationPeer.findUnique({ where: { instanceId: instance } }), database);
const outbox = (peerId: string) =>
  withPlatformAdmin((tx) => tx.federationOutbox.findMany({ where: { peerId }, orderBy: { createdAt: "asc" } }), database);
const platformEvents = (action: string) =>
  withPlatformAdmin((tx) => tx.platformAuditEvent.findMany({ where: { action }, orderBy: { occurredAt: "asc" } }), database);

/** What the fake received, checked as the fake would: signed by one of our keys. */
async function verified(request: ReceivedRequest, fake: FakePeer): Promise<Activity> {
  const keys = await ourPublicKeys(database, instanceId());
  await verifyRequest({
    method: request.method,
    url: `${fake.instanceId}${request.path}`,
    headers: request.headers,
    body: request.body,
    resolveKey: async (keyId) => keys.get(keyId) ?? null,
  });
  return request.json as Activity;
}

const deliver = () => deliverDue({ database, now: new Date(Date.now() + 1000) });

describe("who may", () => {
  const services = [
    ["listPeers", () => listPeers(ANONYMOUS, {}, context())],
    ["getPeer", () => getPeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["federationOverview", () => federationOverview(ANONYMOUS, context())],
    ["addPeer", () => addPeer(ANONYMOUS, { url: "https://b.example" }, context())],
    ["acceptPeer", () => acceptPeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["rejectPeer", () => rejectPeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["suspendPeer", () => suspendPeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["resumePeer", () => resumePeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["removePeer", () => removePeer(ANONYMOUS, { id: randomUUID() }, context())],
    ["rotateInstanceKey", () => rotateInstanceKey(ANONYMOUS, context())],
  ] as const;

  it.each(services)("%s needs someone signed in", async (_name, call) => {
    await expect(call()).rejects.toBeInstanceOf(Unauthenticated);
  });

  it("is for operators: a city's admin is refused, whatever the city", async () => {
    const admin = userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });
    await expect(listPeers(admin, {}, context())).rejects.toBeInstanceOf(Forbidden);
    await expect(addPeer(admin, { url: "https://b.example" }, context())).rejects.toBeInstanceOf(Forbidden);
    await expect(rotateInstanceKey(admin, context())).rejects.toBeInstanceOf(Forbidden);
  });
});

describe("adding a peer", () => {
  it("fetches its document, pins its keys, and sends a Follow; the peer is requested until it accepts", async () => {
    const fake = await newFake("Graz");
    const { peer, created } = await addPeer(operator, { url: `${fake.instanceId}/` }, context());
    expect(created).toBe(true);
    expect(peer).toMatchObject({
      instanceId: fake.instanceId,
      name: "Graz",
      inboxUrl: `${fake.instanceId}/federation/inbox`,
      state: "requested",
      keys: [{ id: fake.key.keyId, status: "current", publicKeyPem: fake.key.publicKeyPem }],
      capabilities: expect.arrayContaining(["components", "datasets"]),
      cities: [expect.objectContaining({ slug: "graz" })],
      outbox: { pending: 1, failed: 0 },
    });
    expect(await platformEvents("federation.peer.added")).toEqual([
      expect.objectContaining({ actorType: "operator", actorId: operator.operatorId, subjectId: peer.id, requestId: "test-request" }),
    ]);

    expect(await deliver()).toMatchObject({ delivered: 1 });
    const follow = await verified(fake.received[0]!, fake);
    expect(follow).toMatchObject({ type: "Follow", id: activityUri(peer.id), actor: instanceId(), object: fake.instanceId });

    // The peer accepts: the peering is active on both sides.
    await receive(peerActivity(fake, "Accept", follow), fake.key);
    expect((await getPeer(operator, { id: peer.id }, context())).state).toBe("active");
    expect(await platformEvents("federation.peer.activated")).toHaveLength(1);
  });

  it("answers an instance it already knows as it is, without a second Follow", async () => {
    const fake = await newFake();
    const first = await addPeer(operator, { url: fake.instanceId }, context());
    const again = await addPeer(operator, { url: `${fake.instanceId}/.well-known/civitas-federation` }, context());
    expect(again).toMatchObject({ created: false, peer: { id: first.peer.id, state: "requested" } });
    expect(await outbox(first.peer.id)).toHaveLength(1);
  });

  it("refuses this instance's own address, and says why another cannot be peered", async () => {
    const own = await addPeer(operator, { url: instanceId() }, context()).catch((error: unknown) => error);
    expect(own).toBeInstanceOf(ValidationFailed);
    expect((own as ValidationFailed).fields).toEqual({ url: ["is this instance's own address"] });

    const reasons = async (url: string) => {
      const error = await addPeer(operator, { url }, context()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ValidationFailed);
      return (error as ValidationFailed).fields.url?.[0] ?? "";
    };
    expect(await reasons("http://civitas.example")).toMatch(/plain http/);
    expect(await reasons("http://127.0.0.1:1")).toMatch(/could not be reached/);
    const other = await newFake();
    other.document = { ...other.document, protocol: "civitas-federation/2" };
    expect(await reasons(other.instanceId)).toMatch(/speaks civitas-federation\/2/);
    await expect(addPeer(operator, { url: "" }, context())).rejects.toBeInstanceOf(ValidationFailed);
    expect(await listPeers(operator, {}, context())).toEqual([]);
  });
});

describe("a peer that asks", () => {
  it("becomes pending on its Follow; accepting sends the Accept of that Follow and activates the peering", async () => {
    const fake = await newFake("Wien");
    const follow = peerActivity(fake, "Follow", instanceId());
    await receive(follow, fake.key);
    const row = (await peerRow(fake.instanceId))!;
    expect(row).toMatchObject({ localAccepted: false, remoteAccepted: true, followId: follow.id, name: "Wien" });
    expect((await getPeer(operator, { id: row.id }, context())).state).toBe("pending");
    expect(await platformEvents("federation.peer.requested")).toEqual([expect.objectContaining({ actorType: "system", subjectId: row.id })]);
    // Nothing flows to a peer that is only pending.
    expect(await outbox(row.id)).toEqual([]);

    const accepted = await acceptPeer(operator, { id: row.id }, context());
    expect(accepted.state).toBe("active");
    expect(await deliver()).toMatchObject({ delivered: 1 });
    const accept = await verified(fake.received[0]!, fake);
    expect(accept).toMatchObject({ type: "Accept", actor: instanceId(), object: { type: "Follow", id: follow.id, actor: fake.instanceId, object: instanceId() } });

    // Accepting again changes nothing.
    await acceptPeer(operator, { id: row.id }, context());
    expect(await outbox(row.id)).toHaveLength(1);
  });

  it("is accepted by adding it by URL; and crossing Follows activate the peering at once", async () => {
    const asking = await newFake();
    await receive(peerActivity(asking, "Follow", instanceId()), asking.key);
    const { peer, created } = await addPeer(operator, { url: asking.instanceId }, context());
    expect({ created, state: peer.state }).toEqual({ created: false, state: "active" });

    const crossing = await newFake();
    const added = await addPeer(operator, { url: crossing.instanceId }, context());
    const follow = peerActivity(crossing, "Follow", instanceId());
    await receive(follow, crossing.key);
    expect((await getPeer(operator, { id: added.peer.id }, context())).state).toBe("active");
    // Our Follow, and the Accept of theirs, embedding it whole.
    const messages = (await outbox(added.peer.id)).map((row) => row.activity as Activity);
    expect(messages.map((message) => message.type)).toEqual(["Follow", "Accept"]);
    expect(messages[1]!.object).toEqual(follow);
  });

  it("can be rejected: it is told, and forgotten", async () => {
    const fake = await newFake();
    const follow = peerActivity(fake, "Follow", instanceId());
    await receive(follow, fake.key);
    const row = (await peerRow(fake.instanceId))!;
    expect(await rejectPeer(operator, { id: row.id }, context())).toEqual({ id: row.id, notified: true });
    expect(await peerRow(fake.instanceId)).toBeNull();
    const reject = await verified(fake.received[0]!, fake);
    expect(reject).toMatchObject({ type: "Reject", object: { type: "Follow", id: follow.id, actor: fake.instanceId, object: instanceId() } });
    expect(await platformEvents("federation.peer.rejected")).toHaveLength(1);
  });

  it("cannot be rejected once accepted (remove it instead), nor accepted while suspended", async () => {
    const fake = await newFake();
    const active = await insertPeer(database, fake);
    await expect(rejectPeer(operator, { id: active.id }, context())).rejects.toBeInstanceOf(Conflict);
    await withPlatformAdmin((tx) => tx.federationPeer.delete({ where: { id: active.id } }), database);
    const pending = await insertPeer(database, fake, { localAccepted: false, suspended: true, followId: `${fake.instanceId}/federation/activities/1` });
    await expect(acceptPeer(operator, { id: pending.id }, context())).rejects.toBeInstanceOf(Conflict);
  });
});

describe("suspending, resuming and removing", () => {
  it("suspends and resumes a peer, each once, on the audit log", async () => {
    const fake = await newFake();
    const peer = await insertPeer(database, fake);
    expect((await suspendPeer(operator, { id: peer.id, reason: "spam" }, context())).state).toBe("suspended");
    expect((await suspendPeer(operator, { id: peer.id }, context())).state).toBe("suspended");
    expect(await platformEvents("federation.peer.suspended")).toEqual([expect.objectContaining({ after: expect.objectContaining({ reason: "spam" }) })]);
    expect((await resumePeer(operator, { id: peer.id }, context())).state).toBe("active");
    expect(await platformEvents("federation.peer.resumed")).toHaveLength(1);
  });

  it("removes a peer, telling it with an Undo of our Follow, and forgets its messages", async () => {
    const fake = await newFake();
    const peer = await insertPeer(database, fake);
    await withPlatformAdmin(
      (tx) => tx.federationOutbox.create({ data: { id: randomUUID(), peerId: peer.id, activity: { id: `${instanceId()}/federation/activities/x`, type: "Create", actor: instanceId(), object: {} } } }),
      database,
    );
    expect(await removePeer(operator, { id: peer.id }, context())).toEqual({ id: peer.id, notified: true });
    expect(await peerRow(fake.instanceId)).toBeNull();
    expect(await outbox(peer.id)).toEqual([]);
    const undo = await verified(fake.received[0]!, fake);
    expect(undo).toMatchObject({ type: "Undo", actor: instanceId(), object: { type: "Follow", id: activityUri(peer.id), actor: instanceId(), object: fake.instanceId } });
    expect(await platformEvents("federation.peer.removed")).toEqual([expect.objectContaining({ after: expect.objectContaining({ state: "active" }) })]);
  });

  it("removes a peer that cannot be told, saying so", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const fake = await newFake();
    const peer = await insertPeer(database, fake);
    await fake.close();
    fakes.splice(fakes.indexOf(fake), 1);
    expect(await removePeer(operator, { id: peer.id }, context())).toEqual({ id: peer.id, notified: false });
    expect(await peerRow(fake.instanceId)).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/was removed but not told \(.*could not be reached/));
    warn.mockRestore();
  });

  it("answers not found for an unknown or malformed id", async () => {
    await expect(getPeer(operator, { id: randomUUID() }, context())).rejects.toBeInstanceOf(NotFound);
    await expect(removePeer(operator, { id: "not-a-uuid" }, context())).rejects.toBeInstanceOf(NotFound);
    await expect(suspendPeer(operator, { id: randomUUID() }, context())).rejects.toBeInstanceOf(NotFound);
  });

  it("forgets a peer that removes us (its Undo) or refuses us (its Reject)", async () => {
    const leaving = await newFake();
    await insertPeer(database, leaving);
    await receive(peerActivity(leaving, "Undo", { type: "Follow", id: `${leaving.instanceId}/federation/activities/1`, actor: leaving.instanceId, object: instanceId() }), leaving.key);
    expect(await peerRow(leaving.instanceId)).toBeNull();
    expect(await platformEvents("federation.peer.removed_by_peer")).toHaveLength(1);

    const refusing = await newFake();
    const { peer } = await addPeer(operator, { url: refusing.instanceId }, context());
    await receive(peerActivity(refusing, "Reject", { type: "Follow", id: activityUri(peer.id), actor: instanceId(), object: refusing.instanceId }), refusing.key);
    expect(await peerRow(refusing.instanceId)).toBeNull();
    expect(await platformEvents("federation.peer.rejected_by_peer")).toHaveLength(1);
  });
});

describe("keys", () => {
  it("re-pins a peer's keys from its signed Update, keeping the old one for a day, and ignores an older Update", async () => {
    const fake = await newFake();
    const peer = await insertPeer(database, fake);
    const oldKey = fake.key;
    const newKey = fake.newKey();
    const retiredAt = new Date().toISOString();
    const rotated = {
      ...fake.document,
      name: "Graz (rotated)",
      keys: [
        { id: newKey.keyId, type: "Ed25519" as const, status: "current" as const, publicKeyPem: newKey.publicKeyPem, created: new Date().toISOString() },
        { id: oldKey.keyId, type: "Ed25519" as const, status: "retired" as const, publicKeyPem: oldKey.publicKeyPem, retired: retiredAt },
      ],
    };
    const first = fake.document;
    await receive(peerActivity(fake, "Update", rotated), oldKey);
    const row = (await peerRow(fake.instanceId)) as FederationPeer;
    expect(row.name).toBe("Graz (rotated)");
    expect(row.keys).toEqual([
      expect.objectContaining({ id: newKey.keyId, status: "current" }),
      expect.objectContaining({ id: oldKey.keyId, status: "retired", expires: new Date(Date.parse(retiredAt) + 86_400_000).toISOString() }),
    ]);
    // Both keys verify now: the new one, and the old one for messages signed before the rotation.
    await receive(peerActivity(fake, "Update", rotated), newKey);
    // The first document, arriving late, does not bring the old key back as current; nor does
    // one whose current key is older than the pinned one.
    await receive(peerActivity(fake, "Update", first), oldKey);
    const older = fake.newKey();
    const earlier = new Date(Date.now() - 86_400_000).toISOString();
    await receive(peerActivity(fake, "Update", { ...first, keys: [{ id: older.keyId, type: "Ed25519", status: "current", publicKeyPem: older.publicKeyPem, created: earlier }] }), newKey);
    expect(((await peerRow(fake.instanceId)) as FederationPeer).keys).toEqual(row.keys);
    expect(peer.id).toBe(row.id);
    // The Update that retired the old key, sent again signed with it (another id): no harm, no change.
    await receive(peerActivity(fake, "Update", rotated), oldKey);
    expect(((await peerRow(fake.instanceId)) as FederationPeer).keys).toEqual(row.keys);
  });

  it("re-pins only from an Update signed with the key pinned as current, not with a retired one", async () => {
    const fake = await newFake();
    await insertPeer(database, fake);
    const oldKey = fake.key;
    const newKey = fake.newKey();
    const key = (k: FakeKey, status: "current" | "retired", at: string) => ({
      id: k.keyId,
      type: "Ed25519" as const,
      status,
      publicKeyPem: k.publicKeyPem,
      ...(status === "current" ? { created: at } : { retired: at }),
    });
    const now = new Date().toISOString();
    await receive(peerActivity(fake, "Update", { ...fake.document, keys: [key(newKey, "current", now), key(oldKey, "retired", now)] }), oldKey);
    const pinned = ((await peerRow(fake.instanceId)) as FederationPeer).keys;

    // Whoever holds the old key (still accepted for a day) announces a key of their own, newer.
    const theirs = fake.newKey();
    const later = new Date(Date.now() + 60_000).toISOString();
    const hijack = peerActivity(fake, "Update", { ...fake.document, name: "Hijacked", keys: [key(theirs, "current", later), key(oldKey, "retired", later)] });
    await expect(receive(hijack, oldKey)).rejects.toMatchObject({ status: 422, code: "refused" });
    const row = (await peerRow(fake.instanceId)) as FederationPeer;
    expect(row.keys).toEqual(pinned);
    expect(row.name).not.toBe("Hijacked");
    // The same from the current key is a rotation like any other.
    await receive(peerActivity(fake, "Update", { ...fake.document, keys: [key(theirs, "current", later), key(newKey, "retired", later)] }), newKey);
    expect(((await peerRow(fake.instanceId)) as FederationPeer).keys).toEqual([
      expect.objectContaining({ id: theirs.keyId, status: "current" }),
      expect.objectContaining({ id: newKey.keyId, status: "retired" }),
    ]);
  });

  it("rotates the instance key and announces it to every peer, signed with the old key", async () => {
    const active = await newFake();
    const pending = await newFake();
    const activePeer = await insertPeer(database, active);
    await insertPeer(database, pending, { localAccepted: false, followId: `${pending.instanceId}/federation/activities/1` });
    const before = await withPlatformAdmin((tx) => tx.federationKey.findFirst({ where: { status: "current" } }), database);
    const rotation = await rotateInstanceKey(operator, context());
    expect(rotation.announcedTo).toBe(2);
    if (before) expect(rotation.previousKeyId).toBe(keyIdOf(before.kid));
    expect(await platformEvents("federation.key.rotated")).toEqual([
      expect.objectContaining({ before: { keyId: rotation.previousKeyId }, after: { keyId: rotation.keyId, announcedTo: 2 } }),
    ]);

    expect(await deliver()).toMatchObject({ delivered: 2 });
    for (const fake of [active, pending]) {
      const request = fake.received[0]!;
      const update = await verified(request, fake);
      expect(update).toMatchObject({ type: "Update", object: { type: "CivitasInstance", id: instanceId() } });
      expect(String(request.headers["signature-input"])).toContain(`keyid="${rotation.previousKeyId}"`);
      const keys = (update.object as { keys: { id: string; status: string }[] }).keys;
      expect(keys.map((key) => [key.id, key.status])).toEqual(expect.arrayContaining([[rotation.keyId, "current"], [rotation.previousKeyId, "retired"]]));
    }
    const overview = await federationOverview(operator, context());
    expect(overview.keys.map((key) => key.id)).toEqual([rotation.keyId, rotation.previousKeyId]);
    expect(overview.peers.find((peer) => peer.id === activePeer.id)?.outbox).toEqual({ pending: 0, failed: 0 });
  });
});

describe("the overview", () => {
  it("shows the instance, its peers by state, and the messages that fail", async () => {
    const failing = await newFake("Antwerpen");
    failing.answer = () => ({ status: 403, body: { error: "peer_not_accepted", message: "not yet" } });
    const { peer } = await addPeer(operator, { url: failing.instanceId }, context());
    await deliver();
    const pending = await newFake("Brno");
    await receive(peerActivity(pending, "Follow", instanceId()), pending.key);

    const overview = await federationOverview(operator, context());
    expect(overview).toMatchObject({ instanceId: instanceId(), protocol: "civitas-federation/1", outbox: { pending: 0, failed: 1 } });
    expect(overview.name).toMatch(/^Civitas /);
    expect(overview.peers.map((entry) => [entry.name, entry.state])).toEqual([
      ["Antwerpen", "requested"],
      ["Brno", "pending"],
    ]);
    expect(overview.outbox.lastErrors).toEqual([
      expect.objectContaining({ peerId: peer.id, peerName: "Antwerpen", type: "Follow", status: "failed", lastError: "HTTP 403 peer_not_accepted: not yet" }),
    ]);
    expect((await listPeers(operator, { state: "pending" }, context())).map((entry) => entry.name)).toEqual(["Brno"]);
    await expect(listPeers(operator, { state: "lost" as "active" }, context())).rejects.toBeInstanceOf(ValidationFailed);
  });
});
