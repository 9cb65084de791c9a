/**
 * activate: `colmena apply <goal> [--on <selector>]` at the new commit, its
 * output streamed to the log and parsed per node. Every node colmena
 * reports as activated (or whose activation failed half-way) is one that
 * may run the new version now: it is remembered for a rollback and its
 * state is written at once — after a success in the statement that follows
 * without a wait (the next step's start or the outcome), after a failure in
 * its own, before the revert — so despacito's record says what the node runs
 * even if despacito dies in the next second. The failure message names the
 * failing nodes and the first real error line, not only an exit code.
 */

import { formatDuration } from "../../core/duration.ts";
import { durably } from "../durable.ts";
import { writeNodeStates } from "../fleet_store.ts";
import { colmenaArgv, firstErrorLine, type NodeOutcome, NodeOutcomeParser } from "../colmena.ts";
import { type PipelineStep, type RunContext, StepFailure, stopped } from "./context.ts";

/** Nodes that may have switched: activated, or failed during activation itself. */
export function switchedNodes(nodes: NodeOutcome[]): string[] {
  return nodes.filter((n) =>
    n.status === "succeeded" ||
    (n.status === "failed" && /^Activation failed/.test(n.message ?? ""))
  ).map((n) => n.node);
}

export async function runColmenaApply(
  ctx: RunContext,
  o: { on: string | null; signal: AbortSignal; lines: string[] },
) {
  const settings = ctx.settings!;
  const parser = new NodeOutcomeParser(settings.goal);
  const argv = colmenaArgv(ctx.deps.config.colmenaBin, { ...settings, on: o.on });
  ctx.say(`$ ${argv.join(" ")}`);
  const result = await ctx.deps.exec(argv, {
    cwd: ctx.deps.flakeDir,
    timeoutMs: settings.timeoutMs,
    signal: o.signal,
    log: ctx.log,
    onSpawn: (pid) => ctx.deps.guard.record(pid),
    onLine: (s, l) => {
      parser.feed(l);
      if (o.lines.length < 5_000) o.lines.push(l);
      ctx.journal.write(s, l);
    },
  }).finally(() => ctx.deps.guard.clear());
  return { result, nodes: parser.outcomes() };
}

/**
 * Activates one stage (or, without stages, the package's `on`): the nodes
 * it reports join `ctx.switched`, their state is written at once.
 */
export function activate(stage: { name: string | null; on: string | null }): PipelineStep {
  return {
    name: "activate",
    stage: stage.name ?? undefined,
    async run(ctx) {
      const lines: string[] = [];
      const { result, nodes } = await runColmenaApply(ctx, {
        on: stage.on,
        signal: ctx.signal,
        lines,
      });
      const switched = switchedNodes(nodes);
      ctx.nodes = [...ctx.nodes.filter((n) => !nodes.some((m) => m.node === n.node)), ...nodes]
        .sort((a, b) => a.node.localeCompare(b.node));
      ctx.switched = [...new Set([...ctx.switched, ...switched])].sort();
      ctx.lastActivated = switched;
      ctx.exitCode = result.code;
      const commitSha = ctx.commitSha ?? ctx.baseSha;
      const states = nodes.map((n) => ({
        node: n.node,
        deploymentId: ctx.row.id,
        outcome: n.status === "succeeded" ? "activated" as const : "failed" as const,
        running: switched.includes(n.node) ? { commitSha, packages: ctx.after } : null,
      }));
      if (result.code === 0 && !result.cancelled && !result.timedOut) {
        // Written by the statement that follows at once: the next step's start or the
        // outcome (one round trip less), or first thing on the way to a failure (pipeline.ts).
        ctx.nodeStates.push(...states);
      } else {
        // A failure: written now, before the revert and rollback that follow.
        await durably(() => writeNodeStates(ctx.deps.sql, states), {
          log: ctx.log,
          what: "node states",
        });
      }
      ctx.defer({ nodes: ctx.nodes, exitCode: result.code });
      if (result.cancelled) throw stopped(ctx.signal);
      if (result.timedOut) {
        throw new StepFailure(
          `colmena timed out after ${
            formatDuration(ctx.settings!.timeoutMs)
          }; its process group was killed`,
          { kind: "error", code: "activation_timeout", exitCode: result.code },
        );
      }
      const where = stage.name ? ` in stage ${stage.name}` : "";
      if (result.code !== 0) {
        const failed = nodes.filter((n) => n.status === "failed").map((n) => n.node);
        const first = firstErrorLine(lines);
        const on = failed.length ? ` on ${failed.join(", ")}` : "";
        throw new StepFailure(
          `activation failed${where}${on}: ${first ?? `colmena apply exited with ${result.code}`}`,
          { kind: "failure", code: "activation_failed", exitCode: result.code },
        );
      }
      ctx.say(
        `activated${where} ${switched.length ? switched.join(", ") : "(no node reported)"}`,
      );
      return "ok";
    },
  };
}
