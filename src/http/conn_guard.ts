/**
 * The connection guard: despacito accepts connections itself and passes
 * each one's bytes to the HTTP server (Deno.serve, on a Unix socket in a
 * private directory), because Deno.serve has no header-read timeout, no
 * keep-alive idle timeout and no connection cap. The guard enforces the
 * three: a request head must arrive within the header timeout, a
 * connection with no request for the idle timeout is closed, and beyond
 * the cap a new connection gets 503 and is closed. A request in flight —
 * a body being read, a long-poll, an SSE stream — is never timed out here
 * (the body timeout is the app's). It adds one header to each request
 * head naming its connection, so the app sees the real peer address and
 * the guard learns when a response is complete.
 */

import type { Logger } from "../log/log.ts";
import { closeQuietly, errorResponse, writeAll } from "./raw_http.ts";
import { type FramingError, RequestFraming } from "./request_framing.ts";

/** Names the guard's connection in each request head; clients may not send it. */
export const CONN_HEADER = "x-despacito-conn";

export interface GuardLimits {
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

export interface GuardStats {
  open: number;
  refused: number;
  headerTimeouts: number;
  idleTimeouts: number;
}

export interface ConnInfo {
  remoteAddr: Deno.Addr;
  /** Call once per request with its `completed` promise. */
  track(completed: Promise<void>): void;
}

// Requests are small (bodies up to DESPACITO_MAX_BODY_BYTES); responses may be long streams.
const UPSTREAM_BYTES = 16 * 1024;
const DOWNSTREAM_BYTES = 32 * 1024;
/** While a response comes in bulk (reads fill the buffer), reads grow up to this. */
const DOWNSTREAM_BULK_BYTES = 128 * 1024;
const REFUSED_LOG_EVERY_MS = 10_000;

class Guarded {
  inFlight = 0;
  /** Request heads seen: the first one's time limit runs from the connection's start. */
  heads = 0;
  /** When the connection is closed unless a request starts or completes (ms, performance.now()). */
  deadline: number;
  readonly framing: RequestFraming;
  closed = false;

  constructor(
    readonly id: string,
    readonly outer: Deno.Conn,
    readonly inner: Deno.Conn,
    readonly limits: GuardLimits,
  ) {
    this.framing = new RequestFraming(`${CONN_HEADER}: ${id}\r\n`);
    this.deadline = performance.now() + limits.headerTimeoutMs;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.outer);
    closeQuietly(this.inner);
  }

  done = () => {
    this.inFlight--;
    if (this.inFlight > 0) return;
    const wait = this.framing.idle ? this.limits.idleTimeoutMs : this.limits.headerTimeoutMs;
    this.deadline = performance.now() + wait;
  };
}

export interface ConnGuard {
  /** The connection a request head names, for the app's handler. */
  lookup(id: string | null): ConnInfo | undefined;
  /** Accepts until the listener closes. */
  serve(listener: Deno.Listener): Promise<void>;
  /**
   * When shutting down, after the server has answered what it had: waits up
   * to `timeoutMs` for the last bytes to reach the clients, then closes what is left.
   */
  drain(timeoutMs: number): Promise<void>;
  stats(): GuardStats;
}

export function createConnGuard(o: {
  limits: GuardLimits;
  /** Where the HTTP server listens. */
  innerPath: string;
  log: Logger;
}): ConnGuard {
  const { limits, log } = o;
  const conns = new Map<string, Guarded>();
  const stats = { refused: 0, headerTimeouts: 0, idleTimeouts: 0 };
  let nextId = 0;
  let refusedSinceLog = 0;
  let lastRefusedLog = -Infinity;
  const sweepMs = Math.min(
    1000,
    Math.max(50, Math.min(limits.headerTimeoutMs, limits.idleTimeoutMs) / 10),
  );
  let sweeper: ReturnType<typeof setInterval> | undefined;

  const sweep = () => {
    const now = performance.now();
    for (const c of conns.values()) {
      if (c.inFlight > 0 || now < c.deadline) continue;
      if (c.framing.idle) {
        stats.idleTimeouts++;
        c.close();
      } else {
        stats.headerTimeouts++;
        answerAndClose(c, {
          status: 408,
          code: "request_timeout",
          message: "request head not received in time",
        });
      }
    }
  };

  let open = 0;
  let emptied: PromiseWithResolvers<void> | undefined;
  let lingering = 0;
  const refuse = (conn: Deno.Conn) => {
    stats.refused++;
    refusedSinceLog++;
    const now = performance.now();
    if (now - lastRefusedLog >= REFUSED_LOG_EVERY_MS) {
      log.warn("connections refused: too many open connections", {
        limit: limits.maxConnections,
        refused: refusedSinceLog,
        refused_total: stats.refused,
      });
      lastRefusedLog = now;
      refusedSinceLog = 0;
    }
    const body = errorResponse({
      status: 503,
      code: "too_many_connections",
      message: `more than ${limits.maxConnections} open connections; retry later`,
    }, "retry-after: 1\r\n");
    // Closing with the request unread would reset the connection and could lose the 503: end our
    // side, then read briefly. Under a flood, only a few are given that courtesy.
    const linger = lingering < 64;
    if (linger) lingering++;
    (async () => {
      try {
        await writeAll(conn, body);
        if (linger) {
          await conn.closeWrite();
          const sink = new Uint8Array(4096);
          const until = setTimeout(() => closeQuietly(conn), 1000);
          while ((await conn.read(sink)) !== null) { /* discard */ }
          clearTimeout(until);
        }
      } catch { /* the client went away */ }
      if (linger) lingering--;
      closeQuietly(conn);
    })();
  };

  const handle = async (outer: Deno.Conn) => {
    open++;
    try {
      // Responses are written in pieces: Nagle's algorithm would hold the last one back.
      // (A client already gone makes it throw; the first read will say so.)
      if (outer.remoteAddr.transport === "tcp") {
        try {
          (outer as Deno.TcpConn).setNoDelay(true);
        } catch { /* see above */ }
      }
      let inner: Deno.Conn;
      try {
        inner = await Deno.connect({ transport: "unix", path: o.innerPath });
      } catch (e) {
        log.error("cannot reach the HTTP server", { error: (e as Error).message });
        closeQuietly(outer);
        return;
      }
      const id = String(++nextId);
      const c = new Guarded(id, outer, inner, limits);
      conns.set(id, c);
      try {
        await Promise.all([upstream(c), downstream(c)]);
      } finally {
        conns.delete(id);
        c.close();
      }
    } finally {
      open--;
      if (open === 0) emptied?.resolve();
    }
  };

  return {
    lookup(id) {
      const c = id === null ? undefined : conns.get(id);
      if (!c) return undefined;
      return {
        remoteAddr: c.outer.remoteAddr,
        track(completed) {
          completed.then(c.done, c.done);
        },
      };
    },
    async serve(listener) {
      sweeper = setInterval(sweep, sweepMs);
      try {
        for (;;) {
          let conn: Deno.Conn;
          try {
            conn = await listener.accept();
          } catch (e) {
            if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
              return;
            }
            // Out of file descriptors and the like: say so, and do not spin.
            log.error("accept failed", { error: (e as Error).message });
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          if (open >= limits.maxConnections) refuse(conn);
          else {
            handle(conn).catch((e) =>
              log.error("connection failed", { error: (e as Error).message })
            );
          }
        }
      } finally {
        clearInterval(sweeper);
      }
    },
    async drain(timeoutMs) {
      if (open > 0) {
        emptied = Promise.withResolvers();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          emptied.promise,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
      }
      for (const c of conns.values()) c.close();
    },
    stats: () => ({ open, ...stats }),
  };
}

/** Client to server: framing, deadlines and the added header. */
async function upstream(c: Guarded) {
  const buf = new Uint8Array(UPSTREAM_BYTES);
  for (;;) {
    let n: number | null;
    try {
      n = await c.outer.read(buf);
    } catch {
      n = null;
    }
    if (n === null || c.closed) {
      // The client is done sending: let the server see it, the response may still come.
      await c.inner.closeWrite().catch(() => {});
      return;
    }
    const wasIdle = c.framing.idle;
    const fed = c.framing.feed(buf.subarray(0, n));
    if ("status" in fed) {
      // Mid-response, an answer of ours would garble the server's: just end the connection.
      if (c.inFlight > 0) c.close();
      else answerAndClose(c, fed);
      return;
    }
    if (fed.heads > 0) {
      c.inFlight += fed.heads;
      c.heads += fed.heads;
    } else if (wasIdle && c.inFlight === 0 && c.heads > 0) {
      // The next request on a kept-alive connection: from its first byte, the header timeout.
      c.deadline = performance.now() + c.limits.headerTimeoutMs;
    }
    try {
      await writeAll(c.inner, fed.out);
    } catch {
      c.close();
      return;
    }
  }
}

/**
 * Server to client: bytes as they come. A response streamed in bulk (an SSE burst to many
 * subscribers, a large log) fills the buffer: while it does, the buffer doubles, so such a
 * response takes fewer reads and writes; back to the small one when reads come in small.
 */
async function downstream(c: Guarded) {
  const small = new Uint8Array(DOWNSTREAM_BYTES);
  let buf = small;
  try {
    for (;;) {
      const n = await c.inner.read(buf);
      if (n === null) break;
      await writeAll(c.outer, buf.subarray(0, n));
      if (n === buf.length) {
        if (buf.length < DOWNSTREAM_BULK_BYTES) buf = new Uint8Array(buf.length * 2);
      } else if (n <= DOWNSTREAM_BYTES / 2) buf = small;
    }
  } catch { /* either side went away */ }
  c.close();
}

function answerAndClose(
  c: Guarded,
  e: FramingError | { status: 408; code: string; message: string },
) {
  if (c.closed) return;
  // The server has not seen this request: the answer is the guard's, then the connection ends.
  c.closed = true;
  closeQuietly(c.inner);
  writeAll(c.outer, errorResponse(e)).catch(() => {}).finally(() => closeQuietly(c.outer));
}
