// Paths no route claims: 404 in the right frame, or 503 when the city is suspended.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantResolver } from "~/tenancy/resolve.server";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { insertCity, loaderArgs, thrownResponse } from "../../../tests/support/web";
import { loader } from "./route";

let processDatabase: ProcessDatabase;
const resolver = createTenantResolver();

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  await insertCity({ slug: "ville", names: { fr: "Ville" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  await insertCity({ slug: "closed", names: { en: "Closedtown" }, defaultLocale: "en", enabledLocales: ["en"], status: "suspended" });
});

afterAll(async () => {
  await processDatabase?.release();
});

describe("an unknown page", () => {
  it("is a 404 on the platform, on a city host and under a city's path", async () => {
    for (const url of ["http://localhost/no/such/page", "http://ville.localhost/no/such/page", "http://localhost/ville/no/such/page"]) {
      const response = await thrownResponse(loader(await loaderArgs(resolver, url)));
      expect(response.status, url).toBe(404);
    }
  });

  it("is a 503 on a suspended city: the whole city is unavailable", async () => {
    for (const url of ["http://closed.localhost/anything", "http://localhost/closed/anything"]) {
      const response = await thrownResponse(loader(await loaderArgs(resolver, url)));
      expect(response.status, url).toBe(503);
    }
  });
});
