/**
 * The ops area: what an operator needs to run despacito — Prometheus
 * metrics, the load gauge and the webhook admission cap, the hash-chained
 * audit trail other areas record into (through the AuditSink port),
 * deployment notifications (and package holds the pipeline makes), the
 * state export and the OpenAPI document of
 * the whole route table. It follows deployments
 * through deploy's status port and never imports another area. Built first
 * by src/areas.ts so every other area gets its audit sink. No I/O at import.
 */

import type { AuditSink } from "../core/audit.ts";
import type { Area, AreaContext } from "../http/area.ts";
import type { Access, RouteDef } from "../http/types.ts";
import { VERSION_INFO } from "../version.ts";
import { createAuditSink } from "./audit_store.ts";
import { createHoldWatcher } from "./holds.ts";
import { createLoadGauge } from "./load.ts";
import { createMetrics, type StatusChange } from "./metrics.ts";
import { createNotifier, type DeploymentChange } from "./notifier.ts";
import { opsMiddleware } from "./middleware.ts";
import { opsRoutes } from "./routes.ts";

export interface OpsArea<P> extends Area<P> {
  audit: AuditSink;
  /** Wired by src/areas.ts once deploy exists: deployment status changes feed the metrics. */
  followDeployments(
    subscribe: (fn: (e: StatusChange & DeploymentChange) => void) => () => void,
  ): void;
}

const METRICS_ACCESS: Record<string, Access | undefined> = {
  public: "public",
  token: "token",
  off: undefined,
};

export async function createOpsArea<P>(ctx: AreaContext): Promise<OpsArea<P>> {
  const { config, sql } = ctx;
  const log = ctx.log.child({ component: "ops" });
  const metricsAccess = METRICS_ACCESS[config.metrics];
  const metrics = metricsAccess
    ? createMetrics({
      sql,
      version: VERSION_INFO,
      poolSize: config.postgresPoolSize,
      connections: ctx.connections,
    })
    : undefined;
  const load = createLoadGauge({
    sql,
    log,
    limits: { queueLimit: config.queueLimit, waitingLimit: config.webhookWaitingLimit },
  });
  const notifier = await createNotifier({
    sql,
    log,
    configFile: config.configFile,
    secrets: config.notifySecrets,
    attempts: config.notifyAttempts,
    backoffMs: config.notifyBackoffMs,
    timeoutMs: config.notifyTimeoutMs,
    baseUrl: config.baseUrl,
    userAgent: `despacito/${VERSION_INFO.version}`,
  });
  const audit = createAuditSink(sql, log);
  const holds = createHoldWatcher<StatusChange & DeploymentChange>({
    sql,
    audit,
    log,
    onHeld: (e) => notifier.handle(e, "held"),
  });
  let routeTable: RouteDef<P>[] = [];
  let openapi: Promise<unknown> | undefined;
  let unsubscribe: (() => void) | undefined;

  return {
    name: "ops",
    audit,
    routes: opsRoutes({
      sql,
      metrics,
      metricsAccess: metricsAccess ?? "token",
      load,
      // The schemas (a large module) are loaded on the first request for the document.
      openapi: () =>
        openapi ??= import("./openapi.ts").then((m) =>
          m.buildOpenApi(routeTable, VERSION_INFO.version)
        ),
    }),
    middleware: [opsMiddleware({ metrics, load, waitingLimit: config.webhookWaitingLimit })],
    withRouteTable(routes) {
      routeTable = routes;
      openapi = undefined;
    },
    followDeployments(subscribe) {
      unsubscribe = subscribe((e) => {
        metrics?.deploymentChanged(e);
        notifier.handle(e);
        // A failed deployment whose nodes went back: its own notification.
        if (e.finishedAt && e.rollback?.status === "ok") notifier.handle(e, "rolled_back");
        holds.handle(e);
      });
    },
    start() {
      load.start();
      notifier.start();
    },
    async stop(deadline) {
      load.stop();
      unsubscribe?.();
      await holds.settled(deadline);
      await notifier.stop(deadline);
    },
  };
}
