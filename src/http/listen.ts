/**
 * Puts the app on the wire: a TCP address, or a Unix socket (behind Caddy)
 * that gets the configured mode, replaces a crashed run's leftover file,
 * refuses to steal a socket a live process still answers on, and is removed
 * at shutdown. Errors name the address.
 */

import type { Logger } from "../log/log.ts";
import { parseListen } from "../config/config.ts";

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

/** A socket file nobody answers on is a crashed run's; one that answers is a live process's. */
async function removeStaleSocket(path: string) {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new ListenError(
      `cannot listen on unix:${path}: a file that is not a socket is in the way`,
    );
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch {
    await Deno.remove(path);
    return;
  }
  throw new ListenError(`cannot listen on unix:${path}: another process is listening on it`);
}

async function shutdownServer(server: Deno.HttpServer, timeoutMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.shutdown(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
}
