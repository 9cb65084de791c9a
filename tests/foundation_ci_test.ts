/**
 * .ci/summary turns a `deno test` log and exit status into the "N passed,
 * N failed" counts CI prints, and never reports a failed run as clean.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

async function summary(log: string, status: number): Promise<[number, number]> {
  const file = await Deno.makeTempFile({ prefix: "despacito-ci-log-" });
  try {
    await Deno.writeTextFile(file, log);
    const r = await new Deno.Command("bash", {
      args: [`${REPO_DIR}/.ci/summary`, file, String(status)],
      stdout: "piped",
    }).output();
    assert.equal(r.code, 0);
    const [p, f] = new TextDecoder().decode(r.stdout).trim().split(" ").map(Number);
    return [p, f];
  } finally {
    await Deno.remove(file);
  }
}

Deno.test(".ci/summary reads deno test's final line, with and without steps", async () => {
  assert.deepEqual(await summary("a ... ok (1ms)\n\nok | 17 passed | 0 failed (2s)\n", 0), [17, 0]);
  assert.deepEqual(
    await summary("ok | 40 passed (12 steps) | 0 failed (9s)\n", 0),
    [40, 0],
  );
  assert.deepEqual(
    await summary(
      "x ...\n  step ... FAILED (1ms)\nx ... FAILED (2ms)\n\nFAILED | 38 passed (10 steps) | 2 failed (1 step) (9s)\n\nerror: Test failed\n",
      1,
    ),
    [38, 2],
  );
});

Deno.test(".ci/summary counts a run that stopped early as failed", async () => {
  assert.deepEqual(
    await summary("Check a_test.ts\nerror: TS2322 [ERROR]: Type 'string' is not assignable\n", 1),
    [0, 1],
  );
  assert.deepEqual(
    await summary("a ... ok (1ms)\nb ... ok (1ms)\n  s ... ok (1ms)\nc ... FAILED (3ms)\n", 124),
    [2, 1],
  );
  assert.deepEqual(await summary("a ... ok (1ms)\n", 124), [1, 1]);
});
