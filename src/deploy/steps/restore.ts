/**
 * restore: put the flake repo back after a failure — discard an uncommitted
 * lock change, revert the deploy commit with a new commit (history is kept:
 * the repo always says what should run). The one copy of this logic, used
 * by a failing run and by recovery after a crash alike. Never throws: a
 * repo that cannot be put back is reported in the log and the result.
 */

import type { DeploymentRow } from "../deployment.ts";
import type { GitRepo } from "../git.ts";
import { revertMessage } from "../git.ts";

export interface RestoreInput {
  git: GitRepo;
  row: DeploymentRow;
  say(line: string): void;
  /** nix wrote flake.lock and it is not committed. */
  lockTouched: boolean;
  /** This deployment's commit, if it made one. */
  commitSha: string | null;
  reason: string;
  /** With a remote: push the revert commit (steps/push.ts pushRevert). */
  publish?: () => Promise<void>;
}

/** Returns the revert commit's sha (null: nothing to revert) and whether the repo is back. */
export async function restoreRepo(
  i: RestoreInput,
): Promise<{ revertSha: string | null; ok: boolean }> {
  try {
    if (i.lockTouched) {
      await i.git.restoreLock();
      i.say("flake.lock restored; the repo is as it was");
    }
    if (!i.commitSha) return { revertSha: null, ok: true };
    const sha = await i.git.commitLockFrom(
      `${i.commitSha}^`,
      revertMessage({
        package: i.row.package,
        version: i.row.version,
        id: i.row.id,
        commitSha: i.commitSha,
        reason: i.reason,
      }),
    );
    i.say(`reverted ${i.commitSha} with ${sha ?? "(nothing to revert)"}`);
    if (sha) await i.publish?.();
    return { revertSha: sha, ok: true };
  } catch (e) {
    i.say(`could not put the flake repo back: ${(e as Error).message}`);
    return { revertSha: null, ok: false };
  }
}

/**
 * After a crash: the repo as the dead process left it. An uncommitted
 * flake.lock change is ours (preflight saw a clean tree); a HEAD carrying
 * this deployment's id and not yet reverted is our commit.
 */
export async function findLeftovers(
  git: GitRepo,
  row: DeploymentRow,
): Promise<{ lockTouched: boolean; commitSha: string | null }> {
  const lockTouched = (await git.dirtyPaths()).includes("flake.lock");
  const head = await git.head();
  const t = await git.trailers(head);
  const ours = t["Deployment-Id"] === row.id && !t["Reverts"];
  return { lockTouched, commitSha: ours ? head : null };
}
