// Writes tenants/city.schema.json from the zod schema of city files (editors use it for hints;
// app/tenancy/city-file.server.test.ts fails when the committed file drifts from the code).
// Run: tsx scripts/tenants-schema.ts   (--check: write nothing, exit 1 when out of date)
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { cityFileJsonSchema } from "../app/tenancy/city-file.server";

const file = path.resolve("tenants/city.schema.json");
const shown = path.relative(process.cwd(), file);
const wanted = `${JSON.stringify(cityFileJsonSchema(), null, 2)}\n`;

if (process.argv.includes("--check")) {
  const committed = await readFile(file, "utf8").catch(() => "");
  if (committed !== wanted) {
    console.error(`${shown} is out of date: run tsx scripts/tenants-schema.ts`);
    process.exit(1);
  }
  console.log(`${shown} is up to date.`);
} else {
  await writeFile(file, wanted);
  console.log(`wrote ${shown}`);
}
