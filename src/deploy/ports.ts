/**
 * What the deploy area offers other areas (the forge): enqueue a deployment,
 * follow status changes, and read an input's declared source so a flake_ref
 * for a tag can be built. Shapes as in CONTRACTS.md; the lead wires them.
 */

import type { Bus } from "../events/bus.ts";
import { type DeploymentStatus, TERMINAL } from "./deployment.ts";
import type { InputsReader } from "./inputs.ts";
import type { DeployService } from "./service.ts";
import type { DeployEvent } from "./store.ts";

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
}

export interface DeclaredSource {
  type: string;
  url?: string;
  owner?: string;
  repo?: string;
  host?: string;
}

export interface DeployPorts {
  enqueue(req: ForgeEnqueueRequest): Promise<{
    outcome: "queued" | "already_deployed" | "in_progress";
    deploymentId: string;
  }>;
  subscribe(fn: (e: DeploymentStatusEvent) => void): () => void;
  declaredSource(pkg: string): Promise<DeclaredSource | undefined>;
}

export function createPorts(o: {
  service: DeployService;
  bus: Bus<DeployEvent>;
  inputs: InputsReader | undefined;
}): DeployPorts {
  return {
    async enqueue(req) {
      const r = await o.service.request(req);
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
        });
      });
    },
    async declaredSource(pkg) {
      const input = await o.inputs?.get(pkg).catch(() => undefined);
      if (!input) return undefined;
      const d = input.declared;
      const out: DeclaredSource = { type: d.type };
      if (d.url !== undefined) out.url = d.url;
      if (d.owner !== undefined) out.owner = d.owner;
      if (d.repo !== undefined) out.repo = d.repo;
      if (d.host !== undefined) out.host = d.host;
      return out;
    },
  };
}
