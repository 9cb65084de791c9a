import assert from "node:assert/strict";
import { compareLocks, lockArgv, parseNixVersion } from "./flake_step.ts";
import type { LockFile } from "./inputs.ts";

const F = ["--extra-experimental-features", "nix-command flakes"];

Deno.test("lockArgv() pins with --override-input on every nix", () => {
  for (const v of ["nix (Nix) 2.8.0", "nix (Nix) 2.24.9"]) {
    assert.deepEqual(lockArgv("nix", parseNixVersion(v)!, "app", "github:o/r/v1"), [
      "nix",
      ...F,
      "flake",
      "lock",
      "--override-input",
      "app",
      "github:o/r/v1",
    ]);
  }
});

Deno.test("lockArgv() updates with `flake update NAME` from nix 2.19, `--update-input` before", () => {
  assert.deepEqual(lockArgv("nix", parseNixVersion("nix (Nix) 2.18.9")!, "app", null), [
    "nix",
    ...F,
    "flake",
    "lock",
    "--update-input",
    "app",
  ]);
  assert.deepEqual(lockArgv("nix", parseNixVersion("nix (Nix) 2.19.0")!, "app", null), [
    "nix",
    ...F,
    "flake",
    "update",
    "app",
  ]);
  assert.deepEqual(lockArgv("nix", parseNixVersion("nix (Nix) 3.0.0pre")!, "app", null).slice(3), [
    "flake",
    "update",
    "app",
  ]);
  assert.equal(parseNixVersion("garbage"), undefined);
});

function lock(appRev: string, otherRev: string, extra: Record<string, unknown> = {}): LockFile {
  return {
    version: 7,
    root: "root",
    nodes: {
      root: { inputs: { app: "app", other: "other" } },
      app: { locked: { type: "git", rev: appRev, url: "file:///a" }, original: { type: "git" } },
      other: {
        locked: { type: "git", rev: otherRev, url: "file:///o" },
        original: { type: "git" },
      },
      ...extra,
    } as LockFile["nodes"],
  };
}

Deno.test("compareLocks() accepts a change to the input alone and reports revs", () => {
  const c = compareLocks(lock("a1", "o1"), lock("a2", "o1"), "app");
  assert.deepEqual(c, { changed: true, previousLockedRev: "a1", lockedRev: "a2" });
  assert.equal(compareLocks(lock("a1", "o1"), lock("a1", "o1"), "app").changed, false);
});

Deno.test("compareLocks() refuses a lock where another input moved", () => {
  const c = compareLocks(lock("a1", "o1"), lock("a2", "o2"), "app");
  assert.match(c.problem ?? "", /other inputs changed too: other/);
});

Deno.test("compareLocks() allows the input's own inputs to change", () => {
  const before = lock("a1", "o1");
  const after = lock("a2", "o1", {
    sub: { locked: { rev: "s1" }, original: { type: "git" } },
  });
  after.nodes.app.inputs = { sub: "sub" };
  assert.equal(compareLocks(before, after, "app").problem, undefined);
});
