import assert from "node:assert/strict";
import { createTokenCache, TTL_MS } from "./token_cache.ts";
import type { TokenRecord } from "./tokens.ts";

const token: TokenRecord = {
  id: "5b0c5a3e-8a4e-4a55-9d1c-6d2a3a1f0e11",
  description: "ci",
  packages: null,
  createdAt: new Date(0),
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
};

Deno.test("createTokenCache() remembers a verified token for TTL_MS, then forgets it", () => {
  let now = 1_000;
  const cache = createTokenCache(() => now);
  cache.put("h", token, cache.mark());
  assert.equal(cache.get("h"), token);
  assert.equal(cache.get("other"), undefined);
  now += TTL_MS - 1;
  assert.equal(cache.get("h"), token);
  now += 2;
  assert.equal(cache.get("h"), undefined);
});

Deno.test("createTokenCache(): clear() forgets everything, and a lookup that raced it cannot refill it", () => {
  const cache = createTokenCache(() => 0);
  cache.put("h", token, cache.mark());
  // A lookup starts, a revocation clears the cache, then the lookup's (stale) answer arrives.
  const mark = cache.mark();
  cache.clear();
  assert.equal(cache.get("h"), undefined);
  cache.put("h", token, mark);
  assert.equal(cache.get("h"), undefined, "the stale answer was not stored");
  cache.put("h", token, cache.mark());
  assert.equal(cache.get("h"), token);
});
