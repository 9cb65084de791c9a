/**
 * What ops makes of checks, fleet rollbacks, held packages, retries and
 * rollbacks on request: the metrics, the audit rows and the rolled_back /
 * held notifications, against despacito as it ships (real process,
 * production flags, real PostgreSQL, git and nix; colmena is the strict
 * fake fleet). One story, because each step needs the state the one
 * before left. Every answer of the new routes is also checked against the
 * OpenAPI document the server serves.
 */

import assert from "node:assert/strict";
import {
  type DeployEnv,
  type DeploymentJson,
  settingsFile,
  STORE_PATH,
  withDeployEnv,
} from "./_harness/deploy_env.ts";
import { responseChecker } from "./ops_support.ts";

// The deploy harness keeps its PostgreSQL client open across the test's steps.
const opts = { sanitizeResources: false, sanitizeOps: false };

/** A health endpoint the test flips, and an ntfy topic that keeps what it is sent. */
function receiver() {
  let healthy = true;
  const titles: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/health") {
      return new Response(healthy ? "ok" : "broken", { status: healthy ? 200 : 500 });
    }
    if (path !== "/ntfy/ops" || req.method !== "POST") return new Response("", { status: 404 });
    titles.push(`${req.headers.get("title")} | ${await req.text()}`);
    return Response.json({ ok: true });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, titles, set: (v: boolean) => (healthy = v), close: () => server.shutdown() };
}

async function deploy(env: DeployEnv, version: string) {
  const r = await env.webhook({
    package: "webapp",
    version,
    nix_store_path: STORE_PATH,
    flake_ref: `${env.webapp.url}?ref=refs/tags/v${version}`,
  });
  const b = await r.json();
  const d: DeploymentJson = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
  return { status: r.status, d };
}

async function metrics(env: DeployEnv) {
  const text = await (await env.fetch("/metrics")).text();
  return (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(series + " "));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
}

async function audit(env: DeployEnv, action: string) {
  const r = await env.fetch(`/api/audit?action=${action}`);
  assert.equal(r.status, 200);
  return (await r.json()).entries;
}

const post = (env: DeployEnv, path: string, body?: unknown) =>
  env.fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const ended = (d: DeploymentJson) => d.status !== "queued" && d.status !== "running";

Deno.test(
  "checks, fleet rollbacks, holds, retries and rollbacks on request feed metrics, audit and notifications",
  opts,
  async () => {
    const rx = receiver();
    try {
      await withDeployEnv({ start: false }, async (env) => {
        await env.startServer({
          DESPACITO_CONFIG: await settingsFile(
            env,
            `packages:
  webapp:
    checks:
      - name: homepage
        http: { url: "${rx.url}/health", status: 200, retries: 0, timeout: 2s }
notifications:
  - { name: ops, type: ntfy, url: "${rx.url}/ntfy/ops", events: [rolled_back, held] }
`,
          ),
        });
        const schema = responseChecker(await (await env.fetch("/api/openapi.json")).json());
        const checkRead = async (path: string, template = path) => {
          const r = await env.fetch(path);
          assert.equal(r.status, 200);
          schema("get", template, 200, await r.json());
        };
        // 1.1.0: the check passes.
        const good = await deploy(env, "1.1.0");
        assert.equal(good.status, 200, JSON.stringify(good.d));
        // 1.2.0: the check fails and the fleet goes back to 1.1.0.
        rx.set(false);
        const bad = await deploy(env, "1.2.0");
        assert.equal(bad.status, 500);
        assert.equal(bad.d.rollback.status, "ok");
        schema("get", "/api/deployments/{id}", 200, bad.d);
        rx.set(true);
        let m = await metrics(env);
        assert.equal(m('despacito_checks_total{kind="http",result="passed"}'), 1);
        assert.equal(m('despacito_checks_total{kind="http",result="failed"}'), 1);
        assert.equal(m('despacito_fleet_rollbacks_total{outcome="ok"}'), 1);
        assert.equal(
          m('despacito_deployment_step_duration_seconds_count{step="verify",status="failed"}'),
          1,
        );
        assert.equal(
          m('despacito_deployment_step_duration_seconds_count{step="rollback",status="ok"}'),
          1,
        );
        assert.equal(m("despacito_packages_held"), 0);
        assert.deepEqual(await audit(env, "package.held"), []);

        // 1.3.0: activation fails on beta and the rollback fails on alpha: webapp is held.
        await env.webapp.release("1.3.0");
        await env.colmena.set({ failNode: "beta", plan: [{}, { failNodes: ["alpha"] }] });
        const held = await deploy(env, "1.3.0");
        assert.equal(held.status, 500);
        assert.equal(held.d.rollback.status, "failed");
        schema("get", "/api/deployments/{id}", 200, held.d);
        await checkRead("/api/packages");
        await checkRead("/api/nodes");
        // The state export shows the hold (import refuses it: tests/ops_state_test.ts).
        const exported = await (await env.fetch("/api/state/export")).text();
        assert.match(
          exported,
          new RegExp(
            `holds:\\n  - package: webapp\\n    deployment_id: ${held.d.id}\\n    reason: `,
          ),
        );
        // Recorded once the final status is out, which the webhook's answer may precede.
        await env.waitFor(async () => (await audit(env, "package.held")).length === 1);
        const [heldRow] = await audit(env, "package.held");
        assert.deepEqual(heldRow.actor, { kind: "system", id: null, label: null });
        assert.equal(heldRow.target, "package:webapp");
        assert.equal(heldRow.details.deployment_id, held.d.id);
        assert.match(heldRow.details.reason, /the rollback failed on alpha/);
        m = await metrics(env);
        assert.equal(m("despacito_packages_held"), 1);
        assert.equal(m('despacito_fleet_rollbacks_total{outcome="failed"}'), 1);

        // The operator releases it, retries 1.3.0, then rolls back to 1.1.0 on request.
        await env.colmena.set({ failNode: "" });
        const released = await post(env, "/api/packages/webapp/release");
        assert.equal(released.status, 200);
        schema("post", "/api/packages/{name}/release", 200, await released.json());
        const retried = await post(env, `/api/deployments/${held.d.id}/retry`);
        assert.equal(retried.status, 202);
        const retriedBody = await retried.json();
        schema("post", "/api/deployments/{id}/retry", 202, retriedBody);
        const retry = await env.waitDeployment(retriedBody.deployment_id, ended);
        assert.equal(retry.status, "deployed", retry.error);
        const asked = await post(env, "/api/packages/webapp/rollback", {
          deployment_id: good.d.id,
        });
        assert.equal(asked.status, 202);
        const askedBody = await asked.json();
        schema("post", "/api/packages/{name}/rollback", 202, askedBody);
        const back = await env.waitDeployment(askedBody.deployment_id, ended);
        schema("get", "/api/deployments/{id}", 200, back);
        assert.equal(back.status, "deployed", back.error);

        const [rel] = await audit(env, "package.released");
        assert.equal(rel.target, "package:webapp");
        assert.equal(rel.actor.kind, "token");
        assert.deepEqual(rel.details, { held_by: held.d.id, reason: heldRow.details.reason });
        const [ret] = await audit(env, "deployment.retried");
        assert.equal(ret.target, `deployment:${retry.id}`);
        assert.deepEqual(ret.details, { package: "webapp", version: "1.3.0", retry_of: held.d.id });
        const [rb] = await audit(env, "deployment.rolled_back");
        assert.equal(rb.target, `deployment:${back.id}`);
        assert.deepEqual(rb.details, {
          package: "webapp",
          version: "1.1.0",
          rollback_to: good.d.id,
        });
        // Refused requests record nothing.
        const notHeld = await post(env, "/api/packages/webapp/release");
        assert.equal(notHeld.status, 404);
        schema("post", "/api/packages/{name}/release", 404, await notHeld.json());
        const notRetryable = await post(env, `/api/deployments/${retry.id}/retry`);
        assert.equal(notRetryable.status, 409);
        schema("post", "/api/deployments/{id}/retry", 409, await notRetryable.json());
        assert.equal((await audit(env, "package.released")).length, 1);
        assert.equal((await audit(env, "deployment.retried")).length, 1);

        m = await metrics(env);
        assert.equal(m("despacito_packages_held"), 0);
        assert.equal(
          m('despacito_rollback_deployments_total{package="webapp",outcome="deployed"}'),
          1,
        );
        assert.equal(m('despacito_deployments_total{package="webapp",outcome="deployed"}'), 3);

        // The ntfy target asked for rolled_back and held only: one of each.
        await env.waitFor(() => Promise.resolve(rx.titles.length >= 2));
        assert.deepEqual(rx.titles.toSorted(), [
          `despacito: deployment rolled back | webapp 1.2.0: rolled back — ${bad.d.error}`,
          `despacito: package held | webapp 1.3.0: held — ${held.d.error}`,
        ]);
        const verify = await (await env.fetch("/api/audit/verify")).json();
        assert.equal(verify.ok, true, JSON.stringify(verify.problem));
      });
    } finally {
      await rx.close();
    }
  },
);
