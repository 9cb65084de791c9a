/**
 * What one delivery makes despacito do, once it is authenticated: ignore it
 * (with the reason), refuse it (a bad or missing tag, a flake that no longer
 * fetches this repository), or enqueue the tag's commit as a deployment. A
 * release deploys once per tag. Shared by live deliveries (deliveries.ts)
 * and stored ones retried later (pending.ts). Throws DomainError.
 */

import { DomainError, invalidRequest, isDomainError } from "../core/errors.ts";
import { readSecret } from "../secrets/store.ts";
import { ForgeRequestError } from "./client.ts";
import { credentialProblem } from "./connection_input.ts";
import { recordReleaseDeployment, releaseDeployment } from "./delivery_store.ts";
import type { ForgeDeps } from "./deps.ts";
import { interpretDelivery } from "./events.ts";
import { pinnedFlakeRef } from "./flake_ref.ts";
import { requireConnectedSource } from "./source_check.ts";
import { type Connection, setConnectionProblem } from "./store.ts";
import { tagProblem } from "./tag.ts";

export interface Decision {
  status: number;
  body: Record<string, unknown>;
  /** One short phrase for the connection's last delivery. */
  outcome: string;
  deploymentId?: string;
}

/** How long the tag → commit lookup may take inside the one-second budget. */
const TAG_LOOKUP_MS = 700;

export async function decide(
  deps: ForgeDeps,
  c: Connection,
  event: string | undefined,
  json: unknown,
  deliveryId: string,
): Promise<Decision> {
  const meaning = interpretDelivery(event, json, c.trigger);
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
  return {
    status: result.outcome === "queued" ? 202 : 200,
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

/** A refusal as the delivery's answer (4xx); undefined when the failure is not the delivery's. */
export function refusal(e: unknown): Decision | undefined {
  if (!isDomainError(e) || e.kind === "unavailable") return undefined;
  return {
    status: e.kind === "invalid" ? 400 : e.kind === "conflict" ? 409 : 422,
    body: {
      error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
    },
    outcome: `rejected: ${e.message}`,
  };
}

/**
 * The commit the tag points at, asked of the forge within a short budget. A
 * tag the repository does not have is refused (422); a forge that cannot
 * answer now is "unavailable" (the delivery waits and is tried again).
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
