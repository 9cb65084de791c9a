/**
 * GET /metrics, the load gauge and the X-Despacito-Load header against
 * despacito as it ships (real process, production permission flags, real
 * PostgreSQL): prom-client's output under those flags, the three
 * DESPACITO_METRICS modes, JSON 404s under /metrics, per-route-template
 * request counts.
 */

import assert from "node:assert/strict";
import { runCli } from "./_harness/server.ts";
import { startOps } from "./ops_support.ts";

/** The value of one sample line, e.g. `name{a="b"} 3`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("GET /metrics (default token access) serves prom-client's exposition under the production flags", async () => {
  const h = await startOps();
  try {
    const none = await h.call("GET", "/metrics");
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "unauthenticated");
    const token = await h.token();
    for (let i = 0; i < 3; i++) await h.call("GET", "/api/tokens", { token });
    await h.call("GET", "/api/deployments/00000000-0000-4000-8000-000000000000", { token });

    const r = await h.call("GET", "/metrics", { token });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const t = r.text;
    assert.match(t, /^despacito_build_info\{version="[^"]+",commit="[^"]+"\} 1$/m);
    assert.equal(
      sample(t, 'despacito_http_requests_total{method="GET",route="/api/tokens",status="200"}'),
      3,
    );
    // The route template, never the raw path (no unbounded label values).
    assert.equal(
      sample(
        t,
        'despacito_http_requests_total{method="GET",route="/api/deployments/:id",status="404"}',
      ),
      1,
    );
    assert.ok(!t.includes("00000000-0000-4000"));
    assert.equal(
      sample(t, 'despacito_http_requests_total{method="GET",route="/metrics",status="401"}'),
      1,
    );
    assert.equal(sample(t, "despacito_queue_depth"), 0);
    assert.equal(sample(t, "despacito_running_deployment_age_seconds"), 0);
    assert.equal(sample(t, 'despacito_forge_status_posts{result="failed"}'), 0);
    assert.equal(sample(t, "despacito_database_pool_size"), 10);
    assert.ok(sample(t, "despacito_database_connections")! >= 1);
    assert.equal(sample(t, "despacito_sse_subscribers"), 0);
    assert.equal(sample(t, "despacito_metrics_database_errors_total"), 0);
    for (
      const name of [
        "despacito_http_request_duration_seconds",
        "despacito_http_requests_in_flight",
        "despacito_deployments_total",
        "despacito_deployment_step_duration_seconds",
        "despacito_deployment_duration_seconds",
        "despacito_node_outcomes_total",
      ]
    ) assert.match(t, new RegExp(`^# TYPE ${name} `, "m"), name);

    // Unknown paths under /metrics are JSON 404s, never the web UI.
    const unknown = await h.call("GET", "/metrics/extra", { token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "not_found");
  } finally {
    await h.close();
  }
});

Deno.test("DESPACITO_METRICS=public needs no token; =off removes the endpoint (JSON 404)", async () => {
  const pub = await startOps({ DESPACITO_METRICS: "public" });
  try {
    const r = await pub.call("GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.text, /despacito_build_info/);
  } finally {
    await pub.close();
  }
  const off = await startOps({ DESPACITO_METRICS: "off" });
  try {
    const token = await off.token();
    const r = await off.call("GET", "/metrics", { token });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "not_found");
  } finally {
    await off.close();
  }
});

Deno.test("every response carries X-Despacito-Load; GET /api/health/load is public", async () => {
  const h = await startOps();
  try {
    for (const path of ["/health", "/api/nope", "/", "/api/health/load"]) {
      const r = await h.call("GET", path);
      assert.equal(r.headers.get("x-despacito-load"), "low", path);
    }
    const r = await h.call("GET", "/api/health/load");
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), [
      "level",
      "p95_ms",
      "p99_ms",
      "queued",
      "running",
      "waiting_clients",
      "window_s",
    ]);
    assert.equal(r.body.level, "low");
    assert.equal(r.body.queued, 0);
    assert.equal(r.body.window_s, 60);
    assert.ok(r.body.p95_ms <= r.body.p99_ms);
  } finally {
    await h.close();
  }
});

Deno.test("bad ops options are refused at start, each named", async () => {
  const good = { DESPACITO_DATA_DIR: "/tmp/despacito-ops-bad-config" };
  const r = await runCli(["serve"], {
    ...good,
    DESPACITO_METRICS: "yes",
    DESPACITO_QUEUE_LIMIT: "0",
    DESPACITO_WEBHOOK_WAITING_LIMIT: "many",
  }, { flagsEnv: good });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /DESPACITO_METRICS: must be one of off, public, token/);
  assert.match(r.stderr, /DESPACITO_QUEUE_LIMIT: must be greater than zero/);
  assert.match(r.stderr, /DESPACITO_WEBHOOK_WAITING_LIMIT: /);
});
