/**
 * What a deployment is: its statuses, steps and the one JSON shape every
 * reader sees (GET /api/deployments/:id, list items, SSE status events;
 * see README, "Deployments"). Pure data; no I/O.
 */

import { DEPLOYMENT_STATUSES, type DeploymentStatus } from "../core/deployment_status.ts";
import type { NodeOutcome } from "./colmena.ts";

export { DEPLOYMENT_STATUSES as STATUSES, type DeploymentStatus };

export const TERMINAL: ReadonlySet<DeploymentStatus> = new Set([
  "deployed",
  "failed",
  "superseded",
  "cancelled",
  "interrupted",
]);

export type StepName = "queued" | "flake" | "commit" | "colmena";
export type StepStatus = "running" | "ok" | "failed" | "skipped";

/** Stored as jsonb exactly as it is served. */
export interface Step {
  name: StepName;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  status: StepStatus;
}

export type TriggerKind = "token" | "session" | "forge";

export interface Trigger {
  kind: TriggerKind;
  id: string;
  label: string;
}

/** A row of `deployments` as postgres.js returns it (camelCase). */
export interface DeploymentRow {
  id: string;
  arrival: number;
  package: string;
  version: string;
  nixStorePath: string | null;
  flakeRef: string | null;
  status: DeploymentStatus;
  triggerKind: TriggerKind;
  triggerId: string | null;
  triggerLabel: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  steps: Step[];
  baseSha: string | null;
  commitSha: string | null;
  revertSha: string | null;
  lockedRev: string | null;
  previousLockedRev: string | null;
  nodes: NodeOutcome[];
  error: string | null;
  failureKind: "failure" | "error" | null;
  exitCode: number | null;
  logTail: string[] | null;
  supersededBy: string | null;
  cancelRequestedAt: Date | null;
  seq: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deploymentJson(d: DeploymentRow) {
  return {
    id: d.id,
    package: d.package,
    version: d.version,
    nix_store_path: d.nixStorePath,
    flake_ref: d.flakeRef,
    status: d.status,
    triggered_by: { kind: d.triggerKind, id: d.triggerId, label: d.triggerLabel },
    created_at: iso(d.createdAt),
    started_at: iso(d.startedAt),
    finished_at: iso(d.finishedAt),
    steps: d.steps,
    commit_sha: d.commitSha,
    revert_sha: d.revertSha,
    locked_rev: d.lockedRev,
    previous_locked_rev: d.previousLockedRev,
    nodes: d.nodes,
    error: d.error,
    failure_kind: d.failureKind,
    exit_code: d.exitCode,
    log_tail: d.logTail,
    superseded_by: d.supersededBy,
    cancel_requested: d.cancelRequestedAt !== null,
  };
}

export type DeploymentJson = ReturnType<typeof deploymentJson>;

export function startStep(steps: Step[], name: StepName, at = new Date()): Step[] {
  return [...steps, {
    name,
    started_at: at.toISOString(),
    finished_at: null,
    duration_ms: null,
    status: "running",
  }];
}

/** Ends the last running step called `name` (or adds it as skipped). */
export function endStep(
  steps: Step[],
  name: StepName,
  status: StepStatus,
  at = new Date(),
): Step[] {
  const i = steps.findLastIndex((s) => s.name === name && s.status === "running");
  if (i < 0) {
    return [...steps, {
      name,
      started_at: at.toISOString(),
      finished_at: at.toISOString(),
      duration_ms: 0,
      status,
    }];
  }
  const s = steps[i];
  return steps.with(i, {
    ...s,
    finished_at: at.toISOString(),
    duration_ms: at.getTime() - Date.parse(s.started_at),
    status,
  });
}

/** Closes every step still running (after a crash, cancel or shutdown). */
export function closeRunningSteps(steps: Step[], status: StepStatus, at = new Date()): Step[] {
  return steps.map((s) =>
    s.status === "running"
      ? {
        ...s,
        finished_at: at.toISOString(),
        duration_ms: at.getTime() - Date.parse(s.started_at),
        status,
      }
      : s
  );
}
