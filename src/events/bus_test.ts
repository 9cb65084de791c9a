import assert from "node:assert/strict";
import { createBus } from "./bus.ts";

Deno.test("createBus() delivers in order to every subscriber and stops after unsubscribe", () => {
  const bus = createBus<number>();
  const a: number[] = [];
  const b: number[] = [];
  const offA = bus.subscribe((n) => a.push(n));
  bus.subscribe((n) => b.push(n));
  bus.publish(1);
  offA();
  bus.publish(2);
  assert.deepEqual(a, [1]);
  assert.deepEqual(b, [1, 2]);
  assert.equal(bus.size, 1);
});

Deno.test("createBus() isolates a throwing subscriber", () => {
  const errors: unknown[] = [];
  const bus = createBus<string>({ onError: (e) => errors.push(e) });
  const seen: string[] = [];
  bus.subscribe(() => {
    throw new Error("boom");
  });
  bus.subscribe((s) => seen.push(s));
  bus.publish("x");
  assert.deepEqual(seen, ["x"]);
  assert.equal(errors.length, 1);
});
