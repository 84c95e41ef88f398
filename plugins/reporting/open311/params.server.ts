// What an Open311 client sends: query strings, and form-encoded bodies for POST requests
// (`attribute[code]=value`, `attribute[code][]=v1&attribute[code][]=v2` for multi-value lists).
// The spec's "optional" rule applies throughout: an empty parameter is a missing one.
import type { Request } from "express";
import { badRequest, Open311Error } from "./errors.server";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The body of one POST request: a service request is a few short fields and a description. */
export const MAX_FORM_BYTES = 64 * 1024;

export type Params = {
  /** The first non-empty value of a parameter, trimmed; undefined when missing or empty. */
  get(name: string): string | undefined;
  /** Every non-empty value of a parameter (given several times, or comma-delimited when `split`). */
  list(name: string, options?: { split?: boolean }): string[];
  /** attribute[code]=value pairs; `attribute[code][]` and repeated codes make lists. */
  attributes(): Record<string, string | string[]>;
  names(): string[];
};

export function paramsOf(...sources: URLSearchParams[]): Params {
  const all = (name: string) => sources.flatMap((source) => source.getAll(name));
  return {
    get(name) {
      for (const value of all(name)) {
        const trimmed = value.trim();
        if (trimmed !== "") return trimmed;
      }
      return undefined;
    },
    list(name, { split = false } = {}) {
      const values = all(name).flatMap((value) => (split ? value.split(",") : [value]));
      return values.map((value) => value.trim()).filter((value) => value !== "");
    },
    attributes() {
      const attributes: Record<string, string | string[]> = {};
      for (const source of sources) {
        for (const [key, value] of source) {
          const match = /^attribute\[([^\][]+)\](\[\])?$/.exec(key);
          if (!match) continue;
          const code = match[1]!;
          const trimmed = value.trim();
          const current = attributes[code];
          if (match[2] !== undefined || current !== undefined) {
            const values = current === undefined ? [] : Array.isArray(current) ? current : [current];
            if (trimmed !== "") values.push(trimmed);
            attributes[code] = values;
          } else if (trimmed !== "") {
            attributes[code] = trimmed;
          }
        }
      }
      return attributes;
    },
    names() {
      return [...new Set(sources.flatMap((source) => [...source.keys()]))];
    },
  };
}

/** The query string exactly as sent (Express' own parser would turn `a[b]` into objects). */
export function queryOf(req: Request): URLSearchParams {
  const at = req.originalUrl.indexOf("?");
  return new URLSearchParams(at === -1 ? "" : req.originalUrl.slice(at + 1));
}

/**
 * The form-encoded body of a POST, read here (not by a body parser mounted for the whole app) so
 * that its size and type are Open311's business: anything else is a 400 in Open311's shape.
 */
export async function readForm(req: Request, maxBytes = MAX_FORM_BYTES): Promise<URLSearchParams> {
  const type = (req.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const declared = req.get("content-length");
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new Open311Error(413, `The request body is larger than ${maxBytes} bytes.`);
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners("data");
        req.resume();
        reject(new Open311Error(413, `The request body is larger than ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
  if (body.length === 0) return new URLSearchParams();
  if (type !== "application/x-www-form-urlencoded") {
    throw badRequest("Send the service request form-encoded (Content-Type: application/x-www-form-urlencoded; charset=utf-8).");
  }
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw badRequest("The request body is not valid UTF-8.");
  }
  return new URLSearchParams(text);
}

// The W3C note's profile of ISO 8601, with the time zone the spec requires (Z or ±hh:mm).
const W3_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;

/** A w3-format datetime with its time zone; undefined when `value` is not one. */
export function parseW3Datetime(value: string): Date | undefined {
  const match = W3_DATETIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction = "0", zone] = match;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, "0").slice(0, 3)}${zone === "Z" ? "Z" : zone}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Date rolls 2024-02-31 over to March: such a date does not exist.
  const [offsetHours, offsetMinutes] = zone === "Z" ? [0, 0] : zone!.slice(1).split(":").map(Number);
  const offset = (zone?.startsWith("-") ? -1 : 1) * ((offsetHours ?? 0) * 60 + (offsetMinutes ?? 0));
  const local = new Date(date.getTime() + offset * 60_000);
  if (local.getUTCFullYear() !== Number(year) || local.getUTCMonth() + 1 !== Number(month) || local.getUTCDate() !== Number(day)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  return date;
}

/** A datetime in the w3 format Open311 returns: UTC, whole seconds (2010-01-01T00:00:00Z). */
export function w3Datetime(date: Date | null | undefined): string | null {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}
