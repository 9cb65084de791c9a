/**
 * `deno task test` runs every test: each file that declares tests is named
 * so `deno test` picks it up, and the task neither narrows the paths nor
 * excludes a directory that holds tests; it also turns the ops and resource
 * sanitizers on.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !["node_modules", "dist", "data"].includes(e.name)) {
      yield* sourceFiles(path);
    } else if (e.isFile && /\.(ts|tsx)$/.test(e.name)) yield path;
  }
}

Deno.test("every file declaring Deno.test is named *_test.ts and so run by deno task test", async () => {
  const misnamed: string[] = [];
  let found = 0;
  for (const root of ["src", "tests", "ui"]) {
    const dir = `${REPO_DIR}/${root}`;
    if (!(await Deno.stat(dir).then(() => true, () => false))) continue;
    for await (const file of sourceFiles(dir)) {
      const text = await Deno.readTextFile(file);
      if (!/\bDeno\.test\(/.test(text)) continue;
      found++;
      if (!/(_test|\.test)\.tsx?$/.test(file)) misnamed.push(file.slice(REPO_DIR.length + 1));
    }
  }
  assert.ok(found > 10);
  assert.deepEqual(misnamed, [], "rename these so deno test finds them");
});

Deno.test("deno task test runs the whole tree with the sanitizers on", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_DIR}/deno.json`));
  const task: string = config.tasks.test;
  assert.match(
    task,
    /^deno test --config deno\.test\.json( --[a-z-]+(=\S+)?)*$/,
    "no paths: deno test walks everything (under the tests' config)",
  );
  // Deno 2.9 leaves these sanitizers off (or partial) by default; the house style keeps them on.
  const flags = task.split(" ");
  for (const flag of ["--sanitize-ops", "--sanitize-resources"]) {
    assert.ok(flags.includes(flag), `the test task must pass ${flag}`);
  }
  const testConfig = JSON.parse(await Deno.readTextFile(`${REPO_DIR}/deno.test.json`));
  for (const c of [config, testConfig]) {
    for (const e of c.test?.exclude ?? []) {
      assert.ok(!/^(src|tests)\/?$/.test(e), `test.exclude must not drop ${e}`);
    }
  }
});
