/**
 * What the log view needs to know of each line, worked out once per line
 * and kept (lines never change): its coloured segments, its plain text, the
 * colmena node it belongs to (colmena's `<node> | <text>` lines; the meta
 * job's empty label and the `(...)` of a several-node job are no node), and
 * whether it reads like an error. Plus the node list, the search hits and
 * the `#L123` fragment. Pure; knows nothing of Preact.
 */

import { parseAnsi, type Segment } from "./ansi.ts";
import type { LogLine } from "./types.ts";

export interface LineInfo {
  segs: Segment[];
  text: string;
  lower: string;
  node: string | undefined;
  err: boolean;
}

/** nix's `error:`, colmena's `[ERROR]`, `ERROR` and "… failed:", despacito's `failed:`. */
const ERROR_LINE = /(^|\s|\[)(error:|\[ERROR\]|\w+ failed:)|^failed: |Activation failed|^ERROR /;
const LABEL = /^\s*([^\s|]+) \| /;

const cache = new WeakMap<LogLine, LineInfo>();

export function info(l: LogLine): LineInfo {
  let i = cache.get(l);
  if (!i) {
    const segs = parseAnsi(l.line);
    const text = segs.map((s) => s.text).join("");
    const label = LABEL.exec(text)?.[1];
    i = {
      segs,
      text,
      lower: text.toLowerCase(),
      node: label === "(...)" ? undefined : label,
      err: ERROR_LINE.test(text),
    };
    cache.set(l, i);
  }
  return i;
}

/** The nodes that have lines, in order of appearance. */
export function nodesOf(lines: LogLine[]): string[] {
  const seen = new Set<string>();
  for (const l of lines) {
    const n = info(l).node;
    if (n) seen.add(n);
  }
  return [...seen];
}

/** Indexes (into `shown`) of the lines containing `query`, case-insensitively. */
export function searchHits(lines: LogLine[], shown: number[] | null, query: string): number[] {
  const q = query.toLowerCase();
  const hits: number[] = [];
  if (!q) return hits;
  const n = shown ? shown.length : lines.length;
  for (let i = 0; i < n; i++) {
    if (info(lines[shown ? shown[i] : i]).lower.includes(q)) hits.push(i);
  }
  return hits;
}

/** `#L123` → 123; anything else → undefined. */
export function lineFromHash(hash: string): number | undefined {
  const m = /^#L([1-9]\d{0,8})$/.exec(hash);
  return m ? Number(m[1]) : undefined;
}

/**
 * Where a key moves the keyboard's line (an index into the lines shown, of `count`; `page` lines
 * fit in the log's view): ↑ ↓ one line, Page Up/Down a view, Home/End the ends. undefined: not
 * a moving key.
 */
export function lineMove(key: string, i: number, count: number, page: number): number | undefined {
  const d = { ArrowUp: -1, ArrowDown: 1, PageUp: -page, PageDown: page }[key];
  const to = key === "Home" ? 0 : key === "End" ? count - 1 : d === undefined ? undefined : i + d;
  return to === undefined ? undefined : Math.max(0, Math.min(count - 1, to));
}
