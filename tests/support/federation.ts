// A fake peer instance for federation tests: an Ed25519 key of its own, a discovery document and
// an inbox served on 127.0.0.1 (plain http is allowed for loopback), requests signed the way a
// Civitas instance signs them, and the rows that make it a peer here.
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { once } from "node:events";
import http, { type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { permissionsFor, type OperatorPrincipal } from "../../app/auth/permissions";
import { withPlatformAdmin, type Database } from "../../app/db/database.server";
import type { FederationPeer, Prisma } from "../../app/db/generated/client.ts";
import { PROTOCOL, type DiscoveryDocument } from "../../app/federation/instance.server";
import type { Activity } from "../../app/federation/outbox.server";
import { importPublicKey, signRequest } from "../../app/federation/signatures.server";

export const operator: OperatorPrincipal = {
  kind: "operator",
  operatorId: randomUUID(),
  subject: "federation-operator",
  permissions: permissionsFor(["operator"]),
};

export type ReceivedRequest = { method: string; path: string; headers: IncomingHttpHeaders; body: string; json: unknown };

/** What the fake's inbox answers; a function of the request, 202 by default. */
export type InboxAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

export type FakeKey = { kid: string; keyId: string; privateKey: KeyObject; publicKeyPem: string };

export type FakePeer = {
  /** http://127.0.0.1:{port} */
  instanceId: string;
  port: number;
  key: FakeKey;
  /** Every request its inbox received. */
  received: ReceivedRequest[];
  answer: (request: ReceivedRequest) => InboxAnswer;
  /** Its discovery document (change `keys`/`name` to serve another). */
  document: DiscoveryDocument;
  newKey(kid?: string): FakeKey;
  close(): Promise<void>;
};

export function fakeKey(instanceId: string, kid = `k${randomUUID().slice(0, 8)}`): FakeKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { kid, keyId: `${instanceId}#${kid}`, privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** A fake instance on an ephemeral port: its discovery document, and an inbox that records. */
export async function startFakePeer(options: { name?: string } = {}): Promise<FakePeer> {
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "/";
      if (req.method === "GET" && path === "/.well-known/civitas-federation") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(peer.document));
        return;
      }
      if (req.method === "POST" && path === "/federation/inbox") {
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        const request = { method: req.method, path, headers: req.headers, body, json };
        peer.received.push(request);
        const answer = peer.answer(request);
        res
          .writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
          .end(JSON.stringify(answer.body ?? (answer.status < 300 ? { status: "accepted" } : { error: "refused", message: "refused" })));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found" }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const instanceId = `http://127.0.0.1:${port}`;
  const key = fakeKey(instanceId);
  const peer: FakePeer = {
    instanceId,
    port,
    key,
    received: [],
    answer: () => ({ status: 202 }),
    document: {
      type: "CivitasInstance",
      protocol: PROTOCOL,
      id: instanceId,
      name: options.name ?? `Fake ${port}`,
      inbox: `${instanceId}/federation/inbox`,
      keys: [{ id: key.keyId, type: "Ed25519", status: "current", publicKeyPem: key.publicKeyPem, created: new Date().toISOString() }],
      cities: [{ id: `${instanceId}/federation/cities/graz`, slug: "graz", names: { de: "Graz", en: "Graz" }, locales: ["de", "en"] }],
      capabilities: ["peering", "components", "datasets", "dataset-feed", "dcat-ap-3"],
      endpoints: {},
    },
    newKey: (kid) => fakeKey(instanceId, kid),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
  return peer;
}

/** An activity by the fake peer (id and actor under its instance id). */
export function peerActivity(peer: Pick<FakePeer, "instanceId">, type: string, object: unknown, extra: Record<string, unknown> = {}): Activity {
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${peer.instanceId}/federation/activities/${randomUUID()}`,
    type,
    actor: peer.instanceId,
    object,
    published: new Date().toISOString(),
    ...extra,
  };
}

/** Headers and body of a POST signed by `key` (created: seconds since the epoch). */
export function signedPost(url: string, body: string, key: FakeKey, options: { created?: number } = {}): { headers: Record<string, string>; body: string } {
  const signature = signRequest({ method: "POST", url, body, keyId: key.keyId, privateKey: key.privateKey, created: options.created });
  return { headers: { "content-type": "application/activity+json", ...signature }, body };
}

/** POSTs raw bytes with headers over node:http (fetch would add and normalise headers). */
export function post(url: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; json: Record<string, unknown> | null; headers: IncomingHttpHeaders }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: target.hostname, port: target.port, method: "POST", path: `${target.pathname}${target.search}`, headers: { "content-length": String(Buffer.byteLength(body)), ...headers }, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> | null = null;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = null;
          }
          resolve({ status: response.statusCode ?? 0, json, headers: response.headers });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

export type PeerFlags = { localAccepted?: boolean; remoteAccepted?: boolean; suspended?: boolean; followId?: string | null };

/** The fake as a peer here: its keys pinned, in the state the flags say (active by default). */
export async function insertPeer(database: Database, peer: Pick<FakePeer, "instanceId" | "document">, flags: PeerFlags = {}): Promise<FederationPeer> {
  return withPlatformAdmin(
    (tx) =>
      tx.federationPeer.create({
        data: {
          id: randomUUID(),
          instanceId: peer.instanceId,
          baseUrl: peer.instanceId,
          inboxUrl: peer.document.inbox,
          name: peer.document.name,
          keys: peer.document.keys.map((key) => ({ id: key.id, publicKeyPem: key.publicKeyPem, status: key.status })) as Prisma.InputJsonArray,
          discovery: peer.document as unknown as Prisma.InputJsonObject,
          localAccepted: flags.localAccepted ?? true,
          remoteAccepted: flags.remoteAccepted ?? true,
          suspended: flags.suspended ?? false,
          followId: flags.followId ?? null,
        },
      }),
    database,
  );
}

/** This instance's keys by key id, retired ones included: how a peer checks what we sign. */
export async function ourPublicKeys(database: Database, instanceId: string): Promise<Map<string, KeyObject>> {
  const rows = await withPlatformAdmin((tx) => tx.federationKey.findMany({ select: { kid: true, publicKey: true } }), database);
  return new Map(rows.map((row) => [`${instanceId}#${row.kid}`, importPublicKey(row.publicKey)]));
}
