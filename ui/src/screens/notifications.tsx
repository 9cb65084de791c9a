/**
 * The notifications sent for a deployment (GET /api/deployments/:id/notifications):
 * per target and event, delivered, retrying or failed, with each attempt.
 * Hidden when no target is configured; refreshes while any is pending.
 */

import { useEffect } from "preact/hooks";
import { api } from "../api.ts";
import { Badge, ErrorNote, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { ACTIVE, type Deployment } from "../types.ts";

const EVERY_MS = 2000;

export function Notifications({ d }: { d: Deployment }) {
  const loaded = useLoad(() => api.notifications(d.id), d.id);
  const list = loaded.data.value?.notifications;
  const settled = !ACTIVE.includes(d.status) && list !== undefined &&
    list.every((n) => n.state !== "pending");
  useEffect(() => {
    if (settled) return;
    const t = setInterval(() => loaded.reload(), EVERY_MS);
    return () => clearInterval(t);
  }, [settled, d.status]);
  if (!loaded.error.value && (!list || list.length === 0)) return null;
  return (
    <section aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <ErrorNote message={loaded.error.value} />
      <ul class="nodes notifications">
        {list?.map((n) => {
          const last = n.attempts[n.attempts.length - 1];
          return (
            <li key={n.id}>
              <Badge status={n.state} /> <strong>{n.target}</strong> <span>{n.event}</span>{" "}
              <span class="muted">
                {n.attempts.length} attempt{n.attempts.length === 1 ? "" : "s"}
                {last && (
                  <>
                    {" · "}
                    <Time at={last.at} />
                  </>
                )}
                {n.state === "pending" && n.next_attempt_at && " · retrying"}
              </span>
              {n.last_error && <span class="error-text">{n.last_error}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
