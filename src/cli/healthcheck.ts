/**
 * `despacito healthcheck`: GET /health on the configured TCP address or Unix
 * socket; exit 0 on 200, 1 otherwise. For systemd, container health checks
 * and scripts, so it needs no curl and no socket-aware client.
 */

import { parseListen } from "../config/config.ts";
import { configOrReport } from "./runtime.ts";
import { err, out } from "./io.ts";

export async function healthcheckCommand(args: string[]): Promise<number> {
  if (args.length > 0) {
    err(`despacito: unexpected argument "${args[0]}"\nusage: despacito healthcheck`);
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  try {
    const status = config.listenSocket
      ? await probeUnix(config.listenSocket)
      : await probeTcp(config.listen);
    if (status === 200) {
      out("healthy");
      return 0;
    }
    err(`unhealthy: GET /health answered ${status}`);
    return 1;
  } catch (e) {
    err(`unhealthy: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

async function probeTcp(listen: string): Promise<number> {
  const { hostname, port } = parseListen(listen);
  const host = hostname === "0.0.0.0"
    ? "127.0.0.1"
    : hostname === "::"
    ? "[::1]"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  const res = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(5_000) });
  await res.body?.cancel();
  return res.status;
}

/** A minimal HTTP/1.1 request over the socket: enough to read a status line. */
async function probeUnix(path: string): Promise<number> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(
      new TextEncoder().encode(
        "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(512);
    const timer = setTimeout(() => conn.close(), 5_000);
    const n = await conn.read(buf);
    clearTimeout(timer);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(line);
    if (!m) throw new Error(`unexpected answer: ${line}`);
    return Number(m[1]);
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}
