/**
 * Composes the HTTP application: cross-cutting middleware, then every
 * area's route table, each route behind the access guard it declares.
 * Optional areas contribute routes only when configured. This file is the
 * one place to read to know every endpoint despacito serves.
 */

import { Hono } from "hono";
import type { Config } from "../config/config.ts";
import type { Sql } from "../db/connect.ts";
import type { Migration } from "../db/migrate.ts";
import type { Logger } from "../log/log.ts";
import type { VersionInfo } from "../version.ts";
import type { Area } from "../core/area.ts";
import { accessGuard, type GuardDeps } from "../auth/guard.ts";
import { tokenRoutes } from "../auth/token_routes.ts";
import { notFound, onError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { limitBody, requestContext, requestLog, securityHeaders } from "./middleware.ts";
import type { AppEnv, RouteDef } from "./types.ts";

export interface AppDeps {
  config: Readonly<Config>;
  log: Logger;
  sql: Sql;
  migrations: Migration[];
  version: VersionInfo;
  /** The areas built by buildAreas (deploy, sign-in, forge, UI), in mount order. */
  areas?: Area[];
}

/** Every route despacito serves, in order; the auth matrix test walks this. */
export function routeTable(deps: AppDeps): RouteDef[] {
  return [
    ...healthRoutes({
      ...deps,
      readiness: (deps.areas ?? []).flatMap((a) => a.readiness ? [() => a.readiness!()] : []),
    }),
    ...tokenRoutes(deps),
    ...(deps.areas ?? []).flatMap((a) => a.routes),
  ];
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const guardDeps: GuardDeps = {
    sql: deps.sql,
    tokenBootstrap: deps.config.tokenBootstrap,
    sessionPrincipal: deps.areas?.find((a) => a.sessionPrincipal)?.sessionPrincipal,
    rateLimitBootstrap: deps.areas?.find((a) => a.rateLimitBootstrap)?.rateLimitBootstrap,
    publicOrigin: deps.config.baseUrl ? new URL(deps.config.baseUrl).origin : undefined,
  };
  const fallback = deps.areas?.find((a) => a.fallback)?.fallback;

  app.use(requestContext(deps.log));
  app.use(requestLog());
  app.use(securityHeaders({ hsts: deps.config.baseUrl?.startsWith("https://") ?? false }));
  app.use(limitBody(deps.config.maxBodyBytes));
  app.onError(onError);

  for (const r of routeTable(deps)) {
    app.on(r.method, r.path, accessGuard(r.access, guardDeps), ...(r.before ?? []), r.handler);
  }

  app.notFound((c) => {
    const p = c.req.path;
    const apiLike = ["/api", "/auth", "/oauth", "/.well-known", "/webhook", "/health"].some((x) =>
      p === x || p.startsWith(x + "/")
    );
    if (!apiLike && fallback && (c.req.method === "GET" || c.req.method === "HEAD")) {
      return fallback(c);
    }
    return notFound(c);
  });
  return app;
}
