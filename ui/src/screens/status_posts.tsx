/**
 * The commit statuses despacito posted to the forge for a forge-triggered
 * deployment (GET /api/forge/status-posts), so the operator sees on the
 * deployment whether its outcome reached the forge. Posting runs beside the
 * deployment and may lag or retry, so this refreshes until it has settled.
 */

import { useEffect } from "preact/hooks";
import { api } from "../api.ts";
import { Badge, ErrorNote, Short, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { ACTIVE, type Deployment, type StatusPost } from "../types.ts";

const EVERY_MS = 2000;
/** After this long past the end, nothing more is coming (or it is being retried slowly). */
const QUIET_AFTER_MS = 60_000;

export function StatusPosts({ d }: { d: Deployment }) {
  const posts = useLoad(() => api.statusPosts(d.id), d.id);
  const list = posts.data.value?.status_posts;
  const ended = !ACTIVE.includes(d.status);
  const settled = ended && list !== undefined &&
    (isSettled(list) || Date.now() - Date.parse(d.finished_at ?? "") > QUIET_AFTER_MS);
  useEffect(() => {
    if (settled) return;
    const t = setInterval(() => posts.reload(), EVERY_MS);
    return () => clearInterval(t);
  }, [settled, d.status]);
  return (
    <section aria-labelledby="posts-title">
      <h2 id="posts-title">Commit statuses</h2>
      <ErrorNote message={posts.error.value} />
      {list && list.length === 0 && <p class="muted">None posted yet.</p>}
      {list && list.length > 0 && (
        <ul class="nodes posts">
          {list.map((p, i) => (
            <li key={i}>
              <Badge status={p.ok === false ? "failed" : p.state} /> <strong>{p.repository}</strong>
              {" "}
              <Short value={p.sha} what={`commit of ${p.repository} status ${i + 1}`} />
              <span class="muted">
                {p.description} · <Time at={p.updated_at} />
                {p.ok === null && ` · retrying (attempt ${p.attempts})`}
              </span>
              {p.error && <span class="error-text">{p.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Nothing is being retried and the last post is a final state (not pending). */
function isSettled(list: StatusPost[]): boolean {
  const last = list[list.length - 1];
  return last !== undefined && last.state !== "pending" && list.every((p) => p.ok !== null);
}
