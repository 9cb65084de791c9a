/**
 * Notices the pipeline holding a package (a failed fleet rollback, or
 * `on_failure: hold`) from the final status of the deployment that held it,
 * and records it: one `package.held` audit row (actor `system`) and the
 * `held` notification. The `package_hold` row is the truth, read here rather
 * than guessed from the error text; it is written before the final status is
 * published, so it is there when the event arrives.
 */

import type { AuditSink } from "../core/audit.ts";
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";

/** Final statuses after which a deployment may have left its package held. */
const MAY_HOLD = new Set(["failed", "cancelled", "interrupted"]);

export interface HeldChange {
  deploymentId: string;
  package: string;
  status: string;
}

export interface HoldWatcher<E extends HeldChange> {
  handle(e: E): void;
  /** Resolves once every lookup started so far is done, or at the deadline (shutdown). */
  settled(deadline: AbortSignal): Promise<void>;
}

export function createHoldWatcher<E extends HeldChange>(o: {
  sql: Sql;
  audit: AuditSink;
  log: Logger;
  onHeld: (e: E, reason: string) => void;
}): HoldWatcher<E> {
  const pending = new Set<Promise<void>>();
  const check = async (e: E) => {
    const [hold] = await o.sql<{ reason: string; heldAt: Date }[]>`
      select reason, held_at from package_hold
      where package = ${e.package} and deployment_id = ${e.deploymentId}`;
    if (!hold) return;
    await o.audit.record({
      actor: { kind: "system" },
      action: "package.held",
      target: `package:${e.package}`,
      details: { deployment_id: e.deploymentId, reason: hold.reason },
    });
    o.onHeld(e, hold.reason);
  };
  return {
    handle(e) {
      if (!MAY_HOLD.has(e.status)) return;
      const p = check(e).catch((err) =>
        o.log.error("could not record a package hold", {
          deployment_id: e.deploymentId,
          error: err,
        })
      );
      pending.add(p);
      p.finally(() => pending.delete(p));
    },
    async settled(deadline) {
      await Promise.race([
        Promise.all(pending),
        new Promise((r) => deadline.addEventListener("abort", r, { once: true })),
      ]);
    },
  };
}
