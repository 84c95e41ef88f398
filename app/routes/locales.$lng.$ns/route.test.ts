import { describe, expect, it } from "vitest";
import { TRANSLATIONS_VERSION } from "~/i18n/resources.server";
import { thrownResponse } from "../../../tests/support/web";
import { loader } from "./route";

const args = (url: string, params: Record<string, string>) =>
  ({ request: new Request(url), params, context: {} }) as unknown as Parameters<typeof loader>[0];

describe("/locales/{lng}/{ns}", () => {
  it("serves a namespace of a shipped language, cached for good under the current version", async () => {
    const response = loader(args(`http://localhost/locales/fr/common?v=${TRANSLATIONS_VERSION}`, { lng: "fr", ns: "common" }));
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(await response.json()).toMatchObject({ layout: { skip: "Aller au contenu principal" } });
    const stale = loader(args("http://localhost/locales/fr/common?v=old", { lng: "fr", ns: "common" }));
    expect(stale.headers.get("Cache-Control")).toBe("public, max-age=300");
  });

  it("answers 404 for a language or namespace Civitas does not ship", async () => {
    for (const params of [{ lng: "xx", ns: "common" }, { lng: "fr", ns: "nothing" }, { lng: "__proto__", ns: "common" }]) {
      const response = await thrownResponse(Promise.resolve().then(() => loader(args(`http://localhost/locales/${params.lng}/${params.ns}`, params))));
      expect(response.status).toBe(404);
    }
  });
});
