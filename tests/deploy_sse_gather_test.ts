/**
 * The SSE route's timers, driven by hand (an internal option of the route):
 * live events gather for at most GATHER_MS, one timer for every deployment
 * at once, but a final status and its `end` go out at once; a keepalive
 * goes to a quiet client every HEARTBEAT_MS, also while events gather, and
 * not to one that was just sent something; an ended stream leaves no timer
 * behind.
 */

import assert from "node:assert/strict";
import { GATHER_MS, HEARTBEAT_MS, type SseTimers } from "../src/deploy/sse.ts";
import { type SseClient, type SseRouteWorld, withSseRoute } from "./_harness/sse_route.ts";

/** Timers that run only when the test says so. */
function handTimers() {
  const due: { ms: number; fn: () => void }[] = [];
  const intervals = new Set<{ ms: number; fn: () => void }>();
  const timers: SseTimers = {
    after: (ms, fn) => void due.push({ ms, fn }),
    every: (ms, fn) => {
      const t = { ms, fn };
      intervals.add(t);
      return () => intervals.delete(t);
    },
  };
  return {
    timers,
    due,
    intervals,
    /** Runs the timers that are due. */
    fire: () => due.splice(0).forEach((t) => t.fn()),
    /** One beat of every heartbeat. */
    beat: () => [...intervals].forEach((t) => t.fn()),
  };
}

/** How many frames each follower's replay had. */
const replayed = new WeakMap<SseClient, number>();

/** Opens a follower and reads the record up to its current end. */
async function follow(w: SseRouteWorld, id: string, gzip: boolean): Promise<SseClient> {
  const [{ seq }] = await w.sql<{ seq: number }[]>`select seq from deployments where id = ${id}`;
  const client = await w.open(id, { gzip });
  await client.readUntil("the replay", () => client.ids().at(-1) === seq);
  replayed.set(client, client.frames().length);
  return client;
}

/** The log lines a follower got live (after its replay). */
const logLines = (c: SseClient) =>
  c.frames().slice(replayed.get(c)).filter((f) => f.event === "log").map((f) =>
    JSON.parse(f.data).line
  );

Deno.test("SSE: events gather for at most GATHER_MS, a final status and `end` go out at once", async () => {
  const clock = handTimers();
  await withSseRoute({ timers: clock.timers }, async (w) => {
    const a = await w.deployment("webapp");
    const b = await w.deployment("api");
    const fa = await follow(w, a, false);
    const fb = await follow(w, b, true);
    assert.equal(clock.due.length, 0);
    let aGot = false;
    const aRead = fa.read("a's gathered lines").then((t) => (aGot = true, t));

    await w.publishLines(a, ["a1", "a2"]);
    await w.publishLines(b, ["b1", "b2"]);
    // One delivery for all deployments, GATHER_MS after the first event.
    assert.deepEqual(clock.due.map((t) => t.ms), [GATHER_MS]);
    // b ends: its gathered lines, the status and `end` go out without waiting for the timer.
    await w.cancel(b);
    await fb.readToEnd("b's end, with the gather timer not run");
    assert.deepEqual(logLines(fb), ["b1", "b2"]);
    assert.deepEqual(fb.frames().slice(-2).map((f) => f.event), ["status", "end"]);
    assert.equal(JSON.parse(fb.frames().at(-2)!.data).status, "cancelled");
    // a's lines still wait for the timer, and what a publishes now joins them: no new timer,
    // so nothing waits longer than GATHER_MS.
    assert.equal(aGot, false, "a's lines wait for the gather");
    await w.publishLines(a, ["a3"]);
    assert.deepEqual(clock.due.map((t) => t.ms), [GATHER_MS]);
    clock.fire();
    await aRead;
    await fa.readUntil("a's lines", () => logLines(fa).length === 3);
    assert.deepEqual(logLines(fa), ["a1", "a2", "a3"]);
    // The next event starts the next gather.
    await w.publishLines(a, ["a4"]);
    assert.deepEqual(clock.due.map((t) => t.ms), [GATHER_MS]);
    await w.cancel(a);
    await fa.readToEnd("a's end");
    assert.deepEqual(logLines(fa), ["a1", "a2", "a3", "a4"]);
    assert.equal(fa.frames().at(-1)!.event, "end");
    clock.fire();
    assert.equal(clock.intervals.size, 0, "no heartbeat left behind");
    assert.equal(w.bus.size, 0);
  });
});

Deno.test("SSE: a keepalive goes to a quiet client every HEARTBEAT_MS, also while events gather", async () => {
  const clock = handTimers();
  await withSseRoute({ timers: clock.timers }, async (w) => {
    const id = await w.deployment("webapp");
    const clients = [await follow(w, id, false), await follow(w, id, true)];
    assert.deepEqual([...clock.intervals].map((t) => t.ms), [HEARTBEAT_MS, HEARTBEAT_MS]);
    // A read takes everything queued as one chunk: each read below shows what was sent since.
    const next = () => Promise.all(clients.map((c) => c.read("a heartbeat")));
    const KEEPALIVE = ": keepalive\n\n";

    // The replay went out during the first interval: no keepalive after it, one after the next.
    clock.beat();
    clock.beat();
    assert.deepEqual(await next(), [KEEPALIVE, KEEPALIVE]);
    // Lines that gather do not silence the heartbeat of a client they have not reached.
    await w.publishLines(id, ["one"]);
    assert.equal(clock.due.length, 1);
    clock.beat();
    assert.deepEqual(await next(), [KEEPALIVE, KEEPALIVE]);
    clock.fire();
    for (const text of await next()) assert.match(text!, /^event: log\n.*"line":"one"/);
    // Sent something: no keepalive in that interval, one in the next.
    clock.beat();
    clock.beat();
    assert.deepEqual(await next(), [KEEPALIVE, KEEPALIVE]);

    await w.cancel(id);
    await Promise.all(clients.map((c) => c.readToEnd()));
    assert.equal(clock.intervals.size, 0, "an ended stream stops its heartbeat");
  });
});
