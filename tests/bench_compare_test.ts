/**
 * The side-by-side benchmark suite (bench/compare.ts) in its smoke form: one
 * round of one second, no pass/fail on speed (a loaded CI machine must not
 * fail the suite), but every row must have been measured on both sides, so
 * the suite cannot rot; the SSE rows also say that every subscriber got
 * every line in order (the bench fails otherwise). The full run and its
 * targets: bench/README.md.
 */

import assert from "node:assert/strict";
import { denoTask } from "./_harness/deno_task.ts";

const ROWS = [
  "P1 POST /webhook?wait=false, new version each (-c5), req/s vs adnanh/webhook",
  "P1 POST /webhook?wait=false, new version each (-c5), req/s vs bare+INSERT",
  "P1 p99 latency",
  "duplicate → 409, req/s",
  "GET /api/deployments?limit=50, req/s",
  "GET /health, req/s",
  "bare hello behind despacito's connection guard vs bare hello, req/s (no target)",
  "start → ready, PostgreSQL, schema current",
  "idle RSS, PostgreSQL",
  "P1 on PGlite vs on PostgreSQL, req/s",
  "idle RSS, PGlite",
  "P2 one deployment (webhook wait=true → deployed), wall time",
  "P7 100 log lines to 20 SSE subscribers, deployment wall time",
  "2,000-line colmena output stored and streamed, deployment wall time",
];

Deno.test("bench:compare --smoke measures every row on both sides and prints the table", async () => {
  const { out } = await denoTask(["bench:compare", "--smoke"]);
  assert.match(
    out,
    /^\| metric \| despacito \| peer \| ratio per round \| median ratio \| target \| pass \|$/m,
  );
  for (const name of ROWS) {
    const line = out.split("\n").find((l) => l.startsWith(`| ${name}`));
    assert.ok(line, `no row "${name}" in:\n${out}`);
    const cells = line.split("|").map((c) => c.trim());
    // | metric | despacito | peer | ratios | median | target | pass |
    const ours = Number(cells[2].split(" ")[0].replaceAll(",", ""));
    const peer = Number(cells[3].split(": ")[1].split(" ")[0].replaceAll(",", ""));
    assert.ok(ours > 0 && peer > 0, `row "${name}" was not measured: ${line}`);
    assert.equal(cells[7], "— (smoke)", line);
    assert.doesNotMatch(line, /non-2xx|not 409/, `errors during the load: ${line}`);
    if (name.includes("SSE subscribers")) assert.match(line, /20\/20 subscribers got all lines/);
    if (name.includes("stored and streamed")) assert.match(line, /1\/1 subscribers got all lines/);
  }
  assert.match(out, /deno task bench:compare --rounds 1 --duration 1 --connections 5 --smoke/);
});
