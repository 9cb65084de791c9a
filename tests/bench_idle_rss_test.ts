/**
 * bench/idle_rss.ts (`deno task bench:rss`), the ladder of idle RSS from the
 * bare hello to despacito, in its shortest form: one start of each rung, so
 * that the tool cannot rot. No figure is judged (memory is no timed test's
 * business); every rung must have started, been measured and shown its
 * PostgreSQL connections. The figures of a full run: bench/README.md.
 */

import assert from "node:assert/strict";
import { denoTask } from "./_harness/deno_task.ts";

Deno.test("bench:rss measures every rung of the idle RSS ladder", async () => {
  const { out } = await denoTask(["bench:rss", "--starts", "1", "--settle", "100"]);
  const rows = new Map(
    out.split("\n").filter((l) =>
      l.startsWith("| ") && !l.startsWith("| rung") && !l.startsWith("| ---")
    )
      .map((l) => {
        const cells = l.split("|").map((c) => c.trim());
        return [cells[1], cells.slice(2, -1)] as const;
      }),
  );
  assert.deepEqual([...rows.keys()], [
    "bare hello",
    "+ postgres.js connection",
    "+ connection guard",
    "+ serve's modules loaded",
    "despacito",
  ]);
  for (const [name, cells] of rows) {
    const [rss, , , code, , anon, heap, , threads, conns] = cells.map(Number);
    assert.ok(rss > 0 && code > 0 && anon > 0 && heap > 0 && threads > 0, `${name}: ${cells}`);
    // Every rung but the bare hello holds its PostgreSQL connection while idle.
    assert.equal(conns > 0, name !== "bare hello", `${name}: ${cells}`);
  }
});
