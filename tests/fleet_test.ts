/**
 * The fleet, against the simulated one (tags, drift, unreachable nodes):
 * drift detected and cleared, an unreachable node, a check that waits for a
 * running activation, and progressive rollout through stages — automatic
 * and manual promotion, abort at the gate, a failure in a later stage, the
 * promotion deadline, and a request for another package that waits behind
 * a paused deployment. Each asserts despacito's record and what every
 * simulated node runs.
 */

import assert from "node:assert/strict";
import {
  CANARY_FLEET,
  type DeployEnv,
  type DeploymentJson,
  settingsFile,
  STORE_PATH,
  withDeployEnv,
} from "./_harness/deploy_env.ts";

const hook = (env: DeployEnv, version: string, query = "") =>
  env.webhook({
    package: "webapp",
    version,
    nix_store_path: STORE_PATH,
    flake_ref: `${env.webapp.url}?ref=refs/tags/v${version}`,
  }, query);

/** The webhook's answer was 200 deployed (its body is read, never left open). */
async function assertDeployed(answer: Response | Promise<Response>) {
  const r = await answer;
  const b = await r.json();
  assert.equal(r.status, 200, JSON.stringify(b));
  assert.equal(b.status, "deployed");
}

async function nodes(env: DeployEnv, refresh = false): Promise<Record<string, DeploymentJson>> {
  const r = await env.fetch(refresh ? "/api/nodes/refresh" : "/api/nodes", {
    method: refresh ? "POST" : "GET",
  });
  assert.equal(r.status, 200);
  return Object.fromEntries((await r.json()).nodes.map((n: DeploymentJson) => [n.node, n]));
}

async function webappOn(env: DeployEnv, node: string): Promise<string | undefined> {
  const rev = (await env.colmena.node(node))?.revs.webapp;
  return Object.entries(env.webapp.tags).find(([, r]) => r === rev)?.[0].replace(/^v/, "");
}

async function startWith(env: DeployEnv, yaml: string) {
  await env.colmena.set({ nodes: CANARY_FLEET });
  await env.colmena.seed(env.flake.dir);
  await env.startServer({ DESPACITO_CONFIG: await settingsFile(env, yaml) });
}

Deno.test(
  "drift: a node changed by hand is drifted with what it runs, an unreachable one is not, a deployment clears it",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, "");
      let n = await nodes(env, true);
      assert.deepEqual(n.alpha.tags, ["canary", "web"]);
      assert.equal(n.alpha.drift, false);
      assert.equal(n.alpha.expected_system, n.alpha.running_system);
      assert.equal(n.beta.reachable, true);

      const byHand = "/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-nixos-system-alpha-by-hand";
      await env.colmena.drift("alpha", byHand);
      n = await nodes(env, true);
      assert.equal(n.alpha.drift, true);
      assert.equal(n.alpha.running_system, byHand);
      assert.equal(n.beta.drift, false);
      const metrics = await (await env.fetch("/metrics")).text();
      assert.match(metrics, /^despacito_nodes\{state="drifted"\} 1$/m);
      assert.match(metrics, /^despacito_nodes\{state="in_sync"\} 1$/m);
      assert.match(metrics, /^despacito_drift_checks 2$/m);

      // A deployment puts alpha back on what the flake says; the next check agrees.
      await assertDeployed(hook(env, "1.1.0"));
      n = await nodes(env);
      assert.equal(n.alpha.drift, null, "unknown until checked again");
      n = await nodes(env, true);
      assert.equal(n.alpha.drift, false);
      assert.equal(n.alpha.packages.webapp, "1.1.0");

      await env.colmena.set({ unreachable: ["beta"] });
      n = await nodes(env, true);
      assert.equal(n.beta.reachable, false);
      assert.equal(n.beta.drift, null, "unreachable is not drift");
      const [{ checks }] = await env.sql`select count(*)::int as checks from node_check`;
      assert.equal(checks, 8, "every check of every node is kept");
      const runs = (await env.colmena.runs()).map((r) => r.argv.slice(0, 2).join(" "));
      assert.ok(runs.includes("exec --"), runs.join(", "));
    });
  },
);

Deno.test(
  "drift: a check asked for during an activation waits for it, never runs beside it",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, "");
      await env.colmena.set({ mode: "hold" });
      const deploying = hook(env, "1.1.0");
      await env.colmena.waitFor((r) => r.length === 1, "the activation to start");
      const refreshing = nodes(env, true);
      await env.colmena.release();
      await assertDeployed(deploying);
      const n = await refreshing;
      assert.equal(n.alpha.drift, false);
      assert.deepEqual((await env.colmena.runs()).map((r) => r.argv[0]), ["apply", "eval", "exec"]);
    });
  },
);

const STAGES = (gate: "auto" | "manual", extra = "") =>
  `packages:
  webapp:${extra}
    stages:
      - name: canary
        on: "@canary"
        promote: ${gate}
        checks:
          - name: unit
            command: ["systemctl", "is-active", "webapp"]
      - name: fleet
        on: "@web"
`;

Deno.test(
  "stages: canary then fleet with automatic promotion; a failure in the second stage rolls both back",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, STAGES("auto"));
      const r = await hook(env, "1.1.0");
      const b = await r.json();
      assert.equal(r.status, 200, JSON.stringify(b));
      const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
      assert.deepEqual(
        d.steps.map((s: DeploymentJson) => `${s.name}${s.stage ? `(${s.stage})` : ""}:${s.status}`),
        [
          "queued:ok",
          "preflight:ok",
          "flake:ok",
          "commit:ok",
          "activate(canary):ok",
          "verify(canary):ok",
          "activate(fleet):ok",
          "verify(fleet):skipped",
        ],
      );
      assert.deepEqual((await env.colmena.runs()).map((r) => r.argv), [
        ["apply", "switch", "--on", "@canary"],
        ["exec", "--on", "alpha", "--", "systemctl", "is-active", "webapp"],
        ["apply", "switch", "--on", "@web"],
      ]);
      assert.equal(d.targets, "@canary,@web");

      await env.colmena.set({ failNode: "beta" });
      const bad = await hook(env, "1.2.0");
      assert.equal(bad.status, 500);
      const bd = await (await env.fetch(`/api/deployments/${(await bad.json()).deployment_id}`))
        .json();
      assert.match(
        bd.error,
        /^activation failed in stage fleet on beta: .*; rolled back alpha, beta$/,
      );
      assert.equal(await webappOn(env, "alpha"), "1.1.0");
      assert.equal(await webappOn(env, "beta"), "1.1.0");
    });
  },
);

Deno.test(
  "stages: a manual gate pauses the deployment and the queue until promoted; promote is refused elsewhere",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, STAGES("manual"));
      const first = await (await hook(env, "1.1.0", "?wait=false")).json();
      const paused = await env.waitDeployment(
        first.deployment_id,
        (d) => d.awaiting_promotion !== null,
      );
      assert.equal(paused.status, "running");
      assert.equal(paused.awaiting_promotion, "canary");
      assert.equal(await webappOn(env, "alpha"), "1.1.0");
      assert.equal(await webappOn(env, "beta"), "1.0.0", "the fleet stage waits");

      // Another package's request waits behind the pause (one deployment at a time).
      const other = await (await env.webhook({
        package: "api",
        version: "2.0.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.api.url}?ref=refs/tags/v2.0.0`,
      }, "?wait=false")).json();
      assert.equal(
        (await (await env.fetch(`/api/deployments/${other.deployment_id}`)).json()).status,
        "queued",
      );

      const notPaused = await env.fetch(`/api/deployments/${other.deployment_id}/promote`, {
        method: "POST",
      });
      assert.equal(notPaused.status, 409);
      assert.equal((await notPaused.json()).error.code, "not_awaiting_promotion");

      const promoted = await env.fetch(`/api/deployments/${first.deployment_id}/promote`, {
        method: "POST",
      });
      assert.equal(promoted.status, 202);
      assert.deepEqual(await promoted.json(), {
        status: "promoting",
        deployment_id: first.deployment_id,
      });
      const done = await env.waitDeployment(first.deployment_id, (d) => d.status === "deployed");
      assert.ok(
        done.steps.some((s: DeploymentJson) => s.name === "promotion" && s.status === "ok"),
      );
      const log = await (await env.fetch(`/api/deployments/${first.deployment_id}/log`)).text();
      assert.match(log, /promoted by token ci-runner-1 after stage canary/);
      assert.equal(await webappOn(env, "beta"), "1.1.0");
      const api = await env.waitDeployment(other.deployment_id, (d) => d.status === "deployed");
      assert.ok(new Date(api.started_at) >= new Date(done.finished_at), "ran after the paused one");
    });
  },
);

Deno.test(
  "stages: aborting at the gate rolls the canary back; so does the promotion deadline",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, STAGES("manual", "\n    promotion_timeout: 1s"));
      // The deadline: nobody promotes within 1s.
      const late = await hook(env, "1.1.0");
      assert.equal(late.status, 500);
      const ld = await (await env.fetch(`/api/deployments/${(await late.json()).deployment_id}`))
        .json();
      assert.equal(ld.failure_code, "promotion_timeout");
      assert.match(ld.error, /not promoted within 1s after stage canary; rolled back alpha$/);
      assert.equal(await webappOn(env, "alpha"), "1.0.0");
    });
    await withDeployEnv({ start: false }, async (env) => {
      await startWith(env, STAGES("manual"));
      const first = await (await hook(env, "1.1.0", "?wait=false")).json();
      await env.waitDeployment(first.deployment_id, (d) => d.awaiting_promotion === "canary");
      assert.equal(await webappOn(env, "alpha"), "1.1.0");
      const c = await env.fetch(`/api/deployments/${first.deployment_id}/cancel`, {
        method: "POST",
      });
      assert.equal(c.status, 202);
      assert.equal((await c.json()).deployment_id, first.deployment_id);
      const d = await env.waitDeployment(first.deployment_id, (d) => d.status === "cancelled");
      assert.equal(d.rollback.status, "ok");
      assert.deepEqual(d.rollback.nodes.map((n: DeploymentJson) => n.node), ["alpha"]);
      assert.equal(await webappOn(env, "alpha"), "1.0.0");
      assert.equal(await webappOn(env, "beta"), "1.0.0");
    });
  },
);
