/**
 * Whether a deployment's commits reached the flake remote (column
 * `pushed`, migration 0015), and the shas the remote has after a rebase.
 * Written beside the running row's own updates: a push can settle the
 * record of an earlier, finished deployment whose commit stayed local.
 */

import { isUuid } from "../core/ids.ts";
import type { Sql } from "../db/connect.ts";

export interface PushedCommitRecord {
  sha: string;
  deploymentId?: string;
  /** Set on a revert commit. */
  reverts?: string;
}

/** These commits are on the remote now: their deployments say so, with the remote's shas. */
export async function recordPushed(sql: Sql, commits: PushedCommitRecord[]): Promise<void> {
  for (const c of commits) {
    // A trailer in someone else's commit is not ours to trust.
    if (!c.deploymentId || !isUuid(c.deploymentId)) continue;
    if (c.reverts) {
      await sql`update deployments set revert_sha = ${c.sha}, pushed = true
        where id = ${c.deploymentId}`;
    } else {
      await sql`update deployments set commit_sha = ${c.sha}, pushed = true
        where id = ${c.deploymentId}`;
    }
  }
}

/** The deployment's commits stay local until a later deployment pushes them. */
export async function recordPushPending(sql: Sql, deploymentId: string): Promise<void> {
  await sql`update deployments set pushed = false where id = ${deploymentId}`;
}
