/**
 * The sign-in area: how people get in (OIDC with several providers, local
 * accounts), the sessions that keep them in, and the abuse limits on the
 * way in. Feeds the access guard (sessionPrincipal, the bootstrap rate
 * limit); the guard itself (src/auth/guard.ts) decides access and CSRF.
 * Never stores a raw session id, password or token, and never logs one.
 */

import type { Area, AreaContext } from "../core/area.ts";
import { ensureFirstAdmin } from "./first_admin.ts";
import { authRoutes } from "./routes.ts";
import { createAuthRuntime } from "./runtime.ts";
import { resolveSession } from "./sessions.ts";

export function createAuthArea(ctx: AreaContext): Area {
  const rt = createAuthRuntime(ctx);
  const log = ctx.log.child({ component: "auth" });
  return {
    name: "auth",
    routes: authRoutes(rt),
    sessionPrincipal: async (c) => {
      const token = rt.cookies.getSession(c);
      return token
        ? await resolveSession(ctx.sql, token, ctx.config.sessionIdleTimeoutMs)
        : undefined;
    },
    rateLimitBootstrap: (c) => rt.take(c, "bootstrap"),
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
