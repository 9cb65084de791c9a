/**
 * The orphan guard: never two colmena at once, also across crashes.
 * colmena runs in its own session (so its whole group can be ended) and
 * therefore survives a `kill -9` of despacito. Right after a run starts, its
 * process group id and the time despacito started it are written to a file
 * in the data dir; after it ends the file is removed. On start, `reap()`
 * finds a group left by a dead despacito, ends it (SIGTERM, then SIGKILL
 * after a grace) and waits until it is gone, before anything else may run.
 * The start time guards against a reused pid: the leader's age (`ps -o
 * etimes=`, asked only when reaping) must put its start within the second
 * it rounds to (and START_MARGIN_MS) of the recorded time, so a different
 * process that happens to have the same id is never signalled. (Records
 * written before carry the leader's `ps -o lstart=` instead, taken by a `ps`
 * beside every colmena start — measured to slow a short colmena by 6–20 ms
 * on a loaded 2-core machine, bench/README.md P2; both are compared.)
 */

import { dirname } from "node:path";
import type { Logger } from "../log/log.ts";

export interface GroupGuard {
  /** Remembers a just-started group leader. */
  record(pid: number): Promise<void>;
  /** Forgets it once it ended. */
  clear(): Promise<void>;
  /** Ends a surviving group from an earlier process; resolves when none is left. */
  reap(): Promise<"none" | "gone" | "ended">;
}

interface Recorded {
  pgid: number;
  /** When despacito started the leader (ms since the epoch, its clock). */
  spawnedAt?: number;
  /** Records of earlier versions: the leader's start as `ps -o lstart=` printed it. */
  started?: string;
}

/**
 * How far the leader's start, as `ps` puts it, may be from the recorded time: the record is
 * written a few ms after the start, and `ps` reads its clock a little after ours.
 */
const START_MARGIN_MS = 250;

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      clearEnv: true,
      env: { PATH: "/run/current-system/sw/bin:/usr/bin:/bin" },
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout).trim() };
  } catch {
    return { code: -1, stdout: "" };
  }
}

/** When the process started, as `ps` prints it; "" when there is no such process. */
async function startTime(pid: number): Promise<string> {
  const r = await run(["ps", "-o", "lstart=", "-p", String(pid)]);
  return r.code === 0 ? r.stdout : "";
}

/**
 * Is the process with this pid the one started at `spawnedAt`? True when there is no such
 * process (its group may outlive it), or when its age, in whole seconds, puts its start
 * within a second (and the margin) of that time.
 */
async function startedAt(pid: number, spawnedAt: number): Promise<boolean> {
  const before = Date.now();
  const r = await run(["ps", "-o", "etimes=", "-p", String(pid)]);
  const after = Date.now();
  const secs = Number(r.stdout);
  if (r.code !== 0 || r.stdout === "" || !Number.isInteger(secs)) return true;
  // It started after `before - (secs + 1) s` and no later than `after - secs s`.
  return spawnedAt >= before - (secs + 1) * 1000 - START_MARGIN_MS &&
    spawnedAt <= after - secs * 1000 + START_MARGIN_MS;
}

async function groupAlive(pgid: number): Promise<boolean> {
  return (await run(["kill", "-0", "--", `-${pgid}`])).code === 0;
}

export function createGroupGuard(o: { file: string; log: Logger; graceMs?: number }): GroupGuard {
  const waitGone = async (pgid: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await groupAlive(pgid))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return !(await groupAlive(pgid));
  };
  return {
    async record(pid) {
      // No process here: this runs as colmena starts, and a `ps` beside it slows it.
      const rec: Recorded = { pgid: pid, spawnedAt: Date.now() };
      await Deno.mkdir(dirname(o.file), { recursive: true });
      await Deno.writeTextFile(o.file, JSON.stringify(rec));
    },
    async clear() {
      await Deno.remove(o.file).catch(() => {});
    },
    async reap() {
      let rec: Recorded;
      try {
        rec = JSON.parse(await Deno.readTextFile(o.file));
      } catch {
        return "none";
      }
      let ours: boolean;
      if (rec.spawnedAt !== undefined) ours = await startedAt(rec.pgid, rec.spawnedAt);
      else {
        const leaderNow = await startTime(rec.pgid);
        ours = leaderNow === "" || leaderNow === rec.started;
      }
      if (!ours || !(await groupAlive(rec.pgid))) {
        await Deno.remove(o.file).catch(() => {});
        return "gone";
      }
      o.log.warn("a colmena from before the restart is still running: ending its process group", {
        pgid: rec.pgid,
      });
      await run(["kill", "-s", "TERM", "--", `-${rec.pgid}`]);
      if (!(await waitGone(rec.pgid, o.graceMs ?? 10_000))) {
        await run(["kill", "-s", "KILL", "--", `-${rec.pgid}`]);
        await waitGone(rec.pgid, 10_000);
      }
      await Deno.remove(o.file).catch(() => {});
      return "ended";
    },
  };
}
