/**
 * Repository connections in Postgres: plain SQL over forge_connection, with
 * the sealed secrets' ids (never their plaintexts) and what the UI shows
 * beside each connection (last delivery, last status post). Takes the `sql`
 * handle or a transaction; knows nothing of HTTP or of the forge API.
 */

import { isUuid } from "../core/ids.ts";
import type { Queryable } from "../secrets/store.ts";
import type { ForgeType } from "./client.ts";
import type { Trigger } from "./events.ts";

export interface Connection {
  id: string;
  forgeUrl: string;
  forgeType: ForgeType;
  owner: string;
  repo: string;
  package: string;
  trigger: Trigger;
  /** Where the deployment flake fetches this repository from, when not the forge (null: the forge). */
  sourceUrl: string | null;
  webhookId: number | null;
  tokenSecretId: string;
  webhookSecretId: string;
  previousSecretId: string | null;
  previousValidUntil: Date | null;
  createdBy: string;
  createdAt: Date;
  /** What the forge last said only an operator can fix; null when nothing. */
  problemCode: ProblemCode | null;
  problemMessage: string | null;
  problemAt: Date | null;
}

/** Problems an operator must fix on the forge side (or by reconnecting). */
export type ProblemCode =
  | "forge_token_rejected"
  | "forge_token_cannot_write"
  | "forge_forbidden"
  | "forge_repo_moved";

export interface ConnectionProblem {
  code: ProblemCode;
  message: string;
}

export interface ConnectionView extends Connection {
  tokenLast4: string;
  secretLast4: string;
  lastDelivery: { at: Date; event: string; deliveryId: string; result: string } | null;
  lastStatusPost: {
    at: Date;
    state: string;
    ok: boolean | null;
    error: string | null;
    deploymentId: string;
  } | null;
}

/** Every column of forge_connection, in Connection's order (a constant, never input). */
const COLUMNS = `id, forge_url, forge_type, owner, repo, package, trigger, source_url, webhook_id,
  token_secret_id, webhook_secret_id, previous_secret_id, previous_valid_until,
  created_by, created_at, problem_code, problem_message, problem_at`;

export async function insertConnection(
  q: Queryable,
  c: Omit<
    Connection,
    | "createdAt"
    | "previousSecretId"
    | "previousValidUntil"
    | "problemCode"
    | "problemMessage"
    | "problemAt"
  >,
): Promise<void> {
  await q`
    insert into forge_connection
      (id, forge_url, forge_type, owner, repo, package, trigger, source_url, webhook_id,
       token_secret_id, webhook_secret_id, created_by)
    values
      (${c.id}, ${c.forgeUrl}, ${c.forgeType}, ${c.owner}, ${c.repo}, ${c.package},
       ${c.trigger}, ${c.sourceUrl}, ${c.webhookId}, ${c.tokenSecretId}, ${c.webhookSecretId},
       ${c.createdBy})`;
}

export async function getConnection(q: Queryable, id: string): Promise<Connection | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q<Connection[]>`
    select ${q.unsafe(COLUMNS)}
    from forge_connection where id = ${id}`;
  return row;
}

export async function connectionForPackage(
  q: Queryable,
  pkg: string,
): Promise<Connection | undefined> {
  const [row] = await q<Connection[]>`
    select ${q.unsafe(COLUMNS)}
    from forge_connection where package = ${pkg}`;
  return row;
}

interface ViewRow extends Connection {
  tokenLast4: string;
  secretLast4: string;
  deliveryAt: Date | null;
  deliveryEvent: string | null;
  deliveryId: string | null;
  deliveryOutcome: string | null;
  statusAt: Date | null;
  statusState: string | null;
  statusOk: boolean | null;
  statusError: string | null;
  statusDeploymentId: string | null;
}

/** Connections with what the UI shows beside them; all of them, or one. */
export async function connectionViews(q: Queryable, id?: string): Promise<ConnectionView[]> {
  if (id !== undefined && !isUuid(id)) return [];
  const rows = await q<ViewRow[]>`
    select c.id, c.forge_url, c.forge_type, c.owner, c.repo, c.package, c.trigger,
           c.source_url, c.webhook_id, c.token_secret_id, c.webhook_secret_id, c.previous_secret_id,
           c.previous_valid_until, c.created_by, c.created_at, c.problem_code,
           c.problem_message, c.problem_at,
           t.last4 as token_last4, s.last4 as secret_last4,
           d.received_at as delivery_at, d.event as delivery_event,
           d.delivery_id as delivery_id, d.outcome as delivery_outcome,
           p.updated_at as status_at, p.state as status_state, p.ok as status_ok,
           p.error as status_error, p.deployment_id as status_deployment_id
    from forge_connection c
    join sealed_secret t on t.id = c.token_secret_id
    join sealed_secret s on s.id = c.webhook_secret_id
    left join lateral (
      select received_at, event, delivery_id, outcome from forge_delivery
      where connection_id = c.id and http_status is not null
      order by received_at desc limit 1
    ) d on true
    left join lateral (
      select updated_at, state, ok, error, deployment_id from forge_status_post
      where connection_id = c.id order by id desc limit 1
    ) p on true
    where ${id === undefined ? q`true` : q`c.id = ${id}`}
    order by c.created_at, c.id`;
  return rows.map((r) => ({
    ...r,
    lastDelivery: r.deliveryAt
      ? {
        at: r.deliveryAt,
        event: r.deliveryEvent!,
        deliveryId: r.deliveryId!,
        result: r.deliveryOutcome ?? "",
      }
      : null,
    lastStatusPost: r.statusAt
      ? {
        at: r.statusAt,
        state: r.statusState!,
        ok: r.statusOk,
        error: r.statusError,
        deploymentId: r.statusDeploymentId!,
      }
      : null,
  }));
}

export async function deleteConnectionRow(q: Queryable, id: string): Promise<void> {
  await q`delete from forge_connection where id = ${id}`;
}

export interface WebhookSecrets {
  webhookSecretId: string;
  previousSecretId: string | null;
  previousValidUntil: Date | null;
}

/** Which sealed secrets a delivery's signature is checked against. */
export async function setWebhookSecrets(q: Queryable, id: string, s: WebhookSecrets) {
  await q`
    update forge_connection
    set webhook_secret_id = ${s.webhookSecretId}, previous_secret_id = ${s.previousSecretId},
        previous_valid_until = ${s.previousValidUntil}
    where id = ${id}`;
}

export async function setWebhookId(q: Queryable, id: string, webhookId: number | null) {
  await q`update forge_connection set webhook_id = ${webhookId} where id = ${id}`;
}

/** Records (or, with null, clears) what the operator must fix; returns whether it changed. */
export async function setConnectionProblem(
  q: Queryable,
  id: string,
  p: ConnectionProblem | null,
): Promise<boolean> {
  const changed = await q`
    update forge_connection
    set problem_code = ${p?.code ?? null}, problem_message = ${p?.message ?? null},
        problem_at = case when ${p !== null} then now() end
    where id = ${id} and (problem_code is distinct from ${p?.code ?? null}
      or problem_message is distinct from ${p?.message ?? null})
    returning id`;
  return changed.length > 0;
}

/** The connection as the API shows it (README, "Forge"); no secret, ever. */
export function repoJson(v: ConnectionView, now = new Date()) {
  const rotating = v.previousValidUntil && v.previousValidUntil > now ? v.previousValidUntil : null;
  return {
    id: v.id,
    forge_url: v.forgeUrl,
    forge_type: v.forgeType,
    owner: v.owner,
    repo: v.repo,
    package: v.package,
    trigger: v.trigger,
    source_url: v.sourceUrl,
    webhook_id: v.webhookId,
    token: { set: true, last4: v.tokenLast4 },
    secret: {
      set: true,
      last4: v.secretLast4,
      rotating_until: rotating ? rotating.toISOString() : null,
    },
    last_delivery: v.lastDelivery
      ? {
        at: v.lastDelivery.at.toISOString(),
        event: v.lastDelivery.event,
        delivery_id: v.lastDelivery.deliveryId,
        result: v.lastDelivery.result,
      }
      : null,
    last_status_post: v.lastStatusPost
      ? {
        at: v.lastStatusPost.at.toISOString(),
        state: v.lastStatusPost.state,
        ok: v.lastStatusPost.ok,
        error: v.lastStatusPost.error,
        deployment_id: v.lastStatusPost.deploymentId,
      }
      : null,
    problem: v.problemCode
      ? { code: v.problemCode, message: v.problemMessage, at: v.problemAt?.toISOString() ?? null }
      : null,
    created_at: v.createdAt.toISOString(),
  };
}
