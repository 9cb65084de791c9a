/**
 * Per-node progress while colmena runs, read from the live log with the
 * server's own parser (src/deploy/colmena.ts, pure): the server records
 * `nodes[]` only when colmena exits, the page shows each node as colmena
 * reports it. Only the lines of the latest `colmena apply` count (not a
 * check's `colmena exec`).
 */

import { NodeOutcomeParser } from "../../src/deploy/colmena.ts";
import type { LogLine, NodeOutcome } from "./types.ts";

const APPLY = /^\$ \S*colmena apply\b/;

export function liveNodes(lines: LogLine[]): NodeOutcome[] {
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].stream === "system" && APPLY.test(lines[i].line)) {
      start = i;
      break;
    }
  }
  if (start < 0) return [];
  const parser = new NodeOutcomeParser("switch");
  for (const l of lines.slice(start + 1)) {
    if (l.stream === "system") {
      if (l.line.startsWith("$ ")) break;
      continue;
    }
    parser.feed(l.line);
  }
  // Not yet succeeded or failed: still on its way.
  return parser.outcomes().map((n) => n.status === "unknown" ? { ...n, status: "running" } : n);
}
