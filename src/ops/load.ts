/**
 * The load gauge: how busy despacito is, as one word every response carries
 * (X-Despacito-Load) and as numbers at GET /api/health/load. Inputs: the
 * queue (queued and running deployments, sampled from PostgreSQL every
 * 2 seconds, never per request), webhook clients waiting for their outcome,
 * and request latency over the last minute. README, "Load", states the rule
 * classify() implements.
 */

import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";

export type LoadLevel = "low" | "medium" | "high";

export interface LoadSnapshot {
  level: LoadLevel;
  queued: number;
  running: number;
  waiting_clients: number;
  p95_ms: number;
  p99_ms: number;
  window_s: number;
}

export interface LoadLimits {
  queueLimit: number;
  waitingLimit: number;
}

const WINDOW_MS = 60_000;
const MAX_SAMPLES = 10_000;
const SAMPLE_EVERY_MS = 2_000;

/** The documented rule: the highest level any input reaches. */
export function classify(
  s: Omit<LoadSnapshot, "level" | "window_s" | "p99_ms">,
  limits: LoadLimits,
): LoadLevel {
  const queue = s.queued / limits.queueLimit;
  const waiting = s.waiting_clients / limits.waitingLimit;
  if (queue >= 0.8 || waiting >= 0.8 || s.p95_ms >= 2_000) return "high";
  if (queue >= 0.25 || waiting >= 0.25 || s.p95_ms >= 500) return "medium";
  return "low";
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

export interface LoadGauge {
  /** A finished ordinary request (long-lived streams and waiting webhooks are left out). */
  observe(ms: number): void;
  waiting(delta: 1 | -1): void;
  readonly waitingClients: number;
  snapshot(): LoadSnapshot;
  /**
   * The level now, with the latency percentile recomputed at most once a
   * second: cheap enough for every response.
   */
  level(): LoadLevel;
  start(): void;
  stop(): void;
}

export function createLoadGauge(o: { sql: Sql; limits: LoadLimits; log: Logger }): LoadGauge {
  // The last MAX_SAMPLES latencies in a ring, so a response's observation allocates nothing.
  const at = new Float64Array(MAX_SAMPLES);
  const took = new Float64Array(MAX_SAMPLES);
  let next = 0;
  let filled = 0;
  let waitingClients = 0;
  let queued = 0;
  let running = 0;
  // The p95 of the window, sorted at most once a second (every response asks for the level).
  let recentP95: { ms: number; at: number } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const sample = async () => {
    try {
      const rows = await o.sql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from deployments
        where status in ('queued', 'running') group by status`;
      const q = rows.find((r) => r.status === "queued")?.n ?? 0;
      const r = rows.find((r) => r.status === "running")?.n ?? 0;
      queued = q;
      running = r;
    } catch (e) {
      // The database being down shows in readiness; the gauge keeps its last numbers.
      o.log.debug("load sample failed", { component: "load", error: e });
    }
  };

  const snapshot = (): LoadSnapshot => {
    const cutoff = Date.now() - WINDOW_MS;
    const recent: number[] = [];
    for (let i = 0; i < filled; i++) if (at[i] >= cutoff) recent.push(took[i]);
    const sorted = recent.sort((a, b) => a - b);
    const base = {
      queued,
      running,
      waiting_clients: waitingClients,
      p95_ms: Math.round(percentile(sorted, 0.95)),
    };
    return {
      level: classify(base, o.limits),
      ...base,
      p99_ms: Math.round(percentile(sorted, 0.99)),
      window_s: WINDOW_MS / 1000,
    };
  };

  return {
    observe(ms) {
      at[next] = Date.now();
      took[next] = ms;
      next = (next + 1) % MAX_SAMPLES;
      if (filled < MAX_SAMPLES) filled++;
    },
    waiting(delta) {
      waitingClients += delta;
    },
    get waitingClients() {
      return waitingClients;
    },
    snapshot,
    level() {
      const now = Date.now();
      if (!recentP95 || now - recentP95.at > 1_000) {
        recentP95 = { ms: snapshot().p95_ms, at: now };
      }
      return classify(
        { queued, running, waiting_clients: waitingClients, p95_ms: recentP95.ms },
        o.limits,
      );
    },
    start() {
      void sample();
      timer = setInterval(() => void sample(), SAMPLE_EVERY_MS);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
