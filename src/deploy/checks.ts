/**
 * Running the post-activation checks of DESPACITO_CONFIG: an HTTP probe
 * (status, optional body pattern) or a command on the deployed nodes via
 * `colmena exec --on <nodes> -- <argv…>`, each with its attempts, pauses
 * and timeout. Returns one record per check as README shows it; never
 * decides what a failure means (the verify step does).
 */

import type { Executor } from "../exec/run.ts";
import type { Logger } from "../log/log.ts";
import type { Check, CommandCheck, HttpCheck } from "./check_settings.ts";
import type { CheckRecord } from "./deployment.ts";

export interface CheckRunDeps {
  exec: Executor;
  colmenaBin: string;
  flakeDir: string;
  log: Logger;
  say(line: string): void;
  onOutput(stream: "stdout" | "stderr", line: string): void;
  onSpawn?(pid: number): void | Promise<void>;
  onExit?(): void | Promise<void>;
}

type Attempt = { ok: boolean; message: string | null; nodes?: CheckRecord["nodes"] };

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

async function httpAttempt(c: HttpCheck, signal: AbortSignal): Promise<Attempt> {
  try {
    const res = await fetch(c.url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeoutMs)]),
      redirect: "manual",
    });
    const body = await res.text();
    if (res.status !== c.status) {
      return { ok: false, message: `answered ${res.status}, expected ${c.status}` };
    }
    if (c.body !== null && !new RegExp(c.body).test(body)) {
      return { ok: false, message: `body does not match /${c.body}/` };
    }
    return { ok: true, message: `answered ${res.status}` };
  } catch (e) {
    const why = (e as Error).name === "TimeoutError"
      ? `no answer within ${c.timeoutMs} ms`
      : (e as Error).message;
    return { ok: false, message: why };
  }
}

const LINE = /^\s*(\S+) \| (.*)$/;
const FAILED = /^(?:Failed|.* failed): (.*)$/;

async function commandAttempt(
  c: CommandCheck,
  nodes: string[],
  deps: CheckRunDeps,
  signal: AbortSignal,
): Promise<Attempt> {
  const argv = [deps.colmenaBin, "exec", "--on", nodes.join(","), "--", ...c.argv];
  deps.say(`$ ${argv.join(" ")}`);
  const failed = new Map<string, string>();
  const r = await deps.exec(argv, {
    cwd: deps.flakeDir,
    timeoutMs: c.timeoutMs,
    signal,
    log: deps.log,
    onSpawn: deps.onSpawn,
    onLine: (s, l) => {
      deps.onOutput(s, l);
      const m = LINE.exec(l);
      if (m && nodes.includes(m[1])) {
        const f = FAILED.exec(m[2]);
        if (f) failed.set(m[1], m[2]);
      }
    },
  }).finally(() => deps.onExit?.());
  const allFail = r.code !== 0 && failed.size === 0;
  const perNode = nodes.map((n) => {
    const bad = failed.get(n) ?? (allFail ? `colmena exec exited with ${r.code}` : undefined);
    return { node: n, result: bad ? "failed" as const : "passed" as const, message: bad ?? null };
  });
  const bad = perNode.filter((n) => n.result === "failed");
  if (r.timedOut) {
    return { ok: false, message: `timed out after ${c.timeoutMs} ms`, nodes: perNode };
  }
  return {
    ok: r.code === 0 && bad.length === 0,
    message: bad.length ? `failed on ${bad.map((n) => n.node).join(", ")}` : "passed on every node",
    nodes: perNode,
  };
}

/** Runs one check with its retries; resolves with its record. */
export async function runCheck(
  c: Check,
  nodes: string[],
  deps: CheckRunDeps,
  signal: AbortSignal,
): Promise<CheckRecord> {
  const started = performance.now();
  let attempt: Attempt = { ok: false, message: null };
  let attempts = 0;
  for (; attempts <= c.retries && !signal.aborted;) {
    attempts++;
    attempt = c.kind === "http"
      ? await httpAttempt(c, signal)
      : await commandAttempt(c, nodes, deps, signal);
    if (attempt.ok) break;
    deps.say(`check ${c.name}: attempt ${attempts}/${c.retries + 1} failed: ${attempt.message}`);
    if (attempts <= c.retries) await pause(c.intervalMs, signal);
  }
  const record: CheckRecord = {
    name: c.name,
    kind: c.kind,
    target: c.kind === "http" ? c.url : `${c.argv.join(" ")} on ${nodes.join(",")}`,
    attempts,
    result: attempt.ok ? "passed" : "failed",
    duration_ms: Math.round(performance.now() - started),
    message: attempt.message,
    ...(attempt.nodes ? { nodes: attempt.nodes } : {}),
  };
  deps.say(`check ${c.name}: ${record.result} (${attempts} attempt(s), ${record.duration_ms} ms)`);
  return record;
}

export { pause };
