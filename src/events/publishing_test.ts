import assert from "node:assert/strict";
import { createBus } from "./bus.ts";
import { publishing, type Recorded } from "./publishing.ts";

interface Line {
  seq: number;
  text: string;
}

function recordingBus() {
  const bus = createBus<Line>();
  const seen: Line[] = [];
  bus.subscribe((e) => seen.push(e));
  return { bus, seen };
}

Deno.test("publishing() publishes a write's events in order once it resolves", async () => {
  const { bus, seen } = recordingBus();
  let seq = 0;
  const store = publishing(bus, {
    append: (text: string): Promise<Recorded<Line> & { last: number }> => {
      const events = text.split("\n").map((t) => ({ seq: ++seq, text: t }));
      return Promise.resolve({ events, last: seq });
    },
  });
  const pending = store.append("a\nb");
  assert.deepEqual(seen, [], "nothing is published before the write returns");
  const r = await pending;
  assert.equal(r.last, 2, "the write's own result comes back unchanged");
  assert.deepEqual(seen, [{ seq: 1, text: "a" }, { seq: 2, text: "b" }]);
});

Deno.test("publishing() publishes nothing for a write that changed nothing or failed", async () => {
  const { bus, seen } = recordingBus();
  const store = publishing(bus, {
    noop: (): Promise<Recorded<Line> | undefined> => Promise.resolve(undefined),
    fail: (): Promise<Recorded<Line>> => Promise.reject(new Error("rolled back")),
  });
  assert.equal(await store.noop(), undefined);
  await assert.rejects(store.fail(), /rolled back/);
  assert.deepEqual(seen, []);
});
