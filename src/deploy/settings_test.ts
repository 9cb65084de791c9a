import assert from "node:assert/strict";
import { parseSettings, resolveSettings, SettingsError } from "./settings.ts";

Deno.test("parseSettings() merges defaults and per-package settings", async () => {
  const f = await parseSettings(
    "c.yaml",
    `defaults:\n  goal: boot\n  timeout: 10m\npackages:\n  web:\n    on: "@web"\n    extra_args: [--parallel, "2"]\n`,
  );
  assert.deepEqual(resolveSettings(f, "web", 1), {
    on: "@web",
    goal: "boot",
    extraArgs: ["--parallel", "2"],
    timeoutMs: 600_000,
    checks: [],
    soakMs: 0,
    onFailure: "rollback",
    stages: null,
    promotionTimeoutMs: 86_400_000,
  });
  assert.deepEqual(resolveSettings(f, "api", 1), {
    on: null,
    goal: "boot",
    extraArgs: [],
    timeoutMs: 600_000,
    checks: [],
    soakMs: 0,
    onFailure: "rollback",
    stages: null,
    promotionTimeoutMs: 86_400_000,
  });
  assert.deepEqual(resolveSettings(await parseSettings("x", ""), "api", 5), {
    on: null,
    goal: "switch",
    extraArgs: [],
    timeoutMs: 5,
    checks: [],
    soakMs: 0,
    onFailure: "rollback",
    stages: null,
    promotionTimeoutMs: 86_400_000,
  });
});

Deno.test("parseSettings() reports every problem", async () => {
  try {
    await parseSettings(
      "c.json",
      '{"defaults":{"goal":"nope","oops":1},"packages":{"w":{"timeout":"x"}}}',
    );
    assert.fail("expected SettingsError");
  } catch (e) {
    assert.ok(e instanceof SettingsError);
    assert.equal(e.problems.length, 3);
  }
});

Deno.test("parseSettings() reads checks, soak and on_failure, and lists every problem in them", async () => {
  const f = await parseSettings(
    "c.yaml",
    `packages:
  web:
    on_failure: hold
    soak: 2m
    checks:
      - name: homepage
        http: { url: "https://web1.example.com/health", status: 204, body: "ok", timeout: 5s, retries: 3, interval: 2s }
      - name: unit
        command: ["systemctl", "is-active", "web"]
`,
  );
  const s = resolveSettings(f, "web", 1);
  assert.equal(s.onFailure, "hold");
  assert.equal(s.soakMs, 120_000);
  assert.deepEqual(s.checks, [
    {
      kind: "http",
      name: "homepage",
      url: "https://web1.example.com/health",
      status: 204,
      body: "ok",
      timeoutMs: 5_000,
      retries: 3,
      intervalMs: 2_000,
    },
    {
      kind: "command",
      name: "unit",
      argv: ["systemctl", "is-active", "web"],
      timeoutMs: 30_000,
      retries: 0,
      intervalMs: 2_000,
    },
  ]);
  try {
    await parseSettings(
      "c.yaml",
      `packages:
  web:
    on_failure: pray
    soak: soon
    checks:
      - name: a
        http: { url: "ftp://x", status: 999, body: "(" }
      - name: a
        command: []
      - http: { url: "https://x" }
        command: ["true"]
`,
    );
    assert.fail("must throw");
  } catch (e) {
    assert.ok(e instanceof SettingsError);
    const text = e.problems.join("\n");
    for (
      const want of [
        "packages.web.on_failure: one of rollback, hold",
        "packages.web.soak: a duration",
        "packages.web.checks[0].http.url: an http(s) URL",
        "packages.web.checks[0].http.status: an HTTP status code",
        "packages.web.checks[0].http.body: a regular expression",
        "packages.web.checks[1].command: a non-empty list",
        "packages.web.checks[2]: exactly one of http or command",
        "packages.web.checks[2].name: required",
      ]
    ) assert.ok(text.includes(want), `${want} in:\n${text}`);
  }
});
