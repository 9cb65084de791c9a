/**
 * An area is one domain's contribution to the running server: its routes
 * and, when it has background work (the deploy worker, forge status posts),
 * how to start it and how to stop it within the shutdown deadline. Two
 * areas also plug into the HTTP plumbing: sign-in resolves sessions for the
 * access guard, and the UI serves what no route matched.
 */

import type { Config } from "../config/config.ts";
import type { Sql } from "../db/connect.ts";
import type { AppContext, RouteDef } from "../http/types.ts";
import type { Logger } from "../log/log.ts";
import type { Principal } from "../auth/principal.ts";

export interface Area {
  name: string;
  routes: RouteDef[];
  start?(): void | Promise<void>;
  /** Finish or abandon work; `deadline` aborts when the shutdown timeout is up. */
  stop?(deadline: AbortSignal): Promise<void>;
  /** Why this area cannot do its work now (for /health/ready), or undefined when it can. */
  readiness?(): Promise<string | undefined>;
  /** Sign-in only: the principal behind a session cookie, if any. */
  sessionPrincipal?: (c: AppContext) => Promise<Principal | undefined>;
  /** Sign-in only: spends the client's budget for credential-less token bootstrap (throws 429). */
  rateLimitBootstrap?: (c: AppContext) => void;
  /** UI only: answers GET requests no route matched (SPA fallback). */
  fallback?: (c: AppContext) => Response | Promise<Response>;
}

/** What every area factory may use. */
export interface AreaContext {
  config: Readonly<Config>;
  log: Logger;
  sql: Sql;
  /** Aborted when shutdown begins; long-lived streams (SSE, waiting webhooks) end on it. */
  stopping: AbortSignal;
}
