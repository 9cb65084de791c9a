/**
 * Domain errors: what went wrong, in words the HTTP layer can map without
 * knowing the domain. Domain code throws these and never imports Hono;
 * src/http/errors.ts is the one place that turns a kind into a status.
 */

/** The closed set of failure kinds; each maps to exactly one HTTP status. */
export type ErrorKind =
  | "invalid" // 400: the request itself is malformed
  | "unauthenticated" // 401
  | "forbidden" // 403
  | "not_found" // 404
  | "conflict" // 409
  | "request_timeout" // 408: the client did not send its body in time
  | "too_large" // 413
  | "unsupported_media_type" // 415: a body that is not the declared JSON
  | "unprocessable" // 422: well-formed but refers to something we cannot act on
  | "rate_limited" // 429
  | "unavailable"; // 503: a dependency (database, flake dir) is not usable now

/** One problem with one field of a request. */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  details?: FieldProblem[];
  cause?: unknown;
  /** Seconds until a retry may succeed (rate limits, 503). */
  retryAfter?: number;
  /** Extra JSON fields merged into the error body (for contracts like the webhook's). */
  extra?: Record<string, unknown>;
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details?: FieldProblem[];
  readonly retryAfter?: number;
  readonly extra?: Record<string, unknown>;

  constructor(kind: ErrorKind, code: string, message: string, options: DomainErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "DomainError";
    this.kind = kind;
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
    this.extra = options.extra;
  }
}

/** A request that fails validation, listing every problem at once. */
export function invalidRequest(details: FieldProblem[], message?: string): DomainError {
  const summary = message ??
    (details.length === 1
      ? `${details[0].field}: ${details[0].message}`
      : `${details.length} fields are invalid`);
  return new DomainError("invalid", "invalid_request", summary, { details });
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
