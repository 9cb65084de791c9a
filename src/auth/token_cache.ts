/**
 * API tokens that were just verified, remembered for a few seconds so a
 * busy webhook does not look the same token up on every request. Only the
 * webhook's guard (`token` access) uses it, because the admission itself
 * checks the token again inside its one statement (despacito_enqueue(),
 * migrations/0017_admission.sql): a token revoked anywhere, even by hand in
 * the database, never queues a deployment, whatever this cache holds. Only
 * valid tokens are remembered, by SHA-256 (never the raw token), until the
 * first of: TTL_MS, the token's own expiry (checked on every use), or a
 * revocation through this process, which clears it before its answer.
 */

import type { TokenRecord } from "./tokens.ts";

/** How long a verified token is trusted without asking the database again. */
export const TTL_MS = 2_000;

export interface TokenCache {
  /** The record verified within TTL_MS, or undefined. */
  get(hash: string): TokenRecord | undefined;
  /** A moment to hand to put(): a lookup that raced a clear() must not refill the cache. */
  mark(): number;
  put(hash: string, token: TokenRecord, mark: number): void;
  /** Forgets everything: a token changed. */
  clear(): void;
}

export function createTokenCache(now: () => number = performance.now.bind(performance)) {
  let generation = 0;
  const entries = new Map<string, { token: TokenRecord; until: number }>();
  const cache: TokenCache = {
    get(hash) {
      const e = entries.get(hash);
      if (!e) return undefined;
      if (e.until > now()) return e.token;
      entries.delete(hash);
      return undefined;
    },
    mark: () => generation,
    put(hash, token, mark) {
      if (mark !== generation) return;
      // Bounded: tokens are few, but a flood of distinct valid ones must not grow it forever.
      if (entries.size >= 1_000) entries.clear();
      entries.set(hash, { token, until: now() + TTL_MS });
    },
    clear() {
      generation++;
      entries.clear();
    },
  };
  return cache;
}
