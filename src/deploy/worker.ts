/**
 * The single worker: takes the oldest queued deployment, runs it, takes the
 * next; one at a time because the flake repo is shared (the database's
 * one-running index backs this up). Owns cancellation (abort the running
 * run's process group, or cancel a queued row), restart recovery (a
 * deployment left `running` by a dead process becomes `interrupted` and the
 * repo goes back to its last good commit) and the graceful stop (wait until
 * the deadline, then interrupt the run the same way).
 */

import { closeRunningSteps, type DeploymentRow } from "./deployment.ts";
import { flakeRepo, revertMessage } from "./git.ts";
import { type PipelineDeps, runDeployment } from "./pipeline.ts";
import { appendLog, changeDeployment, claimNext, logTail, runningDeployments } from "./store.ts";

export type CancelResult = "cancelling" | "cancelled" | "finished" | "not_found";

export interface Worker {
  start(): Promise<void>;
  wake(): void;
  cancel(id: string): Promise<{ result: CancelResult; row?: DeploymentRow }>;
  stop(deadline: AbortSignal): Promise<void>;
}

// A safety net only: every enqueue wakes the worker directly.
const POLL_MS = 10_000;

export function createWorker(deps: PipelineDeps): Worker {
  const { sql, bus } = deps;
  const log = deps.log.child({ component: "deploy-worker" });
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let current: { id: string; ac: AbortController; done: Promise<unknown> } | undefined;
  const cancelRequested = new Set<string>();

  const idle = () =>
    new Promise<void>((resolve) => {
      // stop() may have run while the loop was busy; it must not wait a poll interval.
      if (stopping) return resolve();
      const t = setTimeout(resolve, POLL_MS);
      wakeUp = () => {
        clearTimeout(t);
        wakeUp = undefined;
        resolve();
      };
    });

  const loop = async () => {
    while (!stopping) {
      let claimed;
      try {
        claimed = await claimNext(sql);
      } catch (e) {
        log.error("cannot take the next deployment", { error: e });
        await idle();
        continue;
      }
      if (!claimed) {
        await idle();
        continue;
      }
      bus.publish(claimed.event);
      const ac = new AbortController();
      const row = claimed.row;
      const done = runDeployment(deps, row, ac.signal).catch((e) =>
        log.error("deployment run failed", { error: e, deployment_id: row.id })
      );
      current = { id: row.id, ac, done };
      if (cancelRequested.delete(row.id)) ac.abort("cancel");
      await done;
      current = undefined;
    }
  };

  const recover = async (row: DeploymentRow) => {
    const rlog = log.child({ deployment_id: row.id, package: row.package, version: row.version });
    const lines: string[] = ["despacito restarted while this deployment was running"];
    let revertSha: string | null = null;
    try {
      const git = flakeRepo({ exec: deps.exec, config: deps.config, dir: deps.flakeDir });
      // The run checked the tree was clean before nix wrote flake.lock, so a change there is ours.
      if ((await git.dirtyPaths()).includes("flake.lock")) {
        await git.restoreLock();
        lines.push("discarded the uncommitted flake.lock change");
      }
      const head = await git.head();
      const t = await git.trailers(head);
      if (t["Deployment-Id"] === row.id && !t["Reverts"]) {
        revertSha = await git.commitLockFrom(
          `${head}^`,
          revertMessage({
            package: row.package,
            version: row.version,
            id: row.id,
            commitSha: head,
            reason: "interrupted: despacito stopped while this deployment was running",
          }),
        );
        lines.push(`reverted ${head} with ${revertSha}`);
      }
    } catch (e) {
      lines.push(`could not put the flake repo back: ${(e as Error).message}`);
      rlog.error("recovery could not restore the flake repo", { error: e });
    }
    for (const l of lines) bus.publish(await appendLog(sql, row.id, "system", l));
    const c = await changeDeployment(sql, row.id, ["running"], {
      status: "interrupted",
      finished_at: new Date(),
      steps: closeRunningSteps(row.steps, "failed"),
      error: "interrupted: despacito stopped while this deployment was running",
      failure_kind: "error",
      revert_sha: revertSha ?? row.revertSha,
      log_tail: await logTail(sql, row.id, 50),
    });
    if (c) bus.publish(c.event);
    rlog.warn("deployment interrupted by a restart", { revert_sha: revertSha });
  };

  return {
    async start() {
      for (const row of await runningDeployments(sql)) await recover(row);
      loopDone = loop();
    },
    wake: () => wakeUp?.(),
    async cancel(id) {
      if (current?.id === id) {
        await sql`update deployments set cancel_requested_at = now() where id = ${id}`;
        bus.publish(await appendLog(sql, id, "system", "cancel requested"));
        current.ac.abort("cancel");
        return { result: "cancelling" };
      }
      const c = await changeDeployment(sql, id, ["queued"], {
        status: "cancelled",
        finished_at: new Date(),
        error: "cancelled before it started",
        failure_kind: "error",
        cancel_requested_at: new Date(),
      });
      if (c) {
        bus.publish(c.event);
        return { result: "cancelled", row: c.row };
      }
      const [row] = await sql<DeploymentRow[]>`select * from deployments where id = ${id}`;
      if (!row) return { result: "not_found" };
      if (row.status === "running") {
        // Claimed a moment ago, not yet handed to the pipeline.
        cancelRequested.add(id);
        return { result: "cancelling", row };
      }
      return { result: "finished", row };
    },
    async stop(deadline) {
      stopping = true;
      wakeUp?.();
      const running = current;
      if (running) {
        if (!deadline.aborted) {
          const timedOut = new Promise<void>((r) =>
            deadline.addEventListener("abort", () => r(), { once: true })
          );
          await Promise.race([running.done, timedOut]);
        }
        if (current === running) {
          log.warn("shutdown deadline reached: interrupting the running deployment", {
            deployment_id: running.id,
          });
          running.ac.abort("shutdown");
        }
      }
      await loopDone;
    },
  };
}
