/**
 * End-to-end tests start despacito as it ships (tests/_harness/server.ts,
 * deploy_env.ts, forge_world.ts, spawn_despacito.ts: a subprocess under the
 * production permission flags), never an app assembled in the test process
 * with the test runner's permissions: that is how a settings file that could
 * not be read as shipped went unnoticed (issue 9, item 1). The few files
 * that assemble areas in process do so for something no subprocess shows,
 * each named here with why.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

const IN_PROCESS_ALLOWED: Record<string, string> = {
  "tests/auth_matrix_test.ts":
    "real routes are asked of the shipped server; only the synthetic probe routes (one per access kind) are served in process",
  "tests/deploy_ports_test.ts": "the deploy area's ports as the forge calls them: no HTTP at all",
  "tests/foundation_readme_test.ts": "lists the route table against README; serves nothing",
  "tests/_harness/sse_route.ts":
    "the SSE route alone on real PostgreSQL, for what a subprocess cannot show: a client that stops reading at a 64 KiB backlog, its timers driven by hand, the bus's one subscription; deploy_sse_test.ts follows the shipped route end to end",
  "tests/deploy_sse_gather_test.ts":
    "the SSE route's timer constants, driven by hand through tests/_harness/sse_route.ts; serves nothing itself",
};

/**
 * Imports (not type-only) of what assembles the server, an area or one of its HTTP edges
 * (routes.ts, sse.ts) in process, from tests/ or tests/_harness/.
 */
const ASSEMBLY =
  /^import (?!type\b)[^;]*?from "(?:\.\.\/)+src\/(http\/app|areas|server|[a-z_]+\/(?:area|routes|sse))\.ts"/m;

/** despacito's own entry point run with every permission. */
const ALL_PERMISSIONS = /"-A"[^\n]*main\.ts|main\.ts[^\n]*"-A"/;

Deno.test("no end-to-end test assembles despacito in process or runs it with -A: they spawn it as it ships", async () => {
  const found: string[] = [];
  const withA: string[] = [];
  for (const dir of ["tests", "tests/_harness"]) {
    for await (const e of Deno.readDir(`${REPO_DIR}/${dir}`)) {
      if (!e.isFile || !e.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(`${REPO_DIR}/${dir}/${e.name}`);
      if (ASSEMBLY.test(text)) found.push(`${dir}/${e.name}`);
      if (ALL_PERMISSIONS.test(text)) withA.push(`${dir}/${e.name}`);
    }
  }
  const stray = found.filter((f) => !(f in IN_PROCESS_ALLOWED));
  assert.deepEqual(stray, [], "start despacito with spawnServer/createDeployEnv/withForgeWorld");
  const stale = Object.keys(IN_PROCESS_ALLOWED).filter((f) => !found.includes(f));
  assert.deepEqual(stale, [], "no longer assembles in process: drop it from IN_PROCESS_ALLOWED");
  assert.deepEqual(withA, [], "run main.ts under src/build/permissions.ts's flags (runCli)");
});
