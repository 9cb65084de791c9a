/**
 * The ops area's routes, top to bottom: Prometheus metrics, the load
 * gauge, the audit trail and its verification, the OpenAPI document.
 * Handlers parse, call the domain and answer.
 */

import { DomainError } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Access, RouteDef } from "../http/types.ts";
import { auditJson, listAudit, verifyAudit } from "./audit_store.ts";
import { parseAuditQuery } from "./audit_query.ts";
import type { LoadGauge } from "./load.ts";
import type { Metrics } from "./metrics.ts";
import { notificationJson, notificationsOf } from "./notify_store.ts";
import { exportState, stateYaml } from "./state.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OpsRouteDeps {
  sql: Sql;
  metrics: Metrics | undefined;
  metricsAccess: Access;
  load: LoadGauge;
  /** The OpenAPI document, built lazily from the complete route table. */
  openapi: () => Promise<unknown>;
}

export function opsRoutes<P>(d: OpsRouteDeps): RouteDef<P>[] {
  const routes: RouteDef<P>[] = [];
  const metrics = d.metrics;
  if (metrics) {
    routes.push({
      method: "GET",
      path: "/metrics",
      access: d.metricsAccess,
      summary: "Prometheus metrics (text exposition format)",
      handler: async (c) => {
        const body = await metrics.text();
        return c.body(body, 200, { "Content-Type": metrics.contentType });
      },
    });
  }
  routes.push(
    {
      method: "GET",
      path: "/api/health/load",
      access: "public",
      summary: "the load gauge: level, queue, waiting clients, latency percentiles",
      handler: (c) => c.json(d.load.snapshot()),
    },
    {
      method: "GET",
      path: "/api/audit",
      access: "manage",
      summary: "audit trail, newest first (filters: action, actor, target, since, until; cursor)",
      handler: async (c) => {
        const f = parseAuditQuery(c.req.query());
        const rows = await listAudit(d.sql, { ...f, limit: f.limit + 1 });
        const page = rows.slice(0, f.limit);
        const next = rows.length > f.limit ? String(page[page.length - 1].id) : null;
        return c.json({ entries: page.map(auditJson), next_cursor: next });
      },
    },
    {
      method: "GET",
      path: "/api/audit/verify",
      access: "manage",
      summary: "walk the audit hash chain; names the first edited, deleted or reordered row",
      handler: async (c) => {
        const r = await verifyAudit(d.sql);
        return c.json({
          ok: r.ok,
          rows: r.rows,
          head: r.head,
          problem: r.problem
            ? { row_id: r.problem.rowId, kind: r.problem.kind, message: r.problem.message }
            : null,
        });
      },
    },
    {
      method: "GET",
      path: "/api/deployments/:id/notifications",
      access: "authenticated",
      summary: "notifications sent for a deployment, with every attempt",
      handler: async (c) => {
        const id = c.req.param("id") ?? "";
        if (!UUID.test(id)) {
          throw new DomainError("not_found", "deployment_not_found", "no such deployment");
        }
        const list = await notificationsOf(d.sql, id);
        return c.json({ notifications: list.map(notificationJson) });
      },
    },
    {
      method: "GET",
      path: "/api/state/export",
      access: "manage",
      summary: "the configured state as YAML, without secrets (as `despacito state export`)",
      handler: async (c) =>
        c.body(await stateYaml(await exportState(d.sql)), 200, {
          "Content-Type": "application/yaml; charset=utf-8",
        }),
    },
    {
      method: "GET",
      path: "/api/openapi.json",
      access: "public",
      summary: "this API as an OpenAPI 3.1 document",
      handler: async (c) => c.json(await d.openapi()),
    },
  );
  return routes;
}
