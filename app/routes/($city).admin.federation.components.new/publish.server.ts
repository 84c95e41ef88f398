// Publishing a component (a city's admins): what to publish among the component kinds of the
// services the city runs, a title per city language and an optional summary; or, for one of the
// city's components (`?component=`), its next version with the same service and kind.
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
  textsFrom,
  type FederationConsole,
} from "~/components/federation.server";
import { getComponent, publishComponent } from "~/federation/components.server";
import { translator } from "~/i18n/i18n.server";
import { pluginById } from "~/plugins/catalogue.server";
import { listCityPlugins } from "~/plugins/lifecycle.server";
import { notFound } from "~/tenancy/guard.server";

type Args = { request: Request; context: AppLoadContext; params: { city?: string } };

export const TITLE_MAX = 120;
export const SUMMARY_MAX = 1000;

const ERRORS = {
  source: "federation:publish.errors.source",
  title: "federation:publish.errors.title",
  titleTooLong: "federation:publish.errors.titleTooLong",
  summaryTooLong: "federation:publish.errors.summaryTooLong",
  definitions: "federation:publish.errors.definitions",
  withdrawn: "federation:publish.errors.withdrawn",
} as const;

export type PublishErrors = { source?: string; title?: string; summary?: string; form?: string };
export type PublishResult = {
  kind: "invalid";
  errors: PublishErrors;
  values: { source: string; title: Record<string, string>; summary: Record<string, string> };
};

/** What the city can publish: each component kind of each service it runs, as "plugin:kind". */
async function sources(console: FederationConsole) {
  const running = (await listCityPlugins(console.principal, console.service)).filter((plugin) => plugin.state === "enabled");
  return running.flatMap((plugin) =>
    (pluginById(plugin.id)?.federation?.components ?? []).map((component) => ({
      value: `${plugin.id}:${component.kind}`,
      pluginId: plugin.id,
      kind: component.kind,
      label: `${componentKindName(plugin.id, component.kind, console.locale)} — ${serviceName(plugin.id, console.locale)}`,
    })),
  );
}

/** The city's own component a new version is published of, or a 404. */
async function ownComponent(console: FederationConsole, componentId: string) {
  try {
    const component = await getComponent(console.principal, { componentId }, console.service);
    if (!component.origin.ownCity || component.withdrawnAt) throw notFound();
    return component;
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}

export async function publishPage(args: Args) {
  const console = await requireFederationConsole(args);
  const componentId = new URL(args.request.url).searchParams.get("component");
  const existing = componentId ? await ownComponent(console, componentId) : null;
  const t = translator(console.locale, "federation");
  const title = existing ? t("publish.titleNewVersion", { title: localText(existing.title, console.locale).text }) : t("publish.title");
  return json(
    {
      title: pageTitle(console, title),
      heading: title,
      base: console.base,
      cityLocales: console.city.locales,
      defaultLocale: console.city.defaultLocale,
      sources: existing ? [] : await sources(console),
      existing: existing
        ? {
            id: existing.id,
            source: `${existing.pluginId}:${existing.kind}`,
            label: `${componentKindName(existing.pluginId, existing.kind, console.locale)} — ${serviceName(existing.pluginId, console.locale)}`,
            version: existing.latestVersion + 1,
            title: existing.title,
            summary: existing.summary,
          }
        : null,
    },
    { headers: NO_STORE },
  );
}

export async function publish(args: Args) {
  const console = await requireFederationConsole(args);
  const form = await readCheckedForm(args.request);
  const componentId = String(form.get("componentId") ?? "") || null;
  const existing = componentId ? await ownComponent(console, componentId) : null;
  const source = existing ? `${existing.pluginId}:${existing.kind}` : String(form.get("source") ?? "");
  const chosen = existing ? { pluginId: existing.pluginId, kind: existing.kind } : (await sources(console)).find((candidate) => candidate.value === source);
  const title = textsFrom(form, "title", console.city.locales);
  const summary = textsFrom(form, "summary", console.city.locales);
  const errors: PublishErrors = {};
  if (!chosen) errors.source = ERRORS.source;
  if (!title[console.city.defaultLocale]) errors.title = ERRORS.title;
  if (Object.values(title).some((text) => text.length > TITLE_MAX)) errors.title = ERRORS.titleTooLong;
  if (Object.values(summary).some((text) => text.length > SUMMARY_MAX)) errors.summary = ERRORS.summaryTooLong;
  const invalid = () => json<PublishResult>({ kind: "invalid", errors, values: { source, title, summary } }, { status: 400, headers: NO_STORE });
  if (!chosen || Object.keys(errors).length > 0) return invalid();
  try {
    const entry = await publishComponent(console.principal, { pluginId: chosen.pluginId, kind: chosen.kind, title, summary, componentId }, console.service);
    return redirect(`${console.base}/components/${entry.id}?done=published`, { status: 303, headers: NO_STORE });
  } catch (error) {
    if (error instanceof ValidationFailed) {
      if (error.fields.title) errors.title = ERRORS.titleTooLong;
      if (error.fields.summary) errors.summary = ERRORS.summaryTooLong;
      if (error.fields.kind || error.fields.pluginId) errors.source = ERRORS.source;
      // The service has nothing of this kind to share, or its definitions do not pass its own rules.
      if (Object.keys(error.fields).some((field) => field.startsWith("definitions"))) errors.form = ERRORS.definitions;
      if (Object.keys(errors).length === 0) errors.form = ERRORS.definitions;
      return invalid();
    }
    if (error instanceof NotFound) {
      // The service stopped running meanwhile.
      errors.source = ERRORS.source;
      return invalid();
    }
    if (error instanceof Conflict) {
      errors.form = ERRORS.withdrawn;
      return invalid();
    }
    throw error;
  }
}
