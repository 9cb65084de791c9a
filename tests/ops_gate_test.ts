/**
 * The admission gate, the load gauge under real load, deployment metrics
 * and deployment audit rows, against despacito as it ships (real process,
 * production flags, real PostgreSQL, real git and nix; colmena is the
 * strict fake). The fixture flakes come from the deploy harness; the
 * server is spawned here under the production permission flags.
 */

import assert from "node:assert/strict";
import { createDeployEnv, type DeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { type ServerProcess, spawnServer, waitFor } from "./_harness/server.ts";

interface Gate {
  env: DeployEnv;
  server: ServerProcess;
  token: string;
  call(method: string, path: string, body?: unknown): Promise<Response>;
  webhook(pkg: string, version: string, async?: boolean): Promise<Response>;
  close(): Promise<void>;
}

async function startGate(extra: Record<string, string>): Promise<Gate> {
  const env = await createDeployEnv({ start: false });
  const server = await spawnServer({ env: { ...env.env, ...extra, DESPACITO_LOG_LEVEL: "info" } });
  const boot = await fetch(`${server.url}/api/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ description: "gate runner" }),
  });
  const token = (await boot.json()).token as string;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const repo = (pkg: string) => (pkg === "webapp" ? env.webapp : env.api);
  return {
    env,
    server,
    token,
    call,
    webhook: (pkg, version, async = true) =>
      call("POST", `/webhook${async ? "?wait=false" : ""}`, {
        package: pkg,
        version,
        nix_store_path: STORE_PATH,
        flake_ref: `${repo(pkg).url}?ref=refs/tags/v${version}`,
      }),
    async close() {
      await server.stop();
      await env.close();
    },
  };
}

async function deployment(g: Gate, id: string) {
  return await (await g.call("GET", `/api/deployments/${id}`)).json();
}

const metric = (text: string, series: string) =>
  Number(text.split("\n").find((l) => l.startsWith(series + " "))?.slice(series.length + 1));

Deno.test("a deployment feeds the metrics and the audit trail", async () => {
  const g = await startGate({});
  try {
    const r = await g.webhook("webapp", "1.1.0", false);
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    const text = await (await g.call("GET", "/metrics")).text();
    assert.equal(
      metric(text, 'despacito_deployments_total{package="webapp",outcome="deployed"}'),
      1,
    );
    assert.equal(
      metric(text, 'despacito_deployment_step_duration_seconds_count{step="activate",status="ok"}'),
      1,
    );
    assert.equal(
      metric(text, 'despacito_deployment_duration_seconds_count{outcome="deployed"}'),
      1,
    );
    assert.equal(metric(text, 'despacito_node_outcomes_total{status="succeeded"}'), 2);
    assert.equal(
      metric(text, 'despacito_http_requests_total{method="POST",route="/webhook",status="200"}'),
      1,
    );

    const audit = await (await g.call("GET", "/api/audit?action=deployment.requested")).json();
    assert.equal(audit.entries.length, 1);
    const row = audit.entries[0];
    assert.equal(row.target, `deployment:${body.deployment_id}`);
    assert.deepEqual(row.actor, { kind: "token", id: row.actor.id, label: "gate runner" });
    assert.equal(row.details.package, "webapp");
    assert.equal(row.details.version, "1.1.0");
    // Appended by the admission's own statement, it chains like every other row.
    const verify = await (await g.call("GET", "/api/audit/verify")).json();
    assert.equal(verify.ok, true, JSON.stringify(verify));
  } finally {
    await g.close();
  }
});

Deno.test("the queue cap answers 429 queue_full with Retry-After; coalescing needs no slot; load goes high", async () => {
  const g = await startGate({ DESPACITO_QUEUE_LIMIT: "1" });
  try {
    await g.env.colmena.set({ mode: "hold" });
    const running = await (await g.webhook("webapp", "1.1.0")).json();
    await waitFor(
      "the first deployment to run",
      async () => (await deployment(g, running.deployment_id)).status === "running" || undefined,
    );
    const queued = await g.webhook("webapp", "1.2.0");
    assert.equal(queued.status, 202);
    const q1 = await queued.json();

    const full = await g.webhook("api", "2.0.1");
    assert.equal(full.status, 429);
    assert.equal(full.headers.get("retry-after"), "30");
    const err = await full.json();
    assert.equal(err.error.code, "queue_full");
    // Nothing was stored for the refused request.
    const list = await (await g.call("GET", "/api/deployments?package=api")).json();
    assert.equal(list.deployments.length, 0);

    // A newer version of the queued package takes the queued one's slot.
    const newer = await g.webhook("webapp", "1.3.0");
    const nb = await newer.json();
    assert.equal(newer.status, 202, JSON.stringify(nb));
    assert.equal(nb.version, "1.3.0");
    assert.equal((await deployment(g, q1.deployment_id)).status, "superseded");

    const load = await waitFor("the load gauge to see the full queue", async () => {
      const r = await fetch(`${g.server.url}/api/health/load`);
      const b = await r.json();
      return b.queued === 1 && b.running === 1
        ? { b, header: r.headers.get("x-despacito-load") }
        : undefined;
    });
    assert.equal(load.b.level, "high");
    assert.equal(load.header, "high");
    const text = await (await g.call("GET", "/metrics")).text();
    assert.equal(metric(text, "despacito_queue_depth"), 1);
    assert.ok(metric(text, "despacito_running_deployment_age_seconds") > 0);

    // An open event stream counts as a subscriber until the client goes away.
    const stream = await g.call("GET", `/api/deployments/${running.deployment_id}/events`);
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    await reader.read();
    const sse = async () =>
      metric(await (await g.call("GET", "/metrics")).text(), "despacito_sse_subscribers");
    assert.equal(await sse(), 1);
    await reader.cancel();
    await waitFor("the stream to be counted out", async () => (await sse()) === 0 || undefined);

    const cancel = await g.call("POST", `/api/deployments/${running.deployment_id}/cancel`);
    assert.equal(cancel.status, 202);
    assert.equal((await cancel.json()).deployment_id, running.deployment_id);
    const audit = await (await g.call("GET", "/api/audit?action=deployment.cancelled")).json();
    assert.equal(audit.entries[0].target, `deployment:${running.deployment_id}`);
  } finally {
    await g.env.colmena.release();
    await g.close();
  }
});

Deno.test("webhook clients beyond DESPACITO_WEBHOOK_WAITING_LIMIT get 429 queue_full; the waiting one is answered", async () => {
  const g = await startGate({ DESPACITO_WEBHOOK_WAITING_LIMIT: "1" });
  try {
    await g.env.colmena.set({ mode: "hold" });
    const waiting = g.webhook("webapp", "1.1.0", false);
    await waitFor("the waiting client's deployment to run", async () => {
      const l = await (await g.call("GET", "/api/deployments?status=running")).json();
      return l.deployments.length === 1 || undefined;
    });
    const load = await (await fetch(`${g.server.url}/api/health/load`)).json();
    assert.equal(load.waiting_clients, 1);
    assert.equal(load.level, "high");

    const refused = await g.webhook("api", "2.0.0");
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get("retry-after"));
    assert.equal((await refused.json()).error.code, "queue_full");

    await g.env.colmena.release();
    const answer = await waiting;
    assert.equal(answer.status, 200, await answer.clone().text());
    assert.equal((await answer.json()).status, "deployed");
  } finally {
    await g.env.colmena.release();
    await g.close();
  }
});
