/**
 * The single worker: takes the oldest queued deployment, runs it, takes the
 * next; one at a time because the flake repo is shared (the database's
 * one-running index backs this up). Owns cancellation (abort the running
 * run's process group, or cancel a queued row), recovery (before anything
 * runs, a colmena group left by a crash is ended and a deployment left
 * `running` is recovered like a failure — at start, and whenever a stuck
 * row is found later, e.g. after a database outage) and the graceful stop
 * (wait until the deadline, then interrupt the run the same way).
 */

import type { DeploymentRow } from "./deployment.ts";
import { isTransientDbError } from "./durable.ts";
import { type PipelineDeps, runDeployment } from "./pipeline.ts";
import { recoverDeployment } from "./recovery.ts";
import { getDeployment, markCancelRequested, runningDeployments } from "./store.ts";

export type CancelResult = "cancelling" | "cancelled" | "finished" | "not_found";

export interface Worker {
  start(): Promise<void>;
  /** A deployment was queued or a package released: take the next one if idle. */
  wake(): void;
  /**
   * Another instance published an event (DESPACITO_HA): it may have asked to cancel the running
   * deployment, which only its record says. Local requests need not read it: a cancel here calls
   * cancel() (an admission here must not cost a read of the running row).
   */
  wakeFromAnotherInstance(): void;
  cancel(id: string): Promise<{ result: CancelResult; row?: DeploymentRow }>;
  stop(deadline: AbortSignal): Promise<void>;
  /** True while a deployment runs (readiness tolerates its uncommitted flake.lock). */
  busy(): boolean;
}

// A safety net only: every enqueue wakes the worker directly.
const POLL_MS = 10_000;
// While the database is away: how soon to try again.
const RETRY_MS = 1_000;

export function createWorker(deps: PipelineDeps): Worker {
  const { sql } = deps;
  const log = deps.log.child({ component: "deploy-worker" });
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let current: { id: string; ac: AbortController; done: Promise<unknown> } | undefined;
  const cancelRequested = new Set<string>();

  const idle = (ms = POLL_MS) =>
    new Promise<void>((resolve) => {
      // stop() may have run while the loop was busy; it must not wait a poll interval.
      if (stopping) return resolve();
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        wakeUp = undefined;
        resolve();
      };
    });

  /** Ends a surviving colmena, then recovers every row left `running` by no live run. */
  const heal = async () => {
    await deps.guard.reap();
    for (const row of await runningDeployments(sql)) {
      if (row.id !== current?.id) await recoverDeployment(deps, row);
    }
  };

  const loop = async () => {
    while (!stopping) {
      let claimed;
      try {
        await deps.guard.reap();
        // The claim also reports rows left running (a stuck row found later, e.g. after a
        // database outage): those are recovered first, and the queue is asked again.
        const c = await deps.writes.claim();
        for (const row of c.stuck) await recoverDeployment(deps, row);
        if (c.stuck.length > 0) continue;
        claimed = c.claimed;
      } catch (e) {
        if (isTransientDbError(e)) log.warn("the database is away; the queue waits", { error: e });
        else log.error("cannot take the next deployment", { error: e });
        await idle(RETRY_MS);
        continue;
      }
      if (!claimed) {
        await idle();
        continue;
      }
      const ac = new AbortController();
      const row = claimed;
      const done = runDeployment(deps, row, ac.signal).catch((e) =>
        log.error("deployment run failed", { error: e, deployment_id: row.id })
      );
      current = { id: row.id, ac, done };
      if (cancelRequested.delete(row.id)) ac.abort("cancel");
      await done;
      current = undefined;
    }
  };

  return {
    async start() {
      // Never two colmena at once, also across crashes: the survivor ends before anything runs.
      await heal();
      loopDone = loop();
    },
    wake() {
      wakeUp?.();
    },
    wakeFromAnotherInstance() {
      wakeUp?.();
      const running = current;
      if (!running) return;
      getDeployment(sql, running.id).then((row) => {
        if (row?.cancelRequestedAt && current === running) running.ac.abort("cancel");
      }).catch((e) => log.warn("cannot read the running deployment", { error: e }));
    },
    busy: () => current !== undefined,
    async cancel(id) {
      if (current?.id === id) {
        await markCancelRequested(sql, id);
        await deps.writes.log(id, "system", "cancel requested");
        current.ac.abort("cancel");
        return { result: "cancelling" };
      }
      const c = await deps.writes.change(id, ["queued"], {
        status: "cancelled",
        finishedAt: new Date(),
        error: "cancelled before it started",
        failureKind: "error",
        failureCode: "cancelled",
        cancelRequestedAt: new Date(),
      });
      if (c) return { result: "cancelled", row: c.row };
      const row = await getDeployment(sql, id);
      if (!row) return { result: "not_found" };
      if (row.status === "running") {
        // Claimed a moment ago, not yet handed to the pipeline — or (DESPACITO_HA) running on
        // the leader: the record asks, and the leader's wakeFromAnotherInstance() (relay.ts)
        // reads it.
        cancelRequested.add(id);
        await markCancelRequested(sql, id);
        await deps.writes.log(id, "system", "cancel requested");
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
