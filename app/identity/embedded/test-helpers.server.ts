// For the embedded provider's tests: the provider served over real HTTP, a city with its realm,
// and a minimal browser (cookie jar, manual redirects, form posts) to drive sign-in like a person.
import { createHash, randomBytes } from "node:crypto";
import express from "express";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import type { Prisma } from "../../db/generated/client.ts";
import { serve } from "../../../tests/support/http";
import { createCity } from "../../../tests/support/factories";
import { realmSpec } from "../sites.server";
import { createEmbeddedBackend, type EmbeddedBackend } from "./backend.server";

export type Harness = {
  base: string;
  backend: EmbeddedBackend;
  /** Another backend over the same database and address, as after a restart. */
  restart(): EmbeddedBackend;
  close(): Promise<void>;
};

/** Serves the router of a backend created once the port is known (its issuer needs it). */
export async function serveProvider(database: Database): Promise<Harness> {
  const app = express();
  let current: EmbeddedBackend | undefined;
  app.use((req, res, next) => (current ? current.router()(req, res, next) : next()));
  app.use((_req, res) => {
    res.status(404).send("not the provider's");
  });
  const served = await serve(app);
  const base = `http://127.0.0.1:${served.port}`;
  current = createEmbeddedBackend({ database, publicUrl: base });
  const harness: Harness = {
    base,
    backend: current,
    restart() {
      current = createEmbeddedBackend({ database, publicUrl: base });
      harness.backend = current;
      return current;
    },
    close: () => served.close(),
  };
  return harness;
}

export type TestRealm = { realm: string; tenantId: string; webClientSecret: string };

/** A city (its realm is its slug) with the identity_realms row provisioning would insert. */
export async function createCityRealm(
  database: Database,
  backend: EmbeddedBackend,
  base: string,
  city: { names?: Record<string, string>; defaultLocale?: string; enabledLocales?: string[]; branding?: Prisma.InputJsonObject } = {},
): Promise<TestRealm> {
  const { id, slug } = await createCity(database);
  const webClientSecret = randomBytes(24).toString("base64url");
  await withPlatformAdmin(async (tx) => {
    await tx.city.update({
      where: { id },
      data: {
        ...(city.names ? { names: city.names } : {}),
        ...(city.defaultLocale ? { defaultLocale: city.defaultLocale } : {}),
        ...(city.enabledLocales ? { enabledLocales: city.enabledLocales } : {}),
        ...(city.branding ? { branding: city.branding } : {}),
      },
    });
    await tx.identityRealm.create({ data: { realm: slug, cityId: id, webClientSecret } });
  }, database);
  const spec = await realmSpec(slug, { database, publicUrl: base });
  if (!spec) throw new Error("the realm spec of a new city is missing");
  await backend.ensureRealm(spec);
  return { realm: slug, tenantId: id, webClientSecret };
}

// --- A browser -----------------------------------------------------------------------------

type Cookie = { name: string; value: string; path: string };

export class Browser {
  readonly #cookies = new Map<string, Cookie>();
  readonly acceptLanguage: string | undefined;

  constructor(options: { acceptLanguage?: string } = {}) {
    this.acceptLanguage = options.acceptLanguage;
  }

  #cookieHeader(url: URL): string {
    const matches = [...this.#cookies.values()].filter(
      (cookie) =>
        url.pathname === cookie.path ||
        (url.pathname.startsWith(cookie.path) && (cookie.path.endsWith("/") || url.pathname[cookie.path.length] === "/")),
    );
    return matches.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
  }

  #store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const separator = pair.indexOf("=");
      const name = pair.slice(0, separator);
      const value = pair.slice(separator + 1);
      let path = url.pathname.replace(/\/[^/]*$/, "") || "/";
      let expired = false;
      for (const attribute of attributes) {
        const [key = "", attributeValue = ""] = attribute.split("=");
        const lower = key.toLowerCase();
        if (lower === "path") path = attributeValue;
        if (lower === "max-age" && Number(attributeValue) <= 0) expired = true;
        if (lower === "expires" && Date.parse(attributeValue) < Date.now()) expired = true;
      }
      const key = `${name}|${path}`;
      if (expired || value === "") this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  /** One request, redirects not followed; cookies sent and kept. */
  async request(href: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(href);
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.#cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (this.acceptLanguage) headers["accept-language"] = this.acceptLanguage;
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const response = await fetch(url, { method: init.method ?? (body ? "POST" : "GET"), headers, body, redirect: "manual" });
    this.#store(url, response);
    return response;
  }

  /**
   * Follows redirects on `origin` (the provider), stopping at the first page or at a redirect
   * that leaves it (to a client's redirect address): that address is returned, not fetched.
   */
  async visit(
    href: string,
    origin: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ response: Response; url: string; leftTo?: URL }> {
    let url = href;
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops += 1) {
      const location = response.headers.get("location");
      if (!location) break;
      const next = new URL(location, url);
      if (next.origin !== origin || !next.pathname.startsWith("/realms/")) return { response, url, leftTo: next };
      url = next.href;
      response = await this.request(url);
    }
    return { response, url };
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

/** The action of the page's (first) form. */
export function formAction(html: string): string {
  const match = /<form[^>]*\saction="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no form in page:\n${html.slice(0, 2000)}`);
  return match[1].replace(/&amp;/g, "&");
}

export function hiddenInputs(html: string): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (match[1]) inputs[match[1]] = (match[2] ?? "").replace(/&amp;/g, "&").replace(/&quot;/g, '"');
  }
  return inputs;
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}
