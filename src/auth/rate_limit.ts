/**
 * Per-key token buckets for sign-in attempts: `limit` attempts, refilled
 * evenly over `windowMs`. In memory: despacito is one process, and a
 * restart forgiving every client is an acceptable price for no extra table.
 * The map is bounded; full buckets are forgotten first.
 */

export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  /** Most keys remembered at once. */
  maxKeys?: number;
  now?: () => number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #limit: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#limit = options.limit;
    this.#perMs = options.limit / options.windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Spends one attempt for `key`, or says how many seconds until one is available. */
  take(key: string): Take {
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#limit, at: now };
    b.tokens = Math.min(this.#limit, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens < 1) {
      this.#buckets.set(key, b);
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000)),
      };
    }
    b.tokens -= 1;
    this.#buckets.delete(key); // re-insert: the map's order is least recently used first
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) this.#evict(now);
    return { ok: true };
  }

  #evict(now: number) {
    for (const [k, b] of this.#buckets) {
      if (this.#buckets.size <= this.#maxKeys * 0.9) return;
      if (b.tokens + (now - b.at) * this.#perMs >= this.#limit) this.#buckets.delete(k);
    }
    // Still too many busy keys: drop the least recently used.
    for (const k of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxKeys * 0.9) return;
      this.#buckets.delete(k);
    }
  }
}
