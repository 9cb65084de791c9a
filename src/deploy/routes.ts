/**
 * The deploy area's routes, top to bottom: the webhook machines call, then
 * the read API the UI and operators use. Handlers parse, call the domain
 * and answer; statuses for domain errors come from src/http/errors.ts.
 */

import { DomainError, invalidRequest } from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import type { Sql } from "../db/connect.ts";
import type { RequestAudit } from "../http/audit.ts";
import { readJsonObject } from "../http/json.ts";
import type { AppContext, RouteContext, RouteDef } from "../http/types.ts";
import type { Principal } from "../auth/principal.ts";
import type { Bus } from "../events/bus.ts";
import {
  deploymentJson,
  type DeploymentRow,
  type DeploymentStatus,
  STATUSES,
} from "./deployment.ts";
import { formatSource } from "./flake_ref.ts";
import type { InputsReader } from "./inputs.ts";
import type { DeployService } from "./service.ts";
import { sseRoute } from "./sse.ts";
import {
  type DeployEvent,
  type EnqueueResult,
  getDeployment,
  lastDeployments,
  listDeployments,
  outputLines,
  packageStates,
} from "./store.ts";
import { holds, type NodeStateRow, nodeStates } from "./fleet_store.ts";
import type { Fleet } from "./fleet.ts";
import { DriftCheckError } from "./drift.ts";
import { parseWebhook, validatePackageName, validateVersion, WEBHOOK_FIELDS } from "./validate.ts";
import type { Worker } from "./worker.ts";

export interface RouteDeps {
  sql: Sql;
  bus: Bus<DeployEvent>;
  service: DeployService;
  worker: Worker | undefined;
  inputs: InputsReader | undefined;
  schemes: readonly string[];
  stopping: AbortSignal;
  audit: RequestAudit;
  /** Opens a paused deployment's promotion gate; false when it is not waiting at one. */
  /** May ask the leader (DESPACITO_HA): the gate is in its memory. */
  promote: (id: string, by: string) => boolean | Promise<boolean>;
  /** Drift checks; undefined without a flake dir. */
  fleet: Fleet | undefined;
}

function mayDeploy(p: Principal | undefined, pkg: string): boolean {
  return p?.kind !== "token" || p.token.packages === null || p.token.packages.includes(pkg);
}

function forbidden(pkg: string) {
  return new DomainError("forbidden", "package_not_allowed", `this token may not deploy ${pkg}`);
}

/** The `:name` of a package route, valid and one the caller may deploy (else 400 / 403). */
function allowedPackage(c: RouteContext<Principal>): string {
  const pkg = c.req.param("name") ?? "";
  const bad = validatePackageName(pkg);
  if (bad) throw invalidRequest([{ field: "name", message: bad }]);
  if (!mayDeploy(c.get("principal"), pkg)) throw forbidden(pkg);
  return pkg;
}

function triggerOf(p: Principal | undefined) {
  if (p?.kind === "session") {
    return {
      kind: "session" as const,
      id: p.user.id,
      label: p.user.username ?? p.user.email ?? p.user.subject,
    };
  }
  return {
    kind: "token" as const,
    id: p?.kind === "token" ? p.token.id : "",
    label: p?.kind === "token" ? p.token.description : "",
  };
}

function wantsAsync(c: AppContext): boolean {
  const wait = c.req.query("wait");
  if (wait !== undefined && wait !== "true" && wait !== "false") {
    throw invalidRequest([{ field: "wait", message: "must be true or false" }]);
  }
  return wait === "false" || /\brespond-async\b/i.test(c.req.header("prefer") ?? "");
}

async function requireDeployment(sql: Sql, id: string): Promise<DeploymentRow> {
  const row = await getDeployment(sql, id);
  if (!row) throw new DomainError("not_found", "deployment_not_found", "no such deployment");
  return row;
}

/** 202 + Location for a newly queued deployment; 409 with the existing one otherwise. */
function queuedAnswer(c: AppContext, r: EnqueueResult) {
  const d = r.deployment;
  const ids = { package: d.package, version: d.version, deployment_id: d.id, kind: d.kind };
  if (r.outcome !== "queued") return c.json({ status: r.outcome, ...ids }, 409);
  c.header("Location", `/api/deployments/${d.id}`);
  return c.json({ status: "queued", ...ids }, 202);
}

export function deployRoutes(deps: RouteDeps): RouteDef<Principal>[] {
  const { sql, service } = deps;
  return [
    {
      method: "POST",
      path: "/webhook",
      access: "token",
      summary: "deploy a package version (waits for the outcome unless asked not to)",
      handler: async (c) => {
        const async = wantsAsync(c);
        const req = parseWebhook(await readJsonObject(c, WEBHOOK_FIELDS), deps.schemes);
        const principal = c.get("principal");
        if (!mayDeploy(principal, req.package)) throw forbidden(req.package);
        // The audit row is written by the admission's own statement when it queues.
        const id = crypto.randomUUID();
        const requested = {
          action: "deployment.requested" as const,
          target: `deployment:${id}`,
          details: { package: req.package, version: req.version, flake_ref: req.flakeRef },
        };
        const audit = deps.audit.prepare?.(c, requested);
        const r = await service.request({
          ...req,
          trigger: triggerOf(principal),
          tokenId: principal?.kind === "token" ? principal.token.id : undefined,
          id,
          audit,
        });
        const d = r.deployment;
        const ids = { package: d.package, version: d.version, deployment_id: d.id };
        if (r.outcome !== "queued") return c.json({ status: r.outcome, ...ids }, 409);
        if (!audit) await deps.audit(c, requested);
        const location = `/api/deployments/${d.id}`;
        if (async) {
          c.header("Location", location);
          return c.json({ status: "queued", ...ids }, 202);
        }
        // The deployment goes on whether or not this client stays.
        const end = await service.waitForOutcome(d.id, c.req.raw.signal);
        if (!end) {
          c.header("Location", location);
          c.header("Retry-After", "30");
          return c.json({
            status: "queued",
            ...ids,
            error:
              "despacito is shutting down; the deployment will run or be resolved after restart",
          }, 503);
        }
        if (end.status === "deployed") return c.json({ status: "deployed", ...ids }, 200);
        if (end.status === "superseded") {
          return c.json({ status: "superseded", ...ids, superseded_by: end.supersededBy }, 409);
        }
        return c.json({ status: end.status, ...ids, error: end.error }, 500);
      },
    },
    {
      method: "GET",
      path: "/api/deployments",
      access: "authenticated",
      summary: "deployments, newest first (filters: package, status, version, node; paged)",
      handler: async (c) => {
        const q = parseListQuery(c);
        const rows = await listDeployments(sql, { ...q, limit: q.limit + 1 });
        const page = rows.slice(0, q.limit);
        const next = rows.length > q.limit ? encodeCursor(page[page.length - 1].arrival) : null;
        return c.json({ deployments: page.map(deploymentJson), next_cursor: next });
      },
    },
    {
      method: "GET",
      path: "/api/deployments/:id",
      access: "authenticated",
      summary: "one deployment: request, steps, nodes, outcome",
      handler: async (c) =>
        c.json(deploymentJson(await requireDeployment(sql, c.req.param("id") ?? ""))),
    },
    {
      method: "GET",
      path: "/api/deployments/:id/log",
      access: "authenticated",
      summary: "the deployment's captured output as text",
      handler: async (c) => {
        const row = await requireDeployment(sql, c.req.param("id") ?? "");
        const lines = (await outputLines(sql, row.id)).map((e) => e.line);
        c.header("Content-Type", "text/plain; charset=utf-8");
        return c.body(lines.length ? lines.join("\n") + "\n" : "");
      },
    },
    {
      method: "GET",
      path: "/api/deployments/:id/lines",
      access: "authenticated",
      summary: "the deployment's captured lines as JSON, each with its stream and time",
      handler: async (c) => {
        const row = await requireDeployment(sql, c.req.param("id") ?? "");
        // The same shape as the SSE `log` event, so a reload paints stderr as stderr.
        const lines = (await outputLines(sql, row.id)).map((e) => ({
          seq: e.seq,
          stream: e.stream,
          line: e.line,
          at: e.at.toISOString(),
        }));
        return c.json({ lines });
      },
    },
    sseRoute({ sql, bus: deps.bus, stopping: deps.stopping }),
    {
      method: "POST",
      path: "/api/deployments/:id/cancel",
      access: "authenticated",
      summary: "cancel a queued or running deployment",
      handler: async (c) => {
        const row = await requireDeployment(sql, c.req.param("id") ?? "");
        if (!mayDeploy(c.get("principal"), row.package)) throw forbidden(row.package);
        const r = deps.worker
          ? await deps.worker.cancel(row.id)
          : { result: "finished" as const, row };
        if (r.result === "not_found") {
          throw new DomainError("not_found", "deployment_not_found", "no such deployment");
        }
        if (r.result === "finished") {
          throw new DomainError("conflict", "already_finished", "the deployment already ended", {
            extra: { status: r.row?.status ?? row.status, deployment_id: row.id },
          });
        }
        await deps.audit(c, {
          action: "deployment.cancelled",
          target: `deployment:${row.id}`,
          details: { package: row.package, version: row.version, result: r.result },
        });
        return c.json({ status: r.result, deployment_id: row.id }, 202);
      },
    },
    {
      method: "POST",
      path: "/api/deployments/:id/promote",
      access: "authenticated",
      summary: "let a deployment paused after a manual stage go on to the next stage",
      handler: async (c) => {
        const row = await requireDeployment(sql, c.req.param("id") ?? "");
        if (!mayDeploy(c.get("principal"), row.package)) throw forbidden(row.package);
        const t = triggerOf(c.get("principal"));
        if (!(await deps.promote(row.id, `${t.kind} ${t.label}`))) {
          throw new DomainError(
            "conflict",
            "not_awaiting_promotion",
            `deployment ${row.id} is ${row.status} and not waiting for promotion`,
            { extra: { status: row.status, deployment_id: row.id } },
          );
        }
        await deps.audit(c, {
          action: "deployment.promoted",
          target: `deployment:${row.id}`,
          details: { package: row.package, version: row.version },
        });
        return c.json({ status: "promoting", deployment_id: row.id }, 202);
      },
    },
    {
      method: "POST",
      path: "/api/deployments/:id/retry",
      access: "authenticated",
      summary: "run a failed, cancelled or interrupted deployment's request again",
      handler: async (c) => {
        const row = await requireDeployment(sql, c.req.param("id") ?? "");
        const principal = c.get("principal");
        if (!mayDeploy(principal, row.package)) throw forbidden(row.package);
        const r = await service.retry(row, triggerOf(principal));
        if (r.outcome === "queued") {
          await deps.audit(c, {
            action: "deployment.retried",
            target: `deployment:${r.deployment.id}`,
            details: { package: row.package, version: row.version, retry_of: row.id },
          });
        }
        return queuedAnswer(c, r);
      },
    },
    {
      method: "POST",
      path: "/api/packages/:name/rollback",
      access: "authenticated",
      summary: "roll a package back to an earlier deployment that ended deployed",
      handler: async (c) => {
        const pkg = allowedPackage(c);
        const principal = c.get("principal");
        const body = await readJsonObject(c, ["deployment_id"]);
        const to = body.deployment_id;
        if (typeof to !== "string" || !isUuid(to)) {
          throw invalidRequest([{ field: "deployment_id", message: "required, a deployment id" }]);
        }
        const r = await service.rollback(pkg, to, triggerOf(principal));
        if (r.outcome === "queued") {
          await deps.audit(c, {
            action: "deployment.rolled_back",
            target: `deployment:${r.deployment.id}`,
            details: { package: pkg, version: r.deployment.version, rollback_to: to },
          });
        }
        return queuedAnswer(c, r);
      },
    },
    {
      method: "POST",
      path: "/api/packages/:name/release",
      access: "authenticated",
      summary: "release a package held after a failed rollback",
      handler: async (c) => {
        const pkg = allowedPackage(c);
        const hold = await service.release(pkg);
        await deps.audit(c, {
          action: "package.released",
          target: `package:${pkg}`,
          details: { held_by: hold.deploymentId, reason: hold.reason },
        });
        return c.json({
          status: "released",
          package: pkg,
          held_by: hold.deploymentId,
          reason: hold.reason,
        });
      },
    },
    {
      method: "GET",
      path: "/api/nodes",
      access: "authenticated",
      summary: "each node: what despacito activated there, what it should and does run (drift)",
      handler: async (c) => c.json({ nodes: (await nodeStates(sql)).map(nodeJson) }),
    },
    {
      method: "POST",
      path: "/api/nodes/refresh",
      access: "authenticated",
      summary: "compare every node's running system with the flake's HEAD now (drift check)",
      handler: async (c) => {
        if (!deps.fleet) {
          throw new DomainError(
            "unavailable",
            "flake_dir_unset",
            "drift checks are off: DESPACITO_FLAKE_DIR is not configured",
          );
        }
        try {
          await deps.fleet.refresh();
        } catch (e) {
          if (!(e instanceof DriftCheckError)) throw e;
          throw new DomainError("unavailable", "drift_check_failed", e.message, { cause: e });
        }
        return c.json({ nodes: (await nodeStates(sql)).map(nodeJson) });
      },
    },
    {
      method: "GET",
      path: "/api/packages",
      access: "authenticated",
      summary: "each flake input: declared source, locked rev, current version, last deployment",
      handler: async (c) => {
        const list = deps.inputs ? await listInputs(deps.inputs) : [];
        const states = new Map((await packageStates(sql)).map((s) => [s.package, s]));
        const held = new Map((await holds(sql)).map((h) => [h.package, h]));
        const last = new Map((await lastDeployments(sql)).map((l) => [l.package, l]));
        return c.json({
          packages: list.map((i) => {
            const s = states.get(i.name);
            return {
              name: i.name,
              declared_url: i.declaredUrl,
              locked_rev: i.lockedRev,
              current_version: s?.version ?? null,
              store_path: s?.nixStorePath ?? null,
              deployed_at: s?.deployedAt.toISOString() ?? null,
              deployment_id: s?.deploymentId ?? null,
              last_status: last.get(i.name)?.status ?? null,
              last_deployment_id: last.get(i.name)?.id ?? null,
              held: held.has(i.name)
                ? {
                  deployment_id: held.get(i.name)!.deploymentId,
                  reason: held.get(i.name)!.reason,
                  held_at: held.get(i.name)!.heldAt.toISOString(),
                }
                : null,
            };
          }),
        });
      },
    },
  ];
}

async function listInputs(inputs: InputsReader) {
  const all = await inputs.list().catch((e) => {
    throw new DomainError("unavailable", "flake_dir_unusable", (e as Error).message, { cause: e });
  });
  return all.map((i) => ({
    name: i.name,
    declaredUrl: formatSource(i.declared),
    lockedRev: i.lockedRev,
  }));
}

function parseListQuery(c: AppContext) {
  const problems: { field: string; message: string }[] = [];
  const pkg = c.req.query("package");
  if (pkg !== undefined) {
    const p = validatePackageName(pkg);
    if (p) problems.push({ field: "package", message: p });
  }
  let statuses: DeploymentStatus[] | undefined;
  const st = c.req.query("status");
  if (st !== undefined) {
    statuses = st.split(",").map((s) => s.trim()).filter(Boolean) as DeploymentStatus[];
    const bad = statuses.filter((s) => !STATUSES.includes(s));
    if (bad.length || statuses.length === 0) {
      problems.push({ field: "status", message: `comma list of ${STATUSES.join(", ")}` });
    }
  }
  const version = c.req.query("version");
  if (version !== undefined) {
    const v = validateVersion(version);
    if (v) problems.push({ field: "version", message: v });
  }
  const node = c.req.query("node");
  if (node !== undefined && !NODE_NAME.test(node)) {
    problems.push({ field: "node", message: "a node name (letters, digits, . _ -; at most 253)" });
  }
  const limitText = c.req.query("limit") ?? "50";
  const limit = /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= 200)) problems.push({ field: "limit", message: "1 to 200" });
  const cursor = c.req.query("cursor");
  const before = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && before === undefined) {
    problems.push({ field: "cursor", message: "not a cursor this server returned" });
  }
  if (problems.length) throw invalidRequest(problems);
  return { package: pkg, statuses, versionContains: version, node, limit, before };
}

/** A colmena node name as the hive declares it (a host name, or a name like `web-1`). */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function encodeCursor(arrival: number): string {
  return btoa(`a:${arrival}`).replace(/=+$/, "");
}

function decodeCursor(s: string): number | undefined {
  try {
    const m = /^a:(\d{1,15})$/.exec(atob(s));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function nodeJson(n: NodeStateRow) {
  return {
    node: n.node,
    tags: n.tags,
    commit: n.commitSha,
    deployment_id: n.deploymentId,
    activated_at: n.activatedAt?.toISOString() ?? null,
    outcome: n.outcome,
    packages: n.packages,
    expected_system: n.expectedSystem,
    running_system: n.runningSystem,
    drift: n.drift,
    reachable: n.reachable,
    checked_at: n.checkedAt?.toISOString() ?? null,
  };
}
