import assert from "node:assert/strict";
import type { DeploymentPatch } from "./store.ts";
import { runStep } from "./pipeline.ts";
import type { PipelineStep, RunContext } from "./steps/context.ts";

/** A run context with only what runStep touches; `save` resolves when the test says so. */
function context() {
  const saves: { patch: DeploymentPatch; stored: () => void; failed: (e: Error) => void }[] = [];
  const ctx = {
    signal: new AbortController().signal,
    steps: [],
    deferred: {},
    defer(patch: DeploymentPatch) {
      Object.assign(ctx.deferred, patch);
    },
    save: (patch: DeploymentPatch) =>
      new Promise<void>((stored, failed) => void saves.push({ patch, stored, failed })),
  };
  return { ctx: ctx as unknown as RunContext, saves };
}

const stepNames = (patch: DeploymentPatch) =>
  (patch.steps ?? []).map((s) => `${s.name}:${s.status}`).join(" ");

Deno.test("runStep: a start written alongside is in flight while the step runs; the step ends after it is stored", async () => {
  const { ctx, saves } = context();
  const events: string[] = [];
  const step: PipelineStep = {
    name: "flake",
    startWrittenAlongside: () => true,
    run() {
      // The start's write has been sent, not yet stored, when the step's program starts.
      events.push(`run with ${saves.length} write(s) in flight`);
      return Promise.resolve("ok");
    },
  };
  const done = runStep(ctx, step).then(() => events.push("step done"));
  // The step ran at once, without waiting for its start's write; it ends only once that is stored.
  assert.deepEqual(events, ["run with 1 write(s) in flight"]);
  assert.equal(stepNames(saves[0].patch), "flake:running");
  saves[0].stored();
  await done;
  assert.deepEqual(events, ["run with 1 write(s) in flight", "step done"]);
  assert.equal(stepNames(ctx.deferred as DeploymentPatch), "flake:ok");
});

Deno.test("runStep: an ordinary step runs only after its start is stored; a later one writes none", async () => {
  const { ctx, saves } = context();
  const ran: string[] = [];
  const step = (name: "activate" | "commit", later: boolean): PipelineStep => ({
    name,
    startWrittenLater: () => later,
    run() {
      ran.push(name);
      return Promise.resolve("ok");
    },
  });
  await runStep(ctx, step("commit", true));
  assert.deepEqual(ran, ["commit"]);
  assert.equal(saves.length, 0, "commit's start goes with the next write");
  const done = runStep(ctx, step("activate", false));
  assert.deepEqual(ran, ["commit"], "activate waits for its start to be stored");
  assert.equal(stepNames(saves[0].patch), "commit:ok activate:running");
  saves[0].stored();
  await done;
  assert.deepEqual(ran, ["commit", "activate"]);
});

Deno.test("runStep: a start written alongside that fails while the step runs fails the step, and nothing goes unhandled", async () => {
  const { ctx, saves } = context();
  let finishRun!: () => void;
  const step: PipelineStep = {
    name: "flake",
    startWrittenAlongside: () => true,
    run: () => new Promise((resolve) => (finishRun = () => resolve("ok"))),
  };
  const ran = runStep(ctx, step);
  const failure = new Error("the database refused the write");
  saves[0].failed(failure);
  // A turn of the event loop while the step's program still runs: Deno checks for unhandled
  // rejections there (and would end the process).
  await new Promise((r) => setTimeout(r, 0));
  finishRun();
  await assert.rejects(ran, (e) => e === failure);
});
