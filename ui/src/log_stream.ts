/**
 * Follows a deployment's event stream (SSE): log lines and status changes,
 * each with the per-deployment sequence number. When the connection drops
 * it reconnects with exponential backoff (with jitter, capped) and resumes
 * after the last sequence number it saw, dropping anything at or below it,
 * so the page never shows a line twice or skips one. Stops for good on the
 * server's `end` event or when closed. Lines are handed over in batches
 * (`onLines`, `batchMs`: a burst renders once, not line by line); the lines
 * before a status change or the end are always handed over before it, so a
 * page never shows "deployed" above a log still waiting for its last batch.
 * Knows nothing of Preact.
 */

import type { Deployment, LogLine } from "./types.ts";

/** The part of EventSource this module uses (so a test can drive it). */
export interface EventStream {
  onopen: ((e: Event) => unknown) | null;
  onerror: ((e: Event) => unknown) | null;
  addEventListener(type: string, listener: (e: MessageEvent) => void): void;
  close(): void;
}

export type StreamState = "connecting" | "live" | "reconnecting" | "ended" | "closed";

export interface FollowOptions {
  /** Opens the stream after `lastSeq` (undefined: from the start). */
  open(lastSeq: number | undefined): EventStream;
  /** Lines gathered for `batchMs` (default 0), handed over together, before any status or end. */
  onLines(lines: LogLine[]): void;
  batchMs?: number;
  onStatus(d: Deployment): void;
  onEnd(): void;
  onState?(state: StreamState, retryInMs?: number): void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1; jitter source, injectable for tests. */
  random?: () => number;
}

export interface Follower {
  close(): void;
  readonly lastSeq: number | undefined;
}

export function backoffDelay(attempt: number, initial: number, max: number, r: number): number {
  const base = Math.min(max, initial * 2 ** attempt);
  return Math.round(base / 2 + (base / 2) * r);
}

export function followEvents(o: FollowOptions): Follower {
  const initial = o.initialDelayMs ?? 500;
  const max = o.maxDelayMs ?? 15_000;
  const random = o.random ?? Math.random;
  let lastSeq: number | undefined;
  let attempt = 0;
  let stream: EventStream | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  let batch: LogLine[] = [];
  let batchTimer: ReturnType<typeof setTimeout> | undefined;
  const handOver = () => {
    clearTimeout(batchTimer);
    batchTimer = undefined;
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    o.onLines(lines);
  };
  const line = (l: LogLine) => {
    batch.push(l);
    batchTimer ??= setTimeout(handOver, o.batchMs ?? 0);
  };

  const fresh = (e: MessageEvent, data: { seq?: unknown }): number | undefined => {
    const seq = Number(data.seq ?? e.lastEventId);
    if (!Number.isFinite(seq)) return undefined;
    if (lastSeq !== undefined && seq <= lastSeq) return undefined;
    lastSeq = seq;
    attempt = 0;
    return seq;
  };

  const connect = () => {
    if (done) return;
    o.onState?.(lastSeq === undefined && attempt === 0 ? "connecting" : "reconnecting");
    const s = o.open(lastSeq);
    stream = s;
    s.onopen = () => {
      if (stream === s) o.onState?.("live");
    };
    s.addEventListener("log", (e) => {
      const data = parse(e) as LogLine | undefined;
      if (data && fresh(e, data) !== undefined) line(data);
    });
    s.addEventListener("status", (e) => {
      const data = parse(e) as Deployment | undefined;
      if (!data || fresh(e, data) === undefined) return;
      handOver();
      o.onStatus(data);
    });
    s.addEventListener("end", () => {
      finish("ended");
      o.onEnd();
    });
    s.onerror = () => {
      if (done || stream !== s) return;
      // Take reconnecting over from EventSource: our delay, our resume point.
      s.close();
      const delay = backoffDelay(attempt++, initial, max, random());
      o.onState?.("reconnecting", delay);
      timer = setTimeout(connect, delay);
    };
  };

  const finish = (state: StreamState) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    // Ended: the last lines go out before the state says so. Closed: nobody wants them.
    if (state === "closed") batch = [];
    handOver();
    stream?.close();
    o.onState?.(state);
  };

  connect();
  return {
    close: () => finish("closed"),
    get lastSeq() {
      return lastSeq;
    },
  };
}

function parse(e: MessageEvent): unknown {
  try {
    return JSON.parse(String(e.data));
  } catch {
    return undefined;
  }
}
