// Peering in the API, for operators on the platform's address: the instance as peers see it (its
// id, its keys, never a private one), the peers and the handshake, and the outbox's troubles.
// The services are app/federation/peers.server.ts, as in the platform console.
import { Conflict } from "../../app/auth/errors";
import type { PinnedKey, PublishedKey } from "../../app/federation/instance.server";
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
  type FederationOverview,
  type OutboxProblem,
  type PeerView,
} from "../../app/federation/peers.server";
import { builder, MUTATION_ERRORS } from "../builder";
import { atomically } from "../context";
import { FederationCity, OPERATOR } from "./federation";

const PeerState = builder.enumType("FederationPeerState", {
  description:
    "requested: this instance accepted, the peer has not yet; pending: the peer asked, this instance has not accepted; active: both accepted; suspended: stopped here.",
  values: ["requested", "pending", "active", "suspended"] as const,
});

const KeyStatus = builder.enumType("FederationKeyStatus", {
  description: "current: signs now; retired: replaced, still accepted for 24 hours after the rotation.",
  values: ["current", "retired"] as const,
});

const DeliveryStatus = builder.enumType("FederationDeliveryStatus", {
  description: "pending: will be tried again; failed: given up (a refusal, or 3 days of failures).",
  values: ["pending", "failed"] as const,
});

const date = (value: string | undefined): Date | null => {
  const parsed = value ? new Date(value) : null;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : null;
};

const FederationKey = builder.objectRef<PublishedKey>("FederationKey").implement({
  description: "One of this instance's signing keys, as its discovery document publishes it (the public half only).",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The key id: `{instance id}#{kid}`." }),
    status: t.field({ type: KeyStatus, resolve: (key) => key.status }),
    publicKeyPem: t.exposeString("publicKeyPem", { description: "Ed25519, SPKI PEM." }),
    createdAt: t.field({ type: "DateTime", resolve: (key) => new Date(key.created) }),
    retiredAt: t.field({ type: "DateTime", nullable: true, resolve: (key) => date(key.retired) }),
  }),
});

const PinnedKeyRef = builder.objectRef<PinnedKey>("FederationPinnedKey").implement({
  description: "A peer's key as pinned here: its messages must be signed with one of these.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.field({ type: KeyStatus, resolve: (key) => key.status }),
    publicKeyPem: t.exposeString("publicKeyPem"),
    createdAt: t.field({ type: "DateTime", nullable: true, resolve: (key) => date(key.created) }),
    expiresAt: t.field({ type: "DateTime", nullable: true, description: "A retired key stops verifying then.", resolve: (key) => date(key.expires) }),
  }),
});

const OutboxCounts = builder.objectRef<{ pending: number; failed: number }>("FederationOutboxCounts").implement({
  description: "Messages to a peer waiting for delivery (or retrying), and given up.",
  fields: (t) => ({ pending: t.exposeInt("pending"), failed: t.exposeInt("failed") }),
});

export const FederationPeer = builder.objectRef<PeerView>("FederationPeer").implement({
  description: "Another instance this one peers with (or is about to).",
  fields: (t) => ({
    id: t.globalID({ resolve: (peer) => ({ type: "FederationPeer", id: peer.id }) }),
    instanceId: t.exposeString("instanceId", { description: "Its base URL, from its discovery document." }),
    name: t.exposeString("name"),
    baseUrl: t.exposeString("baseUrl"),
    inboxUrl: t.exposeString("inboxUrl"),
    state: t.field({ type: PeerState, resolve: (peer) => peer.state }),
    localAccepted: t.exposeBoolean("localAccepted", { description: "This instance's operators accepted it." }),
    remoteAccepted: t.exposeBoolean("remoteAccepted", { description: "Its operators accepted this instance." }),
    suspended: t.exposeBoolean("suspended"),
    protocol: t.exposeString("protocol"),
    capabilities: t.exposeStringList("capabilities"),
    keys: t.field({ type: [PinnedKeyRef], resolve: (peer) => peer.keys }),
    cities: t.field({
      type: [FederationCity],
      description: "Its public cities, from its discovery document as last received.",
      resolve: (peer) => peer.cities.map((city) => ({ uri: city.id, slug: city.slug, names: city.names })),
    }),
    outbox: t.field({ type: OutboxCounts, resolve: (peer) => peer.outbox }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const DeliveryProblem = builder.objectRef<OutboxProblem>("FederationDeliveryProblem").implement({
  description: "A message whose delivery failed at least once.",
  fields: (t) => ({
    id: t.exposeID("id"),
    peerId: t.globalID({ resolve: (problem) => ({ type: "FederationPeer", id: problem.peerId }) }),
    peerName: t.exposeString("peerName"),
    activityId: t.exposeString("activityId"),
    type: t.exposeString("type", { description: "The activity's type (Create, Update, Follow…)." }),
    status: t.field({ type: DeliveryStatus, resolve: (problem) => problem.status }),
    attempts: t.exposeInt("attempts"),
    lastError: t.exposeString("lastError"),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const Outbox = builder.objectRef<FederationOverview["outbox"]>("FederationOutbox").implement({
  fields: (t) => ({
    pending: t.exposeInt("pending"),
    failed: t.exposeInt("failed"),
    lastErrors: t.field({ type: [DeliveryProblem], description: "The 20 latest messages with a delivery error.", resolve: (outbox) => outbox.lastErrors }),
  }),
});

const FederationInstance = builder.objectRef<FederationOverview>("FederationInstance").implement({
  description: "This instance as the federation sees it.",
  fields: (t) => ({
    instanceId: t.exposeString("instanceId", { description: "Its base URL: every federation id is under it." }),
    name: t.exposeString("name"),
    protocol: t.exposeString("protocol"),
    keys: t.field({
      type: [FederationKey],
      description: "The keys peers verify with: the current one, and those retired in the last 24 hours.",
      resolve: (overview) => overview.keys,
    }),
    peers: t.field({
      type: [FederationPeer],
      description: "By name; `state` keeps those in it.",
      args: { state: t.arg({ type: PeerState, required: false }) },
      resolve: (overview, { state }, context) => (state ? listPeers(context.principal, { state }, context.service) : overview.peers),
    }),
    outbox: t.field({ type: Outbox, resolve: (overview) => overview.outbox }),
  }),
});

builder.queryFields((t) => ({
  federation: t.field({
    type: FederationInstance,
    description: "This instance in the federation: its keys, its peers, its outbox (operators).",
    authScopes: OPERATOR,
    resolve: (_root, _args, context) => federationOverview(context.principal, context.service),
  }),
  federationPeer: t.field({
    type: FederationPeer,
    description: "One peer (operators).",
    authScopes: OPERATOR,
    args: { id: t.arg.globalID({ required: true, for: FederationPeer }) },
    resolve: (_root, { id }, context) => getPeer(context.principal, { id: id.id }, context.service),
  }),
}));

// --- The operators' actions -------------------------------------------------------------------

const AddedPeer = builder.objectRef<{ peer: PeerView; created: boolean }>("AddedFederationPeer").implement({
  fields: (t) => ({
    created: t.exposeBoolean("created", { description: "False when it was a peer already (a peer that asked is accepted)." }),
    peer: t.field({ type: FederationPeer, resolve: (added) => added.peer }),
  }),
});

const RemovedPeer = builder.objectRef<{ id: string; notified: boolean }>("RemovedFederationPeer").implement({
  fields: (t) => ({
    id: t.globalID({ resolve: (removed) => ({ type: "FederationPeer", id: removed.id }) }),
    notified: t.exposeBoolean("notified", { description: "Whether the peer heard of it (told once, best effort)." }),
  }),
});

const RotatedKey = builder.objectRef<{ keyId: string; previousKeyId: string; announcedTo: number }>("RotatedFederationKey").implement({
  fields: (t) => ({
    keyId: t.exposeID("keyId", { description: "The new current key." }),
    previousKeyId: t.exposeID("previousKeyId", { description: "Retired: still accepted by peers for 24 hours." }),
    announcedTo: t.exposeInt("announcedTo", { description: "Peers sent the new keys (signed with the previous one)." }),
  }),
});

builder.mutationFields((t) => {
  const peerId = () => t.arg.globalID({ required: true, for: FederationPeer });
  return {
    addFederationPeer: t.field({
      type: AddedPeer,
      description: "Adds a peer by its address: its discovery document is fetched, its keys pinned, and a Follow sent (operators).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { url: t.arg.string({ required: true, description: "The instance's address, e.g. https://civitas.example.org" }) },
      resolve: (_root, { url }, context) => atomically(context, () => addPeer(context.principal, { url }, context.service)),
    }),
    acceptFederationPeer: t.field({
      type: FederationPeer,
      description: "Accepts a peer that asked: the peering becomes active (operators).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { id: peerId() },
      resolve: (_root, { id }, context) => atomically(context, () => acceptPeer(context.principal, { id: id.id }, context.service)),
    }),
    rejectFederationPeer: t.field({
      type: RemovedPeer,
      description: "Refuses a peer that asked: it is told and forgotten (operators).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { id: peerId() },
      resolve: (_root, { id }, context) => atomically(context, () => rejectPeer(context.principal, { id: id.id }, context.service)),
    }),
    suspendFederationPeer: t.field({
      type: FederationPeer,
      description: "Its messages are refused and ours to it wait, until it is resumed (operators).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { id: peerId(), reason: t.arg.string({ required: false }) },
      resolve: (_root, { id, reason }, context) =>
        atomically(context, () => suspendPeer(context.principal, { id: id.id, ...(reason && { reason }) }, context.service)),
    }),
    resumeFederationPeer: t.field({
      type: FederationPeer,
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { id: peerId(), reason: t.arg.string({ required: false }) },
      resolve: (_root, { id, reason }, context) =>
        atomically(context, () => resumePeer(context.principal, { id: id.id, ...(reason && { reason }) }, context.service)),
    }),
    removeFederationPeer: t.field({
      type: RemovedPeer,
      description: "Ends the peering: the peer is told, and forgotten with its components, datasets and followers (operators).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { id: peerId() },
      resolve: (_root, { id }, context) => atomically(context, () => removePeer(context.principal, { id: id.id }, context.service)),
    }),
    rotateFederationKey: t.field({
      type: RotatedKey,
      description:
        "Retires the current key for a new one and announces it to every peer (operators). `currentKeyId` must be the current key: a rotation made meanwhile answers CONFLICT (reason key_changed).",
      authScopes: OPERATOR,
      errors: { types: MUTATION_ERRORS },
      args: { currentKeyId: t.arg.id({ required: true, description: "The current key's id, as `federation.keys` shows it." }) },
      resolve: (_root, { currentKeyId }, context) =>
        atomically(context, async () => {
          // In the operator's unit of work: the check and the rotation commit together.
          const { keys } = await federationOverview(context.principal, context.service);
          const current = keys.find((key) => key.status === "current");
          if (current?.id !== currentKeyId) throw new Conflict("key_changed", "That is not the current key: it was rotated meanwhile. Read the keys again.");
          return rotateInstanceKey(context.principal, context.service);
        }),
    }),
  };
});
