/**
 * The SSE route's fan-out against real PostgreSQL, in process (Hono's
 * app.request, no server): the route listens on the bus once while anyone
 * follows, and hands each follower only its deployment's events, a
 * published batch at a time, gap-free and in order, whatever other
 * deployments publish in the same loop; a follower that leaves does not
 * disturb the others, and the last one to leave ends the route's
 * subscription.
 */

import assert from "node:assert/strict";
import { appendLogs, changeDeployment } from "../src/deploy/store.ts";
import { readSse, type SseFrame } from "./_harness/sse.ts";
import { waitFor } from "./_harness/server.ts";
import { withSseRoute } from "./_harness/sse_route.ts";

Deno.test("SSE fan-out: one bus subscription, each follower its own deployment's batches, in order", () =>
  withSseRoute({}, async ({ sql, bus, deployment, request }) => {
    const ids = [await deployment("webapp"), await deployment("api")];
    const [a, b] = ids;
    const open = (id: string, signal?: AbortSignal) =>
      request(id, {
        headers: { "Accept-Encoding": "identity" },
        signal,
      });
    const leaving = new AbortController();
    const streams = [await open(a), await open(a), await open(b), await open(a, leaving.signal)];
    assert.equal(bus.size, 1, "one subscription for all followers");
    const read = streams.slice(0, 3).map(async (res) => {
      const frames: SseFrame[] = [];
      for await (const f of readSse(res)) frames.push(f);
      return frames;
    });
    // The leaving follower reads its replay, then goes.
    const reader = streams[3].body!.getReader();
    await reader.read();
    leaving.abort();
    await reader.cancel().catch(() => {});

    // Stored, then published in one synchronous loop each, both deployments interleaved.
    for (let round = 0; round < 3; round++) {
      const lines = (id: string) =>
        Array.from({ length: 50 }, (_, i) => ({
          stream: "stdout" as const,
          line: `${id === a ? "a" : "b"} ${round}.${i} "quoted"`,
        }));
      const ea = await appendLogs(sql, a, lines(a));
      const eb = await appendLogs(sql, b, lines(b));
      for (let i = 0; i < 50; i++) {
        bus.publish(ea[i]);
        bus.publish(eb[i]);
      }
    }
    for (const id of ids) {
      const c = await changeDeployment(sql, id, ["queued"], { status: "cancelled" });
      for (const e of c!.events) bus.publish(e);
    }

    const [a1, a2, b1] = await Promise.all(read);
    for (const [frames, id] of [[a1, a], [a2, a], [b1, b]] as const) {
      const seqs = frames.filter((f) => f.id).map((f) => Number(f.id));
      assert.deepEqual(seqs, Array.from({ length: 153 }, (_, i) => i + 1), "gap-free, no repeat");
      const logs = frames.filter((f) => f.event === "log").map((f) => JSON.parse(f.data).line);
      const name = id === a ? "a" : "b";
      assert.deepEqual(
        logs.slice(1),
        [0, 1, 2].flatMap((r) =>
          Array.from({ length: 50 }, (_, i) => `${name} ${r}.${i} "quoted"`)
        ),
      );
      assert.equal(frames.at(-1)!.event, "end");
    }
    assert.deepEqual(a1, a2);
    await waitFor("the route to leave the bus", () => bus.size === 0 || undefined);
  }));
