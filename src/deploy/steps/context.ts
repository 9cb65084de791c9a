/**
 * One run of the pipeline: what every step reads and what it leaves for the
 * next (the lock change, the deploy commit, which nodes switched, the
 * checks). Steps fail by throwing StepFailure, which says how the
 * deployment ends; `save()` writes the running row durably (a database
 * blip delays it, never loses it) and publishes the change.
 */

import type { Config } from "../../config/config.ts";
import type { Sql } from "../../db/connect.ts";
import type { Bus } from "../../events/bus.ts";
import type { Executor } from "../../exec/run.ts";
import type { GroupGuard } from "../../exec/orphans.ts";
import type { Logger } from "../../log/log.ts";
import type { NodeOutcome } from "../colmena.ts";
import type { NodeStateWrite } from "../fleet_store.ts";
import type {
  CheckRecord,
  DeploymentRow,
  DeploymentStatus,
  RollbackRecord,
  Step,
  StepName,
} from "../deployment.ts";
import type { NixVersion } from "../flake_step.ts";
import type { GitRepo } from "../git.ts";
import type { FlakeInput, InputsReader } from "../inputs.ts";
import type { FlakeRemote } from "../remote.ts";
import type { Journal } from "../journal.ts";
import type { PackageSettings, SettingsSource } from "../settings.ts";
import type { DeployEvent, DeploymentPatch } from "../store.ts";
import type { ToolCheck } from "../tools.ts";
import type { Gates } from "../gates.ts";
import type { DeployWrites } from "../writes.ts";

export interface PipelineDeps {
  sql: Sql;
  bus: Bus<DeployEvent>;
  exec: Executor;
  config: Readonly<Config>;
  flakeDir: string;
  inputs: InputsReader;
  settings: SettingsSource;
  nixVersion: () => Promise<NixVersion>;
  tools: ToolCheck;
  /** Remembers colmena's process group so a restart can end a survivor. */
  guard: GroupGuard;
  /** Manual promotion gates: a paused run waits here for POST …/promote. */
  gates: Gates;
  /** Writes that publish what they recorded (writes.ts). */
  writes: DeployWrites;
  log: Logger;
  /** DESPACITO_FLAKE_REMOTE: fetch before, push after (steps/push.ts). */
  remote?: FlakeRemote;
}

export interface FailureInfo {
  /** "failure": the fleet or a check said no; "error": despacito could not do its part. */
  kind: "failure" | "error";
  /** Machine-readable, e.g. activation_failed, check_failed, version_mismatch. */
  code: string;
  /** How the deployment ends; default failed. */
  status?: DeploymentStatus;
  exitCode?: number | null;
}

export class StepFailure extends Error {
  readonly info: FailureInfo;
  constructor(message: string, info: FailureInfo) {
    super(message);
    this.name = "StepFailure";
    this.info = info;
  }
}

/** A cancel or a shutdown, as the failure it turns into. */
export function stopped(signal: AbortSignal): StepFailure {
  return signal.reason === "cancel"
    ? new StepFailure("cancelled by request", {
      kind: "error",
      code: "cancelled",
      status: "cancelled",
    })
    : new StepFailure("despacito shut down before the deployment finished", {
      kind: "error",
      code: "interrupted",
      status: "interrupted",
    });
}

export interface RunContext {
  deps: PipelineDeps;
  row: DeploymentRow;
  /** Aborted with "cancel" or "shutdown". */
  signal: AbortSignal;
  log: Logger;
  journal: Journal;
  git: GitRepo;
  /** A system line in the deployment's log (and despacito's own). */
  say(line: string): void;
  save(patch: DeploymentPatch): Promise<void>;
  /**
   * A patch for the next write (the next step's start, a save, the outcome): what a step
   * learned at its very end, when nothing happens before that write.
   */
  defer(patch: DeploymentPatch): void;
  deferred: DeploymentPatch;
  /**
   * Node states colmena just reported, for the next write's statement (a step's start, the
   * outcome — each follows at once), or written first thing on the way to a failure.
   */
  nodeStates: NodeStateWrite[];

  // Filled in by the steps, in order.
  steps: Step[];
  input?: FlakeInput;
  settings?: PackageSettings;
  baseSha: string | null;
  /** nix wrote flake.lock and it is not committed yet. */
  lockTouched: boolean;
  commitSha: string | null;
  lockedRev: string | null;
  previousLockedRev: string | null;
  /** Every package's version before this deployment (package_state), and after it. */
  before: Record<string, string>;
  after: Record<string, string>;
  nodes: NodeOutcome[];
  /** Nodes that may run the new version now: what a rollback must re-activate. */
  switched: string[];
  /** The nodes the latest activation switched: what its checks run on. */
  lastActivated: string[];
  checks: CheckRecord[];
  exitCode: number | null;
  revertSha: string | null;
  rollback: RollbackRecord | null;
}

/** A step of the pipeline: one named function with its record in `steps[]`. */
export interface PipelineStep {
  name: StepName;
  /** The rollout stage it belongs to, if the package has stages. */
  stage?: string;
  /** Resolves "skipped" when there was nothing to do. */
  run(ctx: RunContext): Promise<"ok" | "skipped">;
  /** Nothing to do, known beforehand: recorded as skipped without a write of its own. */
  idle?(ctx: RunContext): boolean;
  /**
   * Touches nothing a recovery needs the record for: its start is written with the next
   * step's (one status write less on the way to colmena). preflight without a remote only
   * reads; commit without a remote only commits locally, and recovery finds that commit in
   * the repo itself (its `Deployment-Id` trailer, steps/restore.ts `findLeftovers`), never
   * in the record. Meanwhile the record still shows the step before running.
   */
  startWrittenLater?(ctx: RunContext): boolean;
  /**
   * Its start is written while it runs, not before: the write is in flight while the step
   * starts its program (a fork that blocks despacito's event loop for milliseconds), and the
   * step ends only once it is stored. Only for a step whose effect a recovery finds without
   * the record: flake's uncommitted flake.lock (`git status`, steps/restore.ts).
   */
  startWrittenAlongside?(ctx: RunContext): boolean;
}
