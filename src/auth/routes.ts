/**
 * The sign-in endpoints, top to bottom: what sign-in methods exist, OIDC
 * login and callback (mounted only when issuers are configured), local
 * login and logout. Thin handlers over oidc_login.ts, passwords.ts and
 * sessions.ts; the shared plumbing (cookies, limits, logging) comes in
 * through `AuthRuntime`.
 */

import { DomainError, invalidRequest, isDomainError } from "../core/errors.ts";
import { readJsonObject } from "../http/json.ts";
import type { Handler } from "hono";
import type { AppContext, AppEnv, RouteDef } from "../http/types.ts";
import type { Principal } from "./principal.ts";
import type { AuthRuntime } from "./runtime.ts";
import { checkCsrf } from "./csrf.ts";
import { finishLogin, safeReturnTo, startLogin, TRANSACTION_TTL_MS } from "./oidc_login.ts";
import { oauthRoutes } from "./oauth_routes.ts";
import { checkLocalLogin } from "./passwords.ts";
import { resolveSession, revokeSession } from "./sessions.ts";
import { userJson } from "./users.ts";

export function authRoutes(rt: AuthRuntime): RouteDef<Principal>[] {
  const providers = rt.oidc?.providers;
  const routes: RouteDef<Principal>[] = [
    {
      method: "GET",
      path: "/api/auth/methods",
      access: "public",
      summary: "sign-in methods the UI offers",
      handler: (c) => c.json({ local: rt.config.localAuth, providers: providers?.list() ?? [] }),
    },
    {
      method: "GET",
      path: "/api/oidc/providers",
      access: "public",
      summary: "configured OIDC providers (login buttons)",
      handler: (c) => c.json({ providers: providers?.list() ?? [] }),
    },
  ];
  if (rt.oidc) routes.push(...oidcRoutes(rt, rt.oidc));
  routes.push(...oauthRoutes(rt));
  routes.push(
    {
      method: "POST",
      path: "/auth/local/login",
      access: "public",
      summary: "sign in with a local account",
      before: [rt.limit("local")],
      handler: localLogin(rt),
    },
    {
      method: "POST",
      path: "/auth/logout",
      access: "public",
      summary: "end this browser's session",
      handler: async (c) => {
        const token = rt.cookies.getSession(c);
        if (token) {
          const p = await resolveSession(rt.sql, token, rt.config.sessionIdleTimeoutMs);
          if (p) checkCsrf(c.req, rt.expectedOrigin(c));
          const id = await revokeSession(rt.sql, token);
          if (id) rt.log(c).info("logout", { user_id: p?.user.id, session_id: id });
          if (id && p) {
            await rt.audit(c, {
              action: "auth.sign_out",
              actor: { kind: "user", id: p.user.id, label: userLabel(p.user) },
              target: `user:${p.user.id}`,
            });
          }
        }
        rt.cookies.clearSession(c);
        return c.body(null, 204);
      },
    },
  );
  return routes;
}

function oidcRoutes(
  rt: AuthRuntime,
  oidc: NonNullable<AuthRuntime["oidc"]>,
): RouteDef<Principal>[] {
  const deps = { sql: rt.sql, providers: oidc.providers, redirectUrl: oidc.redirectUrl };
  return [
    {
      method: "GET",
      path: "/auth/login",
      access: "public",
      summary: "start an OIDC sign-in (?issuer=…&return_to=/path)",
      handler: signinErrors(async (c) => {
        // Inside signinErrors: a browser that is rate limited lands on the sign-in page, not on JSON.
        rt.take(c, "oidc");
        const list = oidc.providers.list();
        const issuer = c.req.query("issuer") ?? (list.length === 1 ? list[0].issuer : undefined);
        if (!issuer) throw invalidRequest([{ field: "issuer", message: "required" }]);
        if (!oidc.providers.has(issuer)) {
          throw new DomainError("invalid", "unknown_issuer", `unknown OIDC issuer: ${issuer}`);
        }
        const started = await startLogin(deps, issuer, c.req.query("return_to") ?? "/");
        rt.cookies.setTransaction(c, started.binding, TRANSACTION_TTL_MS);
        return c.redirect(started.authorizationUrl.href, 302);
      }),
    },
    {
      method: "GET",
      path: "/auth/callback",
      access: "public",
      summary: "OIDC redirect target: verify, sign in, redirect",
      handler: signinErrors(async (c) => {
        const binding = rt.cookies.getTransaction(c);
        rt.cookies.clearTransaction(c);
        const query = new URL(c.req.url).searchParams;
        let done;
        try {
          done = await finishLogin(deps, binding, query);
        } catch (e) {
          rt.log(c).warn("login failed", {
            method: "oidc",
            reason: isDomainError(e) ? e.code : "error",
            detail: (e as Error).message,
            client_address: rt.clientAddress(c),
          });
          await rt.audit(c, {
            action: "auth.sign_in_failed",
            details: { method: "oidc", reason: isDomainError(e) ? e.code : "error" },
          });
          throw e;
        }
        await rt.startSession(c, done.user.id);
        rt.log(c).info("login succeeded", {
          method: "oidc",
          issuer: done.issuer,
          user_id: done.user.id,
          username: done.user.username ?? done.user.email ?? done.user.subject,
          client_address: rt.clientAddress(c),
        });
        await rt.audit(c, {
          action: "auth.sign_in",
          actor: { kind: "user", id: done.user.id, label: userLabel(done.user) },
          target: `user:${done.user.id}`,
          details: { method: "oidc", issuer: done.issuer },
        });
        return c.redirect(done.returnTo, 302);
      }),
    },
  ];
}

function localLogin(rt: AuthRuntime): Handler<AppEnv> {
  return async (c) => {
    if (!rt.config.localAuth) {
      throw new DomainError("not_found", "local_auth_disabled", "local sign-in is turned off");
    }
    checkCsrf(c.req, rt.expectedOrigin(c), { requireProof: false });
    const body = await readJsonObject(c, ["username", "password"]);
    const { username, password } = body;
    if (typeof username !== "string" || typeof password !== "string") {
      throw invalidRequest(
        ["username", "password"].filter((f) => typeof body[f] !== "string").map((field) => ({
          field,
          message: "required, a string",
        })),
      );
    }
    const result = await checkLocalLogin(rt.sql, username, password);
    const from = rt.clientAddress(c);
    if (!result.user) {
      rt.log(c).warn("login failed", {
        method: "local",
        username: username.slice(0, 64),
        reason: result.reason,
        client_address: from,
      });
      await rt.audit(c, {
        action: "auth.sign_in_failed",
        details: { method: "local", username: username.slice(0, 64), reason: result.reason },
      });
      throw new DomainError("unauthenticated", "invalid_credentials", "wrong username or password");
    }
    await rt.startSession(c, result.user.id);
    rt.log(c).info("login succeeded", {
      method: "local",
      user_id: result.user.id,
      username: result.user.username,
      client_address: from,
    });
    await rt.audit(c, {
      action: "auth.sign_in",
      actor: { kind: "user", id: result.user.id, label: userLabel(result.user) },
      target: `user:${result.user.id}`,
      details: { method: "local" },
    });
    return c.json({ user: userJson(result.user) });
  };
}

/**
 * Browser navigations (Accept: text/html) that fail go back to the sign-in
 * page with the reason (and `retry_after` seconds when it says to wait),
 * and with the `return_to` the sign-in started with (when it is in this
 * request: /auth/login), so signing in another way still leads back there.
 * API clients get the JSON error.
 */
function signinErrors(handler: (c: AppContext) => Promise<Response>): Handler<AppEnv> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (e) {
      if (!isDomainError(e) || !(c.req.header("accept") ?? "").includes("text/html")) throw e;
      const q = new URLSearchParams({ error: e.code, message: e.message });
      const back = safeReturnTo(c.req.query("return_to"));
      if (back !== "/") q.set("return_to", back);
      if (e.retryAfter !== undefined) q.set("retry_after", String(e.retryAfter));
      return c.redirect(`/signin?${q}`, 302);
    }
  };
}

function userLabel(u: { username: string | null; email: string | null; subject: string }): string {
  return u.username ?? u.email ?? u.subject;
}
