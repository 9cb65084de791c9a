/**
 * Deployments you can trust, against the simulated fleet: after a failed
 * check, a cancel, a failed rollback, an explicit rollback or a retry,
 * despacito's record (the deployment, /api/nodes, /api/packages) and what
 * each simulated node runs agree. Real git, nix and PostgreSQL; despacito
 * as it ships.
 */

import assert from "node:assert/strict";
import {
  type DeployEnv,
  type DeploymentJson,
  fleetRevs,
  settingsFile,
  STORE_PATH,
  withDeployEnv,
} from "./_harness/deploy_env.ts";

const body = (env: DeployEnv, version: string, extra: Record<string, unknown> = {}) => ({
  package: "webapp",
  version,
  nix_store_path: STORE_PATH,
  flake_ref: `${env.webapp.url}?ref=refs/tags/v${version}`,
  ...extra,
});

async function deploy(env: DeployEnv, version: string, extra: Record<string, unknown> = {}) {
  const r = await env.webhook(body(env, version, extra));
  const b = await r.json();
  const d: DeploymentJson = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
  return { status: r.status, body: b, d };
}

/** What every simulated node runs, as the webapp version whose tag it locked. */
async function fleetVersions(env: DeployEnv): Promise<Record<string, string | undefined>> {
  const byRev = Object.fromEntries(Object.entries(env.webapp.tags).map(([t, r]) => [r, t]));
  const revs = await fleetRevs(env);
  return Object.fromEntries(
    Object.entries(revs).map(([n, rev]) => [n, rev ? byRev[rev]?.replace(/^v/, "") : undefined]),
  );
}

async function recordedNodes(env: DeployEnv) {
  const nodes = (await (await env.fetch("/api/nodes")).json()).nodes;
  return Object.fromEntries(
    nodes.map((n: DeploymentJson) => [n.node, { outcome: n.outcome, webapp: n.packages.webapp }]),
  );
}

/** A health endpoint whose answer the test flips. */
function healthServer() {
  let healthy = true;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => healthy ? new Response("ok") : new Response("broken", { status: 500 }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/health`,
    set: (v: boolean) => (healthy = v),
    close: () => server.shutdown(),
  };
}

Deno.test(
  "a failing http check rolls the fleet back; a passing one with soak deploys",
  async () => {
    const health = healthServer();
    try {
      await withDeployEnv({ start: false }, async (env) => {
        await env.startServer({
          DESPACITO_CONFIG: await settingsFile(
            env,
            `packages:
  webapp:
    soak: 1s
    checks:
      - name: homepage
        http: { url: "${health.url}", status: 200, body: "^ok$", retries: 1, interval: 100ms, timeout: 2s }
`,
          ),
        });
        const ok = await deploy(env, "1.1.0");
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.d.checks.length, 1);
        assert.equal(ok.d.checks[0].result, "passed");
        assert.ok(ok.d.checks[0].attempts >= 2, "soak ran the check again");
        assert.equal(ok.d.steps.find((s: DeploymentJson) => s.name === "verify").status, "ok");
        assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.1.0" });

        health.set(false);
        const bad = await deploy(env, "1.2.0");
        assert.equal(bad.status, 500);
        assert.equal(bad.d.failure_code, "check_failed");
        assert.match(
          bad.d.error,
          /^check homepage failed: answered 500, expected 200; rolled back alpha, beta$/,
        );
        assert.equal(bad.d.checks[0].attempts, 2);
        assert.equal(bad.d.rollback.status, "ok");
        // Both nodes had switched to 1.2.0 and are back on 1.1.0; the record says the same.
        assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.1.0" });
        assert.deepEqual(await recordedNodes(env), {
          alpha: { outcome: "rolled_back", webapp: "1.1.0" },
          beta: { outcome: "rolled_back", webapp: "1.1.0" },
        });
        assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.1.0"]);
        const pk = (await (await env.fetch("/api/packages")).json()).packages
          .find((p: DeploymentJson) => p.name === "webapp");
        assert.equal(pk.current_version, "1.1.0");
        assert.equal(pk.held, null);
      });
    } finally {
      await health.close();
    }
  },
);

Deno.test(
  "a failing command check (colmena exec) on one node rolls every switched node back",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await env.startServer({
        DESPACITO_CONFIG: await settingsFile(
          env,
          `packages:\n  webapp:\n    checks:\n      - name: unit\n        command: ["systemctl", "is-active", "webapp"]\n`,
        ),
      });
      await env.colmena.set({ failExec: ["beta"] });
      const bad = await deploy(env, "1.1.0");
      assert.equal(bad.status, 500);
      assert.equal(bad.d.failure_code, "check_failed");
      assert.match(bad.d.error, /^check unit failed: failed on beta; rolled back alpha, beta$/);
      assert.deepEqual(
        bad.d.checks[0].nodes.map((n: DeploymentJson) => `${n.node}:${n.result}`),
        ["alpha:passed", "beta:failed"],
      );
      const runs = await env.colmena.runs();
      assert.deepEqual(runs.map((r) => r.argv), [
        ["apply", "switch"],
        ["exec", "--on", "alpha,beta", "--", "systemctl", "is-active", "webapp"],
        ["apply", "switch", "--on", "alpha,beta"],
      ]);
      assert.deepEqual(await fleetVersions(env), { alpha: "1.0.0", beta: "1.0.0" });
    });
  },
);

Deno.test("a rollback that fails holds the package until it is released", async () => {
  await withDeployEnv({}, async (env) => {
    // The deployment's apply fails on beta, and so does the rollback's apply on alpha.
    await env.colmena.set({ failNode: "beta", plan: [{}, { failNodes: ["alpha"] }] });
    const bad = await deploy(env, "1.1.0");
    assert.equal(bad.status, 500);
    assert.equal(bad.d.rollback.status, "failed");
    assert.match(bad.d.error, /the rollback failed on alpha: .*; webapp is held$/);
    // alpha still runs 1.1.0, and despacito says so.
    assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.0.0" });
    const nodes = await recordedNodes(env);
    assert.deepEqual(nodes.alpha, { outcome: "rollback_failed", webapp: "1.1.0" });
    assert.equal(nodes.beta.outcome, "rolled_back");

    const refused = await env.webhook(body(env, "1.2.0"));
    assert.equal(refused.status, 409);
    const rb = await refused.json();
    assert.equal(rb.status, "package_held");
    assert.equal(rb.error.code, "package_held");
    assert.equal(rb.held_by, bad.d.id);
    const pk = (await (await env.fetch("/api/packages")).json()).packages
      .find((p: DeploymentJson) => p.name === "webapp");
    assert.equal(pk.held.deployment_id, bad.d.id);

    const released = await env.fetch("/api/packages/webapp/release", { method: "POST" });
    assert.equal(released.status, 200);
    assert.equal((await released.json()).status, "released");
    const twice = await env.fetch("/api/packages/webapp/release", { method: "POST" });
    assert.equal(twice.status, 404);
    assert.equal((await twice.json()).error.code, "package_not_held");
    await env.colmena.set({ failNode: "" });
    const ok = await deploy(env, "1.2.0");
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(await fleetVersions(env), { alpha: "1.2.0", beta: "1.2.0" });
  });
});

Deno.test("on_failure: hold keeps the fleet as it is and holds the package", async () => {
  await withDeployEnv({ start: false }, async (env) => {
    await env.startServer({
      DESPACITO_CONFIG: await settingsFile(env, `packages:\n  webapp:\n    on_failure: hold\n`),
    });
    await env.colmena.set({ failNode: "beta" });
    const bad = await deploy(env, "1.1.0");
    assert.equal(bad.status, 500);
    assert.match(bad.d.error, /webapp is held \(on_failure: hold\)$/);
    assert.equal(bad.d.revert_sha, null, "the lock stays where the fleet is");
    assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.0.0" });
    const refused = await env.webhook(body(env, "1.2.0"));
    assert.equal(refused.status, 409);
    assert.equal((await refused.json()).status, "package_held");
    assert.equal((await env.colmena.runs()).length, 1, "nothing rolled back");
  });
});

Deno.test("cancel mid-activation rolls back the node that already switched", async () => {
  await withDeployEnv({}, async (env) => {
    await env.colmena.set({ holdAfter: "alpha" });
    const waiting = env.webhook(body(env, "1.1.0"));
    await env.waitFor(async () => (await env.colmena.node("alpha"))?.activations === 1);
    // Only this apply holds; the rollback's must not.
    await env.colmena.set({ holdAfter: "" });
    const [{ id }] = await env.sql`select id from deployments`;
    const c = await env.fetch(`/api/deployments/${id}/cancel`, { method: "POST" });
    assert.equal(c.status, 202);
    assert.deepEqual(await c.json(), { status: "cancelling", deployment_id: id });
    const r = await waiting;
    assert.equal(r.status, 500);
    const answer = await r.json();
    assert.equal(answer.status, "cancelled");
    assert.equal(answer.deployment_id, id);
    const d = await (await env.fetch(`/api/deployments/${id}`)).json();
    assert.equal(d.status, "cancelled");
    assert.equal(d.rollback.status, "ok");
    assert.deepEqual(d.rollback.nodes.map((n: DeploymentJson) => n.node), ["alpha"]);
    // beta never switched; alpha is back.
    assert.deepEqual(await fleetVersions(env), { alpha: "1.0.0", beta: "1.0.0" });
    assert.equal((await env.colmena.runs()).at(-1)!.argv.join(" "), "apply switch --on alpha");
  });
});

Deno.test(
  "rollback on request to an earlier deployed version; refused for one that never deployed; retry",
  async () => {
    await withDeployEnv({}, async (env) => {
      const first = await deploy(env, "1.1.0");
      assert.equal(first.status, 200);
      const second = await deploy(env, "1.2.0");
      assert.equal(second.status, 200);
      assert.deepEqual(await fleetVersions(env), { alpha: "1.2.0", beta: "1.2.0" });

      const asked = await env.fetch("/api/packages/webapp/rollback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ deployment_id: first.d.id }),
      });
      assert.equal(asked.status, 202);
      const q = await asked.json();
      assert.equal(q.kind, "rollback");
      assert.equal(asked.headers.get("location"), `/api/deployments/${q.deployment_id}`);
      const rb = await env.waitDeployment(
        q.deployment_id,
        (d) => d.status !== "queued" && d.status !== "running",
      );
      assert.equal(rb.status, "deployed", rb.error);
      assert.equal(rb.version, "1.1.0");
      assert.equal(rb.rollback_to, first.d.id);
      assert.equal(rb.locked_rev, env.webapp.tags["v1.1.0"]);
      assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.1.0" });
      assert.deepEqual(await recordedNodes(env), {
        alpha: { outcome: "activated", webapp: "1.1.0" },
        beta: { outcome: "activated", webapp: "1.1.0" },
      });

      // A version that failed cannot be rolled back to; it can be retried.
      await env.colmena.set({ failNode: "beta" });
      await env.webapp.release("1.3.0");
      const failed = await deploy(env, "1.3.0");
      assert.equal(failed.status, 500);
      const refused = await env.fetch("/api/packages/webapp/rollback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ deployment_id: failed.d.id }),
      });
      assert.equal(refused.status, 409);
      assert.equal((await refused.json()).error.code, "rollback_target_not_deployed");
      const unknown = await env.fetch("/api/packages/webapp/rollback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ deployment_id: "not-a-uuid" }),
      });
      assert.equal(unknown.status, 400);
      assert.equal((await unknown.json()).error.code, "invalid_request");

      await env.colmena.set({ failNode: "" });
      const retried = await env.fetch(`/api/deployments/${failed.d.id}/retry`, { method: "POST" });
      assert.equal(retried.status, 202);
      const rq = await retried.json();
      const rd = await env.waitDeployment(
        rq.deployment_id,
        (d) => d.status === "deployed" || d.status === "failed",
      );
      assert.equal(rd.status, "deployed", rd.error);
      assert.equal(rd.retry_of, failed.d.id);
      assert.deepEqual(await fleetVersions(env), { alpha: "1.3.0", beta: "1.3.0" });
      const again = await env.fetch(`/api/deployments/${rd.id}/retry`, { method: "POST" });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "not_retryable");
    });
  },
);

Deno.test(
  "the version rule: a pinned input without flake_ref, and one revision under two labels, are refused before any commit",
  async () => {
    await withDeployEnv({ pins: { webapp: "refs/tags/v1.0.0" } }, async (env) => {
      // Record 1.0.0 as what is locked, as an operator's first deployment would.
      const first = await env.webhook({
        package: "webapp",
        version: "1.0.0",
        nix_store_path: STORE_PATH,
      });
      assert.equal(first.status, 200, await first.text());
      const head = await env.flake.head();
      const pinned = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
      });
      assert.equal(pinned.status, 500);
      const p = await pinned.json();
      assert.match(
        p.error,
        /the input is pinned to refs\/tags\/v1\.0\.0 in flake\.nix .*send flake_ref to move it/,
      );
      assert.equal(await env.flake.head(), head, "no commit");
      const pd = await (await env.fetch(`/api/deployments/${p.deployment_id}`)).json();
      assert.equal(pd.failure_code, "version_mismatch");
      // 1.1.0 was not recorded: it may be requested again (with a flake_ref that moves the input).
      const moved = await deploy(env, "1.1.0");
      assert.equal(moved.status, 200, JSON.stringify(moved.body));

      const twice = await deploy(env, "1.1.0", { version: "v1.1.0" });
      assert.equal(twice.status, 500);
      assert.equal(twice.d.failure_code, "version_mismatch");
      assert.match(twice.d.error, /stays locked at [0-9a-f]{40}, which is deployed as 1\.1\.0/);
      // Back to 1.0.0's revision under a new label: refused, naming the deployment that has it.
      const relabel = await deploy(env, "1.0.0", { version: "6.6.6" });
      assert.equal(relabel.status, 500);
      assert.match(relabel.d.error, /revision [0-9a-f]{40} was deployed as 1\.0\.0/);
      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.1.0"]);
      assert.deepEqual(await fleetVersions(env), { alpha: "1.1.0", beta: "1.1.0" });
    });
  },
);
