/**
 * verify: the package's checks after activation, each recorded (name,
 * target, attempts, result, duration) and streamed to the log; then, with
 * `soak`, the same checks again and again until the soak time is over. A
 * failed check is a failed deployment (restore + rollback follow). No
 * checks configured: skipped, and success means colmena's success.
 */

import type { Check } from "../check_settings.ts";
import { pause, runCheck } from "../checks.ts";
import type { CheckRecord } from "../deployment.ts";
import { type PipelineStep, type RunContext, StepFailure, stopped } from "./context.ts";

const SOAK_ROUND_MS = 10_000;

async function round(
  ctx: RunContext,
  checks: Check[],
  nodes: string[],
  soakRound: number,
): Promise<CheckRecord[]> {
  const out: CheckRecord[] = [];
  for (const c of checks) {
    const rec = await runCheck(c, nodes, {
      exec: ctx.deps.exec,
      colmenaBin: ctx.deps.config.colmenaBin,
      flakeDir: ctx.deps.flakeDir,
      log: ctx.log,
      say: (l) => ctx.say(soakRound ? `soak ${soakRound}: ${l}` : l),
      onOutput: (s, l) => ctx.journal.write(s, l),
      onSpawn: (pid) => ctx.deps.guard.record(pid),
      onExit: () => ctx.deps.guard.clear(),
    }, ctx.signal);
    out.push(rec);
    if (ctx.signal.aborted) throw stopped(ctx.signal);
    if (rec.result === "failed") break;
  }
  return out;
}

function merge(all: CheckRecord[], latest: CheckRecord[]): CheckRecord[] {
  const byName = new Map(all.map((c) => [c.name, c]));
  for (const c of latest) {
    const prev = byName.get(c.name);
    byName.set(c.name, prev ? { ...c, attempts: prev.attempts + c.attempts } : c);
  }
  return [...byName.values()];
}

/**
 * Verifies one stage (or, without stages, the whole activation) on the
 * nodes it activated: the stage's checks (default: the package's), then its
 * soak.
 */
export function verify(stage: {
  name: string | null;
  checks?: Check[];
  soakMs?: number;
}): PipelineStep {
  return {
    name: "verify",
    stage: stage.name ?? undefined,
    idle: (ctx) =>
      (stage.checks ?? ctx.settings!.checks).length === 0 &&
      (stage.soakMs ?? ctx.settings!.soakMs) <= 0,
    async run(ctx) {
      const settings = ctx.settings!;
      const checks = stage.checks ?? settings.checks;
      const soakMs = stage.soakMs ?? settings.soakMs;
      if (checks.length === 0) {
        if (soakMs > 0) ctx.say("soak set but no checks configured: nothing to verify");
        return "skipped";
      }
      const nodes = ctx.lastActivated.length ? ctx.lastActivated : settings.on ? [settings.on] : [];
      const where = stage.name ? ` in stage ${stage.name}` : "";
      const started = Date.now();
      for (let n = 0;; n++) {
        const latest = await round(ctx, checks, nodes, n);
        ctx.checks = merge(ctx.checks, latest);
        await ctx.save({ checks: ctx.checks });
        const failed = latest.find((c) => c.result === "failed");
        if (failed) {
          throw new StepFailure(
            `check ${failed.name} failed${where}${
              n ? ` during soak (round ${n})` : ""
            }: ${failed.message}`,
            { kind: "failure", code: "check_failed" },
          );
        }
        const left = soakMs - (Date.now() - started);
        if (left <= 0) break;
        await pause(Math.min(SOAK_ROUND_MS, left), ctx.signal);
        if (ctx.signal.aborted) throw stopped(ctx.signal);
      }
      ctx.say(`verified${where}: ${checks.map((c) => c.name).join(", ")} passed`);
      return "ok";
    },
  };
}
