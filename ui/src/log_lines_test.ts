import assert from "node:assert/strict";
import { info, lineFromHash, lineMove, nodesOf, searchHits } from "./log_lines.ts";
import type { LogLine } from "./types.ts";

const E = "\x1b";
const log = (...texts: string[]): LogLine[] =>
  texts.map((line, i) => ({ seq: i + 1, stream: "stderr", line, at: "2026-11-29T20:00:00Z" }));

Deno.test("info() reads a coloured colmena line: its node, its text, whether it is an error", () => {
  const [ok, multi, meta, nixError, summary, progress] = log(
    `${E}[32m${E}[1malpha${E}[0m | ${E}[32mActivation successful${E}[0m`,
    `${E}[1m(...)${E}[0m |        ${E}[31;1merror:${E}[0m The option \`x' is not defined.`,
    `${E}[1m     ${E}[0m | Enumerating nodes...`,
    "error: evaluation aborted",
    `${E}[31mERROR${E}[0m Failed to evaluate alpha and beta - Last 2 lines of logs:`,
    " beta | building '/nix/store/x-error-pages.drv'...",
  );
  assert.deepEqual(
    [info(ok).node, info(ok).text, info(ok).err],
    ["alpha", "alpha | Activation successful", false],
  );
  assert.deepEqual([info(multi).node, info(multi).err], [undefined, true]);
  assert.deepEqual([info(meta).node, info(meta).err], [undefined, false]);
  assert.equal(info(nixError).err, true);
  assert.equal(info(summary).err, true);
  // A store path naming "error" is progress, not an error.
  assert.deepEqual([info(progress).node, info(progress).err], ["beta", false]);
  assert.equal(info(ok), info(ok), "worked out once per line");
});

Deno.test("nodesOf() lists the nodes in order of appearance; searchHits() ignores case and codes", () => {
  const lines = log(
    "      | Enumerating nodes...",
    " beta | Evaluating beta",
    "alpha | Evaluating alpha",
    ` beta | ${E}[32mActivation successful${E}[0m`,
    "alpha | Activation failed: code 4",
  );
  assert.deepEqual(nodesOf(lines), ["beta", "alpha"]);
  assert.deepEqual(searchHits(lines, null, "ACTIVATION"), [3, 4]);
  assert.deepEqual(searchHits(lines, null, "[32m"), [], "escape codes are not text");
  // With a node filter the hits index the shown lines.
  assert.deepEqual(searchHits(lines, [2, 4], "activation"), [1]);
  assert.deepEqual(searchHits(lines, null, ""), []);
});

Deno.test("lineFromHash() takes #L<n> and nothing else", () => {
  assert.equal(lineFromHash("#L123"), 123);
  for (const bad of ["", "#L0", "#L", "#l12", "#L12x", "#L1234567890", "#top"]) {
    assert.equal(lineFromHash(bad), undefined, bad);
  }
});

Deno.test("lineMove(): arrows, pages and ends move the keyboard's line within the log", () => {
  assert.deepEqual(
    ["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End", "a", "Enter"].map((k) =>
      lineMove(k, 5, 100, 20)
    ),
    [4, 6, 0, 25, 0, 99, undefined, undefined],
  );
  assert.equal(lineMove("ArrowUp", 0, 100, 20), 0);
  assert.equal(lineMove("ArrowDown", 99, 100, 20), 99);
});
