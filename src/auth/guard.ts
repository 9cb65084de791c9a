/**
 * The access guard every route passes through, chosen by the route's
 * declared Access. Resolves who is asking from a bearer token or a session
 * cookie (bearer first: a bad Authorization header is refused even with a
 * good cookie), refuses what the route does not allow, and checks CSRF on
 * cookie-authenticated state-changing requests. `token` routes (the
 * webhook) never look at cookies. A bearer is an API token or a CLI access
 * token (`despacito login`), which acts as its user's session without CSRF
 * checks (no cookie is involved). Handlers read c.get("principal").
 */

import type { MiddlewareHandler } from "hono";
import type { Sql } from "../db/connect.ts";
import { DomainError } from "../core/errors.ts";
import type { Access, AppContext, RouteEnv } from "../http/types.ts";
import { checkCsrf } from "./csrf.ts";
import type { Principal } from "./principal.ts";
import { looksLikeCliToken, verifyAccessToken } from "./oauth_store.ts";
import type { TokenCache } from "./token_cache.ts";
import { noTokensYet, verifyToken } from "./tokens.ts";

export interface GuardDeps {
  sql: Sql;
  /**
   * Verified API tokens for a few seconds, for `token` routes only: the
   * webhook, whose admission checks the token again in its own statement.
   */
  tokenCache?: TokenCache;
  tokenBootstrap: boolean;
  /** Resolves a session cookie to a principal; absent until sign-in is configured. */
  sessionPrincipal?: (c: AppContext) => Promise<Principal | undefined>;
  /** Spends the client's budget for a credential-less bootstrap request (throws 429). */
  rateLimitBootstrap?: (c: AppContext) => void;
  /** The UI's origin (from DESPACITO_BASE_URL) for CSRF checks; else the request's own. */
  publicOrigin?: string;
}

const isScopedToken = (p: Principal) => p.kind === "token" && p.token.packages !== null;

const unauthenticated = (message = "a valid bearer token or session is required") =>
  new DomainError("unauthenticated", "unauthenticated", message);

/** Returns the bearer token's principal, undefined without an Authorization header. */
export async function bearerPrincipal(
  c: AppContext,
  sql: Sql,
  tokenCache?: TokenCache,
): Promise<Principal | undefined> {
  const header = c.req.header("authorization");
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthenticated("Authorization must be `Bearer <token>`");
  if (looksLikeCliToken(m[1])) return await cliPrincipal(c, sql, m[1]);
  const check = await verifyToken(sql, m[1], new Date(), tokenCache);
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

/** A `despacito login` access token: the signed-in user, as with a session (no cookie, no CSRF). */
async function cliPrincipal(c: AppContext, sql: Sql, raw: string): Promise<Principal> {
  const check = await verifyAccessToken(sql, raw);
  if (check.ok) return check.principal;
  c.get("log").info("CLI access token refused", {
    component: "auth",
    reason: check.reason,
    grant_id: check.grantId,
  });
  throw unauthenticated(
    check.reason === "expired" ? "access token expired" : "invalid or revoked access token",
  );
}

export function accessGuard(
  access: Access,
  deps: GuardDeps,
): MiddlewareHandler<RouteEnv<Principal>> {
  return async (c, next) => {
    if (access === "public" || access === "signed") return await next();

    const bearer = await bearerPrincipal(
      c,
      deps.sql,
      access === "token" ? deps.tokenCache : undefined,
    );
    if (access === "token") {
      if (!bearer) throw unauthenticated("a bearer token is required");
      c.set("principal", bearer);
      return await next();
    }

    const principal = bearer ?? (await deps.sessionPrincipal?.(c));
    if (principal) {
      if (principal.kind === "session" && !bearer) {
        checkCsrf(c.req, deps.publicOrigin ?? new URL(c.req.url).origin);
      }
      if ((access === "manage" || access === "bootstrap") && isScopedToken(principal)) {
        throw new DomainError(
          "forbidden",
          "insufficient_scope",
          "a token limited to packages may deploy them, not manage tokens or repositories",
        );
      }
      c.set("principal", principal);
      return await next();
    }
    if (access === "bootstrap") {
      deps.rateLimitBootstrap?.(c);
      // Handlers re-check under a lock (see createToken), this is the fast path.
      if (deps.tokenBootstrap && (await noTokensYet(deps.sql))) return await next();
    }
    throw unauthenticated();
  };
}
