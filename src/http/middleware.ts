/**
 * Cross-cutting HTTP middleware: request ids, one request log line per
 * request, security headers and the body size limit. Nothing here knows
 * about a particular route.
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../log/log.ts";
import { DomainError } from "../core/errors.ts";
import { errorBody } from "./errors.ts";
import type { AppEnv } from "./types.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Adopts a sane incoming X-Request-Id (Caddy can set one) or makes one; echoes it back. */
export function requestContext(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.set("log", log.child({ request_id: id }));
    c.header("X-Request-Id", id);
    await next();
  };
}

/** One line per request: method, path (never the query), status, duration, request id. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const fields = {
      component: "http",
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    const log = c.get("log");
    if (status >= 500) log.error("request", fields);
    else log.info("request", fields);
  };
}

export interface SecurityHeaderOptions {
  /** Send HSTS: only when despacito is reached over https. */
  hsts: boolean;
}

export function securityHeaders(options: SecurityHeaderOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "same-origin");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (!h.has("Content-Security-Policy")) {
      // The UI sets its own (script/style from self only); everything else needs nothing.
      h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
    if (options.hsts) h.set("Strict-Transport-Security", "max-age=31536000");
  };
}

/**
 * 413 beyond `maxSize`. A body that cannot be read to the end (the client
 * went away, or shutdown closed the stream) is the request's failure, a 400,
 * never an "unhandled" 500.
 */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize,
    onError: (c) =>
      c.json(errorBody("payload_too_large", `request body exceeds ${maxSize} bytes`), 413),
  });
  return async (c, next) => {
    let passed = false;
    try {
      return await limit(c, async () => {
        passed = true;
        await next();
      });
    } catch (e) {
      if (passed) throw e;
      throw new DomainError("invalid", "invalid_body", "could not read the request body", {
        cause: e,
      });
    }
  };
}

/**
 * A body must arrive within `ms` of the first read: a client that sends
 * headers and then trickles (or never sends) its body gets 408 and its
 * request ends, instead of holding a connection and a handler forever.
 * (Incomplete request heads are the connection guard's to time out:
 * src/http/conn_guard.ts; README, "Limits".)
 */
export function bodyTimeout(ms: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return await next();
    const reader = raw.body.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new DomainError(
      "request_timeout",
      "request_timeout",
      `the request body did not arrive within ${ms} ms`,
    );
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        timer ??= setTimeout(() => {
          controller.error(expired);
          reader.cancel(expired).catch(() => {});
        }, ms);
        try {
          const { value, done } = await reader.read();
          if (done) {
            clearTimeout(timer);
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          clearTimeout(timer);
          controller.error(e);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    // `raw.url` explicitly: the listener may have shadowed it (src/http/listen.ts).
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body,
      signal: raw.signal,
      duplex: "half",
    } as RequestInit);
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
  };
}
