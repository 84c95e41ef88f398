// The addresses a city answers at, as operators are told after onboarding and in the console:
// its path on the public URL, its host under the platform domain, and its own domains.
import { platformDomain, publicUrl } from "../config.server";

export function cityAddresses(slug: string, domains: readonly string[]): string[] {
  const base = new URL(publicUrl());
  const port = base.port ? `:${base.port}` : "";
  return [`${base.origin}/${slug}`, `${base.protocol}//${slug}.${platformDomain()}${port}/`, ...domains.map((domain) => `${base.protocol}//${domain}/`)];
}
