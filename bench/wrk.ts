/** wrk's report, parsed (`wrk --latency`), and the median the table uses. */

export interface WrkResult {
  rps: number;
  requests: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Answers other than 2xx/3xx, plus socket errors. */
  non2xx: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latency(text: string, pct: string): number {
  const m = text.match(new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
  if (!m) throw new Error(`no ${pct}% latency in wrk's output:\n${text}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

export function parseWrk(text: string): WrkResult {
  const rps = text.match(/Requests\/sec:\s+([\d.]+)/);
  const requests = text.match(/(\d+) requests in/);
  if (!rps || !requests) throw new Error(`unexpected wrk output:\n${text}`);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const errors = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socket = errors ? errors.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  return {
    rps: Number(rps[1]),
    requests: Number(requests[1]),
    p50: latency(text, "50"),
    p99: latency(text, "99"),
    non2xx: non2xx + socket,
  };
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
