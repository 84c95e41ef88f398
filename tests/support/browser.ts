// A browser, as far as HTTP goes: a cookie jar (host and path matched; Secure and SameSite are
// the server's business), redirects followed one by one so tests can watch them, and forms
// read from the page and submitted with their hidden fields. Enough to drive a sign-in through
// the provider and back without Chromium.
export type Page = { url: string; status: number; headers: Headers; body: string };

type StoredCookie = { name: string; value: string; host: string; path: string; expires: number | null };

export class TestBrowser {
  private cookies: StoredCookie[] = [];
  /** Every URL visited, in order (redirect hops included). */
  readonly visited: string[] = [];

  constructor(private readonly headers: Record<string, string> = {}) {}

  cookieHeader(url: URL): string {
    const now = Date.now();
    this.cookies = this.cookies.filter((cookie) => cookie.expires === null || cookie.expires > now);
    return this.cookies
      .filter((cookie) => cookie.host === url.host && (url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith("/") ? cookie.path : `${cookie.path}/`)))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
  }

  cookie(name: string, url: string): string | undefined {
    const target = new URL(url);
    return this.cookieHeader(target)
      .split("; ")
      .map((pair) => pair.split("="))
      .find(([key]) => key === name)?.[1];
  }

  private store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const index = pair.indexOf("=");
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      let path = url.pathname.slice(0, url.pathname.lastIndexOf("/")) || "/";
      let expires: number | null = null;
      for (const attribute of attributes) {
        const [key = "", raw = ""] = attribute.split("=");
        if (key.toLowerCase() === "path") path = raw || "/";
        if (key.toLowerCase() === "max-age") expires = Date.now() + Number(raw) * 1000;
        if (key.toLowerCase() === "expires" && expires === null) expires = Date.parse(raw);
      }
      this.cookies = this.cookies.filter((cookie) => !(cookie.name === name && cookie.host === url.host && cookie.path === path));
      if (expires !== null && expires <= Date.now()) continue;
      this.cookies.push({ name, value, host: url.host, path, expires });
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    this.visited.push(target.toString());
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.Cookie = cookie;
    const response = await fetch(target, { method: init.method ?? "GET", body: init.body, headers, redirect: "manual" });
    this.store(target, response.headers);
    return { url: target.toString(), status: response.status, headers: response.headers, body: await response.text() };
  }

  /** Requests `url` and follows redirects (GET) until a page answers. */
  async go(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}, maxHops = 10): Promise<Page> {
    let page = await this.request(url, init);
    for (let hop = 0; hop < maxHops && page.status >= 300 && page.status < 400; hop += 1) {
      const location = page.headers.get("Location");
      if (!location) break;
      page = await this.request(new URL(location, page.url).toString());
    }
    return page;
  }

  /**
   * Submits the first form of `page` whose HTML matches `which` (default: the first form), with
   * its hidden and pre-filled fields plus `fields`; follows redirects.
   */
  async submit(page: Page, fields: Record<string, string>, which?: RegExp): Promise<Page> {
    const forms = [...page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
    const form = forms.find((match) => (which ? which.test(match[0]) : true));
    if (!form) throw new Error(`no form${which ? ` matching ${which}` : ""} on ${page.url}:\n${page.body.slice(0, 2000)}`);
    const attribute = (source: string, name: string) =>
      decodeEntities(new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, "i").exec(source)?.[1] ?? "");
    const action = new URL(attribute(form[1] ?? "", "action") || page.url, page.url).toString();
    const method = (attribute(form[1] ?? "", "method") || "get").toUpperCase();
    const body = new URLSearchParams();
    for (const input of (form[2] ?? "").matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1] ?? "", "name");
      const type = attribute(input[1] ?? "", "type").toLowerCase();
      if (!name || name in fields) continue;
      if ((type === "checkbox" || type === "radio") && !/\bchecked\b/i.test(input[1] ?? "")) continue;
      body.append(name, attribute(input[1] ?? "", "value"));
    }
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    const button = /<button\b([^>]*)>/i.exec(form[2] ?? "");
    const buttonName = button ? attribute(button[1] ?? "", "name") : "";
    if (buttonName && !body.has(buttonName)) body.append(buttonName, attribute(button?.[1] ?? "", "value"));
    if (method === "GET") {
      const target = new URL(action);
      target.search = body.toString();
      return this.go(target.toString());
    }
    return this.go(action, { method: "POST", body, headers: { Origin: new URL(page.url).origin } });
  }
}

export function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
