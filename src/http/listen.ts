/**
 * Puts the app on the wire: a TCP address, or a Unix socket (behind Caddy)
 * that gets the configured mode, replaces a crashed run's leftover file,
 * refuses to steal a socket a live process still answers on, and is removed
 * at shutdown. Errors name the address. Connections are accepted here and
 * pass through the connection guard (conn_guard.ts) on their way to the
 * HTTP server, which listens on a private socket in the data dir.
 */

import { dirname, join, resolve } from "node:path";
import type { Logger } from "../log/log.ts";
import { parseListen } from "../config/config.ts";
import { clearStaleSocket } from "../core/unix_socket.ts";
import {
  CONN_HEADER,
  type ConnGuard,
  createConnGuard,
  type GuardLimits,
  type GuardStats,
} from "./conn_guard.ts";

export interface ListenOptions {
  /** `host:port`; used when `socketPath` is not set. */
  listen: string;
  socketPath?: string;
  socketMode?: number;
  /** Holds the private directory of the HTTP server's own socket (see conn_guard.ts). */
  dataDir: string;
  limits: GuardLimits;
  log: Logger;
  handler: (req: Request, info: Deno.ServeHandlerInfo<Deno.Addr>) => Response | Promise<Response>;
}

export interface Listener {
  /** Human-readable address, e.g. "127.0.0.1:8080" or "unix:/run/despacito/http.sock". */
  address: string;
  port?: number;
  /**
   * Stops accepting, waits for in-flight requests up to `timeoutMs`, removes the socket. Open
   * connections are cut only once `settled` has resolved too: what the areas answer while they stop
   * (a waiting client's interrupted deployment) must still reach its client.
   */
  shutdown(timeoutMs: number, settled?: Promise<unknown>): Promise<void>;
  finished: Promise<void>;
  /** Open, refused and timed-out connections (for metrics). */
  connections(): GuardStats;
}

export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ListenError";
  }
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const log = options.log.child({ component: "http" });
  const outer = options.socketPath
    ? await listenUnix(options.socketPath, options.socketMode ?? 0o660)
    : listenTcp(options.listen);
  const address = outer.addr.transport === "unix"
    ? `unix:${options.socketPath}`
    : `${(outer.addr as Deno.NetAddr).hostname}:${(outer.addr as Deno.NetAddr).port}`;

  // One socket per process: instances sharing a data dir (or all pid 1, in containers) never meet.
  const innerPath = resolve(
    options.dataDir,
    "http-run",
    `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.sock`,
  );
  const guard = createConnGuard({ limits: options.limits, innerPath, log });
  let server: Deno.HttpServer<Deno.UnixAddr>;
  try {
    server = await serveInner(innerPath, guard, options.handler, !options.socketPath);
  } catch (e) {
    outer.close();
    throw e;
  }
  const serving = guard.serve(outer);
  log.info("listening", {
    address,
    ...(options.socketPath ? { mode: `0${(options.socketMode ?? 0o660).toString(8)}` } : {}),
  });
  return {
    address,
    port: outer.addr.transport === "tcp" ? (outer.addr as Deno.NetAddr).port : undefined,
    finished: server.finished,
    connections: () => guard.stats(),
    shutdown: async (timeoutMs, settled) => {
      outer.close();
      const deadline = performance.now() + timeoutMs;
      await shutdownServer(server, timeoutMs);
      await settled;
      // The server has closed its side; the guard passes on the last bytes, and past the
      // timeout what is still open is cut: the process is about to exit.
      await guard.drain(Math.max(100, deadline - performance.now()));
      await serving;
      await Deno.remove(innerPath).catch(() => {});
      if (options.socketPath) await Deno.remove(options.socketPath).catch(() => {});
    },
  };
}

function listenTcp(listen: string): Deno.Listener {
  const { hostname, port } = parseListen(listen);
  try {
    return Deno.listen({ hostname, port });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new ListenError(`cannot listen on ${listen}: address already in use`, { cause: e });
    }
    throw new ListenError(`cannot listen on ${listen}: ${(e as Error).message}`, { cause: e });
  }
}

async function listenUnix(path: string, mode: number): Promise<Deno.Listener> {
  await removeStaleSocket(path);
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ path, transport: "unix" });
  } catch (e) {
    throw new ListenError(`cannot listen on unix:${path}: ${(e as Error).message}`, { cause: e });
  }
  await Deno.chmod(path, mode);
  return listener;
}

/**
 * The HTTP server itself, on a Unix socket in a directory only this user can
 * enter: nothing reaches it except through the guard. Each request names its
 * guarded connection; the app gets that connection's peer address.
 */
async function serveInner(
  path: string,
  guard: ConnGuard,
  handler: ListenOptions["handler"],
  tcp: boolean,
): Promise<Deno.HttpServer<Deno.UnixAddr>> {
  if (path.length > 100) {
    throw new ListenError(`data dir path too long for the HTTP server's private socket: ${path}`);
  }
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    // Sockets of crashed runs are removed; live ones are another process's.
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".sock")) await clearStaleSocket(join(dir, e.name));
    }
    return Deno.serve({ path, transport: "unix", onListen: () => {} }, (req, info) => {
      const conn = guard.lookup(req.headers.get(CONN_HEADER));
      // Only a request that bypassed the guard lacks it, and the directory's mode forbids that.
      if (!conn) return new Response(null, { status: 400 });
      conn.track(info.completed);
      // A server on a Unix socket makes `http+unix:` URLs, whose origin is "null"; clients on TCP
      // spoke plain http (the CSRF check compares origins). Shadowing the getter costs nothing;
      // a new Request would read the lazily made headers, body and signal (~40 µs a request).
      // Whoever copies the request must copy `url` too (middleware.ts, the body timeout).
      if (tcp) Object.defineProperty(req, "url", { value: `http${req.url.slice(9)}` });
      return handler(req, { remoteAddr: conn.remoteAddr, completed: info.completed });
    });
  } catch (e) {
    throw new ListenError(`cannot start the HTTP server on unix:${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

async function removeStaleSocket(path: string) {
  const state = await clearStaleSocket(path);
  if (state === "not_a_socket") {
    throw new ListenError(
      `cannot listen on unix:${path}: a file that is not a socket is in the way`,
    );
  }
  if (state === "in_use") {
    throw new ListenError(`cannot listen on unix:${path}: another process is listening on it`);
  }
}

async function shutdownServer(server: Deno.HttpServer, timeoutMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.shutdown(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
}
