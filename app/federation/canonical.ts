// JSON Canonicalization Scheme (RFC 8785): the one serialisation of a JSON value that two
// instances agree on byte for byte, so that a document keeps its signature (and a record its
// hash) whoever parsed and re-serialised it in between. Isomorphic, no dependency.
//
// The rules: no whitespace; object members sorted by their names' UTF-16 code units; strings
// and numbers written as ECMAScript's JSON.stringify writes them (RFC 8785 §3.2.2 adopts exactly
// those rules). A JavaScript value is read as JSON.stringify reads it (toJSON, undefined members
// left out), so canonicalJson(x) === canonicalJson(JSON.parse(JSON.stringify(x))): what the
// sender signs is what the receiver re-serialises from the wire.

/** Why a value has no canonical form (RFC 8785 refuses NaN, Infinity and lone surrogates). */
export class CanonicalJsonError extends TypeError {
  override name = "CanonicalJsonError";
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The RFC 8785 serialisation of a JSON value. */
export function canonicalJson(value: unknown): string {
  const out = write(value, new Set());
  if (out === undefined) throw new CanonicalJsonError("A value that JSON cannot represent (undefined, a function) has no canonical form.");
  return out;
}

/** The serialisation, or undefined for what JSON.stringify leaves out (undefined, functions, symbols). */
function write(input: unknown, ancestors: Set<object>): string | undefined {
  const value = withToJson(input);
  switch (typeof value) {
    case "string":
      return string(value);
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number.`);
      // ECMAScript's Number::toString (JSON.stringify uses it): shortest round-trip form,
      // exponent from 1e21 and below 1e-6, and -0 written as 0.
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new CanonicalJsonError("A BigInt is not a JSON number; convert it first.");
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    default:
      break;
  }
  if (value === null) return "null";
  const object = value as object;
  if (ancestors.has(object)) throw new CanonicalJsonError("A value that contains itself has no JSON form.");
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      // As JSON.stringify: what an object would leave out becomes null in an array.
      return `[${object.map((item) => write(item, ancestors) ?? "null").join(",")}]`;
    }
    const members: string[] = [];
    // Array.prototype.sort compares strings by UTF-16 code units, which is RFC 8785's order.
    for (const key of Object.keys(object).sort()) {
      const member = write((object as Record<string, unknown>)[key], ancestors);
      if (member !== undefined) members.push(`${string(key)}:${member}`);
    }
    return `{${members.join(",")}}`;
  } finally {
    ancestors.delete(object);
  }
}

function withToJson(value: unknown): unknown {
  if (typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}

function string(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError("A string with a lone surrogate has no canonical form.");
  // JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 asks: \b \t \n \f \r \" \\, other
  // control characters as \u00xx (lower-case hex), everything else as is.
  return JSON.stringify(value);
}
