// Open311's two representations of one answer: XML (required by the spec) and JSON (its Spark
// convention mapping: the root element disappears, a list of repeated elements becomes an array).
// Element names are the spec's: services/service, service_definition, service_requests/request,
// errors/error, discovery/endpoints/endpoint.
import { XMLBuilder } from "fast-xml-parser";

export type Format = "json" | "xml";

export const CONTENT_TYPES: Record<Format, string> = {
  json: "application/json; charset=utf-8",
  xml: "text/xml; charset=utf-8",
};

/** A value of an Open311 element; null is an empty element (`<account_id/>`, `"account_id":null`). */
export type Scalar = string | number | boolean | null;
export type Element = { [name: string]: Scalar | Element | Element[] | Scalar[] | undefined };

const builder = new XMLBuilder({
  ignoreAttributes: true,
  format: true,
  indentBy: "  ",
  suppressEmptyNode: false,
  processEntities: true,
});

// XML 1.0 cannot carry these characters at all (not even escaped): text written by residents or
// staff could hold them, and one would make the whole document unreadable for every client.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlSafe(node: unknown): unknown {
  if (typeof node === "string") return node.replace(NOT_XML, "");
  if (Array.isArray(node)) return node.map(xmlSafe);
  if (node && typeof node === "object") {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) if (value !== undefined) copy[key] = xmlSafe(value);
    return copy;
  }
  return node;
}

/**
 * An XML list: `<root><item>…</item><item>…</item></root>`. The JSON form of the same answer is
 * the array of items.
 */
export function renderList(format: Format, root: string, item: string, items: readonly Element[]): string {
  if (format === "json") return JSON.stringify(items);
  const body = items.length === 0 ? { [root]: "" } : { [root]: { [item]: items.map(xmlSafe) } };
  return xmlDocument(body);
}

/** A single element (service_definition, discovery): the JSON form is the object itself. */
export function renderObject(format: Format, root: string, value: Element, lists: Record<string, string> = {}): string {
  if (format === "json") return JSON.stringify(value);
  return xmlDocument({ [root]: xmlSafe(wrapLists(value, lists)) });
}

/**
 * Spark's inverse: JSON arrays of elements (`"attributes": [...]`) are XML wrappers holding
 * repeated children (`<attributes><attribute>…`). `lists` names the child of each wrapper.
 */
function wrapLists(value: Element, lists: Record<string, string>): Element {
  const out: Element = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    if (Array.isArray(child)) {
      const itemName = lists[key];
      if (!itemName) throw new Error(`No XML element name for the items of ${key}.`);
      const items = (child as (Element | Scalar)[]).map((item) =>
        item !== null && typeof item === "object" ? wrapLists(item, lists) : item,
      );
      out[key] = items.length === 0 ? "" : ({ [itemName]: items } as Element);
    } else if (child !== null && typeof child === "object") {
      out[key] = wrapLists(child, lists);
    } else {
      out[key] = child;
    }
  }
  return out;
}

function xmlDocument(body: unknown): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${builder.build(body)}`;
}

/** `requests.json` → ["requests", "json"]; a name without a known format → null. */
export function splitFormat(segment: string): { name: string; format: Format } | null {
  const dot = segment.lastIndexOf(".");
  if (dot <= 0) return null;
  const format = segment.slice(dot + 1).toLowerCase();
  if (format !== "json" && format !== "xml") return null;
  return { name: segment.slice(0, dot), format };
}
