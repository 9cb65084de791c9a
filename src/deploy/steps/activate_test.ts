import assert from "node:assert/strict";
import { firstErrorLine } from "./activate.ts";

Deno.test("firstErrorLine() takes nix's `error: <text>` under a bare `error:` and its trace", () => {
  const lines = [
    "\x1b[1m     \x1b[0m | Enumerating nodes...",
    "\x1b[1m(...)\x1b[0m | \x1b[35;1mwarning:\x1b[0m Git tree '/srv/fleet' is dirty",
    "\x1b[1m(...)\x1b[0m | \x1b[31;1merror:\x1b[0m",
    "\x1b[1m(...)\x1b[0m |        … while evaluating the attribute 'config.system.build.toplevel'",
    "\x1b[1m(...)\x1b[0m |        \x1b[31;1merror:\x1b[0m The option `x' is used but not defined.",
    "\x1b[31;1m(...)\x1b[0m | \x1b[31mEvaluation failed: Child process exited with error code: 1\x1b[0m",
  ];
  assert.equal(firstErrorLine(lines), "error: The option `x' is used but not defined.");
});

Deno.test("firstErrorLine() falls back to a bare `error:`, then to colmena's `… failed:`", () => {
  assert.equal(firstErrorLine(["(...) | error:", "(...) | Evaluation failed: 1"]), "error:");
  assert.equal(
    firstErrorLine(["alpha | Activating system profile", "alpha | Activation failed: code 4"]),
    "Activation failed: code 4",
  );
  assert.equal(firstErrorLine(["alpha | Activation successful"]), undefined);
});
