/**
 * A client that falls behind is let go (src/deploy/sse.ts: 16 MB by default,
 * 64 KiB here through the route's internal option, so that a few hundred
 * KB show it): its stream ends while the deployment still runs, the
 * followers that read get every line, and it resumes with Last-Event-ID
 * from the last id it saw, gap-free and repeat-free. Plain and gzip: the
 * cut-off counts uncompressed bytes, though all of it compresses to less
 * than the limit. A client that reads is never let go for one batch over
 * the limit, nor for the `end` after such a batch (it would resume into the
 * same batch forever).
 */

import assert from "node:assert/strict";
import { waitFor } from "./_harness/server.ts";
import { type SseClient, withSseRoute } from "./_harness/sse_route.ts";

const BACKLOG = 64 * 1024;
const ROUNDS = 6;
const LINES = 200;

/** ~260 bytes per frame: a round is ~52 KB, under the limit; two are over it. */
const lines = (round: number) =>
  Array.from(
    { length: LINES },
    (_, i) => `round ${round} line ${i}: copying path to 'ssh://web1'… ${"ok ".repeat(40)}`,
  );

const upTo = (n: number, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => from + i);

for (const gzip of [false, true]) {
  const coding = gzip ? "gzip" : "plain";
  Deno.test(`SSE: a ${coding} client that does not read is let go at the backlog limit and resumes`, () =>
    withSseRoute({ backlogMax: BACKLOG }, async (w) => {
      const id = await w.deployment("webapp");
      const [{ seq: start }] = await w.sql<{ seq: number }[]>`
        select seq from deployments where id = ${id}`;
      const last = (r: SseClient) => r.ids().at(-1) ?? 0;
      const lagging = await w.open(id, { gzip });
      await lagging.readUntil("the replay", () => last(lagging) === start);
      // Followers that keep reading, one of each coding.
      const readers = [await w.open(id), await w.open(id, { gzip: true })];
      const reading = readers.map((r) => r.readToEnd());

      let seq = start;
      for (let round = 0; round < ROUNDS; round++) {
        await w.publishLines(id, lines(round));
        seq += LINES;
        // One delivery per round: no reader is ever handed more than the limit at once.
        await waitFor(
          `round ${round} at the readers`,
          () => {
            if (readers.some((r) => r.ended)) throw new Error("a reader's stream ended");
            return readers.every((r) => last(r) === seq) || undefined;
          },
          10_000,
          5,
        );
      }

      // Let go while the deployment runs: its stream ends, without `end`, and nothing of the
      // backlog is kept for it (it gets none of it).
      await lagging.readToEnd("the lagging client's stream to end");
      assert.deepEqual(lagging.ids(), upTo(start));
      assert.ok(!lagging.frames().some((f) => f.event === "end"));
      // Uncompressed, everything published is several times the limit; compressed, it is less.
      assert.ok(readers[0].wireBytes > 4 * BACKLOG, `${readers[0].wireBytes} bytes plain`);
      assert.ok(readers[1].wireBytes < BACKLOG, `${readers[1].wireBytes} bytes compressed`);

      // It resumes from its last id while the deployment runs. The record's first page (1,000
      // lines) is larger than the limit: a client that takes what it is sent is not let go.
      const resumed = await w.open(id, { gzip, lastEventId: start });
      await resumed.readUntil("the replay", () => last(resumed) === seq);
      await w.publishLines(id, lines(ROUNDS));
      await w.cancel(id);
      seq += LINES + 1;
      await resumed.readToEnd();
      await Promise.all(reading);

      for (const r of readers) {
        assert.deepEqual(r.ids(), upTo(seq), "every line, in order");
        assert.equal(r.frames().at(-1)!.event, "end");
      }
      assert.deepEqual([...lagging.ids(), ...resumed.ids()], upTo(seq), "no gap, no repeat");
      assert.equal(resumed.frames().at(-1)!.event, "end");
      assert.deepEqual(
        resumed.frames().filter((f) => f.event === "log").map((f) => JSON.parse(f.data).line),
        upTo(ROUNDS, 0).flatMap(lines),
      );
      await waitFor("every stream to leave the bus", () => w.bus.size === 0 || undefined);
    }));
}

// Timers that never run: live events reach followers only with a final status, as one batch.
const stopped = { after: () => {}, every: () => () => {} };

Deno.test("SSE: a last batch larger than the backlog limit is sent whole with `end`, live and replayed", () =>
  withSseRoute({ backlogMax: BACKLOG, timers: stopped }, async (w) => {
    const id = await w.deployment("webapp");
    const [{ seq: start }] = await w.sql<{ seq: number }[]>`
      select seq from deployments where id = ${id}`;
    const last = (r: SseClient) => r.ids().at(-1) ?? 0;
    const live = await w.open(id);
    await live.readUntil("the replay", () => last(live) === start);
    // Two rounds (~104 KB) and the final status: one run, over the limit, to a client that
    // took everything before it. Its `end` must not count as falling behind.
    await w.publishLines(id, [...lines(0), ...lines(1)]);
    await w.cancel(id);
    const seq = start + 2 * LINES + 1;
    await live.readToEnd("the live end");
    assert.deepEqual(live.ids(), upTo(seq), "every line live, in order");
    assert.equal(live.frames().at(-1)!.event, "end");
    // From the record: one page holds it all and ends with the final status.
    for (const gzip of [false, true]) {
      const replayed = await w.open(id, { gzip, lastEventId: 0 });
      await replayed.readToEnd("the replayed end");
      assert.deepEqual(replayed.ids(), upTo(seq), "every line replayed, in order");
      assert.equal(replayed.frames().at(-1)!.event, "end");
    }
    await waitFor("every stream to leave the bus", () => w.bus.size === 0 || undefined);
  }));
