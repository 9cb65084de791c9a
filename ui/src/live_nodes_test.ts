import assert from "node:assert/strict";
import { liveNodes } from "./live_nodes.ts";
import type { LogLine } from "./types.ts";

const at = "2026-01-01T00:00:00Z";
const log = (lines: [LogLine["stream"], string][]): LogLine[] =>
  lines.map(([stream, line], i) => ({ seq: i + 1, stream, line, at }));

Deno.test("liveNodes follows the latest colmena apply, node by node", () => {
  const lines = log([
    ["system", "$ /usr/bin/colmena apply switch"],
    ["stderr", "      | 2 nodes selected."],
    ["stderr", "alpha | Evaluating alpha"],
    ["stderr", " beta | Evaluating beta"],
    ["stderr", "alpha | Activation successful"],
  ]);
  assert.deepEqual(liveNodes(lines), [
    { node: "alpha", status: "succeeded", message: "Activation successful" },
    { node: "beta", status: "running", message: null },
  ]);
  // A check's colmena exec afterwards does not count; a rollback's apply starts over.
  const more = log([
    ...lines.map((l): [LogLine["stream"], string] => [l.stream, l.line]),
    ["system", "$ /usr/bin/colmena exec --on alpha -- false"],
    ["stderr", "alpha | Failed: Child process exited with error code: 1"],
  ]);
  assert.equal(liveNodes(more)[0].status, "succeeded");
  const rollback = log([["system", "$ colmena apply switch --on beta"], [
    "stderr",
    " beta | Activation failed: Child process exited with error code: 4",
  ]]);
  assert.deepEqual(liveNodes(rollback).map((n) => n.status), ["failed"]);
  assert.deepEqual(liveNodes(log([["system", "deployment started"]])), []);
});
