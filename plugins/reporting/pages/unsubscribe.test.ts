// /services/reporting/unsubscribe: a valid link asks to confirm and changes nothing by itself; the
// confirmation stops the emails; a forged or mangled link is refused with a 400.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlatformAdmin } from "../../../app/db/database.server";
import { createTenantResolver } from "../../../app/tenancy/resolve.server";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs } from "../../../tests/support/web";
import { REPORTING_DEFAULTS } from "../settings.server";
import { unsubscribeUrl } from "../unsubscribe.server";
import { action, loader } from "./unsubscribe";

let processDatabase: ProcessDatabase;
let villeId: string;
const resolver = createTenantResolver();
const BASE = "http://localhost/ville/services/reporting";

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  villeId = await insertCity({ slug: "ville", names: { fr: "Ville" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  await withPlatformAdmin(async (tx) => {
    await tx.pluginInstallation.create({ data: { tenantId: villeId, pluginId: "reporting", version: "1.0.0", settings: REPORTING_DEFAULTS } });
    const categoryId = randomUUID();
    const requestId = randomUUID();
    await tx.reportingCategory.create({ data: { tenantId: villeId, id: categoryId, code: "noise", names: { fr: "Bruit" } } });
    await tx.reportingRequest.create({ data: { tenantId: villeId, id: requestId, trackingId: "K7M2-Q9XH", categoryId, description: "x", address: "y", source: "portal", locale: "fr", reporterEmail: "me@example.org" } });
  });
});

afterAll(async () => {
  await processDatabase?.release();
});

const reporterEmail = async () =>
  (await withPlatformAdmin((tx) => tx.reportingRequest.findFirstOrThrow({ where: { trackingId: "K7M2-Q9XH" }, select: { reporterEmail: true } }))).reporterEmail;

describe("the unsubscribe page", () => {
  it("asks to confirm a valid link, then stops the emails; a forged link is refused", async () => {
    const path = await unsubscribeUrl({ tenantId: villeId, servicePath: "/ville/services/reporting", trackingId: "K7M2-Q9XH", email: "me@example.org" });
    const url = `http://localhost${path}`;
    const shown = await loader(await loaderArgs(resolver, url, { params: { city: "ville" } }));
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ state: "confirm", link: { trackingId: "K7M2-Q9XH", email: "me@example.org" } });
    expect(await reporterEmail()).toBe("me@example.org");

    const forged = await loader(await loaderArgs(resolver, url.replace("me%40example.org", "you%40example.org"), { params: { city: "ville" } }));
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ state: "invalid" });

    const link = new URL(url);
    const fields = { r: link.searchParams.get("r")!, e: link.searchParams.get("e")!, t: link.searchParams.get("t")! };
    const done = await action(await loaderArgs(resolver, `${BASE}/unsubscribe`, { method: "POST", params: { city: "ville" }, headers: formHeaders(`${BASE}/unsubscribe`), body: await formBody(fields) }));
    expect(await done.json()).toMatchObject({ state: "done" });
    expect(await reporterEmail()).toBeNull();
  });
});
