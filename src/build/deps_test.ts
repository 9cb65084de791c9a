/**
 * The server's dependencies (deno.json, deno.lock) and the tests' (deno.test.json,
 * deno.test.lock) stay one set plus test-only packages: the test config
 * repeats every server import exactly, and no test-only package leaks into
 * the server's lock (which `deno task start` and the Nix build install whole).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readJson = async (name: string) => JSON.parse(await Deno.readTextFile(`${root}${name}`));
const TEST_ONLY =
  /^(playwright-core|axe-core$|oidc-provider|koa|@types\/|@seriousme\/openapi-schema-validator$|ajv$|ajv-formats$)/;

Deno.test("deno.test.json repeats deno.json's imports and compiler options exactly", async () => {
  const server = await readJson("deno.json");
  const tests = await readJson("deno.test.json");
  for (const [name, spec] of Object.entries(server.imports)) {
    assert.equal(tests.imports[name], spec, `deno.test.json imports.${name}`);
  }
  assert.deepEqual(tests.compilerOptions, server.compilerOptions);
  assert.equal(tests.lock, "deno.test.lock");
  const extra = Object.keys(tests.imports).filter((n) => !(n in server.imports));
  assert.ok(extra.length > 0 && extra.every((n) => TEST_ONLY.test(n)), extra.join(", "));
});

Deno.test("deno.lock holds no test-only package", async () => {
  const lock = await readJson("deno.lock");
  const names = [...Object.keys(lock.specifiers), ...Object.keys(lock.npm)]
    .map((k) => k.replace(/^npm:/, ""));
  assert.deepEqual(names.filter((n) => TEST_ONLY.test(n)), []);
  const testLock = await readJson("deno.test.lock");
  assert.ok(Object.keys(testLock.npm).some((k) => k.startsWith("playwright-core@")));
});
