/**
 * What `despacito serve` loads before it can serve: the static import graph
 * of src/cli/serve.ts (from `deno info --json`; dynamic imports are not
 * followed) takes from npm only what every configuration needs. The rest is
 * imported where it is first needed — yaml with a settings file, the forge
 * area and tweetnacl with DESPACITO_BASE_URL, prom-client on the first
 * scrape, openid-client, bcryptjs and PGlite when configured (bench/README.md,
 * "start → ready"): one static import would bring its start time and memory
 * back for everyone, without any other test noticing.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface Module {
  specifier: string;
  npmPackage?: string;
  dependencies?: Dependency[];
}

/** Specifiers of the modules `root` loads before running, and the npm packages among them. */
async function staticGraph(
  root: string,
): Promise<{ files: string[]; npm: string[]; builtins: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info: { modules: Module[]; redirects: Record<string, string> } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const npm = new Set<string>();
  const todo = info.modules.filter((m) => m.specifier === `file://${REPO_DIR}/${root}`).map((m) =>
    m.specifier
  );
  assert.equal(todo.length, 1);
  while (todo.length > 0) {
    const s = todo.pop()!;
    const resolved = info.redirects[s] ?? s;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    const m = bySpecifier.get(resolved);
    if (m?.npmPackage) npm.add(m.npmPackage.replace(/@[^@/]+$/, ""));
    for (const d of m?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  const files = [...seen].filter((s) => s.startsWith("file:")).map((s) =>
    s.slice(`file://${REPO_DIR}/`.length)
  );
  const builtins = [...seen].filter((s) => s.startsWith("node:"));
  return { files, npm: [...npm].sort(), builtins };
}

Deno.test("serve's static import graph takes only hono and postgres from npm", async () => {
  const { files, npm } = await staticGraph("src/cli/serve.ts");
  assert.deepEqual(npm, ["hono", "postgres"]);
  // Loaded only when configured or first asked for.
  assert.ok(files.includes("src/server.ts"), files.join(" "));
  assert.deepEqual(files.filter((f) => f.startsWith("src/forge/")), []);
  assert.ok(!files.includes("src/ops/openapi.ts"));
  assert.ok(!files.includes("src/ops/api_schemas.ts"));
  assert.ok(!files.includes("src/ops/state_import.ts"));
});

Deno.test("`despacito serve` loads no node:util before it serves", async () => {
  // node:util (parseArgs, for the other commands) is a few ms of CPU on every start: main.ts
  // reaches the exit statuses through src/cli/exit.ts, not args.ts.
  for (const root of ["main.ts", "src/cli/serve.ts"]) {
    const { builtins } = await staticGraph(root);
    assert.ok(!builtins.includes("node:util"), `${root}: ${builtins.join(" ")}`);
  }
});
