// Open311's error answers: an HTTP status (404 for what does not exist, 403 for a missing or
// wrong api_key, 400 for anything else the client got wrong) and a list of errors, each with a
// `code` and a `description` meant to be shown to the person using the client.
import { renderList, type Format } from "./format.server";

export type Open311ErrorItem = { code: number; description: string };

export class Open311Error extends Error {
  override name = "Open311Error";
  readonly status: number;
  readonly errors: readonly Open311ErrorItem[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, descriptions: string | readonly string[], headers: Record<string, string> = {}) {
    const list = typeof descriptions === "string" ? [descriptions] : descriptions;
    super(list.join(" "));
    this.status = status;
    this.errors = list.map((description) => ({ code: status, description }));
    this.headers = headers;
  }
}

export const badRequest = (descriptions: string | readonly string[]) => new Open311Error(400, descriptions);
export const notFound = (description: string) => new Open311Error(404, description);
export const forbidden = (description: string) => new Open311Error(403, description);

export function renderErrors(format: Format, errors: readonly Open311ErrorItem[]): string {
  return renderList(format, "errors", "error", errors.map((error) => ({ code: error.code, description: error.description })));
}
