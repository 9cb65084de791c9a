/**
 * What the sign-in handlers share, built once per server from the config:
 * cookie names and attributes, the client-address rule, the per-address
 * rate limiters, the expected origin for CSRF checks, the OIDC providers,
 * and starting a fresh session. No module state: everything hangs off the
 * object `createAuthRuntime` returns.
 */

import type { MiddlewareHandler } from "hono";
import type { Config } from "../config/config.ts";
import { DomainError } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import { type AuditSink, NO_AUDIT } from "../core/audit.ts";
import { type RequestAudit, requestAudit } from "../http/audit.ts";
import type { AppContext, AppEnv } from "../http/types.ts";
import type { Logger } from "../log/log.ts";
import { parseTrustedProxies } from "../config/trusted_proxies.ts";
import { clientAddress } from "../http/client_address.ts";
import { type CookieJar, cookieJar } from "./cookies.ts";
import { oidcSettings } from "./oidc_config.ts";
import { OidcProviders } from "./oidc_providers.ts";
import { RateLimiter } from "./rate_limit.ts";
import { createSession, revokeSession } from "./sessions.ts";
import { noteLogin } from "./users.ts";
import { auditActor } from "./principal.ts";

export type LimitBucket = "local" | "oidc" | "bootstrap" | "oauth";

export interface AuthRuntime {
  config: Readonly<Config>;
  sql: Sql;
  cookies: CookieJar;
  oidc?: { providers: OidcProviders; redirectUrl: string };
  log(c: AppContext): Logger;
  clientAddress(c: AppContext): string;
  expectedOrigin(c: AppContext): string;
  /** Throws 429 rate_limited (with Retry-After) when the client's budget is spent. */
  take(c: AppContext, bucket: LimitBucket): void;
  limit(bucket: LimitBucket): MiddlewareHandler<AppEnv>;
  /** Records sign-in, its failures and sign-out in the audit trail. */
  audit: RequestAudit;
  /** Ends the browser's previous session, if any, and starts a new one (new id). */
  startSession(c: AppContext, userId: string): Promise<void>;
}

export function createAuthRuntime(
  deps: { config: Readonly<Config>; sql: Sql; log: Logger; audit?: AuditSink },
): AuthRuntime {
  const { config, sql } = deps;
  const trusted = parseTrustedProxies(config.trustedProxies);
  const limiters = new Map<LimitBucket, RateLimiter>(
    (["local", "oidc", "bootstrap", "oauth"] as const).map((b) => [
      b,
      new RateLimiter({ limit: config.authRateLimit, windowMs: config.authRateWindowMs }),
    ]),
  );
  const settings = oidcSettings(config);
  const baseOrigin = config.baseUrl ? new URL(config.baseUrl).origin : undefined;
  const cookies = cookieJar(config.sessionCookieSecure);

  const rt: AuthRuntime = {
    config,
    sql,
    cookies,
    oidc: settings && {
      redirectUrl: settings.redirectUrl,
      providers: new OidcProviders({
        specs: settings.providers,
        allowHttp: settings.allowHttp,
        log: deps.log,
      }),
    },
    log: (c) => c.get("log").child({ component: "auth" }),
    clientAddress: (c) =>
      clientAddress(c.env?.remoteAddr, c.req.header("x-forwarded-for"), trusted),
    expectedOrigin: (c) => baseOrigin ?? new URL(c.req.url).origin,
    audit: requestAudit(deps.audit ?? NO_AUDIT, config, auditActor),
    take(c, bucket) {
      const address = rt.clientAddress(c);
      const r = limiters.get(bucket)!.take(address);
      if (r.ok) return;
      rt.log(c).warn("rate limited", { bucket, client_address: address });
      throw new DomainError(
        "rate_limited",
        "rate_limited",
        `too many attempts; try again in ${r.retryAfterSeconds}s`,
        { retryAfter: r.retryAfterSeconds },
      );
    },
    limit: (bucket) => async (c, next) => {
      rt.take(c, bucket);
      await next();
    },
    async startSession(c, userId) {
      const previous = cookies.getSession(c);
      if (previous) await revokeSession(sql, previous);
      const s = await createSession(sql, {
        userId,
        maxAgeMs: config.sessionMaxAgeMs,
        clientAddress: rt.clientAddress(c),
        userAgent: c.req.header("user-agent"),
      });
      await noteLogin(sql, userId);
      cookies.setSession(c, s.token, config.sessionMaxAgeMs);
    },
  };
  return rt;
}
