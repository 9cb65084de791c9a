/**
 * Writes that must not be lost because the database blinked: the outcome
 * of an activation, a node's new state, a log line. `durably(fn)` retries
 * while the failure looks like the database being away (connection refused
 * or closed, server shutting down, too many clients) with a growing pause,
 * and gives up only when `giveUp` aborts (shutdown past its deadline: the
 * row then stays `running` and is recovered at the next start). A mistake
 * of ours (constraint, syntax) is thrown at once: retrying cannot fix it.
 */

import type { Logger } from "../log/log.ts";

/** SQLSTATE classes that say "the server is not there or not accepting", not "your query is wrong". */
const TRANSIENT_SQLSTATE = /^(08|57P|53)/;
const TRANSIENT_CODE = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

export function isTransientDbError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && (TRANSIENT_CODE.has(code) || TRANSIENT_SQLSTATE.test(code))) {
    return true;
  }
  // Deno's socket errors name the condition in the class rather than a code.
  return e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.NotConnected ||
    e instanceof Deno.errors.TimedOut;
}

export interface DurableOptions {
  log: Logger;
  what: string;
  giveUp?: AbortSignal;
  /** First pause; doubles up to maxPauseMs. */
  pauseMs?: number;
  maxPauseMs?: number;
}

export async function durably<T>(fn: () => Promise<T>, o: DurableOptions): Promise<T> {
  let pause = o.pauseMs ?? 100;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransientDbError(e) || o.giveUp?.aborted) throw e;
      if (attempt === 1 || attempt % 20 === 0) {
        o.log.warn("the database is away; retrying a write that must not be lost", {
          what: o.what,
          attempt,
          error: e,
        });
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, o.maxPauseMs ?? 2_000);
    }
  }
}
