import assert from "node:assert/strict";
import { createLogger, type Level } from "../log/log.ts";
import { BATCH_MAX, createJournal } from "./journal.ts";
import type { LogStream } from "./store.ts";

/** A journal over a fake store that keeps each statement's lines; its logger writes into `logged`. */
function journalAt(level: Level) {
  const batches: { stream: LogStream; line: string }[][] = [];
  const logged: Record<string, unknown>[] = [];
  const journal = createJournal({
    writes: {
      logs: (_id, lines) => {
        batches.push([...lines]);
        return Promise.resolve({ events: [] });
      },
    },
    deploymentId: "d1",
    log: createLogger({ level, sink: (l) => logged.push(JSON.parse(l)) }),
  });
  return { journal, batches, logged };
}

Deno.test("journal: every line stored once, in order, NUL replaced, a runaway line cut at 16 KB", async () => {
  const { journal, batches } = journalAt("info");
  const long = "x".repeat(20_000);
  const n = BATCH_MAX * 3 + 5;
  for (let i = 0; i < n; i++) journal.write(i % 2 ? "stderr" : "stdout", `line ${i}`);
  journal.write("stdout", "a\u0000b");
  journal.write("stdout", long);
  await journal.flush();
  const stored = batches.flat();
  assert.equal(stored.length, n + 2);
  assert.deepEqual(
    stored.slice(0, n).map((l) => `${l.stream} ${l.line}`),
    Array.from({ length: n }, (_, i) => `${i % 2 ? "stderr" : "stdout"} line ${i}`),
  );
  assert.equal(stored[n].line, "a\uFFFDb");
  assert.equal(stored[n + 1].line, `${"x".repeat(16_384)}… [truncated]`);
});

Deno.test("journal: output lines reach the log at debug level only; system lines at info", async () => {
  for (const level of ["info", "debug"] as const) {
    const { journal, logged } = journalAt(level);
    journal.write("system", "deployment started");
    journal.write("stdout", "building…");
    await journal.flush();
    const lines = logged.map((r) => `${r.level} ${r.msg} ${r.stream ?? ""} ${r.line ?? ""}`.trim());
    assert.deepEqual(
      lines,
      level === "debug"
        ? ["info deployment started", "debug output stdout building…"]
        : ["info deployment started"],
    );
  }
});

Deno.test("journal: flushInto() hands the gathered lines to the change; a change that did not apply gives them back, stored the ordinary way", async () => {
  const { journal, batches } = journalAt("info");
  journal.write("system", "one");
  journal.write("stdout", "two");
  const taken: string[][] = [];
  const applied = await journal.flushInto((lines) => {
    taken.push(lines.map((l) => l.line));
    return Promise.resolve("changed");
  });
  assert.equal(applied, "changed");
  journal.write("system", "three");
  // No longer in the state the change expects: its statement stored nothing.
  const skipped = await journal.flushInto((lines) => {
    taken.push(lines.map((l) => l.line));
    return Promise.resolve(undefined);
  });
  assert.equal(skipped, undefined);
  journal.write("system", "four");
  await journal.flush();
  assert.deepEqual(taken, [["one", "two"], ["three"]]);
  assert.deepEqual(batches.flat().map((l) => l.line), ["three", "four"]);
});
