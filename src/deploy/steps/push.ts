/**
 * Pushing a deployment's commits to the flake remote (remote.ts), as the
 * steps use it: after the deploy commit (commit.ts), after a revert
 * (restore.ts, also in crash recovery), and the pending ones before a
 * deployment (preflight.ts). Records on each deployment whether its
 * commits reached the remote, and their shas after a rebase. A push that
 * keeps failing is not a failure: the commit stays local (`pushed: false`)
 * and the next deployment pushes it first. Only a conflict is.
 */

import type { Sql } from "../../db/connect.ts";
import type { Logger } from "../../log/log.ts";
import { durably } from "../durable.ts";
import { type FlakeRemote, type PushedCommit, RemoteRefused } from "../remote.ts";
import { recordPushed, recordPushPending } from "../remote_store.ts";
import { type RunContext, StepFailure } from "./context.ts";

/** After the deploy commit: push it; a conflict drops it and fails the deployment before activation. */
export async function pushCommit(ctx: RunContext, remote: FlakeRemote): Promise<void> {
  const r = await remote.publish(ctx.say).catch(async (e) => {
    if (!(e instanceof RemoteRefused)) {
      throw new StepFailure(`push failed: ${(e as Error).message}`, {
        kind: "error",
        code: "push_failed",
      });
    }
    // Never pushed, so nothing to revert: the local branch goes back to the remote's head.
    await remote.reset();
    ctx.commitSha = null;
    await ctx.save({ commitSha: null });
    ctx.say(`dropped the local commit; the flake repo is at the remote's head again`);
    throw new StepFailure(e.message, { kind: "error", code: e.code });
  });
  ctx.commitSha = r.head;
  await record(ctx.deps.sql, ctx.log, ctx.row.id, r.pushed ? r.commits : null);
  if (!r.pushed) ctx.say(`the commit stays local; the next deployment pushes it first`);
  await ctx.save({ commitSha: ctx.commitSha });
}

/** After a revert commit (a failing run or crash recovery). Never throws. */
export async function pushRevert(o: {
  remote: FlakeRemote;
  sql: Sql;
  log: Logger;
  deploymentId: string;
  say(line: string): void;
}): Promise<void> {
  try {
    const r = await o.remote.publish(o.say);
    await record(o.sql, o.log, o.deploymentId, r.pushed ? r.commits : null);
    if (!r.pushed) o.say(`the revert stays local; the next deployment pushes it first`);
  } catch (e) {
    if (e instanceof RemoteRefused) {
      // Someone changed the same input on the remote meanwhile: theirs stands, ours is dropped.
      await o.remote.reset().catch(() => {});
      o.say(`${e.message}; the remote's flake.lock stands, the local revert is dropped`);
    } else o.say(`could not push the revert: ${(e as Error).message}`);
  }
}

/** Before a deployment: fetch, fast-forward, push what earlier deployments left local. */
export async function syncRemote(ctx: RunContext, remote: FlakeRemote): Promise<void> {
  // A dirty tree is preflight's to refuse (flake_dirty); a merge must not meet it.
  if ((await ctx.git.dirtyPaths()).length > 0) return;
  let r;
  try {
    r = await remote.sync(ctx.say);
  } catch (e) {
    throw new StepFailure((e as Error).message, {
      kind: "error",
      code: e instanceof RemoteRefused ? e.code : "remote_failed",
    });
  }
  if (r?.pushed) await record(ctx.deps.sql, ctx.log, ctx.row.id, r.commits);
}

/** Null: this deployment's commits stay local. */
async function record(
  sql: Sql,
  log: Logger,
  deploymentId: string,
  commits: PushedCommit[] | null,
): Promise<void> {
  await durably(
    () => commits === null ? recordPushPending(sql, deploymentId) : recordPushed(sql, commits),
    { log, what: "the push record" },
  );
}
