/**
 * The cross-cutting HTTP middleware, as one: the request id, security
 * headers, the body's size limit and arrival deadline (the body is read
 * here, before the route), and one request log line per request. One
 * function instead of five nested ones, because it runs on every request,
 * and a request without a body (GET /health) does nothing about bodies.
 * Nothing here knows about a particular route.
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../log/log.ts";
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
 * echoes it; tags the request's logger with it; guards the body; sets the
 * security headers on the answer; writes one line per request: method,
 * path (never the query), status, duration, request id.
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

    const refused = c.req.raw.body ? await readBody(c, o.maxBodyBytes, o.bodyTimeoutMs) : undefined;
    if (refused) {
      // Answered before the body was read to its end (413, 408, 400): the rest of it must not
      // be taken for the next request on this connection. Deno.serve does not always say so
      // itself, and a client that stops sending and reuses the connection would desynchronise
      // the connection guard's framing (a 431 for its next request, or a stall).
      refused.headers.set("Connection", "close");
      c.res = refused;
    } else await next();

    // Set on the response the route made, not prepared before it: Hono would copy prepared
    // headers into every Response it builds, header by header (a third of /health's own CPU).
    // A route's own Content-Security-Policy (the UI's) is kept.
    const res = c.res;
    const h = res.headers;
    for (const [k, v] of headers) h.set(k, v);
    h.set("X-Request-Id", id);
    if (!h.has("Content-Security-Policy")) h.set("Content-Security-Policy", DEFAULT_CSP);
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
 * Reads the whole body before the route runs, up to `max` bytes (a declared
 * length beyond it is answered 413 at once, a body that grows beyond it 413
 * as it arrives) and within `ms` of the first read (a client that sends
 * headers and then trickles or never sends its body must not hold a
 * connection and a handler forever: 408; incomplete request heads are the
 * connection guard's to time out, src/http/conn_guard.ts; README,
 * "Limits"); a body that cannot be read to its end (the client went away,
 * shutdown closed the stream) is 400, never an "unhandled" 500.
 * Returns the answer when the body was refused, else undefined and the body
 * is handed to Hono's body cache, where `c.req.text()`, `json()` and
 * `arrayBuffer()` find it.
 *
 * Read here with one reader, not wrapped in a stream of its own and a new
 * Request: that copy (a stream, the request's headers, its signal) cost
 * more than the rest of this middleware together on every webhook
 * (bench/README.md, P1). Every body is at most `max` bytes in memory, as a
 * chunked one always was.
 */
async function readBody(
  c: Context<AppEnv>,
  max: number,
  ms: number,
): Promise<Response | undefined> {
  const raw = c.req.raw;
  const length = raw.headers.get("content-length");
  if (length !== null && !raw.headers.has("transfer-encoding") && Number(length) > max) {
    return c.json(errorBody("payload_too_large", `request body exceeds ${max} bytes`), 413);
  }
  const reader = raw.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array> | "timeout";
      try {
        chunk = await Promise.race([reader.read(), timedOut]);
      } catch {
        return c.json(errorBody("invalid_body", "could not read the request body"), 400);
      }
      if (chunk === "timeout") {
        reader.cancel().catch(() => {});
        return c.json(
          errorBody("request_timeout", `the request body did not arrive within ${ms} ms`),
          408,
        );
      }
      if (chunk.done) break;
      size += chunk.value.length;
      if (size > max) {
        reader.cancel().catch(() => {});
        return c.json(errorBody("payload_too_large", `request body exceeds ${max} bytes`), 413);
      }
      chunks.push(chunk.value);
    }
  } finally {
    clearTimeout(timer);
  }
  // Hono keeps promises there (its type says ArrayBuffer) and derives text() and json() from it.
  (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(
    wholeBuffer(chunks, size),
  );
  return undefined;
}

/** The chunks as one ArrayBuffer of exactly their length (most bodies arrive in one chunk). */
function wholeBuffer(chunks: Uint8Array[], size: number): ArrayBuffer {
  const one = chunks[0];
  if (
    chunks.length === 1 && one.byteOffset === 0 && one.byteLength === one.buffer.byteLength &&
    one.buffer instanceof ArrayBuffer
  ) {
    return one.buffer;
  }
  const whole = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    whole.set(ch, off);
    off += ch.byteLength;
  }
  return whole.buffer;
}
