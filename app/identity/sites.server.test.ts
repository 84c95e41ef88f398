import { describe, expect, it } from "vitest";
import { webRedirectUris } from "./realm";
import { citySites, platformSites } from "./sites.server";

describe("where a realm's people come from", () => {
  it("is every host of the city on the public URL's scheme and port, and its path on the platform host", () => {
    const sites = citySites({ slug: "paris", domains: ["services.paris.fr"] }, { publicUrl: "https://civitas.example", domain: "civitas.example" });
    expect(sites).toEqual([
      { origin: "https://paris.civitas.example", basePath: "" },
      { origin: "https://services.paris.fr", basePath: "" },
      { origin: "https://civitas.example", basePath: "/paris" },
    ]);
    expect(webRedirectUris(sites)).toContain("https://civitas.example/paris/auth/callback");
  });

  it("adds {slug}.localhost on a developer machine, with the port", () => {
    const sites = citySites({ slug: "paris", domains: [] }, { publicUrl: "http://localhost:3000", domain: "localhost" });
    expect(sites).toEqual([
      { origin: "http://paris.localhost:3000", basePath: "" },
      { origin: "http://localhost:3000", basePath: "/paris" },
    ]);
    expect(platformSites({ publicUrl: "http://localhost:3000" })).toEqual([{ origin: "http://localhost:3000", basePath: "" }]);
  });
});
