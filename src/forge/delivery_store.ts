/**
 * Deliveries and release claims in Postgres: one forge_delivery row per
 * delivery id (a redelivery of the same id answers what the first got), and
 * one forge_release_deployment row per released tag (a release deploys once,
 * whichever action made it final). Plain SQL with explicit columns; takes
 * the `sql` handle or a transaction; knows nothing of HTTP or the forge API.
 */

import type { Queryable } from "../secrets/store.ts";

export interface DeliveryAnswerRow {
  httpStatus: number | null;
  response: Record<string, unknown> | null;
}

export interface DeliveryOutcome {
  httpStatus: number;
  response: Record<string, unknown>;
  /** One short phrase for the UI (at most 300 characters are kept). */
  outcome: string;
  deploymentId: string | null;
  /** Set while the delivery waits to be tried again: its signed payload, and until when. */
  pending?: { payload: Uint8Array; until: Date };
}

export interface PendingDelivery {
  connectionId: string;
  deliveryId: string;
  event: string;
  pendingPayload: Uint8Array;
  retryUntil: Date;
  receivedAt: Date;
}

/**
 * Claims a delivery id: true when this call may handle it (the first delivery,
 * or one whose earlier attempt was not processed: a 5xx is never an answer to keep).
 */
export async function claimDelivery(
  q: Queryable,
  connectionId: string,
  deliveryId: string,
  event: string,
): Promise<boolean> {
  const inserted = await q`
    insert into forge_delivery (connection_id, delivery_id, event)
    values (${connectionId}, ${deliveryId}, ${event})
    on conflict (connection_id, delivery_id) do update
      set received_at = now(), http_status = null, response = null, outcome = null,
          deployment_id = null
      where forge_delivery.http_status >= 500
    returning delivery_id`;
  return inserted.length === 1;
}

/** The stored answer of a claimed delivery (null status while it is being handled). */
export async function deliveryAnswer(
  q: Queryable,
  connectionId: string,
  deliveryId: string,
): Promise<DeliveryAnswerRow | undefined> {
  const [row] = await q<DeliveryAnswerRow[]>`
    select http_status, response from forge_delivery
    where connection_id = ${connectionId} and delivery_id = ${deliveryId}`;
  return row;
}

/** Forgets a claim whose handling failed for a passing reason, so the same id can be tried again. */
export async function forgetDelivery(
  q: Queryable,
  connectionId: string,
  deliveryId: string,
): Promise<void> {
  await q`delete from forge_delivery where connection_id = ${connectionId} and delivery_id = ${deliveryId}`;
}

export async function recordDelivery(
  q: Queryable,
  connectionId: string,
  deliveryId: string,
  o: DeliveryOutcome,
): Promise<void> {
  await q`
    update forge_delivery
    set http_status = ${o.httpStatus}, response = ${q.json(o.response as never)},
        outcome = ${o.outcome.slice(0, 300)}, deployment_id = ${o.deploymentId},
        pending_payload = ${o.pending?.payload ?? null}, retry_until = ${o.pending?.until ?? null}
    where connection_id = ${connectionId} and delivery_id = ${deliveryId}`;
}

/** Deliveries waiting to be tried again, oldest first. */
export async function pendingDeliveries(q: Queryable, limit: number): Promise<PendingDelivery[]> {
  return await q<PendingDelivery[]>`
    select connection_id, delivery_id, event, pending_payload, retry_until, received_at
    from forge_delivery where pending_payload is not null
    order by received_at limit ${limit}`;
}

/** Whether a delivery received after `after` already led to a deployment on this connection. */
export async function laterDeliveryDeployed(
  q: Queryable,
  connectionId: string,
  after: Date,
): Promise<boolean> {
  const [row] = await q<{ found: boolean }[]>`
    select exists (
      select 1 from forge_delivery
      where connection_id = ${connectionId} and received_at > ${after}
        and deployment_id is not null and pending_payload is null
    ) as found`;
  return row.found;
}

/** The deployment a release tag already triggered on this connection, if any. */
export async function releaseDeployment(
  q: Queryable,
  connectionId: string,
  tag: string,
): Promise<{ deploymentId: string; deliveryId: string } | undefined> {
  const [row] = await q<{ deploymentId: string; deliveryId: string }[]>`
    select deployment_id, delivery_id from forge_release_deployment
    where connection_id = ${connectionId} and tag = ${tag}`;
  return row;
}

/** Records that a release tag triggered a deployment (first writer wins). */
export async function recordReleaseDeployment(
  q: Queryable,
  r: { connectionId: string; tag: string; deploymentId: string; deliveryId: string },
): Promise<void> {
  await q`
    insert into forge_release_deployment (connection_id, tag, deployment_id, delivery_id)
    values (${r.connectionId}, ${r.tag}, ${r.deploymentId}, ${r.deliveryId})
    on conflict do nothing`;
}
