/**
 * The one way despacito runs external programs (git, nix, colmena): argv
 * arrays only (never a shell), output streamed line by line as it arrives,
 * a timeout per call, cancellation by AbortSignal, and on either the whole
 * process group is ended, so a colmena that spawned ssh and nix children
 * leaves nothing behind (a program that starts no children of its own may
 * run in despacito's group instead: `ownGroup`). Children get an allowlisted environment, never
 * despacito's own secrets. The exit status decides: a grandchild that
 * escaped the group and keeps stdout open is not waited for beyond a short
 * drain. Knows nothing of what the programs mean.
 */

import type { Logger } from "../log/log.ts";
import { childEnv } from "./env.ts";

export type Stream = "stdout" | "stderr";

export interface RunOptions {
  cwd?: string;
  /** Extra environment for the child (merged over the inherited one). */
  env?: Record<string, string>;
  /** Kill the process group after this many milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called for each complete line, in arrival order per stream. */
  onLine?: (stream: Stream, line: string) => void;
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
  /** How long after SIGTERM before SIGKILL. */
  killGraceMs?: number;
  /** How long to keep reading output after the program exited (escaped grandchildren). */
  drainMs?: number;
  /** Called with the pid (= process group id) right after the child started. */
  onSpawn?: (pid: number) => void | Promise<void>;
  /**
   * The environment the child inherits before `env` is merged over it;
   * default: the allowlist of ./env.ts. Never pass despacito's own.
   */
  baseEnv?: Record<string, string>;
  log?: Logger;
  /**
   * After a normal exit, end what is left of the process group (default true: colmena's ssh
   * and nix children). False for programs that leave nothing behind (git): under the
   * production permissions ending a group starts `kill`, and a spawn costs the event loop
   * milliseconds. A timeout or cancel ends the group either way.
   */
  reapGroup?: boolean;
  /**
   * Start the program in a session of its own, so that a timeout, a cancel or the reap ends
   * its whole process group (default true). False for a program that starts no children that
   * could outlive it (local git with the module's config: no hooks, no fsmonitor; `--version`
   * probes): a new session costs a fork of despacito itself (Deno's `detached` sets it up
   * between fork and exec), 4–8 ms of the event loop at despacito's size against 1–2 ms for
   * an ordinary spawn, measured (bench/README.md, P2). A timeout then signals the program
   * alone, and there is no group to reap.
   */
  ownGroup?: boolean;
}

export interface RunResult {
  argv: string[];
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
}

/** What the domain depends on, so tests can hand in a fake at the process boundary. */
export type Executor = (argv: string[], options?: RunOptions) => Promise<RunResult>;

export class ExecError extends Error {
  readonly result?: RunResult;
  constructor(message: string, options: { cause?: unknown; result?: RunResult } = {}) {
    super(message, { cause: options.cause });
    this.name = "ExecError";
    this.result = options.result;
  }
}

export const runProcess: Executor = async (argv, options = {}) => {
  const [cmd, ...args] = argv;
  const started = performance.now();
  options.log?.debug("exec", { argv, cwd: options.cwd });
  if (options.signal?.aborted) {
    return {
      argv,
      code: -1,
      signal: null,
      stdout: "",
      stderr: "",
      timedOut: false,
      cancelled: true,
      durationMs: 0,
    };
  }

  const ownGroup = options.ownGroup !== false;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: { ...(options.baseEnv ?? childEnv()), ...options.env },
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      // A new session makes the child a process-group leader we can kill as a whole.
      detached: ownGroup,
    }).spawn();
  } catch (e) {
    throw new ExecError(`cannot start ${cmd}: ${e instanceof Error ? e.message : e}`, { cause: e });
  }

  let timedOut = false;
  let cancelled = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const end = (sig: Deno.Signal) => ownGroup ? signalGroup(child, sig) : signalChild(child, sig);
  const killGroup = () => {
    end("SIGTERM");
    killTimer = setTimeout(() => end("SIGKILL"), options.killGraceMs ?? 5_000);
  };
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    killGroup();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    await options.onSpawn?.(child.pid);
  } catch (e) {
    // The child runs regardless; losing the note only weakens crash recovery.
    options.log?.warn("could not record a started process", { error: e, pid: child.pid });
  }
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }

  const out = collectLines(child.stdout, "stdout", options.onLine);
  const err = collectLines(child.stderr, "stderr", options.onLine);
  try {
    const status = await child.status;
    // The exit status decides. Output still buffered arrives within the drain;
    // a grandchild that left the group and holds the pipe open is cut off.
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    const drained = new Promise<void>((r) => {
      drainTimer = setTimeout(r, options.drainMs ?? 2_000);
    });
    await Promise.race([Promise.all([out.done, err.done]), drained]);
    clearTimeout(drainTimer);
    const [stdout, stderr] = await Promise.all([out.stop(), err.stop()]);
    const result: RunResult = {
      argv,
      code: status.code,
      signal: status.signal,
      stdout,
      stderr,
      timedOut,
      cancelled,
      durationMs: Math.round(performance.now() - started),
    };
    options.log?.debug("exec done", {
      argv0: cmd,
      code: status.code,
      duration_ms: result.durationMs,
    });
    return result;
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    options.signal?.removeEventListener("abort", onAbort);
    // Children of the leader may still hold the group; end them too.
    if (ownGroup && (options.reapGroup !== false || timedOut || cancelled)) {
      signalGroup(child, "SIGKILL");
    }
  }
};

/**
 * Signals the child's whole process group (colmena's ssh and nix children
 * included). Deno.kill needs an unrestricted --allow-run, which production
 * does not grant, so then the `kill` program (allowed by name in
 * src/build/permissions.ts) signals the group instead — started, not waited
 * for: every exec ends with this, and waiting for a process (or, worse,
 * blocking the event loop in a synchronous spawn) cost each git call its
 * double. The leader of a killed group dies only after `kill` ran, so an
 * exec that waits for the leader still returns with the group signalled.
 * Only if neither is permitted is the child alone signalled.
 */
function signalGroup(child: Deno.ChildProcess, sig: Deno.Signal) {
  try {
    Deno.kill(-child.pid, sig);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) return; // The group is already gone.
  }
  try {
    // `--` so that the negative process-group id is not read as an option.
    const kill = new Deno.Command("kill", {
      args: ["-s", sig.replace(/^SIG/, ""), "--", `-${child.pid}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    kill.status.catch(() => {});
    return;
  } catch {
    // `kill` is not allowed or not installed: fall back to the child itself.
  }
  signalChild(child, sig);
}

function signalChild(child: Deno.ChildProcess, sig: Deno.Signal) {
  try {
    child.kill(sig);
  } catch {
    // Already exited.
  }
}

/** Reads after which a program counts as chatty: its short reads are followed by a pause. */
const CHATTY_READS = 16;
/** A read shorter than this, from a chatty program, is followed by a pause of GATHER_MS. */
const SHORT_READ = 16_384;
const GATHER_MS = 1;

/**
 * Reads a pipe line by line; `stop()` cancels what is left and returns all text read. One
 * decoder per pipe (a character split across reads is joined by it) and one `indexOf` per line:
 * colmena may print tens of thousands of lines, and a regex split of each read allocated an
 * array and searched the text twice. A line split across reads is joined once; `\r\n` ends a line
 * like `\n` (also when the two arrive in different reads); a last line without a newline is
 * handed over at the end as it is.
 *
 * A program that writes a line at a time (colmena, the fake colmena of the benchmark) would
 * cost a read, a wake-up and a promise per line or two, as each read takes what the pipe holds
 * at that moment. After CHATTY_READS reads, a short read is followed by a pause of GATHER_MS so
 * that its output gathers in the pipe (64 KB on Linux) and comes in one read: about 30 reads
 * instead of 1,000 for 20,000 lines, measured (bench/README.md). A short-lived program (git, a
 * probe) never pauses; a millisecond is nothing to someone watching a deployment's log.
 */
export function collectLines(
  stream: ReadableStream<Uint8Array>,
  name: Stream,
  onLine?: (stream: Stream, line: string) => void,
): { done: Promise<void>; stop(): Promise<string> } {
  let all = "";
  /** The start of a line whose newline has not arrived yet. */
  let pending = "";
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const take = (text: string) => {
    all += text;
    if (!onLine) return;
    let from = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
      let line = text.slice(from, nl);
      if (from === 0 && pending !== "") {
        line = pending + line;
        pending = "";
      }
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      onLine(name, line);
      from = nl + 1;
    }
    // Only the text after the last newline is kept: a long line is never searched twice.
    pending += from === 0 ? text : text.slice(from);
  };
  const done = (async () => {
    try {
      for (let reads = 1;; reads++) {
        const { value, done } = await reader.read();
        if (done) break;
        take(decoder.decode(value, { stream: true }));
        if (reads > CHATTY_READS && value.length < SHORT_READ) {
          await new Promise((r) => setTimeout(r, GATHER_MS));
        }
      }
    } catch {
      // Cancelled by stop(): what was read so far is kept.
    }
    take(decoder.decode());
  })();
  return {
    done,
    async stop() {
      await reader.cancel().catch(() => {});
      await done;
      if (onLine && pending !== "") onLine(name, pending);
      pending = "";
      return all;
    },
  };
}

/** Runs and throws ExecError with stderr when the program does not exit 0. */
export async function runChecked(
  exec: Executor,
  argv: string[],
  options?: RunOptions,
): Promise<RunResult> {
  const r = await exec(argv, options);
  if (r.code !== 0) {
    const why = r.timedOut ? "timed out" : r.cancelled ? "was cancelled" : `exited with ${r.code}`;
    const tail = r.stderr.trim().split("\n").slice(-5).join("\n");
    throw new ExecError(`${argv.slice(0, 3).join(" ")} ${why}${tail ? `: ${tail}` : ""}`, {
      result: r,
    });
  }
  return r;
}
