/**
 * Native webhook deliveries: authenticate (HMAC over the signed bytes with
 * the current or, during an overlap, the previous secret), deduplicate by
 * delivery id, turn a release or tag into an enqueued deployment and
 * answer quickly (the forge gives up after 5 s). A redelivery answers what
 * the first delivery answered and never enqueues again. Unknown connection
 * and bad signature look the same from outside: 401, nothing else.
 */

import { DomainError, isDomainError } from "../core/errors.ts";
import { readSecret } from "../secrets/store.ts";
import type { ForgeDeps } from "./deps.ts";
import { deliveryIdFrom, eventFrom, interpretDelivery } from "./events.ts";
import { pinnedFlakeRef } from "./flake_ref.ts";
import { requireConnectedSource } from "./source_check.ts";
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

/** How long the tag → commit lookup may take inside the one-second budget. */
const TAG_LOOKUP_MS = 700;
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
  let answer: DeliveryAnswer & { outcome: string; deploymentId?: string };
  try {
    answer = await decide(deps, c, d.header, json);
  } catch (e) {
    if (isDomainError(e) && e.kind !== "unavailable" && e.kind !== "rate_limited") {
      answer = {
        status: e.kind === "invalid" ? 400 : e.kind === "conflict" ? 409 : 422,
        body: { error: { code: e.code, message: e.message } },
        outcome: `rejected: ${e.message}`,
      };
    } else {
      // Transient (deploy or forge unavailable, queue full): forget the claim so a redelivery can succeed.
      await deps
        .sql`delete from forge_delivery where connection_id = ${c.id} and delivery_id = ${deliveryId}`;
      throw e;
    }
  }
  await deps.sql`
    update forge_delivery
    set http_status = ${answer.status}, response = ${deps.sql.json(answer.body as never)},
        outcome = ${answer.outcome.slice(0, 300)}, deployment_id = ${answer.deploymentId ?? null}
    where connection_id = ${c.id} and delivery_id = ${deliveryId}`;
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
  const inserted = await deps.sql`
    insert into forge_delivery (connection_id, delivery_id, event)
    values (${connectionId}, ${deliveryId}, ${event})
    on conflict do nothing returning delivery_id`;
  if (inserted.length === 1) return undefined;
  const deadline = Date.now() + DUPLICATE_WAIT_MS;
  for (;;) {
    const [row] = await deps.sql<
      { httpStatus: number | null; response: Record<string, unknown> }[]
    >`
      select http_status, response from forge_delivery
      where connection_id = ${connectionId} and delivery_id = ${deliveryId}`;
    if (row?.httpStatus != null) {
      deps.log.info("webhook redelivery answered from the first delivery", {
        component: "forge",
        connection_id: connectionId,
        delivery_id: deliveryId,
      });
      return { status: row.httpStatus, body: row.response };
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

async function decide(
  deps: ForgeDeps,
  c: Connection,
  header: (name: string) => string | undefined,
  json: unknown,
): Promise<DeliveryAnswer & { outcome: string; deploymentId?: string }> {
  const meaning = interpretDelivery(eventFrom(header), json, c.trigger);
  if (meaning.kind === "ignore") {
    return {
      status: 200,
      body: { status: "ignored", reason: meaning.reason },
      outcome: `ignored: ${meaning.reason}`,
    };
  }
  // The flake may have changed since the connection was made.
  const source = await requireConnectedSource(deps, c, c.package);
  const sha = meaning.commitSha ?? (await tagCommit(deps, c, meaning.tag)) ?? meaning.refSha;
  const result = await deps.ports.enqueue({
    package: c.package,
    version: meaning.tag,
    flakeRef: pinnedFlakeRef(source, meaning.tag, sha),
    nixStorePath: null,
    trigger: { kind: "forge", id: c.id, label: `${c.owner}/${c.repo}` },
  });
  const queued = result.outcome === "queued";
  return {
    status: queued ? 202 : 200,
    body: {
      status: result.outcome,
      deployment_id: result.deploymentId,
      package: c.package,
      version: meaning.tag,
    },
    outcome: result.outcome,
    deploymentId: result.deploymentId,
  };
}

/** The commit a tag points at, asked of the forge within a short budget; undefined on failure. */
async function tagCommit(deps: ForgeDeps, c: Connection, tag: string): Promise<string | undefined> {
  try {
    const token = await readSecret(deps.sql, deps.sealer, c.tokenSecretId);
    return await deps.clientFor(c.forgeUrl, token).tagCommit(c.owner, c.repo, tag, TAG_LOOKUP_MS);
  } catch (e) {
    deps.log.warn("could not resolve the tag's commit; pinning the tag only", {
      component: "forge",
      connection_id: c.id,
      tag,
      error: e,
    });
    return undefined;
  }
}
