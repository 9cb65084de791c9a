import assert from "node:assert/strict";
import { silentLogger } from "../log/log.ts";
import type { PipelineDeps } from "./pipeline.ts";
import type { ToolsReport } from "./tools.ts";
import { createWorker } from "./worker.ts";

/** A worker whose claims find nothing, counting the `git status` checks begun before each. */
function idleWorker(remote = false) {
  let checks = 0;
  const claims: { checksBefore: number }[] = [];
  let claimed: () => void = () => {};
  const report: ToolsReport = { versions: {}, problems: [], dirty: [], head: null };
  // Every read (package_state, rows left running) finds nothing.
  const sql = () => Promise.resolve([]);
  const deps = {
    sql,
    log: silentLogger,
    remote: remote ? {} : undefined,
    guard: { reap: () => Promise.resolve("none") },
    tools: {
      check: () => (checks++, Promise.resolve(report)),
      cached: () => Promise.resolve(report),
    },
    writes: {
      claim: () => {
        claims.push({ checksBefore: checks });
        claimed();
        return Promise.resolve({ stuck: [], events: [] });
      },
    },
  } as unknown as PipelineDeps;
  const worker = createWorker(deps);
  const nextClaim = () => new Promise<void>((r) => claimed = r);
  return { worker, claims, nextClaim };
}

Deno.test("worker: woken by an admission, it begins preflight's git status before its claim answers", async () => {
  const { worker, claims, nextClaim } = idleWorker();
  let claim = nextClaim();
  await worker.start();
  await claim;
  // The first claim (at start) was no admission's: no git status for an empty queue.
  assert.deepEqual(claims, [{ checksBefore: 0 }]);
  claim = nextClaim();
  worker.wake();
  await claim;
  assert.deepEqual(claims[1], { checksBefore: 1 }, "the work tree is read beside the claim");
  await worker.stop(AbortSignal.abort());
});

Deno.test("worker: with a flake remote nothing is read ahead (preflight fetches first)", async () => {
  const { worker, claims, nextClaim } = idleWorker(true);
  let claim = nextClaim();
  await worker.start();
  await claim;
  claim = nextClaim();
  worker.wake();
  await claim;
  assert.deepEqual(claims, [{ checksBefore: 0 }, { checksBefore: 0 }]);
  await worker.stop(AbortSignal.abort());
});
