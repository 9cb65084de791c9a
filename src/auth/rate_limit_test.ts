import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("RateLimiter.take() allows `limit` attempts, then says when to retry", () => {
  let now = 0;
  const rl = new RateLimiter({ limit: 3, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i++) assert.deepEqual(rl.take("a"), { ok: true });
  assert.deepEqual(rl.take("a"), { ok: false, retryAfterSeconds: 20 });
  assert.deepEqual(rl.take("b"), { ok: true }, "keys are independent");
  now = 20_000;
  assert.deepEqual(rl.take("a"), { ok: true }, "one attempt refilled after window/limit");
  assert.equal(rl.take("a").ok, false);
});

Deno.test("RateLimiter keeps at most maxKeys keys, forgetting idle ones first", () => {
  let now = 0;
  const rl = new RateLimiter({ limit: 1, windowMs: 1_000, maxKeys: 10, now: () => now });
  rl.take("busy");
  now = 500;
  for (let i = 0; i < 20; i++) rl.take(`k${i}`);
  assert.equal(rl.take("k19").ok, false, "recent keys are remembered");
});
