/**
 * One deployment, start to end, in the flake dir: preflight (input still
 * there, settings valid, work tree clean), flake step (pin the input with
 * nix, check that nothing else in flake.lock moved), commit step (flake.lock
 * alone, with trailers), colmena step (streamed, parsed per node, timeout),
 * then the outcome. On any failure the repo is put back: an uncommitted
 * lock change is discarded, a deploy commit is reverted by a new commit.
 * Only the worker calls this, one deployment at a time.
 */

import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Sql } from "../db/connect.ts";
import type { Executor, RunResult } from "../exec/run.ts";
import type { Bus } from "../events/bus.ts";
import type { Logger } from "../log/log.ts";
import { formatDuration } from "../core/duration.ts";
import { colmenaArgv, type NodeOutcome, NodeOutcomeParser } from "./colmena.ts";
import {
  closeRunningSteps,
  type DeploymentRow,
  type DeploymentStatus,
  endStep,
  startStep,
  type StepName,
} from "./deployment.ts";
import { compareLocks, lockArgv, type NixVersion } from "./flake_step.ts";
import { formatSource } from "./flake_ref.ts";
import { deployMessage, flakeRepo, type GitRepo, revertMessage } from "./git.ts";
import { type InputsReader, parseLock } from "./inputs.ts";
import { createJournal, type Journal } from "./journal.ts";
import type { SettingsSource } from "./settings.ts";
import { changeDeployment, type DeployEvent, logTail, recordDeployed } from "./store.ts";

export interface PipelineDeps {
  sql: Sql;
  bus: Bus<DeployEvent>;
  exec: Executor;
  config: Readonly<Config>;
  flakeDir: string;
  inputs: InputsReader;
  settings: SettingsSource;
  nixVersion: () => Promise<NixVersion>;
  log: Logger;
}

/** Why the worker aborted a run. */
export type StopReason = "cancel" | "shutdown";

class Fail extends Error {
  constructor(
    message: string,
    readonly kind: "failure" | "error",
    readonly extra: {
      step?: StepName;
      exitCode?: number | null;
      nodes?: NodeOutcome[];
      status?: DeploymentStatus;
    } = {},
  ) {
    super(message);
  }
}

function stopped(signal: AbortSignal, extra: ConstructorParameters<typeof Fail>[2] = {}): Fail {
  return signal.reason === "cancel"
    ? new Fail("cancelled by request", "error", { ...extra, status: "cancelled" })
    : new Fail("despacito shut down before the deployment finished", "error", {
      ...extra,
      status: "interrupted",
    });
}

export async function runDeployment(
  deps: PipelineDeps,
  row: DeploymentRow,
  signal: AbortSignal,
): Promise<DeploymentRow> {
  const log = deps.log.child({
    component: "deploy",
    deployment_id: row.id,
    package: row.package,
    version: row.version,
  });
  const j = createJournal({ sql: deps.sql, bus: deps.bus, deploymentId: row.id, log });
  const onLine = (s: "stdout" | "stderr", l: string) => j.write(s, l);
  const git = flakeRepo({ exec: deps.exec, config: deps.config, dir: deps.flakeDir, onLine });
  const patch = async (p: Record<string, unknown>) => {
    await j.flush();
    const c = await changeDeployment(deps.sql, row.id, ["running"], p);
    if (c) deps.bus.publish(c.event);
    return c?.row;
  };
  let steps = row.steps;
  let commitSha: string | null = null;
  let lockTouched = false;
  let nodes: NodeOutcome[] = [];

  try {
    j.write("system", `deployment of ${row.package} ${row.version} started`);
    const input = await deps.inputs.get(row.package);
    if (!input) throw new Fail(`${row.package} is no longer an input of the flake`, "error");
    const settings = await deps.settings.forPackage(row.package).catch((e) => {
      throw new Fail(`DESPACITO_CONFIG is invalid: ${(e as Error).message}`, "error");
    });
    if (!(await git.isWorkTree())) {
      throw new Fail(`${deps.flakeDir} is not a git work tree`, "error");
    }
    const dirty = await git.dirtyPaths();
    if (dirty.length > 0) {
      throw new Fail(
        `the flake repo has uncommitted changes, refusing to deploy: ${dirty.join(", ")}`,
        "error",
      );
    }
    const base = await git.head();
    const lockPath = join(deps.flakeDir, "flake.lock");
    const before = parseLock(await Deno.readTextFile(lockPath));

    // Flake step.
    steps = startStep(steps, "flake");
    await patch({ base_sha: base, previous_locked_rev: input.lockedRev, steps });
    const argv = lockArgv(
      deps.config.nixBin,
      await deps.nixVersion(),
      input.name,
      row.flakeRef,
    );
    j.write("system", `$ ${argv.join(" ")}`);
    lockTouched = true;
    const nix = await deps.exec(argv, {
      cwd: deps.flakeDir,
      onLine,
      signal,
      timeoutMs: settings.timeoutMs,
      log,
    });
    if (nix.cancelled) throw stopped(signal, { step: "flake" });
    if (nix.code !== 0) throw new Fail(why("nix flake lock", nix), "error", { step: "flake" });
    const change = compareLocks(before, parseLock(await Deno.readTextFile(lockPath)), input.name);
    if (change.problem) {
      throw new Fail(`refusing the new flake.lock: ${change.problem}`, "error", { step: "flake" });
    }
    steps = endStep(steps, "flake", "ok");
    j.write("system", `${input.name} locked at ${change.lockedRev ?? "(no rev)"}`);

    // Commit step.
    if (!change.changed) {
      j.write("system", "flake.lock unchanged (already pinned there): nothing to commit");
      steps = endStep(steps, "commit", "skipped");
      lockTouched = false;
    } else {
      steps = startStep(steps, "commit");
      await patch({ steps, locked_rev: change.lockedRev });
      commitSha = await git.commitLock(deployMessage({
        package: row.package,
        version: row.version,
        id: row.id,
        nixStorePath: row.nixStorePath,
        flakeRef: row.flakeRef ?? formatSource(input.declared),
      })).catch((e) => {
        throw new Fail(`git commit failed: ${(e as Error).message}`, "error", { step: "commit" });
      });
      lockTouched = false;
      steps = endStep(steps, "commit", "ok");
      j.write("system", `committed ${commitSha}`);
    }
    if (signal.aborted) throw stopped(signal);

    // Colmena step.
    steps = startStep(steps, "colmena");
    await patch({
      steps,
      commit_sha: commitSha,
      locked_rev: change.lockedRev,
      previous_locked_rev: change.previousLockedRev,
    });
    const parser = new NodeOutcomeParser(settings.goal);
    const cargv = colmenaArgv(deps.config.colmenaBin, settings);
    j.write("system", `$ ${cargv.join(" ")}`);
    const col = await deps.exec(cargv, {
      cwd: deps.flakeDir,
      timeoutMs: settings.timeoutMs,
      signal,
      log,
      onLine: (s, l) => {
        parser.feed(l);
        j.write(s, l);
      },
    });
    nodes = parser.outcomes();
    const extra = { step: "colmena" as const, exitCode: col.code, nodes };
    if (col.cancelled) throw stopped(signal, extra);
    if (col.timedOut) {
      throw new Fail(
        `colmena timed out after ${
          formatDuration(settings.timeoutMs)
        }; its process group was killed`,
        "error",
        extra,
      );
    }
    if (col.code !== 0) throw new Fail(`colmena apply exited with ${col.code}`, "failure", extra);

    steps = endStep(steps, "colmena", "ok");
    j.write("system", `deployed ${row.package} ${row.version}`);
    await j.flush();
    return await finish(deps, row.id, {
      status: "deployed",
      finished_at: new Date(),
      steps,
      nodes,
      exit_code: col.code,
    });
  } catch (e) {
    const f = e instanceof Fail ? e : new Fail(`internal error: ${(e as Error).message}`, "error");
    if (!(e instanceof Fail)) log.error("deployment crashed", { error: e });
    j.write("system", `${f.extra.status ?? "failed"}: ${f.message}`);
    const revertSha = await putRepoBack(git, j, { row, lockTouched, commitSha, reason: f.message });
    steps = closeRunningSteps(steps, "failed");
    await j.flush();
    return await finish(deps, row.id, {
      status: f.extra.status ?? "failed",
      finished_at: new Date(),
      steps,
      nodes: f.extra.nodes ?? nodes,
      exit_code: f.extra.exitCode ?? null,
      error: f.message,
      failure_kind: f.kind,
      revert_sha: revertSha,
      log_tail: await logTail(deps.sql, row.id, 50),
    });
  }
}

function why(what: string, r: RunResult): string {
  if (r.timedOut) return `${what} timed out`;
  const tail = r.stderr.trim().split("\n").filter((l) => !l.startsWith("warning:")).slice(-3);
  return `${what} exited with ${r.code}${tail.length ? `: ${tail.join(" / ")}` : ""}`;
}

/** Discards an uncommitted lock change and reverts a deploy commit. */
async function putRepoBack(
  git: GitRepo,
  j: Journal,
  o: { row: DeploymentRow; lockTouched: boolean; commitSha: string | null; reason: string },
): Promise<string | null> {
  try {
    if (o.lockTouched) {
      await git.restoreLock();
      j.write("system", "flake.lock restored; the repo is as it was");
    }
    if (o.commitSha) {
      const sha = await git.commitLockFrom(
        `${o.commitSha}^`,
        revertMessage({
          package: o.row.package,
          version: o.row.version,
          id: o.row.id,
          commitSha: o.commitSha,
          reason: o.reason,
        }),
      );
      j.write("system", `reverted ${o.commitSha} with ${sha ?? "(nothing to revert)"}`);
      return sha;
    }
  } catch (e) {
    j.write("system", `could not put the flake repo back: ${(e as Error).message}`);
  }
  return null;
}

async function finish(
  deps: PipelineDeps,
  id: string,
  p: Record<string, unknown>,
): Promise<DeploymentRow> {
  const done = await deps.sql.begin(async (tx) => {
    const c = await changeDeployment(tx, id, ["running"], p);
    if (c && c.row.status === "deployed") await recordDeployed(tx, c.row);
    return c;
  });
  if (!done) throw new Error(`deployment ${id} was no longer running when it finished`);
  deps.bus.publish(done.event);
  return done.row;
}
