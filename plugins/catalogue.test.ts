// The catalogue is the set of plugin folders: each folder is listed once in catalogue.ts under
// its own id, and keeps what it contributes inside it.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PLUGINS } from "./catalogue";

const folders = readdirSync("plugins", { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe("the plugin catalogue", () => {
  it("lists every plugin folder, under the folder's name", () => {
    expect(PLUGINS.map((plugin) => plugin.id).sort()).toEqual(folders);
  });

  it.each(folders)("%s keeps its translations and migrations in its folder", (folder) => {
    expect(existsSync(path.join("plugins", folder, "locales", "en.json"))).toBe(true);
    const migrations = path.join("plugins", folder, "migrations");
    if (!existsSync(migrations)) return;
    for (const name of readdirSync(migrations)) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });
});
