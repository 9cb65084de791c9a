/**
 * The one error handler: every failure leaves as
 * `{"error":{"code","message","details"?}}` with the right status. Client
 * mistakes never become 500s; real 500s are logged with context and answered
 * without internals.
 */

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type ErrorKind } from "../core/errors.ts";
import type { AppContext } from "./types.ts";

const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  request_timeout: 408,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function onError(err: Error, c: AppContext): Response {
  if (err instanceof DomainError) {
    if (err.retryAfter !== undefined) c.header("Retry-After", String(Math.ceil(err.retryAfter)));
    if (err.kind === "unauthenticated") c.header("WWW-Authenticate", 'Bearer realm="despacito"');
    return c.json(
      { ...errorBody(err.code, err.message, err.details), ...err.extra },
      STATUS[err.kind],
    );
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = status === 413 ? "payload_too_large" : status === 404 ? "not_found" : "http_error";
    return c.json(errorBody(code, err.message || "request failed"), status);
  }
  const log = c.get("log");
  log?.error("unhandled error", { error: err, method: c.req.method, path: c.req.path });
  return c.json(errorBody("internal_error", "internal error; see the server log"), 500);
}

export function notFound(c: AppContext): Response {
  return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404);
}
