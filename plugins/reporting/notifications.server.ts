// Keeping reporters and followers informed. A change that residents should hear about writes
// its emails to the outbox in the same unit of work (no change without its notices, no notice
// of a change that rolled back); the delivery job sends them with the city's SMTP server, or to
// a log transport (files under data/outbox/) when the city has none, and retries with backoff.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import nodemailer, { type Transporter } from "nodemailer";
import type { TFunction } from "i18next";
import { config } from "../../app/config.server";
import { withTenant, type Database, type Tx } from "../../app/db/database.server";
import { createI18n } from "../../app/i18n/i18n";
import { isSupportedLocale, type Locale } from "../../app/i18n/locales";
import { pickTranslation } from "../../app/i18n/translated";
import { CLOSE_REASON_LABELS, STATUS_LABELS } from "./labels";
import type { RequestStatus } from "./requests.server";
import { unsubscribeUrl } from "./unsubscribe.server";
import { translations } from "./locales";
import type { ReportingSettings } from "./settings.server";

export type NotificationKind = "created" | "status_changed" | "public_update" | "merged";

export { CLOSE_REASON_LABELS, STATUS_LABELS } from "./labels";

const translators = new Map<string, TFunction>();

/** A `t` of the plugin's namespace in `locale` (any supported one; English otherwise). */
export function reportingTranslator(locale: string): TFunction {
  const lng: Locale = isSupportedLocale(locale) ? locale : "en";
  let t = translators.get(lng);
  if (!t) {
    t = createI18n(lng, { [lng]: { reporting: translations[lng] } }).getFixedT(lng, "reporting") as TFunction;
    translators.set(lng, t);
  }
  return t;
}

/** The address of the city's site (scheme, host, the city's path): links in emails start with it. */
export function cityOrigin(slug: string): string {
  const env = config();
  const base = env.CIVITAS_PUBLIC_URL ?? `http://${env.CIVITAS_DOMAIN}`;
  return `${base}/${slug}`;
}

export type NotificationRequest = {
  requestId: string;
  /** The history event announced: one email per (event, recipient), however often queued. */
  eventId: string;
  kind: NotificationKind;
  /** Only the reporter (the receipt of a new report). */
  onlyReporter?: boolean;
  /** The person who made the change is not told about it. */
  exceptUserId?: string | null;
  mergedIntoTrackingId?: string;
  /** What the caller has just written or read in this unit of work: not read again. */
  known?: {
    request?: { trackingId: string; status: RequestStatus; closeReason: string | null; locale: string; reporterEmail: string | null; reporterUserId: string | null; category: { names: unknown } };
    event?: { body: string | null; reason: string | null };
    city?: { slug: string; names: unknown; defaultLocale: string };
  };
};

/**
 * Writes the emails of a change to the outbox: to the reporter's address and to every follower
 * (by account: their address; by email), each address once, in the request's language.
 */
export async function queueNotifications(tx: Tx, tenantId: string, notice: NotificationRequest): Promise<number> {
  const request = notice.known?.request ?? await tx.reportingRequest.findFirst({
    where: { tenantId, id: notice.requestId },
    select: {
      trackingId: true,
      status: true,
      closeReason: true,
      locale: true,
      reporterEmail: true,
      reporterUserId: true,
      category: { select: { names: true } },
    },
  });
  if (!request) return 0;
  const event = notice.known?.event ?? (await tx.reportingEvent.findFirst({ where: { tenantId, id: notice.eventId }, select: { body: true, reason: true } }));
  const city = notice.known?.city ?? (await tx.city.findFirstOrThrow({ where: { id: tenantId }, select: { slug: true, names: true, defaultLocale: true } }));

  const recipients = new Set<string>();
  if (request.reporterEmail) recipients.add(request.reporterEmail);
  const userIds = new Set<string>();
  if (request.reporterUserId && request.reporterUserId !== notice.exceptUserId) userIds.add(request.reporterUserId);
  if (!notice.onlyReporter) {
    const followers = await tx.reportingFollower.findMany({ where: { tenantId, requestId: notice.requestId }, select: { userId: true, email: true } });
    for (const follower of followers) {
      if (follower.email) recipients.add(follower.email);
      if (follower.userId && follower.userId !== notice.exceptUserId) userIds.add(follower.userId);
    }
  }
  if (userIds.size > 0) {
    const users = await tx.user.findMany({ where: { tenantId, id: { in: [...userIds] } }, select: { email: true } });
    for (const user of users) if (user.email) recipients.add(user.email.toLowerCase());
  }
  if (notice.exceptUserId) {
    const actor = await tx.user.findFirst({ where: { tenantId, id: notice.exceptUserId }, select: { email: true } });
    if (actor?.email) recipients.delete(actor.email.toLowerCase());
  }
  if (recipients.size === 0) return 0;
  const { count } = await tx.reportingOutboxMessage.createMany({ data: outboxMessages(tenantId, notice, { request, event, city }, recipients), skipDuplicates: true });
  return count;
}

/** A notice's outbox row to one recipient. */
export type OutboxMessage = { tenantId: string; id: string; dedupeKey: string; requestId: string; recipient: string; locale: string; subject: string; body: string };

/**
 * The emails of a notice, one per recipient (in address order), in the request's language: what
 * queueNotifications writes to the outbox, for a caller that writes them in a statement of its own.
 */
export function outboxMessages(
  tenantId: string,
  notice: Pick<NotificationRequest, "requestId" | "eventId" | "kind" | "mergedIntoTrackingId">,
  about: {
    request: { trackingId: string; status: RequestStatus; locale: string; category: { names: unknown } };
    event: { body: string | null; reason: string | null } | null;
    city: { slug: string; names: unknown; defaultLocale: string };
  },
  recipients: Iterable<string>,
): OutboxMessage[] {
  const { request, event, city } = about;
  const locale = request.locale;
  const t = reportingTranslator(locale);
  const category = pickTranslation((request.category.names ?? {}) as Record<string, string>, locale, city.defaultLocale)?.text ?? "";
  const cityName = pickTranslation((city.names ?? {}) as Record<string, string>, locale, city.defaultLocale)?.text ?? city.slug;
  const origin = cityOrigin(city.slug);
  const trackingId = request.trackingId;
  const url = `${origin}/services/reporting/requests/${trackingId}`;
  const status = t(STATUS_LABELS[request.status]);
  const reasonKey = event?.reason ? (CLOSE_REASON_LABELS[event.reason] ?? null) : null;

  let subject: string;
  const paragraphs: string[] = [];
  switch (notice.kind) {
    case "created":
      subject = t("reporting:email.created.subject", { trackingId });
      paragraphs.push(t("reporting:email.created.body", { trackingId, category, city: cityName }));
      break;
    case "status_changed":
      subject = t("reporting:email.statusChanged.subject", { trackingId, status });
      paragraphs.push(t("reporting:email.statusChanged.body", { trackingId, category, status }));
      if (reasonKey) paragraphs.push(t("reporting:email.reason", { reason: t(reasonKey) }));
      if (event?.body) paragraphs.push(t("reporting:email.note", { note: event.body }));
      break;
    case "public_update":
      subject = t("reporting:email.publicUpdate.subject", { trackingId });
      paragraphs.push(t("reporting:email.publicUpdate.body", { trackingId, category }), event?.body ?? "");
      break;
    case "merged": {
      const into = notice.mergedIntoTrackingId ?? "";
      subject = t("reporting:email.merged.subject", { trackingId });
      paragraphs.push(t("reporting:email.merged.body", { trackingId, into }));
      if (event?.body) paragraphs.push(t("reporting:email.note", { note: event.body }));
      paragraphs.push(t("reporting:email.follow", { url: `${origin}/services/reporting/requests/${into}` }));
      break;
    }
  }
  if (notice.kind !== "merged") paragraphs.push(t("reporting:email.follow", { url }));
  paragraphs.push(t("reporting:email.footer", { city: cityName }));
  const body = paragraphs.filter(Boolean).join("\n\n");

  return [...recipients].sort().map((recipient) => ({
    tenantId,
    id: randomUUID(),
    dedupeKey: `${notice.eventId}:${recipient}`,
    requestId: notice.requestId,
    recipient,
    locale,
    subject,
    body,
  }));
}

// --- Delivery -------------------------------------------------------------------------------

/** How long a claimed message waits before another run may try it (a crashed sender's lease). */
const LEASE_MS = 5 * 60_000;
export const MAX_ATTEMPTS = 8;
const BATCH = 20;

/** The wait after the n-th failed attempt: 1, 2, 4 … minutes, at most 6 hours. */
export function backoffMs(attempts: number): number {
  return Math.min(6 * 3_600_000, 60_000 * 2 ** Math.max(0, attempts - 1));
}

export type MailMessage = { from: string; to: string; subject: string; text: string; headers: Record<string, string> };
export type MailTransport = { send(message: MailMessage): Promise<{ messageId?: string }> };

/** The city's SMTP server, or the log transport (a file per message under data/outbox/<city>/). */
export function transportFor(tenantId: string, settings: ReportingSettings): MailTransport {
  if (settings.smtp) {
    const { host, port, secure, user, password } = settings.smtp;
    const smtp: Transporter = nodemailer.createTransport({
      host,
      port,
      secure,
      ...(user && { auth: { user, pass: password ?? "" } }),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
    return { send: async (message) => ({ messageId: (await smtp.sendMail(message)).messageId }) };
  }
  const dataDir = config().CIVITAS_DATA_DIR;
  const stream: Transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    async send(message) {
      const info = await stream.sendMail(message);
      if (!dataDir.startsWith("memory://")) {
        const folder = path.join(dataDir, "outbox", tenantId);
        mkdirSync(folder, { recursive: true });
        const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomUUID()}.eml`;
        writeFileSync(path.join(folder, name), info.message as Buffer);
      }
      return { messageId: info.messageId };
    },
  };
}

export type DeliveryReport = { sent: number; retried: number; failed: number };

/**
 * Sends the city's due messages. Each is claimed first (a lease, committed), sent outside any
 * transaction, then marked: a run that dies mid-way leaves the message to be tried again after
 * the lease, and a sent one is never sent again by a later run. The Message-ID header is the
 * message's id, so a mail server can tell a resend after a crash from a new message.
 */
export async function deliverOutbox(options: {
  tenantId: string;
  settings: ReportingSettings;
  database?: Database;
  transport?: MailTransport;
  now?: () => Date;
}): Promise<DeliveryReport> {
  const { tenantId, settings, database } = options;
  const now = options.now ?? (() => new Date());
  const transport = options.transport ?? transportFor(tenantId, settings);
  const from = settings.notificationsFrom || `no-reply@${config().CIVITAS_DOMAIN}`;
  const claimed = await withTenant(
    tenantId,
    async (tx) => {
      const at = now();
      const due = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "reporting_outbox"
         WHERE "tenant_id" = ${tenantId}::uuid AND "status" = 'pending' AND "next_attempt_at" <= ${at}
         ORDER BY "next_attempt_at", "id" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`;
      if (due.length === 0) return [];
      const ids = due.map((row) => row.id);
      await tx.reportingOutboxMessage.updateMany({
        where: { tenantId, id: { in: ids } },
        data: { nextAttemptAt: new Date(at.getTime() + LEASE_MS), attempts: { increment: 1 } },
      });
      const messages = await tx.reportingOutboxMessage.findMany({
        where: { tenantId, id: { in: ids } },
        select: { id: true, recipient: true, subject: true, body: true, attempts: true, locale: true, requestId: true },
        orderBy: { createdAt: "asc" },
      });
      // What each message's unsubscribe link names: its report's tracking id, under the city's address.
      const requestIds = [...new Set(messages.flatMap((message) => (message.requestId ? [message.requestId] : [])))];
      const requests = await tx.reportingRequest.findMany({ where: { tenantId, id: { in: requestIds } }, select: { id: true, trackingId: true } });
      const city = await tx.city.findFirstOrThrow({ where: { id: tenantId }, select: { slug: true } });
      const tracking = new Map(requests.map((request) => [request.id, request.trackingId]));
      return messages.map((message) => ({ ...message, trackingId: message.requestId ? (tracking.get(message.requestId) ?? null) : null, slug: city.slug }));
    },
    database,
  );
  const report: DeliveryReport = { sent: 0, retried: 0, failed: 0 };
  for (const message of claimed) {
    let outcome: { sent: true; messageId: string | null } | { sent: false; error: string };
    try {
      // Every message lets its recipient leave the report's emails, with a link signed for them.
      const unsubscribe = message.trackingId
        ? `${cityOrigin(message.slug)}${await unsubscribeUrl({ tenantId, servicePath: "/services/reporting", trackingId: message.trackingId, email: message.recipient, database })}`
        : null;
      const text = unsubscribe ? `${message.body}\n\n${reportingTranslator(message.locale)("reporting:email.unsubscribe", { url: unsubscribe })}` : message.body;
      const info = await transport.send({
        from,
        to: message.recipient,
        subject: message.subject,
        text,
        headers: {
          "Message-ID": `<${message.id}@${config().CIVITAS_DOMAIN}>`,
          "Auto-Submitted": "auto-generated",
          ...(unsubscribe ? { "List-Unsubscribe": `<${unsubscribe}>` } : {}),
        },
      });
      outcome = { sent: true, messageId: info.messageId ?? null };
    } catch (error) {
      outcome = { sent: false, error: error instanceof Error ? error.message.slice(0, 500) : "delivery failed" };
    }
    await withTenant(
      tenantId,
      async (tx) => {
        if (outcome.sent) {
          await tx.reportingOutboxMessage.updateMany({
            where: { tenantId, id: message.id, status: "pending" },
            data: { status: "sent", sentAt: now(), messageId: outcome.messageId, lastError: null },
          });
          report.sent += 1;
        } else if (message.attempts >= MAX_ATTEMPTS) {
          await tx.reportingOutboxMessage.updateMany({ where: { tenantId, id: message.id, status: "pending" }, data: { status: "failed", lastError: outcome.error } });
          report.failed += 1;
        } else {
          await tx.reportingOutboxMessage.updateMany({
            where: { tenantId, id: message.id, status: "pending" },
            data: { nextAttemptAt: new Date(now().getTime() + backoffMs(message.attempts)), lastError: outcome.error },
          });
          report.retried += 1;
        }
      },
      database,
    );
  }
  return report;
}
