/**
 * An area is one domain's contribution to the running server: its routes
 * and, when it has background work (the deploy worker, forge status posts),
 * how to start it and how to stop it within the shutdown deadline. What an
 * area adds to the plumbing itself (sign-in's access guard, the UI's
 * fallback page) it returns beside its Area, and the composition root
 * (src/areas.ts) hands it to createApp by name.
 */

import type { MiddlewareHandler } from "hono";
import type { Config } from "../config/config.ts";
import type { AuditSink } from "../core/audit.ts";
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";
import type { RouteDef, RouteEnv } from "./types.ts";
import type { GuardStats } from "./conn_guard.ts";

export interface Area<P> {
  name: string;
  routes: RouteDef<P>[];
  /**
   * Work that needs no database, begun by the server while it migrates the schema, before
   * start() (deploy: probing git, nix and colmena). Never called by tests that only build areas.
   */
  prepare?(): void;
  start?(): void | Promise<void>;
  /** Finish or abandon work; `deadline` aborts when the shutdown timeout is up. */
  stop?(deadline: AbortSignal): Promise<void>;
  /** Why this area cannot do its work now (for /health/ready), or undefined when it can. */
  readiness?(): Promise<string | undefined>;
  /** Facts /health/ready reports beside its status, never a reason to fail it (deploy: the remote). */
  readyInfo?(): Promise<Record<string, unknown>>;
  /** Middleware run on every request, before routing (ops: metrics, load header, admission). */
  middleware?: MiddlewareHandler<RouteEnv<P>>[];
  /** Handed the complete route table once the app is composed (ops: OpenAPI). */
  withRouteTable?(routes: RouteDef<P>[]): void;
}

/** What every area factory may use. */
export interface AreaContext {
  config: Readonly<Config>;
  log: Logger;
  sql: Sql;
  /** Aborted when shutdown begins; long-lived streams (SSE, waiting webhooks) end on it. */
  stopping: AbortSignal;
  /** Where state-changing actions are recorded; buildAreas sets the ops area's audit trail. */
  audit?: AuditSink;
  /** The connection guard's counts (src/http/conn_guard.ts), once listening; for the metrics. */
  connections?: () => GuardStats | undefined;
}
