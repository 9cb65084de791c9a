import assert from "node:assert/strict";
import { colmenaArgv, firstErrorLine, NodeOutcomeParser } from "./colmena.ts";

Deno.test("colmenaArgv() is apply, goal, --on and extra args in that order", () => {
  assert.deepEqual(
    colmenaArgv("/bin/colmena", {
      on: "@web",
      goal: "boot",
      extraArgs: ["--parallel", "2"],
    }),
    ["/bin/colmena", "apply", "boot", "--on", "@web", "--parallel", "2"],
  );
  assert.deepEqual(
    colmenaArgv("colmena", { on: null, goal: "switch", extraArgs: [] }),
    ["colmena", "apply", "switch"],
  );
});

Deno.test("NodeOutcomeParser reads colmena's plain output per node", () => {
  const p = new NodeOutcomeParser("switch");
  for (
    const l of [
      "      | Enumerating nodes...",
      "(...) | Evaluating alpha, beta and gamma",
      "alpha | Pushing system closure",
      " beta | Activating system profile",
      "\x1b[1;32malpha\x1b[0m | \x1b[32mActivation successful\x1b[0m",
      " beta | Activation failed: Child process exited with error code: 4",
      " beta | Activation successful",
      "gamma | Building gamma",
      "      | All done!",
      "[ERROR] Failed to push system closure to gamma - Last 3 lines of logs:",
    ]
  ) p.feed(l);
  assert.deepEqual(p.outcomes(), [
    { node: "alpha", status: "succeeded", message: "Activation successful" },
    {
      node: "beta",
      status: "failed",
      message: "Activation failed: Child process exited with error code: 4",
    },
    {
      node: "gamma",
      status: "failed",
      message: "Failed to push system closure to gamma",
    },
  ]);
});

Deno.test("NodeOutcomeParser uses the goal's success message", () => {
  const p = new NodeOutcomeParser("boot");
  p.feed("alpha | Will be activated next boot");
  p.feed(" beta | Activation successful");
  assert.deepEqual(p.outcomes().map((o) => o.status), ["succeeded", "unknown"]);
});

Deno.test("NodeOutcomeParser gives nodes failed by an evaluation nix's error, not the summary", () => {
  const p = new NodeOutcomeParser("switch");
  for (
    const l of [
      "alpha | Evaluating alpha",
      " beta | Evaluating beta",
      "\x1b[1m(...)\x1b[0m | \x1b[31;1merror:\x1b[0m",
      "\x1b[1m(...)\x1b[0m |        … while evaluating the attribute 'config.system.build.toplevel'",
      "\x1b[1m(...)\x1b[0m |        \x1b[31;1merror:\x1b[0m The option `x' is used but not defined.",
      "\x1b[31;1m(...)\x1b[0m | \x1b[31mEvaluation failed: Child process exited with error code: 1\x1b[0m",
      "\x1b[31mERROR\x1b[0m Failed to evaluate alpha and beta - Last 2 lines of logs:",
    ]
  ) p.feed(l);
  const message = "error: The option `x' is used but not defined.";
  assert.deepEqual(p.outcomes(), [
    { node: "alpha", status: "failed", message },
    { node: "beta", status: "failed", message },
  ]);
});

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
