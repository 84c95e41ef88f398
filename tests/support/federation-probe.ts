// Run inside a federation test instance (tests/support/federation-instance.ts): a signed request
// as that instance, answered as plain data for the parent test.
import { signedFetch } from "../../app/federation/fetch.server";

export async function signedGet(url: string): Promise<{ status: number; body: unknown }> {
  const response = await signedFetch(url, { method: "GET" });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the text itself
  }
  return { status: response.status, body };
}
