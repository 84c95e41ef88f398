// The expected failures of identity and access, and of the services that check it. Each has a
// stable code (STYLE.md: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, VALIDATION_FAILED, CONFLICT) and
// an HTTP status, and a message that is safe to show: nothing from a token or the database.
// Isomorphic: pages may test `error.code` too.

export type ErrorCode = "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" | "VALIDATION_FAILED" | "CONFLICT";

const BRANDS = Symbol.for("civitas.errors.brands");
type Branded = { [BRANDS]?: readonly string[] };

/**
 * An expected failure: the GraphQL layer and routes answer it with `code` and `status`.
 *
 * `instanceof` compares brands, not class objects: the server entry and the Remix build each
 * bundle this module, so an error thrown by one bundle's copy must still be recognised by the
 * other's (the process shares one verifier between them).
 */
export abstract class ServiceError extends Error {
  static readonly brand: string = "ServiceError";
  abstract readonly code: ErrorCode;
  abstract readonly status: number;

  static override [Symbol.hasInstance](value: unknown): boolean {
    const brands = typeof value === "object" && value !== null ? (value as Branded)[BRANDS] : undefined;
    return Array.isArray(brands) && brands.includes(this.brand);
  }

  constructor(message: string) {
    super(message);
    const brands: string[] = [];
    for (let type: unknown = new.target; typeof type === "function" && "brand" in type; type = Object.getPrototypeOf(type)) {
      if (!brands.includes(String(type.brand))) brands.push(String(type.brand));
    }
    Object.defineProperty(this, BRANDS, { value: brands, enumerable: false });
  }
}

/** Why a token was refused: for logs and metrics, never shown to the client. */
export type TokenRejectionReason =
  | "malformed"
  | "alg_not_allowed"
  | "unlisted_issuer"
  | "wrong_city"
  | "city_suspended"
  | "bad_signature"
  | "unknown_kid"
  | "expired"
  | "not_yet_valid"
  | "wrong_audience"
  | "wrong_azp"
  | "client_revoked"
  | "wrong_type";

/**
 * A bearer token Civitas does not accept. Every reason gets the same public message (RFC 6750
 * `invalid_token`), so a client learns nothing about which check failed; `reason` and `detail`
 * are for the server's log.
 */
export class TokenRejected extends ServiceError {
  static override readonly brand: string = "TokenRejected";
  override name = "TokenRejected";
  readonly code = "UNAUTHENTICATED";
  readonly status = 401;
  readonly reason: TokenRejectionReason;
  /** What the check saw (a jose error code, a claim name), never token contents. */
  readonly detail: string | undefined;

  constructor(reason: TokenRejectionReason, detail?: string) {
    super("The access token is not valid.");
    this.reason = reason;
    this.detail = detail;
  }

  /** The WWW-Authenticate header value of the 401 answer. */
  get challenge(): string {
    return 'Bearer realm="civitas", error="invalid_token"';
  }
}

/** No one is signed in, and the action needs someone. */
export class Unauthenticated extends ServiceError {
  static override readonly brand: string = "Unauthenticated";
  override name = "Unauthenticated";
  readonly code = "UNAUTHENTICATED";
  readonly status = 401;

  constructor(message = "Sign in to continue.") {
    super(message);
  }
}

/** Someone is signed in but lacks the permission (or asks at a city that is not theirs). */
export class Forbidden extends ServiceError {
  static override readonly brand: string = "Forbidden";
  override name = "Forbidden";
  readonly code = "FORBIDDEN";
  readonly status = 403;
  /** The permission that was missing, when one was. */
  readonly permission: string | undefined;

  constructor(permission?: string, message = "You are not allowed to do this.") {
    super(message);
    this.permission = permission;
  }
}

/** The object does not exist in this city (another city's object included: never "forbidden"). */
export class NotFound extends ServiceError {
  static override readonly brand: string = "NotFound";
  override name = "NotFound";
  readonly code = "NOT_FOUND";
  readonly status = 404;
  readonly subject: string;

  constructor(subject: string) {
    super(`No such ${subject}.`);
    this.subject = subject;
  }
}

/** Input that breaks a rule; `fields` says which rule, per field (an empty key: the whole input). */
export class ValidationFailed extends ServiceError {
  static override readonly brand: string = "ValidationFailed";
  override name = "ValidationFailed";
  readonly code = "VALIDATION_FAILED";
  readonly status = 400;
  readonly fields: Readonly<Record<string, readonly string[]>>;

  constructor(fields: Record<string, readonly string[]>) {
    const summary = Object.entries(fields)
      .map(([field, messages]) => `${field || "input"}: ${messages.join("; ")}`)
      .join(", ");
    super(`Invalid input (${summary}).`);
    this.fields = fields;
  }
}

/** The action contradicts the current state (removing the last admin of a city). */
export class Conflict extends ServiceError {
  static override readonly brand: string = "Conflict";
  override name = "Conflict";
  readonly code = "CONFLICT";
  readonly status = 409;
  /** Machine-readable: "last_admin". */
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

type SafeParser<T> = {
  safeParse(input: unknown):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
};

/** Validates input with a (zod) schema; a failure becomes ValidationFailed, messages per top-level field. */
export function parseInput<T>(schema: SafeParser<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string[]> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : "";
    (fields[field] ??= []).push(issue.message);
  }
  throw new ValidationFailed(fields);
}
