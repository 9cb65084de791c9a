/**
 * The deploy domain's front door, shared by the webhook and the forge port:
 * check that the flake is usable and names the package, that a flake_ref
 * stays within the input's declared repository, then enqueue durably and
 * wake the worker. Also: wait for a deployment to end, and the status
 * stream the forge subscribes to. Throws DomainError; knows nothing of HTTP.
 */

import type { PreparedAudit } from "../core/audit.ts";
import { DomainError, invalidRequest } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import type { Logger } from "../log/log.ts";
import { type DeploymentRow, TERMINAL, type Trigger } from "./deployment.ts";
import {
  FlakeRefError,
  formatSource,
  parseFlakeRef,
  sameRepositoryProblem,
  schemeProblem,
} from "./flake_ref.ts";
import { type HoldRow, releaseHold } from "./fleet_store.ts";
import { FlakeDirError, type FlakeInput, type InputsReader } from "./inputs.ts";
import type { DeployWrites } from "./writes.ts";
import {
  type DeployEvent,
  type EnqueueResult,
  getDeployment,
  type NewDeployment,
} from "./store.ts";

export interface DeployRequest {
  package: string;
  version: string;
  nixStorePath: string | null;
  flakeRef: string | null;
  trigger: Trigger;
  /** The API token of a webhook request, checked again by the admission (store.ts). */
  tokenId?: string;
  /** The deployment's id, chosen by the caller (for `audit`'s target). */
  id?: string;
  /** The audit row, appended by the admission itself when it queues. */
  audit?: PreparedAudit;
}

export interface DeployService {
  /** The input named `pkg`, or a DomainError (503 flake unusable, 422 unknown). */
  input(pkg: string): Promise<FlakeInput>;
  request(req: DeployRequest): Promise<EnqueueResult>;
  /** Back to an earlier deployment of the package that ended deployed: a new deployment. */
  rollback(pkg: string, toId: string, trigger: Trigger): Promise<EnqueueResult>;
  /** The same request as a deployment that failed, was cancelled or interrupted. */
  retry(row: DeploymentRow, trigger: Trigger): Promise<EnqueueResult>;
  /** Ends a hold; throws not_found when the package is not held. */
  release(pkg: string): Promise<HoldRow>;
  /** Resolves with the deployment once it ended, or undefined when `signal` aborts first. */
  waitForEnd(id: string, signal: AbortSignal): Promise<DeploymentRow | undefined>;
  /**
   * What a waiting runner gets: the deployment once it ended, or undefined when
   * the client left or despacito is shutting down while the deployment is still
   * queued (a running one ends by the worker's deadline, so it is waited for).
   */
  waitForOutcome(id: string, clientGone: AbortSignal): Promise<DeploymentRow | undefined>;
}

export function createDeployService(o: {
  sql: Sql;
  bus: Bus<DeployEvent>;
  inputs: InputsReader | undefined;
  schemes: readonly string[];
  wake: () => void;
  log: Logger;
  /** Aborted when shutdown begins. */
  stopping: AbortSignal;
  /** DESPACITO_QUEUE_LIMIT: beyond it a new deployment is 429 queue_full. */
  /** Admission that publishes what it recorded (writes.ts). */
  writes: Pick<DeployWrites, "enqueue">;
}): DeployService {
  const input = async (pkg: string) => {
    if (!o.inputs) {
      throw new DomainError(
        "unavailable",
        "flake_dir_unset",
        "deployments are off: DESPACITO_FLAKE_DIR is not configured",
      );
    }
    let found: FlakeInput | undefined;
    try {
      found = await o.inputs.get(pkg);
    } catch (e) {
      if (!(e instanceof FlakeDirError)) throw e;
      o.log.error("the flake dir is unusable", { component: "deploy", error: e });
      throw new DomainError("unavailable", "flake_dir_unusable", e.message, {
        cause: e,
        retryAfter: 60,
      });
    }
    if (!found) {
      throw new DomainError(
        "unprocessable",
        "unknown_package",
        `"${pkg}" is not an input of the deployment flake`,
      );
    }
    return found;
  };

  // A held package is refused (409 package_held) by the admission itself.
  const admit = async (req: NewDeployment) => {
    const result = await o.writes.enqueue(req);
    if (result.outcome === "queued") o.wake();
    return result;
  };

  return {
    input,
    async rollback(pkg, toId, trigger) {
      const found = await input(pkg);
      const target = await getDeployment(o.sql, toId);
      if (!target || target.package !== pkg) {
        throw new DomainError(
          "not_found",
          "deployment_not_found",
          `no deployment ${toId} of ${pkg}`,
        );
      }
      if (target.status !== "deployed" || !target.lockedRev) {
        throw new DomainError(
          "conflict",
          "rollback_target_not_deployed",
          `deployment ${toId} (${pkg} ${target.version}) ended ${target.status}: only a deployment that ended deployed can be rolled back to`,
          { extra: { status: target.status, deployment_id: toId } },
        );
      }
      // The same repository and ref the target used, pinned to the revision it locked.
      const source = parseFlakeRef(target.flakeRef ?? formatSource(found.declared));
      const flakeRef = formatSource({ ...source, rev: target.lockedRev });
      return await admit({
        package: pkg,
        version: target.version,
        nixStorePath: target.nixStorePath,
        flakeRef,
        trigger,
        kind: "rollback",
        rollbackTo: target.id,
      });
    },
    async retry(row, trigger) {
      if (!["failed", "cancelled", "interrupted"].includes(row.status)) {
        throw new DomainError(
          "conflict",
          "not_retryable",
          `deployment ${row.id} is ${row.status}: only failed, cancelled or interrupted ones can be retried`,
          { extra: { status: row.status, deployment_id: row.id } },
        );
      }
      await input(row.package);
      return await admit({
        package: row.package,
        version: row.version,
        nixStorePath: row.nixStorePath,
        flakeRef: row.flakeRef,
        trigger,
        kind: row.kind,
        rollbackTo: row.rollbackTo,
        retryOf: row.id,
      });
    },
    async release(pkg) {
      const hold = await releaseHold(o.sql, pkg);
      if (!hold) throw new DomainError("not_found", "package_not_held", `${pkg} is not held`);
      o.log.warn("package released", { component: "deploy", package: pkg });
      o.wake();
      return hold;
    },
    async request(req) {
      const found = await input(req.package);
      if (req.flakeRef !== null) {
        let problem: string | undefined;
        try {
          const ref = parseFlakeRef(req.flakeRef);
          problem = schemeProblem(ref, o.schemes) ?? sameRepositoryProblem(found.declared, ref);
        } catch (e) {
          if (!(e instanceof FlakeRefError)) throw e;
          problem = e.message;
        }
        if (problem) throw invalidRequest([{ field: "flake_ref", message: problem }]);
      }
      return await admit(req);
    },
    waitForEnd,
    async waitForOutcome(id, clientGone) {
      const giveUp = new AbortController();
      const onStopping = () =>
        getDeployment(o.sql, id).then((now) => {
          if (now?.status === "queued") giveUp.abort();
        }, () => giveUp.abort());
      o.stopping.addEventListener("abort", onStopping, { once: true });
      if (o.stopping.aborted) onStopping();
      try {
        return await waitForEnd(id, AbortSignal.any([clientGone, giveUp.signal]));
      } finally {
        o.stopping.removeEventListener("abort", onStopping);
      }
    },
  };

  function waitForEnd(id: string, signal: AbortSignal): Promise<DeploymentRow | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (row: DeploymentRow | undefined) => {
        if (settled) return;
        settled = true;
        off();
        signal.removeEventListener("abort", onAbort);
        resolve(row);
      };
      // Subscribe before reading the row, so an end between the two is not missed.
      const off = o.bus.subscribe((e) => {
        if (e.type === "status" && e.deploymentId === id && TERMINAL.has(e.deployment.status)) {
          settle(e.deployment);
        }
      });
      const onAbort = () => settle(undefined);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) return settle(undefined);
      getDeployment(o.sql, id).then((row) => {
        if (row && TERMINAL.has(row.status)) settle(row);
      }).catch(() => {});
    });
  }
}
