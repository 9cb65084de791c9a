import assert from "node:assert/strict";
import { logFrame } from "./sse.ts";

Deno.test("logFrame() writes the bytes of the log event's JSON object, whatever the line holds", () => {
  const at = "2026-11-29T22:56:38.986Z";
  const lines = [
    "plain",
    "",
    'quotes " and \\ backslashes',
    "tabs\tand\rreturns",
    "control \u0001\u001f and DEL \u007f",
    "unicode é ✓ 🚀 and separators \u2028\u2029",
    "lone surrogate \ud800 end",
    "\u001b[1;32mcolour\u001b[0m",
    '{"json":"inside"}',
  ];
  for (const [i, line] of lines.entries()) {
    for (const stream of ["stdout", "stderr", "system"]) {
      const seq = 1000 + i;
      assert.equal(
        logFrame(seq, stream, line, at),
        `event: log\ndata: ${JSON.stringify({ seq, stream, line, at })}\nid: ${seq}\n\n`,
      );
    }
  }
});
