/**
 * Native webhook deliveries: authenticate (HMAC over the signed bytes with
 * the current or, during an overlap, the previous secret), deduplicate by
 * delivery id, decide (decision.ts: ignore, refuse, or enqueue the tag's
 * commit) and answer quickly (the forge gives up after 5 s). A repeated
 * delivery id answers what the first one got. Forgejo never retries a
 * failed delivery, so one despacito cannot act on yet is kept and tried
 * again (pending.ts, answer 202 "pending") instead of a 503 that loses it.
 * Unknown connection and bad signature look the same from outside: 401.
 */

import { DomainError, isDomainError } from "../core/errors.ts";
import { readSecret } from "../secrets/store.ts";
import { decide, type Decision, refusal } from "./decision.ts";
import { claimDelivery, deliveryAnswer, recordDelivery } from "./delivery_store.ts";
import type { ForgeDeps } from "./deps.ts";
import { deliveryIdFrom, eventFrom } from "./events.ts";
import { PENDING_FOR_MS, pendingDecision } from "./pending.ts";
import { payloadFrom, signatureFrom, verifySignature } from "./signature.ts";
import { type Connection, getConnection } from "./store.ts";

export interface Delivery {
  connectionId: string;
  header(name: string): string | undefined;
  body: Uint8Array;
}

export interface DeliveryAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** How long a concurrent duplicate waits for the first delivery's answer. */
const DUPLICATE_WAIT_MS = 2000;

const refused = () =>
  new DomainError("unauthenticated", "invalid_signature", "missing or invalid webhook signature");

export async function handleDelivery(deps: ForgeDeps, d: Delivery): Promise<DeliveryAnswer> {
  const c = await getConnection(deps.sql, d.connectionId);
  if (!c) throw refused();
  const payload = payloadFrom(d.header("content-type"), d.body);
  if (
    !payload || !(await verifySignature(await secretsOf(deps, c), payload, signatureFrom(d.header)))
  ) {
    deps.log.info("webhook delivery refused: bad signature", {
      component: "forge",
      connection_id: c.id,
    });
    throw refused();
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch (e) {
    throw new DomainError("invalid", "invalid_json", "the delivery payload is not JSON", {
      cause: e,
    });
  }
  const event = eventFrom(d.header) ?? "unknown";
  const deliveryId = deliveryIdFrom(d.header) ?? `unnamed-${crypto.randomUUID()}`;

  const earlier = await claim(deps, c.id, deliveryId, event);
  if (earlier) return earlier;
  let answer: Decision;
  let pending: { payload: Uint8Array; until: Date } | undefined;
  try {
    answer = await decide(deps, c, eventFrom(d.header), json, deliveryId);
  } catch (e) {
    if (isDomainError(e) && (e.kind === "unavailable" || e.kind === "rate_limited")) {
      // Not now (flake dir unusable, forge not answering, queue full): kept and tried again (pending.ts).
      pending = { payload, until: new Date(deps.now().getTime() + PENDING_FOR_MS) };
      answer = pendingDecision(e, pending.until);
    } else {
      answer = refusal(e) ?? unexpected(deps, c, deliveryId, e);
    }
  }
  await recordDelivery(deps.sql, c.id, deliveryId, {
    httpStatus: answer.status,
    response: answer.body,
    outcome: answer.outcome,
    deploymentId: answer.deploymentId ?? null,
    pending,
  });
  deps.log.info("webhook delivery", {
    component: "forge",
    connection_id: c.id,
    delivery_id: deliveryId,
    event,
    outcome: answer.outcome,
    deployment_id: answer.deploymentId,
  });
  return { status: answer.status, body: answer.body };
}

/** A failure nobody foresaw: 503, stored (the same id may claim it again), with what to do. */
function unexpected(deps: ForgeDeps, c: Connection, deliveryId: string, e: unknown): Decision {
  deps.log.error("webhook delivery failed", {
    connection_id: c.id,
    delivery_id: deliveryId,
    error: e,
  });
  return {
    status: 503,
    body: {
      error: {
        code: "unavailable",
        message: "not processed: despacito could not handle this delivery. Forgejo does not " +
          "retry: replay it from the repository's Settings → Webhooks → the hook → Recent " +
          "Deliveries once despacito is ready",
      },
    },
    outcome: "not processed (despacito could not handle it): replay it from the forge",
  };
}

async function secretsOf(deps: ForgeDeps, c: Connection): Promise<string[]> {
  const out = [await readSecret(deps.sql, deps.sealer, c.webhookSecretId)];
  if (c.previousSecretId && c.previousValidUntil && c.previousValidUntil > deps.now()) {
    out.push(await readSecret(deps.sql, deps.sealer, c.previousSecretId));
  }
  return out;
}

/** Claims the delivery id; returns the earlier answer when it was already handled. */
async function claim(
  deps: ForgeDeps,
  connectionId: string,
  deliveryId: string,
  event: string,
): Promise<DeliveryAnswer | undefined> {
  if (await claimDelivery(deps.sql, connectionId, deliveryId, event)) return undefined;
  const deadline = Date.now() + DUPLICATE_WAIT_MS;
  for (;;) {
    const row = await deliveryAnswer(deps.sql, connectionId, deliveryId);
    if (row?.httpStatus != null) {
      deps.log.info("webhook redelivery answered from the first delivery", {
        connection_id: connectionId,
        delivery_id: deliveryId,
      });
      return { status: row.httpStatus, body: row.response ?? {} };
    }
    if (!row) return await claim(deps, connectionId, deliveryId, event);
    if (Date.now() > deadline) {
      throw new DomainError(
        "conflict",
        "delivery_in_progress",
        "this delivery is still being handled",
      );
    }
    // Production wait for a concurrent first delivery (rare), not test synchronisation.
    await new Promise((r) => setTimeout(r, 50));
  }
}
