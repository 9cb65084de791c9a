/**
 * Recovery of a deployment a dead despacito left `running` (kill -9, host
 * loss, or a run whose record could not be finished): handled exactly like
 * a failure. Any colmena group it left is ended first (the orphan guard);
 * then the repo goes back (restore) and, if activation may have begun,
 * every node it targeted is re-activated at the restored lock (which
 * nodes switched is unknown after a crash, so all of them). Ends
 * `interrupted`; a failed rollback holds the package.
 */

import { closeRunningSteps, type DeploymentRow, endStep, startStep } from "./deployment.ts";
import { durably } from "./durable.ts";
import { flakeRepo, type GitRepo } from "./git.ts";
import { createJournal } from "./journal.ts";
import { resolveSettings } from "./settings.ts";
import { logTail, packageStates } from "./store.ts";
import type { PipelineDeps } from "./steps/context.ts";
import { pushRevert } from "./steps/push.ts";
import { findLeftovers, restoreRepo } from "./steps/restore.ts";
import { rollbackFleet } from "./steps/rollback.ts";

const REASON = "interrupted: despacito stopped while this deployment was running";

export async function recoverDeployment(deps: PipelineDeps, row: DeploymentRow): Promise<void> {
  const log = deps.log.child({
    component: "deploy-recovery",
    deployment_id: row.id,
    package: row.package,
    version: row.version,
  });
  const journal = createJournal({ writes: deps.writes, deploymentId: row.id, log });
  const say = (l: string) => journal.write("system", l);
  say("despacito restarted while this deployment was running");
  const git = flakeRepo({ exec: deps.exec, config: deps.config, dir: deps.flakeDir });
  let steps = closeRunningSteps(row.steps, "failed");
  let revertSha: string | null = null;
  let rollback = null;
  try {
    if (deps.remote) await syncForRecovery(deps, git, say);
    const left = await findLeftovers(git, row);
    if (left.lockTouched || left.commitSha) {
      steps = startStep(steps, "restore");
      const publish = deps.remote &&
        (() => pushRevert({ ...deps, remote: deps.remote!, deploymentId: row.id, say }));
      const r = await restoreRepo({ git, row, say, ...left, reason: REASON, publish });
      revertSha = r.revertSha;
      steps = endStep(steps, "restore", r.ok ? "ok" : "failed");
    }
    // Activation may have begun once the deploy commit existed (or the lock was already there).
    const activating = row.steps.some((s) => s.name === "activate");
    if (activating) {
      const settings = await deps.settings.forPackage(row.package).catch(() =>
        resolveSettings({ defaults: {}, packages: {} }, row.package, deps.config.deployTimeoutMs)
      );
      const before = Object.fromEntries(
        (await packageStates(deps.sql)).map((s) => [s.package, s.version]),
      );
      steps = startStep(steps, "rollback");
      rollback = await rollbackFleet({
        sql: deps.sql,
        exec: deps.exec,
        guard: deps.guard,
        colmenaBin: deps.config.colmenaBin,
        flakeDir: deps.flakeDir,
        log,
        row,
        settings,
        on: row.targets ?? settings.on ?? "",
        commitSha: revertSha ?? (await git.head()),
        packages: before,
        say,
        output: (s, l) => journal.write(s, l),
      });
      steps = endStep(steps, "rollback", rollback.status === "ok" ? "ok" : "failed");
    }
  } catch (e) {
    say(`could not recover the flake repo or the fleet: ${(e as Error).message}`);
    log.error("recovery failed", { error: e });
  }
  await journal.flush();
  await durably(async () =>
    deps.writes.change(row.id, ["running"], {
      status: "interrupted",
      finishedAt: new Date(),
      steps,
      error: rollback
        ? `${REASON}; ${rollback.status === "ok" ? "the fleet was rolled back" : rollback.message}`
        : REASON,
      failureKind: "error",
      failureCode: "interrupted",
      revertSha: revertSha ?? row.revertSha,
      rollback,
      logTail: await logTail(deps.sql, row.id, 50),
    }), { log, what: "the recovered deployment" });
  log.warn("deployment interrupted by a restart", { revert_sha: revertSha });
}

/**
 * With a remote: what the dead run pushed is on the remote, not necessarily
 * in this work tree (another instance ran it), so fetch first. An
 * uncommitted flake.lock is ours and goes first; a remote that cannot be
 * reached leaves the local tree as the truth.
 */
async function syncForRecovery(deps: PipelineDeps, git: GitRepo, say: (l: string) => void) {
  try {
    if ((await git.dirtyPaths()).includes("flake.lock")) {
      await git.restoreLock();
      say("flake.lock restored; the repo is as it was");
    }
    await deps.remote!.sync(say);
  } catch (e) {
    say(`could not sync with the flake remote before recovering: ${(e as Error).message}`);
  }
}
