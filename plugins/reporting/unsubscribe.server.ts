// Leaving a report's emails without an account: every notification carries a link signed for its
// recipient and report; following it removes that address from the report (its followers, and
// the reporter's contact address when it is theirs). Nothing else is needed, nothing else opens.
import { createHmac, timingSafeEqual } from "node:crypto";
import { recordAudit } from "../../app/audit/audit.server";
import { instanceSecret } from "../../app/auth/secrets.server";
import { withTenant, type Database, type Tx } from "../../app/db/database.server";
import { normaliseTrackingId } from "./requests.server";

const SECRET_NAME = "reporting-unsubscribe";

async function mac(tenantId: string, trackingId: string, email: string, database?: Database): Promise<Buffer> {
  const secret = await instanceSecret(SECRET_NAME, database);
  return createHmac("sha256", secret).update(`reporting-unsubscribe:v1:${tenantId.toLowerCase()}:${trackingId}:${email.toLowerCase()}`).digest();
}

/** The link's token for one recipient of one report. */
export async function unsubscribeToken(options: { tenantId: string; trackingId: string; email: string; database?: Database }): Promise<string> {
  // Signed as validUnsubscribe reads it back: the tracking id in its one written form.
  const trackingId = normaliseTrackingId(options.trackingId) ?? options.trackingId;
  return (await mac(options.tenantId, trackingId, options.email, options.database)).toString("base64url");
}

/** The unsubscribe address, under the city's service path. */
export async function unsubscribeUrl(options: { tenantId: string; servicePath: string; trackingId: string; email: string; database?: Database }): Promise<string> {
  const token = await unsubscribeToken(options);
  const query = new URLSearchParams({ r: options.trackingId, e: options.email.toLowerCase(), t: token });
  return `${options.servicePath}/unsubscribe?${query.toString()}`;
}

/** Whether a link's token is the one made for this report and address (constant time). */
export async function validUnsubscribe(options: { tenantId: string; trackingId: string; email: string; token: string; database?: Database }): Promise<boolean> {
  const trackingId = normaliseTrackingId(options.trackingId);
  if (!trackingId || !/^[A-Za-z0-9_-]{43}$/.test(options.token)) return false;
  const expected = await mac(options.tenantId, trackingId, options.email, options.database);
  const given = Buffer.from(options.token, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Stops a report's emails to an address (the link was checked with validUnsubscribe): as a
 * follower by email, as a follower by an account with that address, and as its reporter. Audited
 * without the address. Answers whether anything changed (a second click changes nothing).
 */
export async function unsubscribe(options: { tenantId: string; trackingId: string; email: string; database?: Database }): Promise<boolean> {
  const { tenantId } = options;
  const trackingId = normaliseTrackingId(options.trackingId);
  const email = options.email.toLowerCase();
  if (!trackingId) return false;
  return withTenant(
    tenantId,
    async (tx: Tx) => {
      const request = await tx.reportingRequest.findFirst({ where: { tenantId, trackingId }, select: { id: true, reporterEmail: true } });
      if (!request) return false;
      const accounts = await tx.user.findMany({ where: { tenantId, email: { equals: email, mode: "insensitive" } }, select: { id: true } });
      const { count: followers } = await tx.reportingFollower.deleteMany({
        where: { tenantId, requestId: request.id, OR: [{ email }, { userId: { in: accounts.map((account) => account.id) } }] },
      });
      const reporter = request.reporterEmail === email;
      if (reporter) await tx.reportingRequest.updateMany({ where: { tenantId, id: request.id }, data: { reporterEmail: null } });
      if (followers === 0 && !reporter) return false;
      await recordAudit(tx, tenantId, {
        actor: { type: "system", id: "unsubscribe-link" },
        action: "reporting.unsubscribed",
        subject: { type: "reporting_request", id: request.id },
        after: { followersRemoved: followers, reporterAddressRemoved: reporter },
      });
      return true;
    },
    options.database,
  );
}
