import assert from "node:assert/strict";
import { describe, stateOf } from "./statuses.ts";
import type { DeploymentStatusEvent } from "./ports.ts";

// The wording end-to-end tests can only match loosely (real deployments take what they take).
const T0 = new Date("2024-05-01T10:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const event = (o: Partial<DeploymentStatusEvent>): DeploymentStatusEvent => ({
  deploymentId: "d",
  package: "webapp",
  version: "v1.2.0",
  status: "queued",
  lockedRev: null,
  flakeRef: null,
  createdAt: T0,
  startedAt: null,
  finishedAt: null,
  failureKind: null,
  ...o,
});
const line = (o: Partial<DeploymentStatusEvent>) => {
  const e = event(o);
  return [stateOf(e), describe(e, stateOf(e))];
};

Deno.test("commit status states and one-line descriptions, durations from start (or creation) to finish", () => {
  assert.deepEqual(line({}), ["pending", "Deploying v1.2.0 (queued)"]);
  assert.deepEqual(line({ status: "running", startedAt: at(5) }), ["pending", "Deploying v1.2.0"]);
  assert.deepEqual(line({ status: "deployed", startedAt: at(5), finishedAt: at(70) }), [
    "success",
    "Deployed v1.2.0 in 1m 5s",
  ]);
  assert.deepEqual(
    line({ status: "failed", startedAt: at(0), finishedAt: at(42), failureKind: "failure" }),
    ["failure", "Deployment of v1.2.0 failed after 42s"],
  );
  assert.deepEqual(
    line({ version: "v1.3.0", status: "cancelled", finishedAt: at(3), failureKind: "error" }),
    ["error", "Could not deploy v1.3.0 (cancelled) after 3s"],
  );
  assert.deepEqual(
    line({ status: "failed", startedAt: at(0), finishedAt: at(2), failureKind: "error" }),
    ["error", "Could not deploy v1.2.0 after 2s"],
  );
  const long = describe(event({ version: `v1 ${"x".repeat(200)}\n` }), "pending");
  assert.equal(long.length, 140, "one line, at most 140 characters");
  assert.ok(!long.includes("\n"));
});
