// The notice board in the GraphQL API: the current notices for anyone, posting and withdrawing
// for staff. Every field carries the plugin's gate (a city without the board: NOT_FOUND). Loaded
// by the manifest's `graphql`, once, when the schema is built (graphql/schema.ts).
import { builder, MUTATION_ERRORS } from "../../graphql/builder";
import { TranslatedText, translated } from "../../graphql/city/translated-text";
import { atomically } from "../../graphql/context";
import { cityKey } from "../../graphql/members/members";
import { gated } from "../../graphql/plugins";
import { currentNotices, postNotice, withdrawNotice } from "./notices.server";
import { PLUGIN_ID } from "./settings";

const Notice = builder.prismaNode("NoticeBoardNotice", {
  name: "Notice",
  description: "A notice on a city's notice board (plugin notice-board).",
  id: { resolve: (notice) => notice.id },
  findUnique: (id, context) => cityKey(context, id),
  authScopes: { public: true },
  select: { id: true },
  fields: (t) => ({
    title: t.field({ type: TranslatedText, select: { title: true }, resolve: (notice) => translated(notice.title as Record<string, string>, "en") }),
    body: t.field({ type: TranslatedText, select: { body: true }, resolve: (notice) => translated(notice.body as Record<string, string>, "en") }),
    publishedAt: t.expose("publishedAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
  }),
});

const NoticeInput = builder.inputType("NoticeInput", {
  fields: (t) => ({
    title: t.field({ type: "JSON", required: true, description: "{ locale: text }, in the city's languages." }),
    body: t.field({ type: "JSON", required: false }),
    expiresAt: t.field({ type: "DateTime", required: false }),
  }),
});

const WithdrawnNotice = builder.objectRef<{ id: string }>("WithdrawnNotice").implement({
  fields: (t) => ({ id: t.exposeID("id") }),
});

builder.queryField("notices", (t) =>
  t.prismaField({
    type: [Notice],
    description: "The city's current notices, newest first.",
    authScopes: gated(PLUGIN_ID, { public: true }),
    resolve: async (query, _root, _args, context) => {
      const notices = await currentNotices({ tenantId: context.city!.id, database: context.database });
      if (notices.length === 0) return [];
      // The service chose and ordered them; Pothos' selection loads what the query asks for.
      const rows = await context.db().noticeBoardNotice.findMany({ ...query, where: { tenantId: context.city!.id, id: { in: notices.map((n) => n.id) } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return notices.flatMap((notice) => byId.get(notice.id) ?? []);
    },
  }),
);

builder.mutationField("postNotice", (t) =>
  t.field({
    type: Notice,
    authScopes: gated(PLUGIN_ID, { cityPermission: "notice_board.publish" }),
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: NoticeInput, required: true }) },
    resolve: (_root, { input }, context) =>
      atomically(context, async () => {
        const notice = await postNotice(context.principal, input as Parameters<typeof postNotice>[1], context.service);
        return context.db().noticeBoardNotice.findUniqueOrThrow({ where: { tenantId_id: { tenantId: context.city!.id, id: notice.id } } });
      }),
  }),
);

builder.mutationField("withdrawNotice", (t) =>
  t.field({
    type: WithdrawnNotice,
    authScopes: gated(PLUGIN_ID, { cityPermission: "notice_board.publish" }),
    errors: { types: MUTATION_ERRORS },
    args: { id: t.arg.globalID({ required: true, for: Notice }) },
    resolve: (_root, { id }, context) =>
      atomically(context, async () => {
        await withdrawNotice(context.principal, id.id, context.service);
        return { id: id.id };
      }),
  }),
);
