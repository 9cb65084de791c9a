/**
 * flake: pin the package's input with nix (`--override-input` to the
 * request's flake_ref, or update it to its declared source), check that
 * nothing else in flake.lock moved, then apply the version rule (README,
 * "Which version is deployed"): the locked revision is what "deployed"
 * means and the label must name it. A request that would leave the input
 * where it is under another label, or move it to a revision that was
 * deployed under another label, ends here, before any commit.
 */

import { join } from "node:path";
import type { RunResult } from "../../exec/run.ts";
import { compareLocks, lockArgv } from "../flake_step.ts";
import { formatSource } from "../flake_ref.ts";
import { parseLock } from "../inputs.ts";
import { deployedAtRev, getDeployment } from "../store.ts";
import { type PipelineStep, type RunContext, StepFailure, stopped } from "./context.ts";

const fail = (message: string, code: string) => new StepFailure(message, { kind: "error", code });

export function nixWhy(what: string, r: RunResult): string {
  if (r.timedOut) return `${what} timed out`;
  const lines = r.stderr.trim().split("\n");
  const first = lines.find((l) => /^error:/.test(l.trim()));
  const tail = lines.filter((l) => !l.startsWith("warning:")).slice(-3);
  const detail = first ? first.trim() : tail.join(" / ");
  return `${what} exited with ${r.code}${detail ? `: ${detail}` : ""}`;
}

export const flake: PipelineStep = {
  name: "flake",
  // An uncommitted flake.lock is found by recovery in the repo itself, not in the record.
  startWrittenAlongside: (ctx) => !ctx.deps.remote,
  async run(ctx) {
    const { deps, row } = ctx;
    const input = ctx.input!;
    const lockPath = join(deps.flakeDir, "flake.lock");
    const before = parseLock(await Deno.readTextFile(lockPath));
    const argv = lockArgv(deps.config.nixBin, await deps.nixVersion(), input.name, row.flakeRef);
    ctx.say(`$ ${argv.join(" ")}`);
    ctx.lockTouched = true;
    const nix = await deps.exec(argv, {
      cwd: deps.flakeDir,
      onLine: (s, l) => ctx.journal.write(s, l),
      signal: ctx.signal,
      timeoutMs: deps.config.nixTimeoutMs,
      log: ctx.log,
    });
    if (nix.cancelled) throw stopped(ctx.signal);
    if (nix.code !== 0) throw fail(nixWhy("nix flake lock", nix), "nix_failed");
    const change = compareLocks(before, parseLock(await Deno.readTextFile(lockPath)), input.name);
    if (change.problem) {
      throw fail(`refusing the new flake.lock: ${change.problem}`, "lock_changed");
    }
    ctx.lockedRev = change.lockedRev;
    ctx.previousLockedRev = change.previousLockedRev;
    if (!change.changed) ctx.lockTouched = false;
    await versionRule(ctx, change.changed);
    ctx.after = { ...ctx.before, [row.package]: row.version };
    ctx.say(`${input.name} locked at ${change.lockedRev ?? "(no rev)"}`);
    ctx.defer({ lockedRev: change.lockedRev, previousLockedRev: change.previousLockedRev });
    return "ok";
  },
};

/** The label must name the locked revision; see the file comment. */
async function versionRule(ctx: RunContext, moved: boolean): Promise<void> {
  const { row, input } = ctx;
  const rev = ctx.lockedRev;
  if (row.kind === "rollback") {
    const target = row.rollbackTo ? await getDeployment(ctx.deps.sql, row.rollbackTo) : undefined;
    if (!target?.lockedRev || target.lockedRev !== rev) {
      throw fail(
        `the rollback should lock ${row.package} at ${
          target?.lockedRev ?? "?"
        } but nix locked ${rev}`,
        "version_mismatch",
      );
    }
    return;
  }
  const current = ctx.before[row.package];
  if (!moved) {
    if (current === undefined || current === row.version) return;
    const pin = input?.declared.rev ?? input?.declared.ref;
    const why = pin && row.flakeRef === null
      ? `the input is pinned to ${pin} in flake.nix (${
        formatSource(input!.declared)
      }); send flake_ref to move it`
      : `${row.package} stays locked at ${rev ?? "(no rev)"}, which is deployed as ${current}`;
    throw fail(
      `refusing to record ${row.package} ${row.version}: ${why}`,
      "version_mismatch",
    );
  }
  if (rev === null) return;
  const other = await deployedAtRev(ctx.deps.sql, row.package, rev);
  if (other && other.version !== row.version) {
    throw fail(
      `refusing to record ${row.package} ${row.version}: revision ${rev} was deployed as ${other.version} (deployment ${other.id}); one revision is not deployed under two labels — roll back to that deployment instead`,
      "version_mismatch",
    );
  }
}
