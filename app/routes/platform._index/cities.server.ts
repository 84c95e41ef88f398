// The platform console's list of cities (operators): status, search and each city's health.
import type { AppLoadContext } from "@remix-run/node";
import { json } from "@remix-run/node";
import { requireOperatorConsole } from "~/auth/console.server";
import { ValidationFailed } from "~/auth/errors";
import { cityHealth, listCities } from "~/cities/platform.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale } from "~/i18n/locales";
import { pickTranslation } from "~/i18n/translated";
import { pageLocale } from "~/site.server";
import { PLATFORM_NAME } from "~/site";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

const STATUSES = ["active", "suspended"] as const;

export async function citiesPage(args: Args) {
  const { principal } = await requireOperatorConsole(args);
  const url = new URL(args.request.url);
  const search = (url.searchParams.get("q") ?? "").trim().slice(0, 100);
  const wanted = url.searchParams.get("status") ?? "";
  const status = STATUSES.find((value) => value === wanted) ?? null;
  const after = url.searchParams.get("after");
  const locale = await pageLocale(args.request, args.context);
  let list;
  try {
    list = await listCities(principal, { search: search || null, status, first: 25, after: after || null });
  } catch (error) {
    // A cursor edited by hand: the first page.
    if (!(error instanceof ValidationFailed)) throw error;
    list = await listCities(principal, { search: search || null, status, first: 25 });
  }
  // One statement per city, 25 at most: the console's list is small by design.
  const health = await Promise.all(list.cities.map((city) => cityHealth(principal, { id: city.id })));
  const next = new URLSearchParams({ ...(search && { q: search }), ...(status && { status }) });
  if (list.endCursor) next.set("after", list.endCursor);
  return json(
    {
      title: `${translator(locale, "platform")("cities.title")} – ${PLATFORM_NAME}`,
      locale,
      search,
      status: status ?? "",
      nextHref: list.hasNextPage ? `/platform?${next.toString()}` : null,
      cities: list.cities.map((city, index) => {
        const names = (city.names ?? {}) as Record<string, string>;
        const name = pickTranslation(names, locale, city.defaultLocale);
        const row = health[index];
        return {
          slug: city.slug,
          name: name?.text ?? city.slug,
          nameLocale: name && isSupportedLocale(name.locale) ? name.locale : undefined,
          status: city.status,
          members: row?.members ?? 0,
          admins: row?.admins ?? 0,
          pendingInvitations: row?.pendingInvitations ?? 0,
          lastActivityAt: row?.lastActivityAt ? row.lastActivityAt.toISOString() : null,
          realmProvisioned: row?.realmProvisioned ?? false,
        };
      }),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}
