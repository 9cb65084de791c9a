import assert from "node:assert/strict";
import type { Sql } from "../db/connect.ts";
import {
  createMetrics,
  loadPromClient,
  type Metrics,
  METRICS_CONTENT_TYPE,
  type MetricsOptions,
  type PromClient,
  type StatusChange,
} from "./metrics.ts";

// No database: the scrape-time gauges fail alike in every instance here and keep their values.
const base: MetricsOptions = {
  sql: undefined as unknown as Sql,
  version: { version: "1.2.3", commit: "abc" },
  poolSize: 4,
};

/** A loader that counts how often prom-client was asked for. */
function countingLoader(): { loads: () => number; load: () => Promise<PromClient> } {
  let n = 0;
  return {
    loads: () => n,
    load: () => {
      n++;
      return loadPromClient();
    },
  };
}

const finished: StatusChange = {
  package: "webapp",
  status: "deployed",
  kind: "deploy",
  steps: [{ name: "commit", status: "ok", duration_ms: 1200 }, {
    name: "activate",
    status: "ok",
    duration_ms: null,
  }],
  nodes: [{ status: "ok" }, { status: "ok" }],
  checks: [{ kind: "http", result: "ok" }],
  rollback: null,
  createdAt: new Date(1_000),
  startedAt: new Date(2_000),
  finishedAt: new Date(9_500),
};

function recordSome(m: Metrics) {
  m.inFlight("/webhook", 1);
  m.observeRequest("POST", "/webhook", 202, 0.004);
  m.observeRequest("POST", "/webhook", 202, 0.3);
  m.inFlight("/webhook", -1);
  m.inFlight("/api/deployments/:id/events", 1);
  m.sse(1);
  m.observeRequest("GET", "/health", 200, 0.001);
  m.deploymentChanged({ ...finished, status: "running" });
  m.deploymentChanged(finished);
}

Deno.test("createMetrics() loads prom-client on the first scrape, which shows everything recorded before it", async () => {
  const lazy = countingLoader();
  const m = createMetrics({ ...base, load: lazy.load });
  recordSome(m);
  assert.equal(lazy.loads(), 0, "nothing loaded before a scrape");

  // The same calls into an instance whose prom-client was loaded from the start.
  const eager = createMetrics(base);
  await eager.registry();
  recordSome(eager);

  const [text] = await Promise.all([m.text(), m.text()]);
  assert.equal(lazy.loads(), 1, "two scrapes at once load it once");
  assert.equal(text, await eager.text());
  assert.match(
    text,
    /^despacito_http_requests_total\{method="POST",route="\/webhook",status="202"\} 2$/m,
  );
  assert.match(text, /^despacito_http_requests_in_flight\{route="\/webhook"\} 0$/m);
  assert.match(text, /^despacito_sse_subscribers 1$/m);
  assert.match(text, /^despacito_deployments_total\{package="webapp",outcome="deployed"\} 1$/m);
  assert.match(text, /^despacito_deployment_duration_seconds_sum\{outcome="deployed"\} 7\.5$/m);

  // After the first scrape, calls go straight to the registry.
  m.observeRequest("GET", "/health", 200, 0.001);
  assert.match(
    await m.text(),
    /^despacito_http_requests_total\{method="GET",route="\/health",status="200"\} 2$/m,
  );
  assert.equal(lazy.loads(), 1);
});

Deno.test("createMetrics() loads prom-client without a scrape once pendingLimit calls wait, losing none", async () => {
  const lazy = countingLoader();
  const m = createMetrics({ ...base, load: lazy.load, pendingLimit: 3 });
  m.observeRequest("GET", "/health", 200, 0.001);
  m.observeRequest("GET", "/health", 200, 0.001);
  assert.equal(lazy.loads(), 0);
  m.observeRequest("GET", "/health", 200, 0.001);
  assert.equal(lazy.loads(), 1, "the third call starts the load");
  // Calls made while prom-client loads are kept too.
  m.observeRequest("GET", "/health", 200, 0.001);
  const text = await m.text();
  assert.equal(lazy.loads(), 1);
  assert.match(
    text,
    /^despacito_http_requests_total\{method="GET",route="\/health",status="200"\} 4$/m,
  );
  assert.match(
    text,
    /^despacito_http_request_duration_seconds_count\{method="GET",route="\/health"\} 4$/m,
  );
});

Deno.test("createMetrics() skips a kept call prom-client refuses and replays the others", async () => {
  const m = createMetrics(base);
  m.observeRequest("GET", "/health", 200, 0.001);
  // A duration that is not a number: prom-client throws on it (after counting the request).
  m.observeRequest("GET", "/health", 200, NaN);
  m.sse(1);
  const text = await m.text();
  assert.match(
    text,
    /^despacito_http_request_duration_seconds_count\{method="GET",route="\/health"\} 1$/m,
  );
  assert.match(text, /^despacito_sse_subscribers 1$/m);
});

Deno.test("createMetrics() answers with prom-client's Prometheus content type", async () => {
  const { Registry } = await loadPromClient();
  assert.equal(createMetrics(base).contentType, Registry.PROMETHEUS_CONTENT_TYPE);
  assert.equal(METRICS_CONTENT_TYPE, Registry.PROMETHEUS_CONTENT_TYPE);
});
