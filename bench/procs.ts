/**
 * The benchmarks' server processes: started with a clean environment, ready
 * once a stdout line says so, stopped with SIGTERM (SIGKILL after a deadline,
 * so that a server that does not stop cannot hang a run). Shared by
 * bench/compare.ts and bench/idle_rss.ts.
 */

import { REPO_DIR } from "../tests/_harness/server.ts";
import { cpuMs } from "./deploy_metrics.ts";

const STOP_DEADLINE_MS = 15_000;

export interface Proc {
  name: string;
  pid: number;
  url: string;
  /** Milliseconds from spawn to "listening" (despacito: its "despacito started" line). */
  startMs: number;
  /** CPU time (user + system, all threads) from spawn to ready: start cost, less hurt by load. */
  startCpuMs?: number;
  stop(): Promise<void>;
}

/**
 * Spawns `argv` and resolves once a stdout line matches `ready` (its first
 * group is the address). Output after that is read and dropped: the bench
 * must not hold hundreds of thousands of request log lines in memory.
 */
export async function spawnUntil(
  name: string,
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
  cwd = REPO_DIR,
  /** Told when the process had to be killed after not stopping on SIGTERM. */
  onKilled: (name: string, message: string) => void = () => {},
): Promise<Proc> {
  const t0 = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const errDone = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (stderr.length < 20_000) stderr += c;
    }
  })();
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  let pending = "";
  let address: string | undefined;
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  while (address === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      await errDone;
      throw new Error(`${name} exited before it was ready:\n${pending}\n${stderr}`);
    }
    pending += dec.decode(value, { stream: true });
    const m = pending.match(ready);
    if (m) address = m[1];
    else pending = pending.slice(-4096);
  }
  clearTimeout(timer);
  const startMs = performance.now() - t0;
  const startCpuMs = cpuMs(child.pid);
  const verbose = !!Deno.env.get("BENCH_VERBOSE");
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // Dropped, unless asked for (debugging the bench itself).
      if (verbose) Deno.stderr.writeSync(value);
    }
  })();
  return {
    name,
    pid: child.pid,
    url: /^\d+$/.test(address) ? `http://127.0.0.1:${address}` : `http://${address}`,
    startMs,
    startCpuMs,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      // A server that does not stop must not hang the bench (or the test suite's smoke run).
      const killer = setTimeout(() => {
        onKilled(name, `${name} did not stop within ${STOP_DEADLINE_MS} ms of SIGTERM: killed`);
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, STOP_DEADLINE_MS);
      await child.status;
      clearTimeout(killer);
      await drained;
      await errDone;
    },
  };
}

/** PATH, HOME and Deno's cache location: what `deno run` itself needs. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}
