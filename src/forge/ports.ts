/**
 * What the forge needs from the deploy area, declared here so that neither
 * imports the other. src/areas.ts wires the deploy area's implementations
 * (src/deploy/ports.ts) in; the type checker holds the two sides together.
 */

import type { DeploymentStatus } from "../core/deployment_status.ts";

export interface ForgeTrigger {
  kind: "forge";
  /** The repository connection's id. */
  id: string;
  /** "owner/repo". */
  label: string;
}

export interface EnqueueRequest {
  package: string;
  version: string;
  flakeRef: string;
  /** Forge-triggered deployments have no store path (shown as such). */
  nixStorePath: null;
  trigger: ForgeTrigger;
}

export interface EnqueueResult {
  outcome: "queued" | "already_deployed" | "in_progress";
  deploymentId: string;
}

/**
 * Enqueues a deployment. Throws DomainError: unknown package (unprocessable),
 * invalid ref (invalid), no flake dir (unavailable).
 */
export type Enqueue = (req: EnqueueRequest) => Promise<EnqueueResult>;

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
  /**
   * "failure": colmena failed (the deployment failed); "error": despacito
   * could not run it (nix/git step, dirty repo, timeout, interrupted, cancelled).
   */
  failureKind: "failure" | "error" | null;
}

/** Subscribes to deployment status changes; returns the unsubscribe function. */
export type SubscribeStatus = (fn: (e: DeploymentStatusEvent) => void) => () => void;

/** A flake input's declared source (flake.lock `original`). */
export interface DeclaredSource {
  type: string;
  url?: string;
  owner?: string;
  repo?: string;
  host?: string;
}

/**
 * Undefined when the flake has no input `pkg`. Throws DomainError unavailable
 * when the flake dir is unusable (a delivery then waits, pending.ts).
 */
export type DeclaredSourceLookup = (pkg: string) => Promise<DeclaredSource | undefined>;

/** A flake reference as deploy's parser reads it: where it lives and what it picks. */
export interface ParsedSource extends DeclaredSource {
  ref?: string;
  rev?: string;
}

/**
 * Parses a flake reference with deploy's parser (the one its same-repository
 * rule uses); undefined when it is not one. Pure and synchronous.
 */
export type ParseSource = (flakeRef: string) => ParsedSource | undefined;

export interface ForgePorts {
  enqueue: Enqueue;
  subscribe: SubscribeStatus;
  declaredSource: DeclaredSourceLookup;
  parseSource: ParseSource;
}
