/**
 * Prometheus metrics (prom-client): one registry per server, never the
 * library's global one. Counters and histograms are fed by events (HTTP
 * middleware, deployment status changes); gauges about durable state
 * (queue depth, running age, status posts, database connections) are read
 * from PostgreSQL at scrape time, so they are right after a restart and
 * agree between instances. README, "Metrics", lists every name here.
 *
 * prom-client is loaded on the first scrape, not at start: start-up work a
 * server nobody scrapes never needs (measured together with yaml, the forge
 * area and the OpenAPI schemas left out: bench/README.md, "start → ready").
 * Until then every recording call is kept, in order, in a short list and
 * replayed into the registry when it is built, so the first scrape shows
 * exactly what it would have shown with prom-client loaded from the start.
 * The list is bounded: at PENDING_LIMIT calls prom-client is loaded without
 * waiting for a scrape (a busy server that is not scraped holds the registry,
 * as before, instead of an ever longer list).
 */

import type * as Prom from "prom-client";
import type { Sql } from "../db/connect.ts";
import type { GuardStats } from "../http/conn_guard.ts";
import type { VersionInfo } from "../version.ts";

type Registry = Prom.Registry;
type Gauge<L extends string> = Prom.Gauge<L>;

/** The four prom-client classes despacito uses. */
export interface PromClient {
  Registry: typeof Prom.Registry;
  Counter: typeof Prom.Counter;
  Gauge: typeof Prom.Gauge;
  Histogram: typeof Prom.Histogram;
}

/**
 * Loads the four classes by file: the package's index also loads its Pushgateway (node's http
 * and https) and cluster support, code despacito never uses.
 */
export async function loadPromClient(): Promise<PromClient> {
  const [registry, counter, gauge, histogram] = await Promise.all([
    import("prom-client/lib/registry.js"),
    import("prom-client/lib/counter.js"),
    import("prom-client/lib/gauge.js"),
    import("prom-client/lib/histogram.js"),
  ]);
  return {
    Registry: registry.default as typeof Prom.Registry,
    Counter: counter.default as typeof Prom.Counter,
    Gauge: gauge.default as typeof Prom.Gauge,
    Histogram: histogram.default as typeof Prom.Histogram,
  };
}

/** The Prometheus text format prom-client writes (its Registry.PROMETHEUS_CONTENT_TYPE). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Recording calls kept before prom-client is loaded; reaching it loads prom-client. */
const PENDING_LIMIT = 1000;

export interface StatusChange {
  package: string;
  status: string;
  steps: { name: string; status: string; duration_ms: number | null }[];
  nodes: { status: string }[];
  /** deploy, or rollback (requested by an operator). */
  kind: string;
  checks: { kind: string; result: string }[];
  /** The fleet rollback after a failure, when there was one. */
  rollback: { status: string } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The recording calls (cheap and synchronous). */
export interface MetricsRecorder {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  inFlight(route: string, delta: 1 | -1): void;
  sse(delta: 1 | -1): void;
  deploymentChanged(e: StatusChange): void;
}

export interface Metrics extends MetricsRecorder {
  /** The exposition, for GET /metrics (loads prom-client on the first call). */
  text(): Promise<string>;
  /** The Content-Type of text()'s answer. */
  contentType: string;
  /** The registry, prom-client loaded first when needed (tests, the README check). */
  registry(): Promise<Registry>;
}

export interface MetricsOptions {
  sql: Sql;
  version: VersionInfo;
  poolSize: number;
  /** The connection guard's counts, read at scrape time. */
  connections?: () => GuardStats | undefined;
  /** How prom-client is loaded (tests count the loads); loadPromClient by default. */
  load?: () => Promise<PromClient>;
  /** Recording calls kept before prom-client is loaded anyway; PENDING_LIMIT by default. */
  pendingLimit?: number;
}

const TERMINAL = new Set(["deployed", "failed", "superseded", "cancelled", "interrupted"]);
// Steps run from seconds (commit) to the deploy timeout (activate, 30m by default).
const STEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export function createMetrics(o: MetricsOptions): Metrics {
  const pendingLimit = o.pendingLimit ?? PENDING_LIMIT;
  let built: { registry: Registry; record: MetricsRecorder } | undefined;
  let loading: Promise<{ registry: Registry; record: MetricsRecorder }> | undefined;
  let pending: ((r: MetricsRecorder) => void)[] = [];
  const load = () =>
    loading ??= (o.load ?? loadPromClient)().then((lib) => {
      const b = buildRegistry(lib, o);
      // Synchronously, so nothing recorded meanwhile is lost or reordered. A call prom-client
      // refuses is skipped, as it would have thrown at its call site: the rest still counts.
      for (const call of pending) {
        try {
          call(b.record);
        } catch { /* skipped */ }
      }
      pending = [];
      built = b;
      return b;
    }, (e) => {
      loading = undefined;
      throw e;
    });
  /** Before prom-client is loaded: keeps a call for the replay. */
  const keep = (call: (r: MetricsRecorder) => void) => {
    pending.push(call);
    // The load continues in the background; a failure shows at the next scrape.
    if (pending.length >= pendingLimit) load().catch(() => {});
  };
  // Once loaded, each call goes straight to prom-client (no closure on the request path).
  return {
    observeRequest(method, route, status, seconds) {
      if (built) built.record.observeRequest(method, route, status, seconds);
      else keep((r) => r.observeRequest(method, route, status, seconds));
    },
    inFlight(route, delta) {
      if (built) built.record.inFlight(route, delta);
      else keep((r) => r.inFlight(route, delta));
    },
    sse(delta) {
      if (built) built.record.sse(delta);
      else keep((r) => r.sse(delta));
    },
    deploymentChanged(e) {
      // Only final statuses count. Kept for later as a copy of what counts, not the event itself.
      if (!TERMINAL.has(e.status)) return;
      if (built) return built.record.deploymentChanged(e);
      const copy = countedPart(e);
      keep((r) => r.deploymentChanged(copy));
    },
    text: async () => await (await load()).registry.metrics(),
    contentType: METRICS_CONTENT_TYPE,
    registry: async () => (await load()).registry,
  };
}

function countedPart(e: StatusChange): StatusChange {
  return {
    package: e.package,
    status: e.status,
    kind: e.kind,
    steps: e.steps.map((s) => ({ name: s.name, status: s.status, duration_ms: s.duration_ms })),
    nodes: e.nodes.map((n) => ({ status: n.status })),
    checks: e.checks.map((c) => ({ kind: c.kind, result: c.result })),
    rollback: e.rollback && { status: e.rollback.status },
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
  };
}

/** The registry with every metric, and the calls that record into it. */
function buildRegistry(
  lib: PromClient,
  o: MetricsOptions,
): { registry: Registry; record: MetricsRecorder } {
  const { Registry, Counter, Gauge, Histogram } = lib;
  const registry = new Registry();
  const registers = [registry];
  const { sql } = o;

  new Gauge({
    name: "despacito_build_info",
    help: "Version and commit of the running despacito (always 1).",
    labelNames: ["version", "commit"],
    registers,
  }).set({ version: o.version.version, commit: o.version.commit }, 1);

  const dbErrors = new Counter({
    name: "despacito_metrics_database_errors_total",
    help: "Scrapes in which a database-backed gauge could not be read (it kept its last value).",
    registers,
  });
  // A gauge read from the database at scrape time. When the database does not answer, the
  // gauge keeps its last value and the scrape still succeeds: readiness is where outages show.
  const fromDb = <L extends string>(read: (g: Gauge<L>) => Promise<void>) =>
    async function (this: Gauge<L>) {
      try {
        await read(this);
      } catch {
        dbErrors.inc();
      }
    };
  const requests = new Counter({
    name: "despacito_http_requests_total",
    help: "HTTP requests answered, by method, route template and status.",
    labelNames: ["method", "route", "status"],
    registers,
  });
  const duration = new Histogram({
    name: "despacito_http_request_duration_seconds",
    help: "Time to the response head, by method and route template.",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const inFlight = new Gauge({
    name: "despacito_http_requests_in_flight",
    help: "Requests being handled now, by route template (waiting webhook clients included).",
    labelNames: ["route"],
    registers,
  });
  // The connection guard keeps plain counters; they are copied in at scrape time.
  const conn = o.connections ?? (() => undefined);
  new Gauge({
    name: "despacito_http_connections_open",
    help: "Client connections open now (DESPACITO_MAX_CONNECTIONS is the cap).",
    registers,
    collect() {
      const s = conn();
      if (s) this.set(s.open);
    },
  });
  new Counter({
    name: "despacito_http_connections_refused_total",
    help:
      "Connections answered 503 too_many_connections because DESPACITO_MAX_CONNECTIONS were open.",
    registers,
    collect() {
      const s = conn();
      if (s) this.reset(), this.inc(s.refused);
    },
  });
  new Counter({
    name: "despacito_http_connections_timed_out_total",
    help: "Connections closed by the header timeout (a request head too slow) or the idle timeout.",
    labelNames: ["timeout"],
    registers,
    collect() {
      const s = conn();
      if (!s) return;
      this.reset();
      this.inc({ timeout: "header" }, s.headerTimeouts);
      this.inc({ timeout: "idle" }, s.idleTimeouts);
    },
  });
  const sse = new Gauge({
    name: "despacito_sse_subscribers",
    help: "Open server-sent event streams.",
    registers,
  });
  const deployments = new Counter({
    name: "despacito_deployments_total",
    help: "Deployments that reached a final status, by package and outcome.",
    labelNames: ["package", "outcome"],
    registers,
  });
  const steps = new Histogram({
    name: "despacito_deployment_step_duration_seconds",
    help: "Duration of finished deployment steps, by step and status.",
    labelNames: ["step", "status"],
    buckets: STEP_BUCKETS,
    registers,
  });
  const total = new Histogram({
    name: "despacito_deployment_duration_seconds",
    help: "From start to final status of deployments that ran, by outcome.",
    labelNames: ["outcome"],
    buckets: STEP_BUCKETS,
    registers,
  });
  const nodes = new Counter({
    name: "despacito_node_outcomes_total",
    help: "Per-node results of finished deployments, by node status.",
    labelNames: ["status"],
    registers,
  });
  const checks = new Counter({
    name: "despacito_checks_total",
    help: "Post-activation checks of finished deployments, by check kind and result.",
    labelNames: ["kind", "result"],
    registers,
  });
  const rollbacks = new Counter({
    name: "despacito_fleet_rollbacks_total",
    help: "Fleet rollbacks after a failed deployment, by outcome (ok, failed, skipped).",
    labelNames: ["outcome"],
    registers,
  });
  const requestedRollbacks = new Counter({
    name: "despacito_rollback_deployments_total",
    help: "Rollbacks operators requested that reached a final status, by package and outcome.",
    labelNames: ["package", "outcome"],
    registers,
  });

  new Gauge({
    name: "despacito_packages_held",
    help: "Packages held after a failed rollback or by on_failure: hold (deploys refused).",
    registers,
    collect: fromDb(async (g) => {
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from package_hold`;
      g.set(r.n);
    }),
  });
  new Gauge({
    name: "despacito_nodes",
    help: "Nodes by their last drift check: in_sync, drifted, unreachable, unchecked.",
    labelNames: ["state"],
    registers,
    collect: fromDb(async (g) => {
      const rows = await sql<{ state: string; n: number }[]>`
        select case when reachable is null then 'unchecked'
                    when not reachable then 'unreachable'
                    when drift then 'drifted'
                    when drift is null then 'unchecked'
                    else 'in_sync' end as state,
               count(*)::int as n
        from node_state group by 1`;
      g.reset();
      for (const r of rows) g.set({ state: r.state }, r.n);
    }),
  });
  new Gauge({
    name: "despacito_drift_checks",
    help: "Drift checks recorded (node_check), all nodes of one check counting once.",
    registers,
    collect: fromDb(async (g) => {
      const [r] = await sql<{ n: number }[]>`
        select count(distinct checked_at)::int as n from node_check`;
      g.set(r.n);
    }),
  });
  new Gauge({
    name: "despacito_queue_depth",
    help: "Deployments queued and not yet started.",
    registers,
    collect: fromDb(async (g) => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from deployments where status = 'queued'`;
      g.set(r.n);
    }),
  });
  new Gauge({
    name: "despacito_running_deployment_age_seconds",
    help: "Age of the running deployment (0 when none runs).",
    registers,
    collect: fromDb(async (g) => {
      const [r] = await sql<{ s: number | null }[]>`
        select extract(epoch from now() - min(started_at))::float8 as s
        from deployments where status = 'running'`;
      g.set(r.s ?? 0);
    }),
  });
  new Gauge({
    name: "despacito_forge_status_posts",
    help: "Commit statuses posted to forges, by result (pending = still trying).",
    labelNames: ["result"],
    registers,
    collect: fromDb(async (g) => {
      const rows = await sql<{ result: string; n: number }[]>`
        select case when ok then 'ok' when ok is null then 'pending' else 'failed' end as result,
          count(*)::int as n
        from forge_status_post group by 1`;
      for (const result of ["ok", "failed", "pending"]) {
        g.set({ result }, rows.find((r) => r.result === result)?.n ?? 0);
      }
    }),
  });
  new Gauge({
    name: "despacito_database_pool_size",
    help: "Connections the pool may open (DESPACITO_POSTGRES_POOL_SIZE).",
    registers,
  }).set(o.poolSize);
  new Gauge({
    name: "despacito_database_connections",
    help: "Connections open to despacito's database by its user (every instance).",
    registers,
    collect: fromDb(async (g) => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and usename = current_user`;
      g.set(r.n);
    }),
  });

  const record: MetricsRecorder = {
    observeRequest(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
    },
    inFlight(route, delta) {
      inFlight.inc({ route }, delta);
    },
    sse(delta) {
      sse.inc(delta);
    },
    deploymentChanged(e) {
      deployments.inc({ package: e.package, outcome: e.status });
      for (const s of e.steps) {
        if (s.duration_ms !== null) {
          steps.observe({ step: s.name, status: s.status }, s.duration_ms / 1000);
        }
      }
      for (const n of e.nodes) nodes.inc({ status: n.status });
      for (const c of e.checks) checks.inc({ kind: c.kind, result: c.result });
      if (e.rollback) rollbacks.inc({ outcome: e.rollback.status });
      if (e.kind === "rollback") requestedRollbacks.inc({ package: e.package, outcome: e.status });
      if (e.startedAt && e.finishedAt) {
        total.observe(
          { outcome: e.status },
          (e.finishedAt.getTime() - e.startedAt.getTime()) / 1000,
        );
      }
    },
  };
  return { registry, record };
}
