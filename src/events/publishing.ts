/**
 * Writes that publish what they wrote. A store's write returns the events
 * it recorded (`{ events }`, or undefined when nothing changed); wrapped by
 * `publishing(bus, writes)`, the same function publishes them as soon as the
 * write has returned, so no caller can write and forget to publish, or
 * publish what was never written. Wrap only writes that own their
 * transaction: the events must go out after the commit, never inside a
 * caller's `sql.begin` that could still roll back. Never does I/O itself.
 */

import type { Bus } from "./bus.ts";

/** What a write reports: the events its committed transaction recorded, in order. */
export interface Recorded<T> {
  events: readonly T[];
}

// `never[]` accepts any parameter list; the returned object keeps each write's real signature.
type Write<T> = (...args: never[]) => Promise<Recorded<T> | undefined>;

/** The same writes, each publishing its events on `bus` before it resolves. */
export function publishing<T, W extends Record<string, Write<T>>>(bus: Bus<T>, writes: W): W {
  const out: Record<string, Write<T>> = {};
  for (const [name, write] of Object.entries(writes)) {
    out[name] = async (...args) => {
      const written = await write(...args);
      for (const e of written?.events ?? []) bus.publish(e);
      return written;
    };
  }
  return out as W;
}
