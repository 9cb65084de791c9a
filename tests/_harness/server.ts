/**
 * despacito as a real process, for end-to-end tests: `deno run
 * <permissionFlags(config)> main.ts …`, exactly the flags `deno task start`
 * and the compiled binary use, so what is tested is what ships. The
 * environment is cleared and rebuilt from what the test passes, so a
 * developer's own DESPACITO_* variables never leak in.
 */

import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/config.ts";
import { flagsForCommand, secretFilesFrom } from "../../src/build/permissions.ts";
import { freshDatabase } from "./postgres.ts";

export const REPO_DIR = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export type Env = Record<string, string>;

/** PATH, HOME and Deno's cache location: what `deno run` itself needs. */
function baseEnv(): Env {
  const env: Env = {};
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  env.NO_COLOR = "1";
  return env;
}

export interface FlagOptions {
  /** Compute the permission flags from this environment instead of the one the process gets. */
  flagsEnv?: Env;
  /** Text piped to the command's stdin (e.g. a password); none by default. */
  stdin?: string;
}

/** The argv of `deno run` for despacito under its permission flags. */
export function denoRunArgs(env: Env, args: string[], options: FlagOptions = {}): string[] {
  const flagsEnv = options.flagsEnv ?? env;
  const config = loadConfig(flagsEnv);
  const flags = flagsForCommand(args, {
    config,
    secretFiles: secretFilesFrom(flagsEnv),
    programDir: REPO_DIR,
  }, (name) => ({ ...baseEnv(), ...env })[name]);
  return ["run", ...flags, `${REPO_DIR}/main.ts`, ...args];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. */
export async function runCli(
  args: string[],
  env: Env,
  options: FlagOptions = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs(env, args, options),
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: REPO_DIR,
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export interface ServerProcess {
  /** "127.0.0.1:PORT" or "unix:/path", from the "despacito started" log line. */
  address: string;
  /** http://127.0.0.1:PORT for TCP servers. */
  url: string;
  pid: number;
  /** Every stdout line so far (JSON log lines). */
  stdout: string[];
  stderr(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Sends a signal and waits for the exit; resolves to the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** The exit status once the process has ended. */
  exited: Promise<Deno.CommandStatus>;
}

export interface SpawnOptions extends FlagOptions {
  env: Env;
  args?: string[];
  startTimeoutMs?: number;
}

/** Starts `despacito serve` and resolves once it logged "despacito started". */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs(options.env, options.args ?? ["serve"], options),
    env: { ...baseEnv(), ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: REPO_DIR,
  }).spawn();

  const stdout: string[] = [];
  let stderr = "";
  const started = Promise.withResolvers<string>();
  const readOut = (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) {
        stdout.push(line);
        if (line.includes('"msg":"despacito started"')) {
          started.resolve(String(JSON.parse(line).address));
        }
      }
    }
    if (pending) stdout.push(pending);
  })();
  const readErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const exited = (async () => {
    const status = await child.status;
    await Promise.all([readOut, readErr]);
    return status;
  })();
  exited.then((s) =>
    started.reject(new Error(`despacito exited with ${s.code} before starting:\n${stderr}`))
  );

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`despacito did not start within ${timeoutMs}ms:\n${stderr}`)),
      timeoutMs,
    );
  });
  let address: string;
  try {
    address = await Promise.race([started.promise, timeout]);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
  }

  return {
    address,
    url: address.startsWith("unix:") ? "" : `http://${address}`,
    pid: child.pid,
    stdout,
    stderr: () => stderr,
    logs: () =>
      stdout.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    stop: async (signal: Deno.Signal = "SIGTERM") => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return (await exited).code;
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** An HTTP request over a Unix socket (Deno's fetch speaks to sockets through a client). */
export async function fetchUnix(
  socketPath: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  try {
    const res = await fetch(`http://localhost${path}`, { ...init, client });
    const body = await res.arrayBuffer();
    return new Response(body, { status: res.status, headers: res.headers });
  } finally {
    client.close();
  }
}

export interface ServerEnv {
  /** DESPACITO_DATA_DIR, DESPACITO_POSTGRES_CONNECTION_URI, DESPACITO_LISTEN=127.0.0.1:0. */
  env: Env;
  dataDir: string;
  /** The fresh database's URI (also in `env`). */
  dbUri: string;
}

/** A fresh database and data directory for one test, both removed afterwards whatever happens. */
export async function withServerEnv(fn: (w: ServerEnv) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-test-" });
  const db = await freshDatabase();
  const env = {
    DESPACITO_DATA_DIR: dataDir,
    DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
    DESPACITO_LISTEN: "127.0.0.1:0",
  };
  try {
    await fn({ env, dataDir, dbUri: db.uri });
  } finally {
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
}
