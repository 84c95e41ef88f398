// /admin/services, server side: the catalogue as this city runs it, and each lifecycle step as
// a form post. Settings are edited field by field from the plugin's settings schema.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { z } from "zod";
import { requireCityConsole } from "~/auth/console.server";
import { readCheckedForm } from "~/auth/csrf.server";
import { Conflict, NotFound, ValidationFailed } from "~/auth/errors";
import { pluginById } from "~/plugins/catalogue.server";
import {
  configurePlugin,
  installPlugin,
  listCityPlugins,
  setPluginEnabled,
  uninstallPlugin,
  upgradePlugin,
} from "~/plugins/lifecycle.server";
import type { Plugin } from "~/plugins/sdk.server";
import { translator } from "~/i18n/i18n.server";
import { pageLocale, siteName } from "~/site.server";
import { notFound } from "~/tenancy/guard.server";

const noStore = { "Cache-Control": "no-store" };

/** How the console edits one setting. */
export type SettingField =
  | { name: string; kind: "boolean" | "number" | "text" | "json"; value: unknown }
  | { name: string; kind: "choice"; value: unknown; choices: string[] }
  | { name: string; kind: "translated"; value: Record<string, string> }
  | { name: string; kind: "secret"; value: unknown };

function settingFields(plugin: Plugin, settings: Record<string, unknown>): SettingField[] {
  const spec = plugin.settings;
  if (!spec) return [];
  const schema = z.toJSONSchema(spec.schema, { unrepresentable: "any" }) as { properties?: Record<string, { type?: string; enum?: string[] }> };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const value = settings[name];
    if (spec.translatable?.includes(name)) return { name, kind: "translated", value: (value ?? {}) as Record<string, string> };
    if (spec.secrets?.includes(name)) return { name, kind: "secret", value };
    if (property.enum) return { name, kind: "choice", value, choices: property.enum };
    if (property.type === "boolean") return { name, kind: "boolean", value };
    if (property.type === "number" || property.type === "integer") return { name, kind: "number", value };
    if (property.type === "string") return { name, kind: "text", value };
    return { name, kind: "json", value };
  });
}

export async function servicesPage({ request, context, params }: LoaderFunctionArgs) {
  const { principal, tenantId, basePath } = await requireCityConsole({ request, context, params }, "plugins.manage");
  const locale = await pageLocale(request, context);
  const city = context.tenant.kind === "city" ? context.tenant.city : null;
  const plugins = await listCityPlugins(principal, { tenantId });
  return json(
    {
      title: `${translator(locale, "services")("title")} – ${siteName(context, locale).text}`,
      locale,
      cityLocales: city?.enabledLocales ?? [],
      servicesBase: `${basePath}/services`,
      services: plugins.map((plugin) => ({
        id: plugin.id,
        name: plugin.names[locale] ?? plugin.id,
        description: plugin.descriptions[locale] ?? "",
        version: plugin.version,
        installedVersion: plugin.installedVersion,
        state: plugin.state,
        upgradable: plugin.upgradable,
        requires: Object.entries(plugin.requires.plugins).map(([id, range]) => `${id} ${range}`),
        settings: plugin.settings ? settingFields(pluginById(plugin.id)!, plugin.settings) : [],
      })),
    },
    { headers: noStore },
  );
}

export type ServicesResult =
  | { kind: "done"; pluginId: string; step: "installed" | "enabled" | "disabled" | "configured" | "upgraded" | "uninstalled" | "purged" }
  | { kind: "refused"; pluginId: string; message: string }
  | { kind: "invalid"; pluginId: string; fields: Record<string, string> };

/** The settings a configure form sent, typed by the plugin's fields (checkboxes absent = false). */
function settingsFrom(form: FormData, fields: readonly SettingField[]): { settings: Record<string, unknown>; problems: Record<string, string> } {
  const settings: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  for (const field of fields) {
    const key = `setting.${field.name}`;
    if (field.kind === "boolean") settings[field.name] = form.get(key) === "on";
    else if (field.kind === "number") {
      const raw = String(form.get(key) ?? "").trim();
      const number = Number(raw);
      if (raw === "" || !Number.isFinite(number)) problems[field.name] = "must be a number";
      else settings[field.name] = number;
    } else if (field.kind === "translated") {
      const texts: Record<string, string> = {};
      for (const [name, value] of form.entries()) {
        if (name.startsWith(`${key}.`) && typeof value === "string" && value.trim()) texts[name.slice(key.length + 1)] = value.trim();
      }
      settings[field.name] = texts;
    } else if (field.kind === "json") {
      const raw = String(form.get(key) ?? "").trim();
      try {
        settings[field.name] = raw === "" ? undefined : JSON.parse(raw);
      } catch {
        problems[field.name] = "must be valid JSON";
      }
    } else {
      const value = form.get(key);
      if (typeof value === "string") settings[field.name] = value;
    }
  }
  return { settings, problems };
}

export async function servicesAction({ request, context, params }: ActionFunctionArgs) {
  const { principal, tenantId } = await requireCityConsole({ request, context, params }, "plugins.manage");
  const form = await readCheckedForm(request);
  const pluginId = String(form.get("pluginId") ?? "");
  const intent = String(form.get("intent") ?? "");
  const service = { tenantId, requestId: context.requestId };
  const answer = (result: ServicesResult, status = 200) => json<ServicesResult>(result, { status, headers: noStore });
  try {
    switch (intent) {
      case "install":
        await installPlugin(principal, { pluginId }, service);
        return answer({ kind: "done", pluginId, step: "installed" });
      case "enable":
      case "disable":
        await setPluginEnabled(principal, { pluginId, enabled: intent === "enable" }, service);
        return answer({ kind: "done", pluginId, step: intent === "enable" ? "enabled" : "disabled" });
      case "upgrade":
        await upgradePlugin(principal, { pluginId }, service);
        return answer({ kind: "done", pluginId, step: "upgraded" });
      case "uninstall": {
        const purge = form.get("purge") === "on";
        await uninstallPlugin(principal, { pluginId, purge, confirmPurge: String(form.get("confirmPurge") ?? "") }, service);
        return answer({ kind: "done", pluginId, step: purge ? "purged" : "uninstalled" });
      }
      case "configure": {
        const plugin = pluginById(pluginId);
        if (!plugin) throw notFound();
        const current = (await listCityPlugins(principal, service)).find((entry) => entry.id === pluginId);
        const { settings, problems } = settingsFrom(form, settingFields(plugin, current?.settings ?? {}));
        if (Object.keys(problems).length > 0) return answer({ kind: "invalid", pluginId, fields: problems }, 400);
        await configurePlugin(principal, { pluginId, settings }, service);
        return answer({ kind: "done", pluginId, step: "configured" });
      }
      default:
        return json({ error: "unknown intent" }, { status: 400 });
    }
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    if (error instanceof Conflict) return answer({ kind: "refused", pluginId, message: error.message }, 409);
    if (error instanceof ValidationFailed) {
      const fields = Object.fromEntries(Object.entries(error.fields).map(([field, messages]) => [field, messages[0] ?? ""]));
      return answer({ kind: "invalid", pluginId, fields }, 400);
    }
    throw error;
  }
}
