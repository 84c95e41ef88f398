// Host names as clients send them (Host, X-Forwarded-Host) and as operators configure them
// (CIVITAS_DOMAIN). Pure: config.server.ts imports it, so it must import nothing from app/
// (city-file.server.ts and resolve.server.ts import config.server.ts).
import { domainToASCII } from "node:url";

/** One label of a DNS host name, lower case. */
export const LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]{2,45}\]$/;
const PORT = /^\d{1,5}$/;
const IPV4_PART = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
// Decimal, no leading zeros: WHATWG URL reads 010 as octal and 0x10 as hex, Express does not.
const DOTTED_QUAD = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);

const validPort = (port: string) => PORT.test(port) && Number(port) <= 65_535;

/**
 * Lower-cases a Host header value, drops the port and a trailing dot, and returns null for
 * anything that is not a DNS name, a dotted-quad IPv4 address or a bracketed IPv6 literal.
 * Whatever it accepts, the WHATWG URL parser (which builds the Request Remix sees) accepts too,
 * and reads as the same host.
 */
export function normaliseHost(host: string | undefined | null): string | null {
  if (!host) return null;
  let value = host.trim().toLowerCase();
  if (value.length === 0 || value.length > 260) return null;

  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end === -1) return null;
    const rest = value.slice(end + 1);
    if (rest !== "" && !(rest.startsWith(":") && validPort(rest.slice(1)))) return null;
    value = value.slice(0, end + 1);
    if (!IPV6_LITERAL.test(value)) return null;
    // The URL parser checks the address and writes it in its shortest form ([::1]).
    const ascii = domainToASCII(value);
    return ascii.startsWith("[") ? ascii : null;
  }

  const colon = value.indexOf(":");
  if (colon !== -1) {
    if (!validPort(value.slice(colon + 1))) return null;
    value = value.slice(0, colon);
  }
  if (value.endsWith(".")) value = value.slice(0, -1);
  if (value.length === 0 || value.length > 253) return null;
  const labels = value.split(".");
  if (!labels.every((label) => LABEL_PATTERN.test(label))) return null;
  // A numeric last label makes the URL parser read the whole name as an IPv4 address
  // (a.999, 1.2.3.256 and 99999999999 are errors there; 1234 would become 0.0.4.210).
  if (/^\d+$/.test(labels.at(-1) ?? "") && !DOTTED_QUAD.test(value)) return null;
  // The URL parser's own verdict: "" for what it rejects (xn--a: broken punycode), another
  // name for what it rewrites (0x7f.0x1 is 127.0.0.1).
  return domainToASCII(value) === value ? value : null;
}

/**
 * CIVITAS_DOMAIN and the like: a bare host name (no scheme, port, path or trailing dot).
 * Returns it lower-cased, or null.
 */
export function normalisePlatformDomain(domain: string): string | null {
  const host = normaliseHost(domain);
  return host !== null && host === domain.toLowerCase() ? host : null;
}
