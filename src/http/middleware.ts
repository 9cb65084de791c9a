/**
 * The cross-cutting HTTP middleware, as one: the request id, security
 * headers, the body's size limit and arrival deadline, and one request log
 * line per request. One function instead of five nested ones, because it
 * runs on every request: the headers go into the response as the handler
 * builds it instead of being set one by one afterwards, and a request
 * without a body (GET /health) does nothing about bodies. Nothing here
 * knows about a particular route.
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../log/log.ts";
import { DomainError } from "../core/errors.ts";
import { errorBody } from "./errors.ts";
import type { AppEnv } from "./types.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface BasicsOptions {
  log: Logger;
  /** Send HSTS: only when despacito is reached over https. */
  hsts: boolean;
  /** Beyond it, 413 (by Content-Length, or counted as a chunked body arrives). */
  maxBodyBytes: number;
  /** A body must arrive within it of the first read, else 408. */
  bodyTimeoutMs: number;
}

// The UI sets its own CSP (script/style from self only); everything else needs nothing.
const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'";

function securityHeaders(hsts: boolean): [string, string][] {
  return [
    ["X-Content-Type-Options", "nosniff"],
    ["X-Frame-Options", "DENY"],
    ["Referrer-Policy", "same-origin"],
    ["Cross-Origin-Opener-Policy", "same-origin"],
    ["Cross-Origin-Resource-Policy", "same-origin"],
    ["Permissions-Policy", "camera=(), microphone=(), geolocation=()"],
    ...(hsts ? [["Strict-Transport-Security", "max-age=31536000"] as [string, string]] : []),
  ];
}

/**
 * Adopts a sane incoming X-Request-Id (Caddy can set one) or makes one and
 * echoes it; tags the request's logger with it; sets the security headers;
 * guards the body; writes one line per request: method, path (never the
 * query), status, duration, request id.
 */
export function requestBasics(o: BasicsOptions): MiddlewareHandler<AppEnv> {
  const headers = securityHeaders(o.hsts);
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    const log = o.log.child({ request_id: id });
    c.set("log", log);
    // Before the handler: they become part of the response it builds.
    c.header("X-Request-Id", id);
    for (const [k, v] of headers) c.header(k, v);
    c.header("Content-Security-Policy", DEFAULT_CSP);

    const guard = c.req.raw.body ? await guardBody(c, o.maxBodyBytes, o.bodyTimeoutMs) : undefined;
    if (guard instanceof Response) c.res = guard;
    else {
      try {
        await next();
      } finally {
        guard?.release();
      }
    }

    const res = c.res;
    // Answered before the body was read to its end (413, 401, 415…): the rest of the body must
    // not be taken for the next request on this connection. Deno.serve does not always say so
    // itself, and a client that stops sending and reuses the connection would desynchronise the
    // connection guard's framing (a 431 for its next request, or a stall).
    if (guard && (guard instanceof Response || !guard.complete())) {
      try {
        res.headers.set("Connection", "close");
      } catch { /* immutable headers (a fetched Response): Deno.serve decides alone */ }
    }
    // A handler that built its own Response bypassed the headers above.
    if (!res.headers.has("X-Content-Type-Options")) {
      for (const [k, v] of headers) res.headers.set(k, v);
      if (!res.headers.has("X-Request-Id")) res.headers.set("X-Request-Id", id);
      if (!res.headers.has("Content-Security-Policy")) {
        res.headers.set("Content-Security-Policy", DEFAULT_CSP);
      }
    }
    const fields = {
      component: "http",
      method: c.req.method,
      path: c.req.path,
      status: res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (res.status >= 500) log.error("request", fields);
    else log.info("request", fields);
  };
}

/**
 * A declared length beyond the limit is answered 413 at once; a body without
 * one (chunked) is read here, up to the limit, before the route runs (as
 * hono's bodyLimit did), so it is answered 413, 408 or 400 at once too.
 * Otherwise the body is read through a stream that fails the read with a
 * 408 when the body has not arrived
 * `ms` after the first read (a client that sends headers and then trickles
 * or never sends its body must not hold a connection and a handler
 * forever; incomplete request heads are the connection guard's to time
 * out, src/http/conn_guard.ts; README, "Limits"), and with a 400 when it
 * cannot be read to the end (the client went away, or shutdown closed the
 * stream), never an "unhandled" 500.
 * Returns what ends the deadline once the handler is done, and whether the
 * body was read to its end.
 */
async function guardBody(
  c: Context<AppEnv>,
  max: number,
  ms: number,
): Promise<Response | { release(): void; complete(): boolean }> {
  const raw = c.req.raw;
  const length = raw.headers.get("content-length");
  const counted = length === null || raw.headers.has("transfer-encoding");
  if (!counted && Number(length) > max) {
    return c.json(errorBody("payload_too_large", `request body exceeds ${max} bytes`), 413);
  }
  const reader = raw.body!.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let size = 0;
  let ended = false;
  let complete = false;
  const end = (controller: ReadableStreamDefaultController<Uint8Array>, e?: unknown) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    if (e === undefined) {
      complete = true;
      return controller.close();
    }
    controller.error(e);
    reader.cancel(e).catch(() => {});
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      timer ??= setTimeout(() =>
        end(
          controller,
          new DomainError(
            "request_timeout",
            "request_timeout",
            `the request body did not arrive within ${ms} ms`,
          ),
        ), ms);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        return end(
          controller,
          new DomainError("invalid", "invalid_body", "could not read the request body", {
            cause: e,
          }),
        );
      }
      if (ended) return;
      if (chunk.done) return end(controller);
      size += chunk.value.length;
      if (counted && size > max) {
        return end(
          controller,
          new DomainError("too_large", "payload_too_large", `request body exceeds ${max} bytes`),
        );
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      ended = true;
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
  let whole: Uint8Array | undefined;
  if (counted) {
    try {
      whole = new Uint8Array(await new Response(body).arrayBuffer());
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      const status = e.kind === "too_large" ? 413 : e.kind === "request_timeout" ? 408 : 400;
      return c.json(errorBody(e.code, e.message), status);
    }
  }
  // `raw.url` explicitly: the listener may have shadowed it (src/http/listen.ts).
  c.req.raw = new Request(raw.url, {
    method: raw.method,
    headers: raw.headers,
    body: whole ?? body,
    signal: raw.signal,
    duplex: "half",
  } as RequestInit);
  return { release: () => clearTimeout(timer), complete: () => complete };
}
