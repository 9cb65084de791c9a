/** The notification tables in plain SQL: create once per event and target, claim due ones, record attempts. */

import type { Sql } from "../db/connect.ts";
import type { AttemptResult, NotifyPayload } from "./notify_send.ts";

export interface DueNotification {
  id: string;
  target: string;
  attempts: number;
  payload: NotifyPayload;
}

/** Inserts unless this deployment already notified this target of this event. */
export async function createNotification(
  sql: Sql,
  n: { id: string; deploymentId: string; target: string; event: string; payload: NotifyPayload },
): Promise<boolean> {
  const rows = await sql`
    insert into notification (id, deployment_id, target, event, payload, state)
    values (${n.id}, ${n.deploymentId}, ${n.target}, ${n.event}, ${sql.json(n.payload as never)},
      'pending')
    on conflict (deployment_id, target, event) do nothing
    returning id`;
  return rows.length === 1;
}

/**
 * Takes up to `limit` due notifications and leases them for `leaseMs`, so
 * another instance (or this one after a crash) retries only once the lease
 * ran out.
 */
export async function claimDue(
  sql: Sql,
  limit: number,
  leaseMs: number,
): Promise<DueNotification[]> {
  return await sql<DueNotification[]>`
    update notification set next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
    where id in (
      select id from notification
      where state = 'pending' and next_attempt_at <= now()
      order by next_attempt_at limit ${limit}
      for update skip locked)
    returning id, target, attempts, payload`;
}

/** Records one attempt and the notification's new state. */
export async function recordAttempt(
  sql: Sql,
  id: string,
  attempt: number,
  r: AttemptResult,
  next: { state: "delivered" | "failed" | "pending"; retryInMs?: number },
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into notification_attempt (notification_id, attempt, at, http_status, error, duration_ms)
      values (${id}, ${attempt}, now(), ${r.httpStatus}, ${r.error}, ${r.durationMs})`;
    await tx`
      update notification set attempts = ${attempt}, state = ${next.state}, last_error = ${r.error},
        delivered_at = case when ${next.state} = 'delivered' then now() end,
        next_attempt_at = now() + ${next.retryInMs ?? 0} * interval '1 millisecond'
      where id = ${id}`;
  });
}

export interface NotificationView {
  id: string;
  target: string;
  event: string;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  nextAttemptAt: Date;
  tries: {
    attempt: number;
    at: Date;
    httpStatus: number | null;
    error: string | null;
    durationMs: number;
  }[];
}

export async function notificationsOf(sql: Sql, deploymentId: string): Promise<NotificationView[]> {
  const rows = await sql<Omit<NotificationView, "tries">[]>`
    select id, target, event, state, attempts, last_error, created_at, delivered_at, next_attempt_at
    from notification where deployment_id = ${deploymentId} order by created_at, target`;
  const tries = await sql<(NotificationView["tries"][number] & { notificationId: string })[]>`
    select a.notification_id, a.attempt, a.at, a.http_status, a.error, a.duration_ms
    from notification_attempt a join notification n on n.id = a.notification_id
    where n.deployment_id = ${deploymentId} order by a.notification_id, a.attempt`;
  return rows.map((r) => ({
    ...r,
    tries: tries.filter((t) => t.notificationId === r.id).map(({ notificationId: _, ...t }) => t),
  }));
}

export function notificationJson(n: NotificationView) {
  return {
    id: n.id,
    target: n.target,
    event: n.event,
    state: n.state,
    attempts: n.tries.map((t) => ({
      attempt: t.attempt,
      at: t.at.toISOString(),
      http_status: t.httpStatus,
      error: t.error,
      duration_ms: t.durationMs,
    })),
    last_error: n.lastError,
    created_at: n.createdAt.toISOString(),
    delivered_at: n.deliveredAt?.toISOString() ?? null,
    next_attempt_at: n.state === "pending" ? n.nextAttemptAt.toISOString() : null,
  };
}
