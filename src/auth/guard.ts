/**
 * The access guard every route passes through, chosen by the route's
 * declared Access. Resolves who is asking from a bearer token (and, once
 * sign-in exists, a session cookie) and refuses what the route does not
 * allow. Handlers read the result from c.get("principal").
 */

import type { MiddlewareHandler } from "hono";
import type { Sql } from "../db/connect.ts";
import { DomainError } from "../core/errors.ts";
import type { Access, AppContext, AppEnv } from "../http/types.ts";
import type { Principal } from "./principal.ts";
import { noTokensYet, verifyToken } from "./tokens.ts";

export interface GuardDeps {
  sql: Sql;
  tokenBootstrap: boolean;
  /** Resolves a session cookie to a principal; absent until sign-in is configured. */
  sessionPrincipal?: (c: AppContext) => Promise<Principal | undefined>;
}

const unauthenticated = (message = "a valid bearer token or session is required") =>
  new DomainError("unauthenticated", "unauthenticated", message);

/** Returns the bearer token's principal, undefined without an Authorization header. */
export async function bearerPrincipal(c: AppContext, sql: Sql): Promise<Principal | undefined> {
  const header = c.req.header("authorization");
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthenticated("Authorization must be `Bearer <token>`");
  const check = await verifyToken(sql, m[1]);
  if (!check.ok) {
    c.get("log").info("bearer token refused", {
      component: "auth",
      reason: check.reason,
      token_id: check.tokenId,
    });
    throw unauthenticated(
      check.reason === "expired" ? "token expired" : "invalid or revoked token",
    );
  }
  return {
    kind: "token",
    token: {
      id: check.token.id,
      description: check.token.description,
      packages: check.token.packages,
    },
  };
}

export function accessGuard(access: Access, deps: GuardDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (access === "public" || access === "signed") return await next();

    const bearer = await bearerPrincipal(c, deps.sql);
    if (access === "token") {
      if (!bearer) throw unauthenticated("a bearer token is required");
      c.set("principal", bearer);
      return await next();
    }

    const principal = bearer ?? (await deps.sessionPrincipal?.(c));
    if (principal) {
      c.set("principal", principal);
      return await next();
    }
    // Bootstrap: handlers re-check under a lock (see createToken), this is the fast path.
    if (access === "bootstrap" && deps.tokenBootstrap && (await noTokensYet(deps.sql))) {
      return await next();
    }
    throw unauthenticated();
  };
}
