// One component of the federated catalogue (a city's admins): where it comes from (city,
// instance, author, signature), its versions and items, what importing it would do here, and
// the import itself in one step (its report answers the form); the city's own: withdraw it or
// publish a new version; an imported one: follow it or not.
import type { AppLoadContext } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import {
  componentKindName,
  localText,
  NO_STORE,
  pageTitle,
  requireFederationConsole,
  serviceName,
  type FederationConsole,
} from "~/components/federation.server";
import {
  getComponent,
  importComponent,
  previewImport,
  setComponentFollowing,
  withdrawComponent,
  type ImportPreview,
  type ImportReport,
} from "~/federation/components.server";
import { isSupportedLocale, LOCALE_NAMES, type Locale } from "~/i18n/locales";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string; id?: string } };

/** Why a component cannot be imported here, by the services' conflict reasons. */
const REFUSALS: Record<string, string> = {
  withdrawn: "federation:component.refused.withdrawn",
  own_component: "federation:component.refused.own",
  plugin_unavailable: "federation:component.refused.unavailable",
  plugin_incompatible: "federation:component.refused.incompatible",
  plugin_disabled: "federation:component.refused.disabled",
  proof_invalid: "federation:component.refused.proof",
  definitions_refused: "federation:component.refused.definitions",
};
const REFUSED = "federation:component.refused.other";

const NOTICES = ["published", "following", "notFollowing", "withdrawn"] as const;

type ShownPreview = ReturnType<typeof shownPreview>;

export type ComponentResult =
  | { kind: "imported"; report: ShownPreview & { version: number; following: boolean; installed: boolean; created: number; updated: number; changed: boolean } }
  | { kind: "refused"; error: string };

function shownPreview(preview: ImportPreview, locale: Locale) {
  return {
    version: preview.version,
    install: !preview.plugin.installed,
    items: preview.items.map((item) => ({ key: item.key, name: localText(item.name, locale, item.key), action: item.action, reason: item.reason ?? null })),
    settings: preview.settings.map((setting) => ({ field: setting.field, action: setting.action })),
  };
}

function shownReport(report: ImportReport, locale: Locale): Extract<ComponentResult, { kind: "imported" }>["report"] {
  return {
    ...shownPreview(report, locale),
    following: report.following,
    installed: report.applied.installed,
    created: report.applied.created,
    updated: report.applied.updated,
    changed: report.changed,
  };
}

async function component(console: FederationConsole, id: string | undefined) {
  try {
    return await getComponent(console.principal, { componentId: id ?? "" }, console.service);
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

export async function componentPage(args: Args) {
  const console = await requireFederationConsole(args);
  const { locale } = console;
  const entry = await component(console, args.params.id);
  const importable = !entry.origin.ownCity && entry.withdrawnAt === null;
  let preview: ShownPreview | null = null;
  let refusal: string | null = null;
  if (importable && !entry.plugin.available) refusal = REFUSALS.plugin_unavailable!;
  else if (importable && !entry.plugin.compatible) refusal = REFUSALS.plugin_incompatible!;
  else if (importable) {
    try {
      preview = shownPreview(await previewImport(console.principal, { componentId: entry.id }, console.service), locale);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      refusal = REFUSALS[error.reason] ?? REFUSED;
    }
  }
  const title = localText(entry.title, locale, entry.kind);
  const done = new URL(args.request.url).searchParams.get("done");
  return json(
    {
      title: pageTitle(console, title.text),
      locale,
      base: console.base,
      id: entry.id,
      heading: title,
      summary: localText(entry.summary, locale),
      uri: entry.uri,
      kind: componentKindName(entry.pluginId, entry.kind, locale),
      service: serviceName(entry.pluginId, locale),
      pluginRange: entry.pluginVersionRange,
      languages: entry.locales.map((code) => ({ code, name: isSupportedLocale(code) ? LOCALE_NAMES[code] : code })),
      origin: {
        city: localText(entry.origin.city.names, locale, entry.origin.city.slug),
        instance: entry.origin.instance,
        local: entry.origin.local,
        own: entry.origin.ownCity,
        author: entry.origin.author,
        published: entry.origin.published.toISOString(),
      },
      latestVersion: entry.latestVersion,
      versions: entry.versions.map((version) => ({ version: version.version, author: version.author, published: version.published.toISOString(), range: version.pluginVersionRange })),
      items: entry.items?.map((item) => ({ key: item.key, name: localText(item.name, locale, item.key) })) ?? null,
      withdrawn: entry.withdrawnAt !== null,
      imported: entry.imported,
      preview,
      refusal,
      done: NOTICES.find((notice) => notice === done) ?? null,
    },
    { headers: NO_STORE },
  );
}

export async function changeComponent(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const componentId = args.params.id ?? "";
  const intent = String(form.get("intent") ?? "");
  const here = `${console.base}/components/${componentId}`;
  const done = (notice: (typeof NOTICES)[number]) => redirect(`${here}?done=${notice}`, { status: 303, headers: NO_STORE });
  try {
    switch (intent) {
      case "import": {
        const version = Number(form.get("version"));
        const report = await importComponent(
          console.principal,
          { componentId, follow: form.get("follow") === "yes", ...(Number.isInteger(version) && version > 0 && { version }) },
          console.service,
        );
        return json<ComponentResult>({ kind: "imported", report: shownReport(report, console.locale) }, { headers: NO_STORE });
      }
      case "follow":
      case "unfollow":
        await setComponentFollowing(console.principal, { componentId, following: intent === "follow" }, console.service);
        return done(intent === "follow" ? "following" : "notFollowing");
      case "withdraw":
        await withdrawComponent(console.principal, { componentId }, console.service);
        return done("withdrawn");
      default:
        return json({ error: "unknown intent" }, { status: 400, headers: NO_STORE });
    }
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    if (error instanceof Conflict) return json<ComponentResult>({ kind: "refused", error: REFUSALS[error.reason] ?? REFUSED }, { status: 409, headers: NO_STORE });
    if (error instanceof ValidationFailed) return json<ComponentResult>({ kind: "refused", error: REFUSED }, { status: 400, headers: NO_STORE });
    throw error;
  }
}
