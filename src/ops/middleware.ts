/**
 * The ops area's HTTP middleware (with routes.ts, its HTTP edge): per-route
 * request metrics, the X-Despacito-Load header on every response, the count
 * of open SSE streams, and the cap on webhook clients waiting for their
 * deployment's outcome (429 queue_full beyond DESPACITO_WEBHOOK_WAITING_LIMIT).
 */

import type { MiddlewareHandler } from "hono";
import { errorBody } from "../http/errors.ts";
import type { AppContext, AppEnv } from "../http/types.ts";
import type { LoadGauge } from "./load.ts";
import type { Metrics } from "./metrics.ts";

/** Routes whose clients may wait for a deployment's outcome. */
const WAITING_ROUTES = new Set(["POST /webhook", "POST /webhook/forgejo/:id"]);
export const RETRY_AFTER_S = 30;

/** The route template that matched ("/api/deployments/:id"), or "unmatched". */
export function routeTemplate(c: AppContext): string {
  const routes = c.req.matchedRoutes.filter((r) => r.method !== "ALL");
  return routes.at(-1)?.path ?? "unmatched";
}

export function opsMiddleware(o: {
  metrics: Metrics | undefined;
  load: LoadGauge;
  waitingLimit: number;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const route = routeTemplate(c);
    const waits = WAITING_ROUTES.has(`${c.req.method} ${route}`);
    if (waits && o.load.waitingClients >= o.waitingLimit) {
      c.header("Retry-After", String(RETRY_AFTER_S));
      c.header("X-Despacito-Load", "high");
      o.metrics?.observeRequest(c.req.method, route, 429, 0);
      return c.json(
        errorBody(
          "queue_full",
          `${o.waitingLimit} webhook clients are already waiting; retry in ${RETRY_AFTER_S}s`,
        ),
        429,
      );
    }
    if (waits) o.load.waiting(1);
    o.metrics?.inFlight(route, 1);
    try {
      await next();
    } finally {
      if (waits) o.load.waiting(-1);
      o.metrics?.inFlight(route, -1);
    }
    const seconds = (performance.now() - started) / 1000;
    const stream = c.res.headers.get("content-type")?.startsWith("text/event-stream") ?? false;
    if (!stream && !waits) o.load.observe(seconds * 1000);
    o.metrics?.observeRequest(c.req.method, route, c.res.status, seconds);
    // Counted until the server is done with the response (sent, or the client went away).
    // Only an app fetched in process (tests) lacks the listener's `completed`: nothing to count.
    const completed = c.env?.completed;
    if (stream && c.res.body && o.metrics && completed) {
      const metrics = o.metrics;
      metrics.sse(1);
      const out = () => metrics.sse(-1);
      completed.then(out, out);
    }
    c.res.headers.set("X-Despacito-Load", o.load.level());
    return undefined;
  };
}
