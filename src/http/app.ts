/**
 * Composes the HTTP application: cross-cutting middleware, then every
 * area's route table, each route behind the access guard it declares.
 * Optional areas contribute routes only when configured. This file is the
 * one place to read to know every endpoint despacito serves. It knows no
 * area: the guard (and with it the principal type `P`) and the fallback
 * page are handed in by the composition root (src/areas.ts).
 */

import { Hono } from "hono";
import type { Config } from "../config/config.ts";
import type { Sql } from "../db/connect.ts";
import type { Migration } from "../db/migrate.ts";
import type { Logger } from "../log/log.ts";
import type { VersionInfo } from "../version.ts";
import type { Area } from "./area.ts";
import { notFound, onError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { requestBasics } from "./middleware.ts";
import type { AppContext, Guard, RouteDef, RouteEnv } from "./types.ts";

export interface AppDeps<P> {
  config: Readonly<Config>;
  log: Logger;
  sql: Sql;
  migrations: Migration[];
  version: VersionInfo;
  /** The areas built by buildAreas (sign-in, deploy, forge, UI), in mount order. */
  areas: Area<P>[];
  /** Every route passes through it, chosen by the route's declared access (sign-in's). */
  guard: Guard<P>;
  /** Answers GET requests no route matched outside the API prefixes (the UI's SPA page). */
  fallback?: (c: AppContext) => Response | Promise<Response>;
}

/** Every route despacito serves, in order; the auth matrix test walks this. */
export function routeTable<P>(
  deps: Pick<AppDeps<P>, "sql" | "migrations" | "version" | "areas">,
): RouteDef<P>[] {
  return [
    ...healthRoutes<P>({
      ...deps,
      readiness: deps.areas.flatMap((a) => a.readiness ? [() => a.readiness!()] : []),
      info: deps.areas.flatMap((a) => a.readyInfo ? [() => a.readyInfo!()] : []),
    }),
    ...deps.areas.flatMap((a) => a.routes),
  ];
}

const API_PREFIXES = ["/api", "/auth", "/oauth", "/.well-known", "/webhook", "/health", "/metrics"];

export function createApp<P>(deps: AppDeps<P>): Hono<RouteEnv<P>> {
  const app = new Hono<RouteEnv<P>>();
  app.use(requestBasics({
    log: deps.log,
    hsts: deps.config.baseUrl?.startsWith("https://") ?? false,
    maxBodyBytes: deps.config.maxBodyBytes,
    bodyTimeoutMs: deps.config.bodyTimeoutMs,
  }));
  for (const m of (deps.areas ?? []).flatMap((a) => a.middleware ?? [])) app.use(m);
  app.onError(onError);

  const routes = routeTable(deps);
  for (const a of deps.areas) a.withRouteTable?.(routes);
  for (const r of routes) {
    app.on(r.method, r.path, deps.guard(r.access), ...(r.before ?? []), r.handler);
  }

  const fallback = deps.fallback;
  app.notFound((c) => {
    const p = c.req.path;
    const apiLike = API_PREFIXES.some((x) => p === x || p.startsWith(x + "/"));
    if (!apiLike && fallback && (c.req.method === "GET" || c.req.method === "HEAD")) {
      return fallback(c);
    }
    return notFound(c);
  });
  return app;
}
