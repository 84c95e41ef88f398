// The two home pages behind "/": the platform's list of open cities, and a city's own home
// (on its host, or at /{slug} on the platform host).
import type { AppLoadContext, LoaderFunctionArgs } from "@remix-run/node";
import { translator } from "~/i18n/i18n.server";
import { isSupportedLocale, LOCALE_NAMES } from "~/i18n/locales";
import { pickTranslation } from "~/i18n/translated";
import { PLATFORM_NAME } from "~/site";
import { pageLocale } from "~/site.server";
import { notFound, requireCity } from "~/tenancy/guard.server";
import { listActiveCities } from "~/tenancy/resolve.server";
import { enabledServices } from "~/plugins/catalogue.server";
import { installationsOf } from "~/plugins/enablement.server";
import { withTenant } from "~/db/database.server";

function textsOf(column: unknown): Record<string, string> {
  if (!column || typeof column !== "object") return {};
  return Object.fromEntries(Object.entries(column).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== ""));
}

export type PlatformHome = {
  kind: "platform";
  title: string;
  cities: { slug: string; name: string; nameLocale: string; href: string }[];
};

export type CityHome = {
  kind: "city";
  title: string;
  city: { slug: string; name: string; nameLocale: string };
  /** The languages the city offers that Civitas ships, each named in itself. */
  languages: { locale: string; name: string }[];
  /** The city's own welcome text, in the page's language or the nearest it wrote (null: the standard one). */
  welcome: { text: string; locale: string } | null;
  /** The catalogue services the city has enabled, named in the page's language. */
  services: { id: string; name: string; description: string; href: string }[];
};

type HomeArgs = { request: Request; context: AppLoadContext; params: LoaderFunctionArgs["params"] };

export async function homePage({ request, context, params }: HomeArgs): Promise<PlatformHome | CityHome> {
  const locale = await pageLocale(request, context);
  const t = translator(locale);

  if (context.tenant.kind === "platform") {
    // A first segment that is not a city (a reserved word, a file name): nothing here.
    if (params.city !== undefined) throw notFound();
    const cities = await listActiveCities();
    return {
      kind: "platform",
      title: `${t("platform.title")} – ${PLATFORM_NAME}`,
      cities: cities.map((city) => {
        const name = pickTranslation(city.names, locale, city.defaultLocale) ?? { text: city.slug, locale: "" };
        return { slug: city.slug, name: name.text, nameLocale: name.locale, href: `/${city.slug}` };
      }),
    };
  }

  const { city, basePath } = requireCity(context, params);
  const name = pickTranslation(city.names, locale, city.defaultLocale) ?? { text: city.slug, locale: "" };
  // One unit of work for what the cached city does not carry: its welcome text and services.
  const { welcome, installations } = await withTenant(city.id, async (tx) => ({
    welcome: (await tx.city.findFirst({ where: { id: city.id }, select: { welcome: true } }))?.welcome,
    installations: (await installationsOf(city.id)).filter((installation) => installation.enabled),
  }));
  return {
    kind: "city",
    title: t("home.welcome", { city: name.text }),
    city: { slug: city.slug, name: name.text, nameLocale: name.locale },
    languages: city.enabledLocales.filter(isSupportedLocale).map((code) => ({ locale: code, name: LOCALE_NAMES[code] })),
    welcome: pickTranslation(textsOf(welcome), locale, city.defaultLocale),
    services: enabledServices(installations).map((service) => ({
      id: service.id,
      name: service.names[locale] ?? service.id,
      description: service.descriptions[locale] ?? "",
      href: `${basePath}/services/${service.id}`,
    })),
  };
}
