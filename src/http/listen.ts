/**
 * Puts the app on the wire: a TCP address, or a Unix socket (behind Caddy)
 * that gets the configured mode, replaces a crashed run's leftover file,
 * refuses to steal a socket a live process still answers on, and is removed
 * at shutdown. Errors name the address.
 */

import type { Logger } from "../log/log.ts";
import { parseListen } from "../config/config.ts";
import { clearStaleSocket } from "../core/unix_socket.ts";

export interface ListenOptions {
  /** `host:port`; used when `socketPath` is not set. */
  listen: string;
  socketPath?: string;
  socketMode?: number;
  log: Logger;
  handler: (req: Request, info: Deno.ServeHandlerInfo<Deno.Addr>) => Response | Promise<Response>;
}

export interface Listener {
  /** Human-readable address, e.g. "127.0.0.1:8080" or "unix:/run/despacito/http.sock". */
  address: string;
  port?: number;
  /** Stops accepting, waits for in-flight requests up to `timeoutMs`, removes the socket. */
  shutdown(timeoutMs: number): Promise<void>;
  finished: Promise<void>;
}

export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ListenError";
  }
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const log = options.log.child({ component: "http" });
  if (options.socketPath) {
    return await listenUnix(options.socketPath, options.socketMode ?? 0o660, options, log);
  }

  const { hostname, port } = parseListen(options.listen);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, options.handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new ListenError(`cannot listen on ${options.listen}: address already in use`, {
        cause: e,
      });
    }
    throw new ListenError(`cannot listen on ${options.listen}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const address = `${server.addr.hostname}:${server.addr.port}`;
  log.info("listening", { address });
  return {
    address,
    port: server.addr.port,
    finished: server.finished,
    shutdown: (timeoutMs) => shutdownServer(server, timeoutMs),
  };
}

async function listenUnix(
  path: string,
  mode: number,
  options: ListenOptions,
  log: Logger,
): Promise<Listener> {
  await removeStaleSocket(path);
  let server: Deno.HttpServer<Deno.UnixAddr>;
  try {
    server = Deno.serve({ path, transport: "unix", onListen: () => {} }, options.handler);
  } catch (e) {
    throw new ListenError(`cannot listen on unix:${path}: ${(e as Error).message}`, { cause: e });
  }
  await Deno.chmod(path, mode);
  const address = `unix:${path}`;
  log.info("listening", { address, mode: `0${mode.toString(8)}` });
  return {
    address,
    finished: server.finished,
    shutdown: async (timeoutMs) => {
      await shutdownServer(server, timeoutMs);
      await Deno.remove(path).catch(() => {});
    },
  };
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
