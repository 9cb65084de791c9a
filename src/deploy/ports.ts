/**
 * What the deploy area offers other areas (the forge): enqueue a deployment,
 * follow status changes, and read an input's declared source so a flake_ref
 * for a tag can be built. src/areas.ts hands them to the forge.
 */

import type { AuditSink } from "../core/audit.ts";
import { DomainError } from "../core/errors.ts";
import type { Bus } from "../events/bus.ts";
import {
  type CheckRecord,
  type DeploymentKind,
  type DeploymentStatus,
  type RollbackRecord,
  TERMINAL,
} from "./deployment.ts";
import { FlakeDirError, type InputsReader } from "./inputs.ts";
import type { DeployService } from "./service.ts";
import type { DeployEvent } from "./store.ts";
import { type FlakeSource, parseFlakeRef } from "./flake_ref.ts";

export interface ForgeEnqueueRequest {
  package: string;
  version: string;
  flakeRef: string;
  nixStorePath: null;
  trigger: { kind: "forge"; id: string; label: string };
}

export interface DeploymentStatusEvent {
  deploymentId: string;
  package: string;
  version: string;
  status: DeploymentStatus;
  lockedRev: string | null;
  flakeRef: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** "failure": colmena failed; "error": despacito could not run it. */
  failureKind: "failure" | "error" | null;
  error: string | null;
  /** The steps so far and per-node outcomes (metrics). */
  steps: { name: string; status: string; duration_ms: number | null }[];
  nodes: { node: string; status: string }[];
  /** deploy, or rollback (an operator's POST /api/packages/:name/rollback); metrics. */
  kind: DeploymentKind;
  /** Post-activation checks and the fleet rollback after a failure (metrics, notifications). */
  checks: CheckRecord[];
  rollback: RollbackRecord | null;
}

export interface DeclaredSource {
  type: string;
  url?: string;
  owner?: string;
  repo?: string;
  host?: string;
}

/** A flake reference parsed by deploy's own parser: where it lives and what it picks. */
export interface ParsedSource extends DeclaredSource {
  ref?: string;
  rev?: string;
}

export interface DeployPorts {
  enqueue(req: ForgeEnqueueRequest): Promise<{
    outcome: "queued" | "already_deployed" | "in_progress";
    deploymentId: string;
  }>;
  subscribe(fn: (e: DeploymentStatusEvent) => void): () => void;
  /** Undefined when the flake has no such input; DomainError unavailable when the flake dir is unusable. */
  declaredSource(pkg: string): Promise<DeclaredSource | undefined>;
  /**
   * Parses a flake reference (a deployment's flake_ref, an operator's
   * source_url) with the same parser the webhook's same-repository rule
   * uses, so the forge never guesses at flake syntax; undefined when it is
   * not a flake reference.
   */
  parseSource(flakeRef: string): ParsedSource | undefined;
  /**
   * The flake's input names (what a token may be scoped to); undefined
   * without a flake dir. 503 `flake_dir_unusable` when it cannot be read.
   */
  packageNames(): Promise<string[] | undefined>;
}

export function createPorts(o: {
  service: DeployService;
  bus: Bus<DeployEvent>;
  inputs: InputsReader | undefined;
  audit: AuditSink;
}): DeployPorts {
  return {
    async enqueue(req) {
      const r = await o.service.request(req);
      if (r.outcome === "queued") {
        await o.audit.record({
          actor: { kind: "forge", id: req.trigger.id, label: req.trigger.label },
          action: "deployment.requested",
          target: `deployment:${r.deployment.id}`,
          details: { package: req.package, version: req.version, flake_ref: req.flakeRef },
        });
      }
      return { outcome: r.outcome, deploymentId: r.deployment.id };
    },
    subscribe(fn) {
      return o.bus.subscribe((e) => {
        if (e.type !== "status") return;
        const d = e.deployment;
        fn({
          deploymentId: d.id,
          package: d.package,
          version: d.version,
          status: d.status,
          lockedRev: d.lockedRev,
          flakeRef: d.flakeRef,
          createdAt: d.createdAt,
          startedAt: d.startedAt,
          finishedAt: d.finishedAt,
          // Superseded is neither: a newer version took its place.
          failureKind: TERMINAL.has(d.status) && d.status !== "deployed" &&
              d.status !== "superseded"
            ? (d.failureKind ?? "error")
            : null,
          error: d.error,
          steps: d.steps,
          nodes: d.nodes,
          kind: d.kind,
          checks: d.checks,
          rollback: d.rollback,
        });
      });
    },
    async declaredSource(pkg) {
      let input;
      try {
        input = await o.inputs?.get(pkg);
      } catch (e) {
        // Not "no such input": the forge keeps a delivery for later on unavailable
        // (pending), where unknown_package would refuse it for good.
        if (!(e instanceof FlakeDirError)) throw e;
        throw unusable(e);
      }
      if (!input) return undefined;
      const d = input.declared;
      const out: DeclaredSource = { type: d.type };
      copyLocation(d, out);
      return out;
    },
    parseSource,
    async packageNames() {
      if (!o.inputs) return undefined;
      const all = await o.inputs.list().catch((e) => {
        throw unusable(e);
      });
      return all.map((i) => i.name);
    },
  };
}

/** The flake dir cannot be read: 503 `flake_dir_unusable`, worth trying again later. */
function unusable(e: unknown): DomainError {
  return new DomainError("unavailable", "flake_dir_unusable", (e as Error).message, {
    cause: e,
    retryAfter: 60,
  });
}

/** The `parseSource` port: deploy's flake-ref parser, in the ports' shape. */
export function parseSource(flakeRef: string): ParsedSource | undefined {
  let src: FlakeSource;
  try {
    src = parseFlakeRef(flakeRef);
  } catch {
    return undefined;
  }
  const out: ParsedSource = { type: src.type };
  copyLocation(src, out);
  if (src.ref !== undefined) out.ref = src.ref;
  if (src.rev !== undefined) out.rev = src.rev;
  return out;
}

function copyLocation(from: FlakeSource, to: DeclaredSource) {
  if (from.url !== undefined) to.url = from.url;
  if (from.owner !== undefined) to.owner = from.owner;
  if (from.repo !== undefined) to.repo = from.repo;
  if (from.host !== undefined) to.host = from.host;
}
