import assert from "node:assert/strict";
import { colmenaArgv, NodeOutcomeParser } from "./colmena.ts";

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
      message: "[ERROR] Failed to push system closure to gamma - Last 3 lines of logs:",
    },
  ]);
});

Deno.test("NodeOutcomeParser uses the goal's success message", () => {
  const p = new NodeOutcomeParser("boot");
  p.feed("alpha | Will be activated next boot");
  p.feed(" beta | Activation successful");
  assert.deepEqual(p.outcomes().map((o) => o.status), ["succeeded", "unknown"]);
});
