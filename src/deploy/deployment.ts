/**
 * What a deployment is: its statuses, steps and the one JSON shape every
 * reader sees (GET /api/deployments/:id, list items, SSE status events;
 * see README, "Deployments"). Pure data; no I/O.
 */

import { DEPLOYMENT_STATUSES, type DeploymentStatus } from "../core/deployment_status.ts";
import type { NodeOutcome } from "./colmena.ts";

export const KINDS = ["deploy", "rollback"] as const;
export type DeploymentKind = typeof KINDS[number];

/** One post-activation check as it ran (stored as jsonb exactly as served). */
export interface CheckRecord {
  name: string;
  kind: "http" | "command";
  /** The URL, or the argv and the nodes it ran on. */
  target: string;
  attempts: number;
  result: "passed" | "failed";
  duration_ms: number;
  message: string | null;
  /** command checks: each node's result. */
  nodes?: { node: string; result: "passed" | "failed"; message: string | null }[];
}

/** The fleet rollback after a failure: which nodes went back, and how that went. */
export interface RollbackRecord {
  status: "ok" | "failed" | "skipped";
  /** The commit the nodes were re-activated at (the revert commit). */
  commit_sha: string | null;
  nodes: NodeOutcome[];
  message: string | null;
}

export { DEPLOYMENT_STATUSES as STATUSES, type DeploymentStatus };

export const TERMINAL: ReadonlySet<DeploymentStatus> = new Set([
  "deployed",
  "failed",
  "superseded",
  "cancelled",
  "interrupted",
]);

export type StepName =
  | "promotion"
  | "queued"
  | "preflight"
  | "flake"
  | "commit"
  | "activate"
  | "verify"
  | "restore"
  | "rollback";
export type StepStatus = "running" | "ok" | "failed" | "skipped";

/** Stored as jsonb exactly as it is served. */
export interface Step {
  name: StepName;
  /** The rollout stage (packages with `stages`). */
  stage?: string;
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
  kind: DeploymentKind;
  rollbackTo: string | null;
  retryOf: string | null;
  checks: CheckRecord[];
  rollback: RollbackRecord | null;
  targets: string | null;
  failureCode: string | null;
  /** The flake remote got this deployment's commits (null: no remote, or nothing to push). */
  pushed: boolean | null;
}

/** The columns `deployments` has, for explicit select lists (never `select *`). */
export const DEPLOYMENT_COLUMNS = [
  "id",
  "arrival",
  "package",
  "version",
  "nix_store_path",
  "flake_ref",
  "status",
  "trigger_kind",
  "trigger_id",
  "trigger_label",
  "created_at",
  "started_at",
  "finished_at",
  "steps",
  "base_sha",
  "commit_sha",
  "revert_sha",
  "locked_rev",
  "previous_locked_rev",
  "nodes",
  "error",
  "failure_kind",
  "exit_code",
  "log_tail",
  "superseded_by",
  "cancel_requested_at",
  "seq",
  "kind",
  "rollback_to",
  "retry_of",
  "checks",
  "rollback",
  "targets",
  "failure_code",
  "pushed",
] as const;

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
    kind: d.kind,
    rollback_to: d.rollbackTo,
    retry_of: d.retryOf,
    targets: d.targets,
    checks: d.checks,
    rollback: d.rollback,
    failure_code: d.failureCode,
    pushed: d.pushed,
    // The stage a running deployment waits after for POST …/promote, or null.
    awaiting_promotion: d.status === "running"
      ? (d.steps.findLast((s) => s.name === "promotion" && s.status === "running")?.stage ?? null)
      : null,
  };
}

export type DeploymentJson = ReturnType<typeof deploymentJson>;

export function startStep(
  steps: Step[],
  name: StepName,
  at = new Date(),
  stage?: string,
): Step[] {
  return [...steps, {
    name,
    ...(stage ? { stage } : {}),
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
