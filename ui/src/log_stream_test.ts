import assert from "node:assert/strict";
import { backoffDelay, type EventStream, followEvents, type StreamState } from "./log_stream.ts";
import type { LogLine } from "./types.ts";

/**
 * A real SSE server (Deno.serve) and Deno's real EventSource: the first
 * connection is cut after seq 3, the second one starts one event early (an
 * overlap the client must drop) and ends the stream.
 */
Deno.test("followEvents() resumes after a dropped connection with no duplicated or missing line", async () => {
  const requests: (string | null)[] = [];
  const encoder = new TextEncoder();
  const event = (seq: number, type = "log") =>
    encoder.encode(
      `id: ${seq}\nevent: ${type}\ndata: ${
        JSON.stringify({ seq, stream: "stdout", line: `line ${seq}`, at: "2025-01-01T00:00:00Z" })
      }\n\n`,
    );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    requests.push(url.searchParams.get("last_event_id"));
    const first = requests.length === 1;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        if (first) {
          for (const s of [1, 2, 3]) c.enqueue(event(s));
          c.close(); // the connection dies mid-stream
          return;
        }
        const from = Number(url.searchParams.get("last_event_id"));
        for (let s = from; s <= 6; s++) c.enqueue(event(s)); // overlaps by one
        c.enqueue(encoder.encode(`event: end\ndata: {}\n\n`));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}/events`;
  const lines: number[] = [];
  const states: StreamState[] = [];
  const ended = Promise.withResolvers<void>();
  const f = followEvents({
    open: (last) => new EventSource(last === undefined ? base : `${base}?last_event_id=${last}`),
    onLines: (batch: LogLine[]) => lines.push(...batch.map((l) => l.seq)),
    onStatus: () => {},
    onEnd: () => ended.resolve(),
    onState: (s) => states.push(s),
    initialDelayMs: 5,
    maxDelayMs: 20,
  });
  try {
    await ended.promise;
    assert.deepEqual(lines, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(requests, [null, "3"]);
    assert.equal(f.lastSeq, 6);
    assert.equal(states[0], "connecting");
    assert.ok(states.includes("reconnecting"));
    assert.equal(states.at(-1), "ended");
  } finally {
    f.close();
    await server.shutdown();
  }
});

Deno.test("backoffDelay() doubles per attempt, is capped, and keeps at least half the base", () => {
  assert.equal(backoffDelay(0, 500, 15_000, 1), 500);
  assert.equal(backoffDelay(1, 500, 15_000, 1), 1000);
  assert.equal(backoffDelay(3, 500, 15_000, 0), 2000);
  assert.equal(backoffDelay(10, 500, 15_000, 1), 15_000);
  assert.equal(backoffDelay(10, 500, 15_000, 0), 7_500);
});

/** An EventStream the test drives by hand: it delivers events synchronously, as one chunk would. */
class HandStream implements EventStream {
  onopen: ((e: Event) => unknown) | null = null;
  onerror: ((e: Event) => unknown) | null = null;
  #listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  addEventListener(type: string, listener: (e: MessageEvent) => void) {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  close() {}
  emit(type: string, data: unknown, id = "") {
    const e = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id });
    for (const l of this.#listeners.get(type) ?? []) l(e);
  }
}

Deno.test("followEvents() hands batched lines over before the status and the end that follow them", () => {
  const seen: string[] = [];
  const stream = new HandStream();
  const f = followEvents({
    open: () => stream,
    onLines: (lines) => seen.push(`lines ${lines.map((l) => l.seq).join(",")}`),
    // Long enough that only the ordering rule, not the timer, can hand the lines over.
    batchMs: 60_000,
    onStatus: (d) => seen.push(`status ${d.status}`),
    onEnd: () => seen.push("end"),
    onState: (s) => s === "ended" && seen.push("ended"),
  });
  const line = (seq: number) => ({
    seq,
    stream: "stdout",
    line: `l${seq}`,
    at: "2026-01-01T00:00:00Z",
  });
  // One chunk, as the server sends a deployment's last lines, its final status and `end`.
  stream.emit("log", line(1), "1");
  stream.emit("log", line(2), "2");
  stream.emit("status", { status: "running", seq: 3 }, "3");
  stream.emit("log", line(4), "4");
  stream.emit("status", { status: "deployed", seq: 5 }, "5");
  stream.emit("end", {});
  assert.deepEqual(seen, [
    "lines 1,2",
    "status running",
    "lines 4",
    "status deployed",
    "ended",
    "end",
  ]);
  // Already ended: closing changes nothing.
  f.close();
  assert.equal(seen.length, 6);
});

// The ops sanitizer explicitly: Deno 2.9 leaves it off by default, and the batch timer that
// close() must end is what it finds.
Deno.test({
  name: "followEvents() closed with lines still batched drops them and leaves no timer",
  sanitizeOps: true,
  fn: () => {
    const stream = new HandStream();
    const seen: string[] = [];
    const f = followEvents({
      open: () => stream,
      onLines: (lines) => seen.push(`lines ${lines.length}`),
      batchMs: 60_000,
      onStatus: () => seen.push("status"),
      onEnd: () => seen.push("end"),
      onState: (s) => seen.push(s),
    });
    stream.emit("log", { seq: 1, stream: "stdout", line: "l1", at: "2026-01-01T00:00:00Z" }, "1");
    f.close();
    assert.deepEqual(seen, ["connecting", "closed"]);
  },
});
