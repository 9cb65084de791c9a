/**
 * promotion: the manual gate after a stage. The deployment stays `running`
 * with this step running (the queue waits: the flake lock is shared) until
 * an operator promotes it, cancels it (every node of the stages already
 * activated is rolled back) or `promotion_timeout` passes (the same
 * rollback). Its log says who promoted, through the route's audit.
 */

import { formatDuration } from "../../core/duration.ts";
import { type PipelineStep, StepFailure, stopped } from "./context.ts";

export function promotion(stage: { name: string }): PipelineStep {
  return {
    name: "promotion",
    stage: stage.name,
    async run(ctx) {
      const timeout = ctx.settings!.promotionTimeoutMs;
      ctx.say(
        `stage ${stage.name} is healthy: awaiting promotion (POST /api/deployments/${ctx.row.id}/promote, at most ${
          formatDuration(timeout)
        })`,
      );
      const outcome = await ctx.deps.gates.wait(ctx.row.id, ctx.signal, timeout);
      if (outcome.kind === "aborted") throw stopped(ctx.signal);
      if (outcome.kind === "timeout") {
        throw new StepFailure(
          `not promoted within ${formatDuration(timeout)} after stage ${stage.name}`,
          { kind: "failure", code: "promotion_timeout" },
        );
      }
      ctx.say(`promoted by ${outcome.by} after stage ${stage.name}`);
      return "ok";
    },
  };
}
