// "My account" of a resident: their latest reports (filed signed in, or followed), with status and
// date, each linking to its tracking page.
import type { AccountContext, AccountSection } from "../../app/plugins/sdk.server";
import { pickTranslation } from "../../app/i18n/translated";
import { reportingTranslator, STATUS_LABELS } from "./notifications.server";
import { myServiceRequests } from "./requests.server";

const LATEST = 10;

export async function accountSection(context: AccountContext): Promise<AccountSection> {
  const t = reportingTranslator(context.locale);
  const { requests, more } = await myServiceRequests({ tenantId: context.tenantId, userId: context.userId, limit: LATEST, database: context.database });
  const date = new Intl.DateTimeFormat(context.locale, { dateStyle: "medium", timeZone: context.timeZone });
  return {
    title: t("reporting:page.account.title"),
    empty: t("reporting:page.account.empty"),
    items: requests.map((request) => ({
      label: t("reporting:page.account.item", {
        trackingId: request.trackingId,
        category: pickTranslation(request.categoryNames as Record<string, string>, context.locale, context.cityDefaultLocale)?.text ?? "",
      }),
      detail: t(request.reported ? "reporting:page.account.reported" : "reporting:page.account.following", {
        status: t(STATUS_LABELS[request.status]),
        date: date.format(request.createdAt),
      }),
      href: `${context.servicePath}/requests/${encodeURIComponent(request.trackingId)}`,
    })),
    ...(more ? { more: { label: t("reporting:page.account.more"), href: context.servicePath } } : {}),
  };
}
