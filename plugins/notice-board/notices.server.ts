// Notices: posted by a city's staff (title and body per language, an optional end date), read by
// everyone on the portal and through GraphQL while they are current, withdrawn by staff.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { NotFound, ValidationFailed, parseInput } from "../../app/auth/errors";
import { requireCityPermission, type Principal } from "../../app/auth/permissions";
import { auditActor, type ServiceContext } from "../../app/auth/principal.server";
import { recordAudit } from "../../app/audit/audit.server";
import { withTenant } from "../../app/db/database.server";
import { requireEnabledPlugin } from "../../app/plugins/enablement.server";
import { translatedSetting } from "../../app/plugins/sdk.server";
import { PLUGIN_ID, type NoticeBoardSettings } from "./settings";

export type Notice = {
  id: string;
  title: Record<string, string>;
  body: Record<string, string>;
  publishedAt: Date;
  expiresAt: Date | null;
};

const select = { id: true, title: true, body: true, publishedAt: true, expiresAt: true } as const;

function toNotice(row: { id: string; title: unknown; body: unknown; publishedAt: Date; expiresAt: Date | null }): Notice {
  return { ...row, title: row.title as Record<string, string>, body: row.body as Record<string, string> };
}

/** The city's current notices, newest first, as many as its settings show. Anyone may read them. */
export async function currentNotices(context: { tenantId: string } & Pick<ServiceContext, "database">): Promise<Notice[]> {
  const { tenantId } = context;
  const installation = await requireEnabledPlugin(tenantId, PLUGIN_ID, context.database);
  const { maxNotices } = installation.settings as NoticeBoardSettings;
  const now = new Date();
  const rows = await withTenant(
    tenantId,
    (tx) =>
      tx.noticeBoardNotice.findMany({
        where: { tenantId, withdrawnAt: null, publishedAt: { lte: now }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        orderBy: [{ publishedAt: "desc" }, { id: "desc" }],
        take: maxNotices,
        select,
      }),
    context.database,
  );
  return rows.map(toNotice);
}

const postSchema = z.strictObject({
  title: translatedSetting({ maxLength: 120, required: true }),
  body: translatedSetting({ maxLength: 2000 }).default({}),
  expiresAt: z.coerce.date({ error: "must be a date" }).nullish(),
});

export type PostNoticeInput = z.input<typeof postSchema>;

/** Posts a notice in the city's languages (staff). */
export async function postNotice(principal: Principal, input: PostNoticeInput, context: ServiceContext = {}): Promise<Notice> {
  const actor = requireCityPermission(principal, context.tenantId, "notice_board.publish");
  const { tenantId } = actor;
  const { title, body, expiresAt } = parseInput(postSchema, input);
  const now = new Date();
  if (expiresAt && expiresAt <= now) throw new ValidationFailed({ expiresAt: ["must be in the future"] });
  await requireEnabledPlugin(tenantId, PLUGIN_ID, context.database);
  return withTenant(
    tenantId,
    async (tx) => {
      const city = await tx.city.findUnique({ where: { id: tenantId }, select: { enabledLocales: true } });
      const foreign = [...Object.keys(title), ...Object.keys(body)].filter((locale) => !city?.enabledLocales.includes(locale));
      if (foreign.length > 0) throw new ValidationFailed({ title: [`${[...new Set(foreign)].join(", ")} is not one of the city's languages`] });
      const row = await tx.noticeBoardNotice.create({
        data: { tenantId, id: randomUUID(), title, body, authorId: principal.kind === "user" ? principal.userId : null, publishedAt: now, expiresAt: expiresAt ?? null },
        select,
      });
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "notice_board.notice_posted",
        subject: { type: "notice", id: row.id },
        after: { title, expiresAt: expiresAt?.toISOString() ?? null },
        requestId: context.requestId,
      });
      return toNotice(row);
    },
    context.database,
  );
}

/** Takes a notice off the board (staff); it stays in the history. */
export async function withdrawNotice(principal: Principal, noticeId: string, context: ServiceContext = {}): Promise<void> {
  const actor = requireCityPermission(principal, context.tenantId, "notice_board.publish");
  const { tenantId } = actor;
  const id = parseInput(z.uuid({ error: "is not a notice id" }), noticeId);
  await requireEnabledPlugin(tenantId, PLUGIN_ID, context.database);
  await withTenant(
    tenantId,
    async (tx) => {
      const { count } = await tx.noticeBoardNotice.updateMany({ where: { tenantId, id, withdrawnAt: null }, data: { withdrawnAt: new Date() } });
      if (count === 0) throw new NotFound("notice");
      await recordAudit(tx, tenantId, {
        actor: auditActor(actor),
        action: "notice_board.notice_withdrawn",
        subject: { type: "notice", id },
        requestId: context.requestId,
      });
    },
    context.database,
  );
}
