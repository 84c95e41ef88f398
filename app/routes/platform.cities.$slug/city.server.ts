// One city in the platform console (operators): its addresses and health, and suspending or
// resuming it, each confirmed by ticking a box (the form says what will happen).
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { requireOperatorConsole } from "~/auth/console.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { NotFound, ValidationFailed } from "~/auth/errors";
import { cityHealth, listCities, resumeCity, suspendCity } from "~/cities/platform.server";
import { cityAddresses } from "~/cities/addresses.server";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale } from "~/i18n/locales";
import { pickTranslation } from "~/i18n/translated";
import { identity } from "~/identity/identity.server";
import { PLATFORM_NAME } from "~/site";
import { pageLocale } from "~/site.server";
import { SLUG_PATTERN } from "~/tenancy/city-file.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string; slug?: string } };

const NO_STORE = { "Cache-Control": "no-store" };

const ERRORS = { confirm: "platform:city.errors.confirm", reason: "platform:city.errors.reason" } as const;

export type StatusFormResult = { errors: { confirm?: string; reason?: string }; values: { reason: string } };

async function cityBySlug(principal: Parameters<typeof listCities>[0], slug: string | undefined) {
  if (!slug || !SLUG_PATTERN.test(slug)) throw notFound();
  try {
    const health = await cityHealth(principal, { slug });
    const { cities } = await listCities(principal, { search: slug, first: 100 }, {}, { include: { domains: { select: { hostname: true, isPrimary: true } } } });
    const city = cities.find((candidate) => candidate.slug === slug);
    if (!city) throw notFound();
    return { city: city as typeof city & { domains: { hostname: string; isPrimary: boolean }[] }, health };
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

export async function cityPage(args: Args) {
  const { principal } = await requireOperatorConsole(args);
  const { city, health } = await cityBySlug(principal, args.params.slug);
  const locale = await pageLocale(args.request, args.context);
  const names = (city.names ?? {}) as Record<string, string>;
  const name = pickTranslation(names, locale, city.defaultLocale);
  const url = new URL(args.request.url);
  return json(
    {
      title: `${name?.text ?? city.slug} – ${translator(locale, "platform")("cities.title")} – ${PLATFORM_NAME}`,
      locale,
      slug: city.slug,
      name: name?.text ?? city.slug,
      nameLocale: name && isSupportedLocale(name.locale) ? name.locale : undefined,
      status: city.status,
      enabledLocales: city.enabledLocales,
      defaultLocale: city.defaultLocale,
      timeZone: city.timeZone,
      realm: city.identityRealm,
      addresses: cityAddresses(city.slug, city.domains.map((domain) => domain.hostname)),
      health: { ...health, lastActivityAt: health.lastActivityAt ? health.lastActivityAt.toISOString() : null },
      changed: url.searchParams.get("changed") === "suspended" ? "suspended" : url.searchParams.get("changed") === "resumed" ? "resumed" : null,
    },
    { headers: NO_STORE },
  );
}

export async function changeCityStatus(args: Args) {
  const { principal } = await requireOperatorConsole(args);
  const slug = args.params.slug;
  if (!slug || !SLUG_PATTERN.test(slug)) throw notFound();
  const form = await readCheckedForm(args.request);
  const intent = form.get("intent");
  if (intent !== "suspend" && intent !== "resume") return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
  const reason = String(form.get("reason") ?? "").trim();
  const errors: StatusFormResult["errors"] = {};
  if (form.get("confirm") !== "yes") errors.confirm = ERRORS.confirm;
  if (reason.length > 500) errors.reason = ERRORS.reason;
  if (Object.keys(errors).length > 0) return json<StatusFormResult>({ errors, values: { reason } }, { status: 400, headers: NO_STORE });
  const context = { requestId: args.context.requestId, issuers: identity().issuers };
  try {
    const change = intent === "suspend"
      ? await suspendCity(principal, { slug, ...(reason && { reason }) }, context)
      : await resumeCity(principal, { slug, ...(reason && { reason }) }, context);
    return redirect(`/platform/cities/${change.city.slug}?changed=${intent === "suspend" ? "suspended" : "resumed"}`, { status: 303, headers: NO_STORE });
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    if (error instanceof ValidationFailed) return json<StatusFormResult>({ errors: { reason: ERRORS.reason }, values: { reason } }, { status: 400, headers: NO_STORE });
    throw error;
  }
}
