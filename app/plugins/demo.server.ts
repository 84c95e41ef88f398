// Demo services for evaluation instances: tenants/demo/services.yaml says which catalogue services
// each demo city runs and with which settings; they are installed (as the system) where missing,
// then each plugin adds its own demo data (the reporting plugin: Open311's demo API client).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { withPlatformAdmin, type Database } from "../db/database.server";
import { pluginById } from "./catalogue.server";
import { installPlugin, listCityPluginsAsSystem } from "./lifecycle.server";

const fileSchema = z.strictObject({
  cities: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()).nullable())),
});

export async function installDemoServices(options: { tenantsDir: string; database?: Database; log: (line: string) => void }): Promise<void> {
  const file = path.join(options.tenantsDir, "demo", "services.yaml");
  if (!existsSync(file)) return;
  const parsed = fileSchema.safeParse(parse(await readFile(file, "utf8")));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  const slugs = Object.keys(parsed.data.cities);
  const cities = await withPlatformAdmin(
    (tx) => tx.city.findMany({ where: { slug: { in: slugs } }, select: { id: true, slug: true } }),
    options.database,
  );
  for (const city of cities) {
    const wanted = parsed.data.cities[city.slug] ?? {};
    const installed = new Map((await listCityPluginsAsSystem(city.id, options.database)).map((plugin) => [plugin.id, plugin.state]));
    const added: string[] = [];
    for (const [pluginId, settings] of Object.entries(wanted)) {
      const plugin = pluginById(pluginId);
      if (!plugin) throw new Error(`${file}: cities.${city.slug}.${pluginId} is not in the catalogue`);
      if (installed.get(pluginId) === "available") {
        await installPlugin({ kind: "system", tenantId: city.id, actorId: "demo-seed" }, { pluginId, settings: settings ?? {} }, { database: options.database });
        added.push(pluginId);
      }
      await plugin.demo?.({ tenantId: city.id, slug: city.slug, database: options.database, log: options.log });
    }
    if (added.length > 0) options.log(`demo services: ${city.slug} now runs ${added.join(", ")}`);
  }
}
