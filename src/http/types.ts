/**
 * Types shared by every HTTP area: the Hono environment, the route table and
 * the access guard's shape. Generic in the principal: this layer knows that
 * a guard may put "who is asking" into the context, not what that is. The
 * area that authenticates (src/auth) supplies both the type and the guard.
 */

import type { Context, Handler, MiddlewareHandler } from "hono";
import type { Logger } from "../log/log.ts";

/** What every request carries, whatever route it reaches: the peer, its id and its logger. */
export interface AppEnv {
  Bindings: {
    /** The peer as the listener saw it (TCP address or Unix socket). */
    remoteAddr?: Deno.Addr;
    /** Settles when the response has been sent or the connection ended (Deno.serve's). */
    completed?: Promise<void>;
  };
  Variables: {
    requestId: string;
    log: Logger;
  };
}

export type AppContext = Context<AppEnv>;

/**
 * A route's environment: AppEnv plus who is asking, set by the access guard
 * on routes that need credentials. `P` is the authenticating area's principal.
 * (Helpers that take an AppContext accept a RouteContext: it only adds.)
 */
export interface RouteEnv<P> {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { principal?: P };
}

export type RouteContext<P> = Context<RouteEnv<P>>;

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

export interface RouteDef<P> {
  method: Method;
  path: string;
  access: Access;
  handler: Handler<RouteEnv<P>>;
  /** Extra middleware run after the access guard (rate limits, body parsing). */
  before?: MiddlewareHandler<RouteEnv<P>>[];
  summary: string;
}

/** Enforces a route's declared access; sets `principal` when it lets a caller with credentials in. */
export type Guard<P> = (access: Access) => MiddlewareHandler<RouteEnv<P>>;
