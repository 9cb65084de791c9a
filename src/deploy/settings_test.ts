import assert from "node:assert/strict";
import { parseSettings, resolveSettings, SettingsError } from "./settings.ts";

Deno.test("parseSettings() merges defaults and per-package settings", () => {
  const f = parseSettings(
    "c.yaml",
    `defaults:\n  goal: boot\n  timeout: 10m\npackages:\n  web:\n    on: "@web"\n    extra_args: [--parallel, "2"]\n`,
  );
  assert.deepEqual(resolveSettings(f, "web", 1), {
    on: "@web",
    goal: "boot",
    extraArgs: ["--parallel", "2"],
    timeoutMs: 600_000,
  });
  assert.deepEqual(resolveSettings(f, "api", 1), {
    on: null,
    goal: "boot",
    extraArgs: [],
    timeoutMs: 600_000,
  });
  assert.deepEqual(resolveSettings(parseSettings("x", ""), "api", 5), {
    on: null,
    goal: "switch",
    extraArgs: [],
    timeoutMs: 5,
  });
});

Deno.test("parseSettings() reports every problem", () => {
  try {
    parseSettings(
      "c.json",
      '{"defaults":{"goal":"nope","oops":1},"packages":{"w":{"timeout":"x"}}}',
    );
    assert.fail("expected SettingsError");
  } catch (e) {
    assert.ok(e instanceof SettingsError);
    assert.equal(e.problems.length, 3);
  }
});
