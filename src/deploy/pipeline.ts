/**
 * One deployment, start to end, as a list of named steps over one run
 * context: preflight → flake → commit → activate → verify, or with
 * `stages` activate → verify (→ promotion) per stage. Each step has its own
 * record in `steps[]` and its own log lines (steps/*.ts). On any
 * failure, cancel or shutdown: restore (the repo back to the base commit)
 * and rollback (the nodes that switched go back), or — with `on_failure:
 * hold` — the package is held with the fleet as it is. Database writes are
 * durable: a blip delays the record, never loses it or turns a successful
 * activation into a revert. Only the worker calls this, one at a time.
 */

import { closeRunningSteps, type DeploymentRow, endStep, startStep } from "./deployment.ts";
import { durably } from "./durable.ts";
import { holdPackage, writeNodeStates } from "./fleet_store.ts";
import { flakeRepo } from "./git.ts";
import { createJournal } from "./journal.ts";
import { type DeploymentPatch, logTail } from "./store.ts";
import { activate } from "./steps/activate.ts";
import { commit } from "./steps/commit.ts";
import {
  type FailureInfo,
  type PipelineDeps,
  type PipelineStep,
  type RunContext,
  StepFailure,
  stopped,
} from "./steps/context.ts";
import { flake } from "./steps/flake.ts";
import { preflight } from "./steps/preflight.ts";
import { pushRevert } from "./steps/push.ts";
import { restoreRepo } from "./steps/restore.ts";
import { rollbackFleet } from "./steps/rollback.ts";
import { promotion } from "./steps/promotion.ts";
import { verify } from "./steps/verify.ts";
import type { PackageSettings } from "./settings.ts";

export type { PipelineDeps } from "./steps/context.ts";

/** What runs before the fleet is touched, in order. A new step is one more entry here. */
export const PREPARE: readonly PipelineStep[] = [preflight, flake, commit];

/**
 * The rollout: per stage, activate then verify, then the gate (a manual
 * one waits; the last stage has none). Without stages, one unnamed stage
 * of the package's `on`, `checks` and `soak`.
 */
export function rollout(settings: PackageSettings): PipelineStep[] {
  if (!settings.stages) return [activate({ name: null, on: settings.on }), verify({ name: null })];
  return settings.stages.flatMap((stage, i, all) => [
    activate(stage),
    verify(stage),
    ...(stage.promote === "manual" && i < all.length - 1 ? [promotion(stage)] : []),
  ]);
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
  const journal = createJournal({ writes: deps.writes, deploymentId: row.id, log });
  const ctx: RunContext = {
    deps,
    row,
    signal,
    log,
    journal,
    git: flakeRepo({
      exec: deps.exec,
      config: deps.config,
      dir: deps.flakeDir,
      onLine: (s, l) => journal.write(s, l),
    }),
    say: (l) => journal.write("system", l),
    save: async (patch) => {
      const merged = { ...ctx.deferred, ...patch };
      ctx.deferred = {};
      const nodes = takeNodeStates(ctx);
      // The lines said before it go in the change's own statement, and so do node states.
      await journal.flushInto((lines) =>
        durably(() => deps.writes.change(row.id, ["running"], merged, lines, nodes), {
          log,
          what: "deployment progress",
        })
      ).catch((e) => {
        ctx.nodeStates.unshift(...nodes);
        throw e;
      });
    },
    defer: (patch) => void Object.assign(ctx.deferred, patch),
    deferred: {},
    nodeStates: [],
    steps: row.steps,
    baseSha: null,
    lockTouched: false,
    commitSha: null,
    lockedRev: null,
    previousLockedRev: null,
    before: {},
    after: {},
    nodes: [],
    switched: [],
    lastActivated: [],
    checks: [],
    exitCode: null,
    revertSha: null,
    rollback: null,
  };

  const what = row.kind === "rollback" ? "rollback" : "deployment";
  ctx.say(`${what} of ${row.package} ${row.version} started`);
  try {
    for (const step of PREPARE) await runStep(ctx, step);
    for (const step of rollout(ctx.settings!)) await runStep(ctx, step);
  } catch (e) {
    const f = e instanceof StepFailure
      ? e
      : new StepFailure(`internal error: ${(e as Error).message}`, {
        kind: "error",
        code: "internal",
      });
    if (!(e instanceof StepFailure)) log.error("deployment crashed", { error: e });
    return await failed(ctx, f.message, f.info);
  }
  ctx.say(`deployed ${row.package} ${row.version}`);
  return await finish(ctx, {
    status: "deployed",
    finishedAt: new Date(),
    steps: ctx.steps,
    nodes: ctx.nodes,
    checks: ctx.checks,
    exitCode: ctx.exitCode,
  });
}

/** One step: its start recorded (now, later or alongside), run, its end kept for the next write. */
export async function runStep(ctx: RunContext, step: PipelineStep): Promise<void> {
  if (ctx.signal.aborted) throw stopped(ctx.signal);
  ctx.steps = startStep(ctx.steps, step.name, new Date(), step.stage);
  if (step.idle?.(ctx)) {
    ctx.steps = endStep(ctx.steps, step.name, "skipped");
    return ctx.defer({ steps: ctx.steps });
  }
  let saving: Promise<void> | undefined;
  if (step.startWrittenLater?.(ctx)) ctx.defer({ steps: ctx.steps });
  else if (step.startWrittenAlongside?.(ctx)) {
    saving = ctx.save({ steps: ctx.steps });
    // Awaited in `finally`; a failure while the step still runs must not count as unhandled
    // (Deno ends the process on an unhandled rejection).
    saving.catch(() => {});
  } else await ctx.save({ steps: ctx.steps });
  try {
    const outcome = await step.run(ctx);
    ctx.steps = endStep(ctx.steps, step.name, outcome);
  } catch (e) {
    ctx.steps = endStep(ctx.steps, step.name, "failed");
    throw e;
  } finally {
    // Stored before anything else is: the journal orders later writes after it anyway.
    await saving;
  }
  // Written with the next step's start (or the outcome): one write per step boundary.
  ctx.defer({ steps: ctx.steps });
}

/** Restore + rollback (or hold), then the failed/cancelled/interrupted record. */
async function failed(ctx: RunContext, message: string, info: FailureInfo): Promise<DeploymentRow> {
  const { row, deps } = ctx;
  const status = info.status ?? "failed";
  // What colmena reported is recorded before anything else happens (a revert, a rollback).
  const nodes = takeNodeStates(ctx);
  if (nodes.length > 0) {
    await durably(() => writeNodeStates(deps.sql, nodes), { log: ctx.log, what: "node states" });
  }
  ctx.say(`${status}: ${message}`);
  ctx.steps = closeRunningSteps(ctx.steps, status === "failed" ? "failed" : "skipped");
  const hold = ctx.settings?.onFailure === "hold" && ctx.switched.length > 0;
  let summary = message;
  if (hold) {
    // The fleet stays as it is and the lock says so: an operator decides.
    await durably(
      () => holdPackage(deps.sql, { package: row.package, deploymentId: row.id, reason: message }),
      { log: ctx.log, what: "package hold" },
    );
    ctx.say(
      `on_failure is hold: ${row.package} is held; nodes ${
        ctx.switched.join(", ")
      } keep the new version`,
    );
    summary = `${message}; ${row.package} is held (on_failure: hold)`;
  } else if (ctx.lockTouched || ctx.commitSha) {
    ctx.steps = startStep(ctx.steps, "restore");
    const r = await restoreRepo({
      git: ctx.git,
      row,
      say: ctx.say,
      lockTouched: ctx.lockTouched,
      commitSha: ctx.commitSha,
      reason: message,
      publish: deps.remote &&
        (() => pushRevert({ ...deps, remote: deps.remote!, deploymentId: row.id, say: ctx.say })),
    });
    ctx.revertSha = r.revertSha;
    ctx.steps = endStep(ctx.steps, "restore", r.ok ? "ok" : "failed");
    if (ctx.switched.length > 0 && ctx.settings) {
      ctx.steps = startStep(ctx.steps, "rollback");
      await ctx.save({ steps: ctx.steps, revertSha: ctx.revertSha });
      ctx.rollback = await rollbackFleet({
        sql: deps.sql,
        exec: deps.exec,
        guard: deps.guard,
        colmenaBin: deps.config.colmenaBin,
        flakeDir: deps.flakeDir,
        log: ctx.log,
        row,
        settings: ctx.settings,
        on: ctx.switched.join(","),
        commitSha: ctx.revertSha ?? ctx.baseSha,
        packages: ctx.before,
        say: ctx.say,
        output: (s, l) => ctx.journal.write(s, l),
      });
      ctx.steps = endStep(ctx.steps, "rollback", ctx.rollback.status === "ok" ? "ok" : "failed");
      summary = ctx.rollback.status === "ok"
        ? `${message}; rolled back ${ctx.switched.join(", ")}`
        : `${message}; ${ctx.rollback.message}; ${row.package} is held`;
    }
  }
  await ctx.journal.flush();
  return await finish(ctx, {
    status,
    finishedAt: new Date(),
    steps: ctx.steps,
    nodes: ctx.nodes,
    checks: ctx.checks,
    exitCode: info.exitCode ?? ctx.exitCode,
    error: summary,
    failureKind: info.kind,
    failureCode: info.code,
    revertSha: ctx.revertSha,
    rollback: ctx.rollback,
    logTail: await durably(() => logTail(deps.sql, row.id, 50), { log: ctx.log, what: "log tail" }),
  });
}

function takeNodeStates(ctx: RunContext) {
  return ctx.nodeStates.splice(0, ctx.nodeStates.length);
}

/** The final record (and the package's state when deployed), durably, then published. */
async function finish(ctx: RunContext, p: DeploymentPatch): Promise<DeploymentRow> {
  const { deps, row } = ctx;
  const patch = { ...ctx.deferred, ...p };
  ctx.deferred = {};
  const nodes = takeNodeStates(ctx);
  // The last lines ("deployed …") go in the outcome's own statement, and so do node states.
  const done = await ctx.journal.flushInto((lines) =>
    durably(() => deps.writes.finish(row.id, patch, lines, nodes), {
      log: ctx.log,
      what: "the deployment's outcome",
    })
  );
  if (!done) throw new Error(`deployment ${row.id} was no longer running when it finished`);
  return done.row;
}
