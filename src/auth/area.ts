/**
 * The sign-in area: how people and machines get in (bearer tokens, OIDC
 * with several providers, local accounts), the sessions that keep them in,
 * and the abuse limits on the way in. Contributes the token and sign-in
 * routes and the access guard every route of every area passes through
 * (src/auth/guard.ts decides access and CSRF); the principal it puts into
 * the request context is the `P` of the generic HTTP layer.
 * Never stores a raw session id, password or token, and never logs one.
 */

import type { Area, AreaContext } from "../http/area.ts";
import type { Guard } from "../http/types.ts";
import { ensureFirstAdmin } from "./first_admin.ts";
import { accessGuard, type GuardDeps } from "./guard.ts";
import type { Principal } from "./principal.ts";
import { authRoutes } from "./routes.ts";
import { createAuthRuntime } from "./runtime.ts";
import { resolveSession } from "./sessions.ts";
import { tokenRoutes } from "./token_routes.ts";

export interface AuthArea extends Area<Principal> {
  /** Handed to createApp: every route's declared access is enforced by it. */
  guard: Guard<Principal>;
}

export interface AuthPorts {
  /** The flake's input names a token may be scoped to; undefined: no flake, any name. */
  packageNames: () => Promise<string[] | undefined>;
}

export function createAuthArea(
  ctx: AreaContext,
  ports: AuthPorts = { packageNames: () => Promise.resolve(undefined) },
): AuthArea {
  const rt = createAuthRuntime(ctx);
  const log = ctx.log.child({ component: "auth" });
  const guardDeps: GuardDeps = {
    sql: ctx.sql,
    tokenBootstrap: ctx.config.tokenBootstrap,
    sessionPrincipal: async (c) => {
      const token = rt.cookies.getSession(c);
      return token
        ? await resolveSession(ctx.sql, token, ctx.config.sessionIdleTimeoutMs)
        : undefined;
    },
    rateLimitBootstrap: (c) => rt.take(c, "bootstrap"),
    publicOrigin: ctx.config.baseUrl ? new URL(ctx.config.baseUrl).origin : undefined,
  };
  return {
    name: "auth",
    routes: [...tokenRoutes({ sql: ctx.sql, audit: rt.audit, ...ports }), ...authRoutes(rt)],
    guard: (access) => accessGuard(access, guardDeps),
    start: async () => {
      rt.oidc?.providers.start();
      if (ctx.config.adminPasswordFile && ctx.config.localAuth) {
        await ensureFirstAdmin(ctx.sql, ctx.config.adminPasswordFile, log, ctx.audit);
      }
    },
    stop: async () => {
      await rt.oidc?.providers.stop();
    },
  };
}
