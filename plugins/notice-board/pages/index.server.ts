// The notice board page's server side: current notices for everyone, the posting form and the
// withdraw buttons for staff.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { principalOf } from "../../../app/auth/account.server";
import { readCheckedForm } from "../../../app/auth/csrf.server";
import { NotFound, ValidationFailed } from "../../../app/auth/errors";
import { can } from "../../../app/auth/permissions";
import { LOCALE_NAMES, isSupportedLocale } from "../../../app/i18n/locales";
import { requirePluginPage } from "../../../app/plugins/pages.server";
import { translator } from "../../../app/i18n/i18n.server";
import { pageLocale, siteName } from "../../../app/site.server";
import { notFound } from "../../../app/tenancy/guard.server";
import { currentNotices, postNotice, withdrawNotice } from "../notices.server";
import { PLUGIN_ID, type NoticeBoardSettings } from "../settings";

const noStore = { "Cache-Control": "no-store" };

export async function noticeBoardPage({ request, context, params }: LoaderFunctionArgs) {
  const page = await requirePluginPage({ context, params }, PLUGIN_ID);
  const [principal, locale, notices] = await Promise.all([
    principalOf(request, context),
    pageLocale(request, context),
    currentNotices({ tenantId: page.tenantId }),
  ]);
  const settings = page.installation.settings as NoticeBoardSettings;
  return json(
    {
      title: `${translator(locale, PLUGIN_ID)("page.title")} – ${siteName(context, locale).text}`,
      locale,
      timeZone: page.city.timeZone,
      heading: settings.heading ?? {},
      defaultLocale: page.city.defaultLocale,
      canPublish: (principal.kind === "user" || principal.kind === "client") && principal.tenantId === page.tenantId && can(principal, "notice_board.publish"),
      languages: page.city.enabledLocales.filter(isSupportedLocale).map((code) => ({ code, name: LOCALE_NAMES[code] })),
      notices: notices.map((notice) => ({
        id: notice.id,
        title: notice.title,
        body: notice.body,
        publishedAt: notice.publishedAt.toISOString(),
        expiresAt: notice.expiresAt?.toISOString() ?? null,
      })),
    },
    { headers: noStore },
  );
}

export type NoticeBoardResult =
  | { kind: "posted" }
  | { kind: "withdrawn" }
  | { kind: "invalid"; fields: Record<string, string>; values: Record<string, string> };

export async function noticeBoardAction({ request, context, params }: ActionFunctionArgs) {
  const page = await requirePluginPage({ context, params }, PLUGIN_ID);
  const principal = await principalOf(request, context);
  const form = await readCheckedForm(request);
  // Only staff see the forms: anyone else posting here is refused.
  if (!(principal.kind === "user" || principal.kind === "client") || principal.tenantId !== page.tenantId || !can(principal, "notice_board.publish")) {
    throw new Response(null, { status: 403, headers: noStore });
  }
  const service = { tenantId: page.tenantId, requestId: context.requestId };
  const intent = form.get("intent");
  if (intent === "withdraw") {
    try {
      await withdrawNotice(principal, String(form.get("id") ?? ""), service);
    } catch (error) {
      if (error instanceof NotFound || error instanceof ValidationFailed) throw notFound();
      throw error;
    }
    return json<NoticeBoardResult>({ kind: "withdrawn" }, { headers: noStore });
  }
  if (intent !== "post") return json({ error: "unknown intent" }, { status: 400 });
  const title: Record<string, string> = {};
  const body: Record<string, string> = {};
  const values: Record<string, string> = {};
  for (const locale of page.city.enabledLocales) {
    const titleText = String(form.get(`title.${locale}`) ?? "").trim();
    const bodyText = String(form.get(`body.${locale}`) ?? "").trim();
    values[`title.${locale}`] = titleText;
    values[`body.${locale}`] = bodyText;
    if (titleText) title[locale] = titleText;
    if (bodyText) body[locale] = bodyText;
  }
  const expires = String(form.get("expiresAt") ?? "").trim();
  values.expiresAt = expires;
  try {
    await postNotice(principal, { title, body, expiresAt: expires ? `${expires}T23:59:59Z` : null }, service);
  } catch (error) {
    if (error instanceof ValidationFailed) {
      const fields = Object.fromEntries(Object.entries(error.fields).map(([field, messages]) => [field, messages[0] ?? ""]));
      return json<NoticeBoardResult>({ kind: "invalid", fields, values }, { status: 400, headers: noStore });
    }
    throw error;
  }
  return json<NoticeBoardResult>({ kind: "posted" }, { headers: noStore });
}
