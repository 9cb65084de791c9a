/**
 * Deliveries despacito could not act on when they came (the flake dir
 * unusable, the forge not answering the tag lookup). Forgejo never retries
 * a delivery by itself, so instead of a 503 that loses the event, the
 * signed payload is kept (answer 202 "pending") and tried again every few
 * seconds for PENDING_FOR_MS. A pending delivery is dropped, never run,
 * once a later delivery of the same connection has led to a deployment:
 * running it then could deploy an older tag over a newer one. What happened
 * shows as the connection's last delivery; after giving up it says to
 * replay the delivery from the forge.
 */

import type { DomainError } from "../core/errors.ts";
import { isDomainError } from "../core/errors.ts";
import { decide, type Decision, refusal } from "./decision.ts";
import {
  laterDeliveryDeployed,
  pendingDeliveries,
  type PendingDelivery,
  recordDelivery,
} from "./delivery_store.ts";
import type { ForgeDeps } from "./deps.ts";
import { getConnection } from "./store.ts";

/** How long a pending delivery is tried again before it is given up. */
export const PENDING_FOR_MS = 60 * 60_000;

/** The answer for a delivery kept to be tried again. */
export function pendingDecision(e: DomainError, until: Date): Decision {
  return {
    status: 202,
    body: { status: "pending", reason: e.message, retry_until: until.toISOString() },
    outcome: `pending (${e.message}): tried again until ${until.toISOString()}`,
  };
}

/** Tries every pending delivery once; returns how many were settled (handled or given up). */
export async function retryPending(deps: ForgeDeps): Promise<number> {
  let settled = 0;
  for (const p of await pendingDeliveries(deps.sql, 50)) {
    if (await retryOne(deps, p)) settled++;
  }
  return settled;
}

async function retryOne(deps: ForgeDeps, p: PendingDelivery): Promise<boolean> {
  const c = await getConnection(deps.sql, p.connectionId);
  if (!c) return false; // disconnected meanwhile: its deliveries go with it
  const record = (d: Decision, pending?: { payload: Uint8Array; until: Date }) =>
    recordDelivery(deps.sql, c.id, p.deliveryId, {
      httpStatus: d.status,
      response: d.body,
      outcome: d.outcome,
      deploymentId: d.deploymentId ?? null,
      pending,
    });
  const ctx = { connection_id: c.id, delivery_id: p.deliveryId };
  if (p.retryUntil <= deps.now()) {
    const why = `not processed: still failing after ${PENDING_FOR_MS / 60_000} minutes`;
    await record({
      status: 503,
      body: { error: { code: "unavailable", message: `${why}; replay it from the forge` } },
      outcome: `${why}: replay it from the forge`,
    });
    deps.log.warn("pending webhook delivery given up; replay it from the forge", ctx);
    return true;
  }
  if (await laterDeliveryDeployed(deps.sql, c.id, p.receivedAt)) {
    const reason =
      "a later delivery deployed first; replay this one from the forge if still wanted";
    await record({
      status: 200,
      body: { status: "ignored", reason },
      outcome: `dropped: ${reason}`,
    });
    deps.log.info("pending webhook delivery dropped: a later one deployed first", ctx);
    return true;
  }
  let decision: Decision;
  try {
    const json = JSON.parse(new TextDecoder().decode(p.pendingPayload));
    decision = await decide(deps, c, p.event, json, p.deliveryId);
  } catch (e) {
    if (isDomainError(e) && e.kind === "unavailable") {
      await record(pendingDecision(e, p.retryUntil), {
        payload: p.pendingPayload,
        until: p.retryUntil,
      });
      return false;
    }
    const refused = refusal(e);
    if (!refused) {
      // Not the delivery's fault and not a known passing reason: keep trying until the deadline.
      deps.log.error("pending webhook delivery failed", { ...ctx, error: e });
      return false;
    }
    decision = refused;
  }
  await record(decision);
  deps.log.info("pending webhook delivery handled", {
    ...ctx,
    outcome: decision.outcome,
    deployment_id: decision.deploymentId,
  });
  return true;
}

/** Runs retryPending every `everyMs` until stopped. */
export function startPendingRetries(deps: ForgeDeps, everyMs: number) {
  const stopping = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = retryPending(deps)
      .catch((e) => deps.log.error("retrying pending deliveries failed", { error: e }))
      .finally(() => {
        if (!stopping.signal.aborted) timer = setTimeout(tick, everyMs);
      });
  };
  timer = setTimeout(tick, everyMs);
  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
