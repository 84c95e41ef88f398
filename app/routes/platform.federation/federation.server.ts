// The platform console's federation page (operators): this instance's id and keys, its peers and
// their handshake, and how deliveries to them go. Each change is one form post answered by a
// redirect (a notice) or, when refused, by the form again with its errors on the fields.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { requireOperatorConsole } from "~/auth/console.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import { can } from "~/auth/permissions";
import {
  acceptPeer,
  addPeer,
  federationOverview,
  rejectPeer,
  removePeer,
  resumePeer,
  rotateInstanceKey,
  suspendPeer,
  type PeerState,
} from "~/federation/peers.server";
import { translator } from "~/i18n/i18n.server";
import { PLATFORM_NAME } from "~/site";
import { pageLocale } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const NO_STORE = { "Cache-Control": "no-store" };
const PAGE = "/platform/federation";

const ERRORS = {
  url: "federation:platform.errors.url",
  unreachable: "federation:platform.errors.unreachable",
  self: "federation:platform.errors.self",
  confirm: "federation:platform.errors.confirm",
  state: "federation:platform.errors.state",
} as const;

const NOTICES = ["added", "known", "accepted", "rejected", "suspended", "resumed", "removed", "rotated"] as const;
type Notice = (typeof NOTICES)[number];

export type PeersResult =
  | { kind: "invalid"; form: "add"; errors: { url: string }; detail: string | null; values: { url: string } }
  | { kind: "invalid"; form: "remove"; peerId: string; errors: { confirm: string } }
  | { kind: "invalid"; form: "rotate"; errors: { confirm: string } }
  | { kind: "refused"; peerId: string; error: string };

/** An operator holding the federation permission (operators all do; a narrower role would not). */
async function requireFederationOperator(args: Args) {
  const { principal } = await requireOperatorConsole(args);
  if (!can(principal, "platform.federation.manage")) throw new Response(null, { status: 403, headers: NO_STORE });
  return principal;
}

export async function federationPage(args: Args) {
  const principal = await requireFederationOperator(args);
  const locale = await pageLocale(args.request, args.context);
  const overview = await federationOverview(principal);
  const url = new URL(args.request.url);
  const notice = NOTICES.find((candidate) => candidate === url.searchParams.get("done")) ?? null;
  const noticePeer = overview.peers.find((peer) => peer.id === url.searchParams.get("peer"))?.name ?? null;
  return json(
    {
      title: `${translator(locale, "federation")("title")} – ${translator(locale, "platform")("cities.title")} – ${PLATFORM_NAME}`,
      locale,
      instance: {
        id: overview.instanceId,
        name: overview.name,
        protocol: overview.protocol,
        keys: overview.keys.map((key) => ({ id: key.id, status: key.status, created: key.created, retired: key.retired ?? null })),
      },
      peers: overview.peers.map((peer) => ({
        id: peer.id,
        name: peer.name,
        instanceId: peer.instanceId,
        state: peer.state,
        cities: peer.cities.length,
        outbox: peer.outbox,
        since: peer.updatedAt.toISOString(),
      })),
      outbox: {
        pending: overview.outbox.pending,
        failed: overview.outbox.failed,
        lastErrors: overview.outbox.lastErrors.map((problem) => ({
          id: problem.id,
          peer: problem.peerName,
          type: problem.type,
          status: problem.status,
          attempts: problem.attempts,
          error: problem.lastError,
          at: problem.createdAt.toISOString(),
        })),
      },
      notice: notice ? { kind: notice, peer: noticePeer } : null,
    },
    { headers: NO_STORE },
  );
}

/** The address an operator typed, if it can be one of an instance (the service checks the rest). */
function instanceAddress(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "";
  } catch {
    return false;
  }
}

export async function changeFederation(args: Args) {
  const principal = await requireFederationOperator(args);
  const form = await readCheckedForm(args.request);
  const intent = String(form.get("intent") ?? "");
  const peerId = String(form.get("peerId") ?? "");
  const service = { requestId: args.context.requestId };
  const done = (notice: Notice, peer?: string) =>
    redirect(`${PAGE}?done=${notice}${peer ? `&peer=${encodeURIComponent(peer)}` : ""}`, { status: 303, headers: NO_STORE });
  const answer = (result: PeersResult, status = 400) => json<PeersResult>(result, { status, headers: NO_STORE });
  const confirmed = form.get("confirm") === "yes";

  try {
    switch (intent) {
      case "add": {
        const url = String(form.get("url") ?? "").trim();
        const invalid = (error: string, detail: string | null = null) => answer({ kind: "invalid", form: "add", errors: { url: error }, detail, values: { url } });
        if (!instanceAddress(url) || url.length > 2000) return invalid(ERRORS.url);
        try {
          const { peer, created } = await addPeer(principal, { url }, service);
          return done(created ? "added" : peer.state === "active" ? "accepted" : "known", peer.id);
        } catch (error) {
          if (!(error instanceof ValidationFailed)) throw error;
          // The service says why in English, for operators: shown under the translated message.
          const detail = error.fields.url?.[0] ?? null;
          return invalid(detail?.includes("own address") ? ERRORS.self : ERRORS.unreachable, detail);
        }
      }
      case "accept":
        return done("accepted", (await acceptPeer(principal, { id: peerId }, service)).id);
      case "reject":
        await rejectPeer(principal, { id: peerId }, service);
        return done("rejected");
      case "suspend":
        return done("suspended", (await suspendPeer(principal, { id: peerId }, service)).id);
      case "resume":
        return done("resumed", (await resumePeer(principal, { id: peerId }, service)).id);
      case "remove":
        if (!confirmed) return answer({ kind: "invalid", form: "remove", peerId, errors: { confirm: ERRORS.confirm } });
        await removePeer(principal, { id: peerId }, service);
        return done("removed");
      case "rotate":
        if (!confirmed) return answer({ kind: "invalid", form: "rotate", errors: { confirm: ERRORS.confirm } });
        await rotateInstanceKey(principal, service);
        return done("rotated");
      default:
        return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
    }
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    // Accepting a suspended peer, rejecting one that is no longer waiting: its state moved on.
    if (error instanceof Conflict) return answer({ kind: "refused", peerId, error: ERRORS.state }, 409);
    throw error;
  }
}

export type { PeerState };
