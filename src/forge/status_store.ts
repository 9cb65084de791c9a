/**
 * Commit status posts in Postgres: every status despacito tried to post,
 * with attempts and outcome, for the API and the UI. Plain SQL with explicit
 * columns and typed writes; knows nothing of HTTP or the forge API.
 */

import type { Queryable } from "../secrets/store.ts";

export interface NewStatusPost {
  connectionId: string;
  deploymentId: string;
  sha: string;
  state: "pending" | "success" | "failure" | "error";
  description: string;
  targetUrl: string;
}

export interface StatusAttempt {
  attempts: number;
  /** Null while still trying; then whether the forge accepted it. */
  ok: boolean | null;
  error: string | null;
  httpStatus: number | null;
}

export interface StatusPostRow {
  state: string;
  sha: string;
  description: string;
  targetUrl: string | null;
  attempts: number;
  ok: boolean | null;
  error: string | null;
  httpStatus: number | null;
  createdAt: Date;
  updatedAt: Date;
  owner: string;
  repo: string;
}

export async function insertStatusPost(q: Queryable, p: NewStatusPost): Promise<number> {
  const [row] = await q<{ id: number }[]>`
    insert into forge_status_post (connection_id, deployment_id, sha, state, description, target_url)
    values (${p.connectionId}, ${p.deploymentId}, ${p.sha}, ${p.state}, ${p.description},
            ${p.targetUrl})
    returning id`;
  return row.id;
}

export async function recordStatusAttempt(q: Queryable, id: number, a: StatusAttempt) {
  await q`
    update forge_status_post
    set attempts = ${a.attempts}, ok = ${a.ok}, error = ${a.error},
        http_status = ${a.httpStatus}, updated_at = now()
    where id = ${id}`;
}

/** A deployment's status posts with their repository, oldest first. */
export async function statusPostsOf(q: Queryable, deploymentId: string): Promise<StatusPostRow[]> {
  return await q<StatusPostRow[]>`
    select p.state, p.sha, p.description, p.target_url, p.attempts, p.ok, p.error,
           p.http_status, p.created_at, p.updated_at, c.owner, c.repo
    from forge_status_post p join forge_connection c on c.id = p.connection_id
    where p.deployment_id = ${deploymentId} order by p.id`;
}

export function statusPostJson(r: StatusPostRow) {
  return {
    repository: `${r.owner}/${r.repo}`,
    sha: r.sha,
    state: r.state,
    description: r.description,
    target_url: r.targetUrl,
    attempts: r.attempts,
    ok: r.ok,
    error: r.error,
    http_status: r.httpStatus,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}
