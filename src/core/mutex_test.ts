import assert from "node:assert/strict";
import { createMutex } from "./mutex.ts";

Deno.test("createMutex().run() never overlaps two runs and goes on after a failure", async () => {
  const m = createMutex();
  const events: string[] = [];
  const gate = Promise.withResolvers<void>();
  const first = m.run(async () => {
    events.push("a start");
    await gate.promise;
    events.push("a end");
    throw new Error("a failed");
  });
  const second = m.run(() => {
    events.push("b start");
    return Promise.resolve("b");
  });
  await Promise.resolve();
  assert.deepEqual(events, ["a start"]);
  gate.resolve();
  await assert.rejects(first, /a failed/);
  assert.equal(await second, "b");
  assert.deepEqual(events, ["a start", "a end", "b start"]);
});
