/**
 * Native webhook deliveries: authenticate (HMAC over the signed bytes with
 * the current or, during an overlap, the previous secret), deduplicate by
 * delivery id, check the tag (valid, and existing in the repository), turn
 * a final release or a tag into an enqueued deployment and answer quickly
 * (the forge gives up after 5 s). A repeated delivery id answers what the
 * first one got; a release deploys once per tag. Forgejo never retries a
 * failed delivery and its Replay sends a new delivery id, so a delivery
 * that cannot be enqueued now (503) says so and is shown on the connection
 * for the operator to replay. Unknown connection and bad signature look
 * the same from outside: 401, nothing else.
 */

import { DomainError, invalidRequest, isDomainError } from "../core/errors.ts";
import { readSecret } from "../secrets/store.ts";
import { ForgeRequestError } from "./client.ts";
import {
  claimDelivery,
  deliveryAnswer,
  recordDelivery,
  recordReleaseDeployment,
  releaseDeployment,
} from "./delivery_store.ts";
import type { ForgeDeps } from "./deps.ts";
import { deliveryIdFrom, eventFrom, interpretDelivery } from "./events.ts";
import { pinnedFlakeRef } from "./flake_ref.ts";
import { requireConnectedSource } from "./source_check.ts";
import { payloadFrom, signatureFrom, verifySignature } from "./signature.ts";
import { type Connection, getConnection, setConnectionProblem } from "./store.ts";
import { credentialProblem } from "./connection_input.ts";
import { tagProblem } from "./tag.ts";

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
    answer = await decide(deps, c, d.header, json, deliveryId);
  } catch (e) {
    answer = failed(e);
    if (answer.status === 503) {
      deps.log.warn("webhook delivery not processed; the forge will not retry it", {
        connection_id: c.id,
        delivery_id: deliveryId,
        error: e,
      });
    }
  }
  // A 503 is stored too, so the connection shows it; the same id may claim it again.
  await recordDelivery(deps.sql, c.id, deliveryId, {
    httpStatus: answer.status,
    response: answer.body,
    outcome: answer.outcome,
    deploymentId: answer.deploymentId ?? null,
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

const REPLAY =
  "Forgejo does not retry: replay this delivery from the repository's Settings → Webhooks → " +
  "the hook → Recent Deliveries once despacito is ready";

/** A failure as the delivery's answer: 4xx for what the delivery got wrong, 503 otherwise. */
function failed(e: unknown): DeliveryAnswer & { outcome: string } {
  if (isDomainError(e) && e.kind !== "unavailable") {
    return {
      status: e.kind === "invalid" ? 400 : e.kind === "conflict" ? 409 : 422,
      body: {
        error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
      },
      outcome: `rejected: ${e.message}`,
    };
  }
  const why = isDomainError(e) ? e.message : "despacito could not enqueue it";
  return {
    status: 503,
    body: {
      error: {
        code: isDomainError(e) ? e.code : "unavailable",
        message: `not processed: ${why}. ${REPLAY}`,
      },
    },
    outcome: `not processed (${why}): replay it from the forge`,
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

async function decide(
  deps: ForgeDeps,
  c: Connection,
  header: (name: string) => string | undefined,
  json: unknown,
  deliveryId: string,
): Promise<DeliveryAnswer & { outcome: string; deploymentId?: string }> {
  const meaning = interpretDelivery(eventFrom(header), json, c.trigger);
  if (meaning.kind === "ignore") {
    return {
      status: 200,
      body: { status: "ignored", reason: meaning.reason },
      outcome: `ignored: ${meaning.reason}`,
    };
  }
  const problem = tagProblem(meaning.tag);
  if (problem) throw invalidRequest([{ field: "tag", message: problem }]);
  const earlier = meaning.release
    ? await releaseDeployment(deps.sql, c.id, meaning.tag)
    : undefined;
  if (earlier) {
    const reason = `release ${meaning.tag} already triggered deployment ${earlier.deploymentId}`;
    return {
      status: 200,
      body: { status: "ignored", reason, deployment_id: earlier.deploymentId },
      outcome: `ignored: ${reason}`,
      deploymentId: earlier.deploymentId,
    };
  }
  // The flake may have changed since the connection was made.
  const source = await requireConnectedSource(deps, c, c.package);
  // Always asked of the forge: the tag must exist, and a payload's sha may be a tag object.
  const sha = await tagCommit(deps, c, meaning.tag);
  const result = await deps.ports.enqueue({
    package: c.package,
    version: meaning.tag,
    flakeRef: pinnedFlakeRef(source, meaning.tag, sha),
    nixStorePath: null,
    trigger: { kind: "forge", id: c.id, label: `${c.owner}/${c.repo}` },
  });
  if (meaning.release) {
    await recordReleaseDeployment(deps.sql, {
      connectionId: c.id,
      tag: meaning.tag,
      deploymentId: result.deploymentId,
      deliveryId,
    });
  }
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

/**
 * The commit the tag points at, asked of the forge within a short budget. A
 * tag the repository does not have is refused (422); a forge that cannot
 * answer now makes the delivery a 503 to replay, never a guess.
 */
async function tagCommit(deps: ForgeDeps, c: Connection, tag: string): Promise<string> {
  const token = await readSecret(deps.sql, deps.sealer, c.tokenSecretId);
  try {
    return await deps.clientFor(c.forgeUrl, token).tagCommit(c.owner, c.repo, tag, TAG_LOOKUP_MS);
  } catch (e) {
    const problem = credentialProblem(e, `${c.forgeUrl} (${c.owner}/${c.repo})`);
    if (problem) {
      // The operator must act (moved repository, token rejected): shown on the connection.
      await setConnectionProblem(deps.sql, c.id, problem);
      throw new DomainError("unprocessable", problem.code, problem.message, { cause: e });
    }
    if (e instanceof ForgeRequestError && e.status === 404) {
      throw new DomainError(
        "unprocessable",
        "tag_not_found",
        `${c.owner}/${c.repo} has no tag "${tag}"`,
        { cause: e },
      );
    }
    throw new DomainError(
      "unavailable",
      "forge_unreachable",
      `could not look up tag "${tag}" on ${c.forgeUrl}: ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  }
}
