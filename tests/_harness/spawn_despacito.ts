/**
 * Runs the real despacito (`deno run main.ts serve`) as a child process
 * under the permission flags from src/build/permissions.ts — what `deno task
 * start` runs — on a free loopback port with a temp data dir, and waits
 * until /health answers. For end-to-end tests (browser, Caddy). `cli()`
 * runs `despacito <args>` the same way against the same database, as an
 * operator would on the host.
 */

import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/config.ts";
import { permissionFlags } from "../../src/build/permissions.ts";

export interface RunningDespacito {
  baseUrl: string;
  dataDir: string;
  /** Everything the process wrote to stdout/stderr so far (JSON log lines). */
  output(): string;
  /** Runs `despacito <args>` (same environment and permission flags) with `stdin` piped in. */
  cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function spawnDespacito(
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Listen here (e.g. a port an OIDC client was registered for); a free one otherwise. */
    port?: number;
  } = {},
): Promise<RunningDespacito> {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-e2e-" });
  const port = options.port ?? freePort();
  const env: Record<string, string> = {
    DESPACITO_LISTEN: `127.0.0.1:${port}`,
    DESPACITO_DATA_DIR: dataDir,
    DESPACITO_LOG_LEVEL: "info",
    ...options.env,
  };
  const flags = permissionFlags({ config: loadConfig(env), programDir: ROOT });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}/main.ts`, "serve"],
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await drained;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exited = false;
  child.status.then(() => (exited = true));
  while (true) {
    try {
      const res = await fetch(`${baseUrl}/health`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`despacito did not become healthy:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const cli = async (args: string[], stdin = "") => {
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, `${ROOT}/main.ts`, ...args],
      env,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = proc.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
    const r = await proc.output();
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  };
  return { baseUrl, dataDir, output: () => text, cli, stop };
}
