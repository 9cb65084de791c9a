/** Types shared by every HTTP area: the Hono environment and the route table. */

import type { Context, Handler, MiddlewareHandler } from "hono";
import type { Logger } from "../log/log.ts";
import type { Principal } from "../auth/principal.ts";

export interface AppEnv {
  Bindings: {
    /** The peer as the listener saw it (TCP address or Unix socket). */
    remoteAddr?: Deno.Addr;
  };
  Variables: {
    requestId: string;
    log: Logger;
    /** Set by the access guard on routes that need credentials. */
    principal?: Principal;
  };
}

export type AppContext = Context<AppEnv>;

/**
 * Who may call a route. Every route declares one; the auth matrix test walks
 * the table, so a route without a decision cannot be added silently.
 * - public: anyone.
 * - authenticated: a valid bearer token or a valid session (with CSRF proof on writes).
 * - token: a valid bearer token only (machine endpoints such as the webhook).
 * - manage: like authenticated, but a token limited to packages is refused (403): such a
 *   token is a deploy credential and must not mint tokens or change repository connections.
 * - bootstrap: anyone while no token exists and bootstrap is enabled; else like manage.
 * - signed: the handler verifies a signature itself (forge webhooks); no credentials.
 */
export type Access = "public" | "authenticated" | "manage" | "token" | "bootstrap" | "signed";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteDef {
  method: Method;
  path: string;
  access: Access;
  handler: Handler<AppEnv>;
  /** Extra middleware run after the access guard (rate limits, body parsing). */
  before?: MiddlewareHandler<AppEnv>[];
  summary: string;
}
