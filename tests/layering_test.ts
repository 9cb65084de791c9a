/**
 * The layering README's Architecture section describes, checked on the
 * imports under src/: the composition root and the tools above the areas,
 * the areas above the generic HTTP layer, that above the ground floor; no
 * import runs upward, the ground floor's core imports nothing else, and an
 * area imports another only for the principal type sign-in defines. Reads
 * the source as text (static, type-only and dynamic relative imports).
 */

import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { REPO_DIR } from "./_harness/server.ts";

/** Every top-level part of src/ and its floor; a new folder must be placed here. */
const FLOORS: Record<string, number> = {
  // ground floor
  core: 0,
  config: 0,
  db: 0,
  log: 0,
  exec: 0,
  events: 0,
  secrets: 0,
  "version.ts": 0,
  "build_info.json": 0,
  // the generic HTTP layer
  http: 1,
  // the areas
  auth: 2,
  deploy: 2,
  forge: 2,
  ops: 2,
  ui: 2,
  // the composition root
  "areas.ts": 3,
  "server.ts": 3,
  // commands and build tools
  cli: 4,
  build: 4,
};
const AREA = 2;
/** The one file an area may take from another: who is asking (the HTTP layer's `P`). */
const SHARED_ACROSS_AREAS = new Set(["auth/principal.ts"]);

interface Arrow {
  from: string;
  to: string;
}

const IMPORT = new RegExp(
  [
    String.raw`\b(?:import|export)\s+(?:type\s+)?[^;'"]*?\bfrom\s*["']([^"']+)["']`,
    String.raw`\bimport\s*["']([^"']+)["']`,
    String.raw`\bimport\(\s*["']([^"']+)["']\s*\)`,
  ].join("|"),
  "g",
);

/** The relative imports of one file, as paths relative to src/ (comments ignored). */
function importsOf(file: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith(".")) out.push(normalize(join(dirname(file), spec)));
  }
  return out;
}

const partOf = (path: string) => path.split("/")[0];
const isTest = (path: string) => /_test\.tsx?$/.test(path);

/** Every arrow that breaks the layering, with the rule it breaks. */
function violations(arrows: Arrow[]): string[] {
  const bad: string[] = [];
  for (const { from, to } of arrows) {
    const [a, b] = [partOf(from), partOf(to)];
    if (to.startsWith("..")) continue; // deno.json, tests/_harness from a unit test
    for (const part of [a, b]) {
      if (!(part in FLOORS)) bad.push(`${part}: not placed on a floor (tests/layering_test.ts)`);
    }
    if (!(a in FLOORS) || !(b in FLOORS) || a === b) continue;
    if (FLOORS[b] > FLOORS[a]) bad.push(`${from} → ${to}: runs upward`);
    else if (a === "core") bad.push(`${from} → ${to}: core imports nothing outside core`);
    else if (
      FLOORS[a] === AREA && FLOORS[b] === AREA && !isTest(from) && !SHARED_ACROSS_AREAS.has(to)
    ) {
      bad.push(`${from} → ${to}: areas talk through ports wired in src/areas.ts`);
    }
  }
  return [...new Set(bad)];
}

async function srcArrows(): Promise<Arrow[]> {
  const src = join(REPO_DIR, "src");
  const arrows: Arrow[] = [];
  for (const from of await readdir(src, { recursive: true })) {
    if (!/\.tsx?$/.test(from)) continue;
    const text = await Deno.readTextFile(join(src, from));
    for (const to of importsOf(from, text)) arrows.push({ from, to });
  }
  return arrows;
}

Deno.test("layering: no import under src/ runs upward, across areas or out of core", async () => {
  const arrows = await srcArrows();
  // The reader sees the composition root's imports, so an empty result means something.
  assert.ok(arrows.some((a) => a.from === "server.ts" && a.to === "areas.ts"));
  assert.ok(arrows.some((a) => a.from === "deploy/area.ts" && a.to === "http/area.ts"));
  assert.deepEqual(violations(arrows), []);
});

Deno.test("violations() names an upward, a sideways and an unplaced arrow", () => {
  assert.deepEqual(
    violations([
      { from: "config/table.ts", to: "auth/client_address.ts" },
      { from: "http/app.ts", to: "auth/guard.ts" },
      { from: "core/area.ts", to: "log/log.ts" },
      { from: "forge/routes.ts", to: "deploy/store.ts" },
      { from: "forge/routes.ts", to: "auth/principal.ts" },
      { from: "forge/x_test.ts", to: "deploy/ports.ts" },
      { from: "reports/a.ts", to: "log/log.ts" },
      { from: "auth/guard.ts", to: "http/types.ts" },
    ]),
    [
      "config/table.ts → auth/client_address.ts: runs upward",
      "http/app.ts → auth/guard.ts: runs upward",
      "core/area.ts → log/log.ts: core imports nothing outside core",
      "forge/routes.ts → deploy/store.ts: areas talk through ports wired in src/areas.ts",
      "reports: not placed on a floor (tests/layering_test.ts)",
    ],
  );
});

Deno.test("importsOf() reads static, type-only, re-export, side-effect and dynamic imports", () => {
  const text = [
    `import { a } from "../log/log.ts";`,
    `import type {\n  B,\n  C,\n} from "./b.ts";`,
    `export { d } from "../core/d.ts";`,
    `import "./side.ts";`,
    `const m = await import("../db/connect.ts");`,
    `import { Hono } from "hono";`,
    `// import { no } from "../auth/guard.ts";`,
    `/* import { no } from "../deploy/store.ts"; */`,
  ].join("\n");
  assert.deepEqual(importsOf("http/app.ts", text), [
    "log/log.ts",
    "http/b.ts",
    "core/d.ts",
    "http/side.ts",
    "db/connect.ts",
  ]);
});
