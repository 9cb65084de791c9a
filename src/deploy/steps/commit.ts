/**
 * commit: flake.lock alone, with trailers saying which deployment, store
 * path and flake ref it is (README, "Commits"). Nothing to commit when the
 * lock did not move (a retry of a version already pinned): skipped. With a
 * remote the commit is pushed here, before activation (steps/push.ts).
 */

import { formatSource } from "../flake_ref.ts";
import { deployMessage } from "../git.ts";
import { type PipelineStep, StepFailure, stopped } from "./context.ts";
import { pushCommit } from "./push.ts";

export const commit: PipelineStep = {
  name: "commit",
  // Without a remote a local commit, which recovery finds by its trailer, not by the record:
  // its start goes with activate's, before colmena (with a remote it is pushed: written first).
  startWrittenLater: (ctx) => !ctx.deps.remote,
  async run(ctx) {
    const { row } = ctx;
    if (!ctx.lockTouched) {
      ctx.say("flake.lock unchanged (already pinned there): nothing to commit");
      return "skipped";
    }
    const message = deployMessage({
      package: row.package,
      version: row.version,
      id: row.id,
      nixStorePath: row.nixStorePath,
      flakeRef: row.flakeRef ?? formatSource(ctx.input!.declared),
    });
    ctx.commitSha = await ctx.git.commitLock(message).catch((e) => {
      throw new StepFailure(`git commit failed: ${(e as Error).message}`, {
        kind: "error",
        code: "commit_failed",
      });
    });
    ctx.lockTouched = false;
    ctx.say(`committed ${ctx.commitSha}`);
    if (ctx.deps.remote) {
      // Recorded before it leaves this machine.
      await ctx.save({ commitSha: ctx.commitSha });
      await pushCommit(ctx, ctx.deps.remote);
    } else ctx.defer({ commitSha: ctx.commitSha }); // written before colmena runs
    if (ctx.signal.aborted) throw stopped(ctx.signal);
    return "ok";
  },
};
