/**
 * preflight: before anything is written. The package is not held, still an
 * input of the flake, its settings are valid, git/nix/colmena run, and the
 * flake repo is a clean work tree with flake.nix and flake.lock (with a
 * remote: fetched and fast-forwarded first, steps/push.ts). Records
 * where the repo started (what a revert returns to) and every package's
 * version now (what a rolled-back node runs).
 */

import { holdOf } from "../fleet_store.ts";
import { packageStates } from "../store.ts";
import { type PipelineStep, StepFailure } from "./context.ts";
import { syncRemote } from "./push.ts";

const error = (message: string, code: string) => new StepFailure(message, { kind: "error", code });

export const preflight: PipelineStep = {
  name: "preflight",
  // Without a remote: git status and database reads, a few ms. With one it fetches.
  startWrittenLater: (ctx) => !ctx.deps.remote,
  async run(ctx) {
    const { deps, row } = ctx;
    const held = async () => {
      const hold = await holdOf(deps.sql, row.package);
      if (hold) {
        throw error(
          `${row.package} is held since deployment ${hold.deploymentId} (${hold.reason}); release it first`,
          "package_held",
        );
      }
    };
    // The remote first (a held package is not fetched for): the input, the tree and the base
    // commit are then the remote's.
    if (deps.remote) {
      await held();
      await syncRemote(ctx, deps.remote);
    }
    // Each check is a read: all at once (the hold's refusal first), then judged in order.
    const [, input, settings, tools, states] = await Promise.all([
      deps.remote ? undefined : held(),
      deps.inputs.get(row.package),
      deps.settings.forPackage(row.package).catch((e: Error) => e),
      deps.tools.check(),
      packageStates(deps.sql),
    ]);
    ctx.input = input;
    if (!ctx.input) {
      throw error(`${row.package} is no longer an input of the flake`, "unknown_package");
    }
    if (settings instanceof Error) {
      throw error(`DESPACITO_CONFIG is invalid: ${settings.message}`, "invalid_settings");
    }
    ctx.settings = settings;
    if (tools.dirty.length > 0) {
      throw error(
        `the flake repo has uncommitted changes, refusing to deploy: ${tools.dirty.join(", ")}`,
        "flake_dirty",
      );
    }
    if (tools.problems.length > 0) {
      throw error(`refusing to deploy: ${tools.problems.join("; ")}`, "tools_unusable");
    }
    ctx.baseSha = tools.head ?? await ctx.git.head();
    ctx.before = Object.fromEntries(states.map((s) => [s.package, s.version]));
    ctx.previousLockedRev = ctx.input.lockedRev;
    // Every node this deployment may touch: what recovery after a crash must roll back.
    const targets = ctx.settings.stages
      ? (ctx.settings.stages.some((s) => s.on === null)
        ? null
        : ctx.settings.stages.map((s) => s.on).join(","))
      : ctx.settings.on;
    ctx.defer({
      baseSha: ctx.baseSha,
      previousLockedRev: ctx.input.lockedRev,
      targets,
    });
    return "ok";
  },
};
