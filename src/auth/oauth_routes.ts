/**
 * The CLI's OAuth 2.1 authorization server, top to bottom: metadata (RFC
 * 8414), the authorization endpoint with its consent page, the token
 * endpoint (authorization_code + PKCE, refresh_token with rotation), token
 * revocation (RFC 7009), then the signed-in user's list of CLI sign-ins
 * for the Tokens page. The token and revocation endpoints speak OAuth's
 * own form bodies and `{error, error_description}` answers (what OAuth
 * clients expect), not the house JSON. Thin handlers over oauth_request.ts,
 * oauth_consent.ts and oauth_store.ts.
 */

import type { Handler } from "hono";
import { DomainError } from "../core/errors.ts";
import type { AppContext, AppEnv, RouteDef } from "../http/types.ts";
import { checkCsrf } from "./csrf.ts";
import {
  CONSENT_CSS,
  CONSENT_CSS_PATH,
  consentCsp,
  consentPage,
  errorPage,
} from "./oauth_consent.ts";
import { checkAuthorizeRequest, redirectBack } from "./oauth_request.ts";
import {
  clientName,
  createCode,
  exchangeCode,
  grantJson,
  type GrantResult,
  type Lifetimes,
  listUserGrants,
  refresh,
  revokeByToken,
  revokeUserGrant,
} from "./oauth_store.ts";
import { auditActor, type Principal } from "./principal.ts";
import type { AuthRuntime } from "./runtime.ts";
import { resolveSession } from "./sessions.ts";

const CODE_TTL_MS = 60_000;

export function oauthRoutes(rt: AuthRuntime): RouteDef<Principal>[] {
  const life: Lifetimes = {
    accessMs: rt.config.cliAccessTokenTtlMs,
    refreshMs: rt.config.cliRefreshTokenTtlMs,
  };
  return [
    {
      method: "GET",
      path: "/.well-known/oauth-authorization-server",
      access: "public",
      summary: "OAuth authorization server metadata (RFC 8414) for the CLI",
      handler: (c) => {
        const issuer = rt.expectedOrigin(c);
        return c.json({
          issuer,
          authorization_endpoint: `${issuer}/oauth/authorize`,
          token_endpoint: `${issuer}/oauth/token`,
          revocation_endpoint: `${issuer}/oauth/revoke`,
          response_types_supported: ["code"],
          grant_types_supported: ["authorization_code", "refresh_token"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported: ["none"],
          revocation_endpoint_auth_methods_supported: ["none"],
        });
      },
    },
    {
      method: "GET",
      path: "/oauth/authorize",
      access: "public",
      summary: "start the CLI's sign-in: sign in if needed, then the consent page",
      handler: authorize(rt, "show"),
    },
    {
      method: "POST",
      path: "/oauth/authorize",
      access: "public",
      summary: "the consent page's answer: redirect to the CLI with a code or an error",
      handler: authorize(rt, "decide"),
    },
    {
      method: "GET",
      path: CONSENT_CSS_PATH,
      access: "public",
      summary: "the consent page's stylesheet",
      handler: (c) => {
        c.header("Content-Type", "text/css; charset=utf-8");
        c.header("Cache-Control", "public, max-age=3600");
        return c.body(CONSENT_CSS);
      },
    },
    {
      method: "POST",
      path: "/oauth/token",
      access: "public",
      summary: "exchange a code (PKCE) or a refresh token for tokens",
      before: [rt.limit("oauth")],
      handler: tokenEndpoint(rt, life),
    },
    {
      method: "POST",
      path: "/oauth/revoke",
      access: "public",
      summary: "revoke a CLI access or refresh token (RFC 7009)",
      before: [rt.limit("oauth")],
      handler: async (c) => {
        const form = await readForm(c);
        if (!form) return oauthError(c, "invalid_request", "a form-encoded body is required");
        const token = form.get("token");
        const clientId = form.get("client_id");
        if (!token || !clientId) {
          return oauthError(c, "invalid_request", "token and client_id are required");
        }
        if (!(await clientName(rt.sql, clientId))) {
          return oauthError(c, "invalid_client", "unknown client", 401);
        }
        const grantId = await revokeByToken(rt.sql, token, clientId);
        if (grantId) {
          rt.log(c).info("CLI sign-in revoked", { grant_id: grantId, by: "client" });
          await rt.audit(c, {
            action: "auth.cli_sign_out",
            target: `cli_session:${grantId}`,
            details: { by: "client", client_id: clientId },
          });
        }
        c.header("Cache-Control", "no-store");
        return c.body(null, 200);
      },
    },
    {
      method: "GET",
      path: "/api/cli-sessions",
      access: "authenticated",
      summary: "the signed-in user's CLI sign-ins (despacito login)",
      handler: async (c) => {
        const p = c.get("principal")!;
        const grants = p.kind === "session" ? await listUserGrants(rt.sql, p.user.id) : [];
        return c.json({
          cli_sessions: grants.map((g) => ({
            ...grantJson(g),
            current: p.kind === "session" && p.session.id === g.id,
          })),
        });
      },
    },
    {
      method: "DELETE",
      path: "/api/cli-sessions/:id",
      access: "manage",
      summary: "sign out one of the user's CLI sign-ins",
      handler: async (c) => {
        const p = c.get("principal")!;
        const id = c.req.param("id") ?? "";
        if (p.kind !== "session" || !(await revokeUserGrant(rt.sql, p.user.id, id))) {
          throw new DomainError("not_found", "cli_session_not_found", "no such CLI sign-in");
        }
        rt.log(c).info("CLI sign-in revoked", { grant_id: id, user_id: p.user.id, by: "user" });
        await rt.audit(c, {
          action: "auth.cli_sign_out",
          target: `cli_session:${id}`,
          details: { by: "user" },
        });
        return c.body(null, 204);
      },
    },
  ];
}

function authorize(rt: AuthRuntime, step: "show" | "decide"): Handler<AppEnv> {
  return async (c) => {
    const token = rt.cookies.getSession(c);
    const session = token
      ? await resolveSession(rt.sql, token, rt.config.sessionIdleTimeoutMs)
      : undefined;
    let params: URLSearchParams;
    if (step === "decide") {
      // A cross-site page must not be able to consent in the user's name.
      if (session) checkCsrf(c.req, rt.expectedOrigin(c), { form: true });
      const form = await readForm(c);
      if (!form) return page(c, errorPage("a form-encoded body is required"), 400);
      params = form;
    } else params = new URL(c.req.url).searchParams;

    const name = await clientName(rt.sql, params.get("client_id") ?? "");
    const check = checkAuthorizeRequest(params, () => name !== undefined);
    if (!check.ok && check.show) return page(c, errorPage(check.message), 400);
    if (!check.ok) {
      const { redirectUri, state, error, message } = check;
      return c.redirect(
        redirectBack(redirectUri, { error, error_description: message, state }),
        303,
      );
    }
    const r = check.request;
    if (!session) {
      if (step === "decide") return page(c, errorPage("sign in first, then start again"), 401);
      const back = `/oauth/authorize?${params}`;
      return c.redirect(`/signin?${new URLSearchParams({ return_to: back })}`, 302);
    }
    if (step === "show") {
      const user = session.user.username ?? session.user.email ?? session.user.subject;
      return page(c, consentPage(r, { clientName: name!, user }), 200, consentCsp(r.redirectUri));
    }
    if (params.get("decision") !== "allow") {
      rt.log(c).info("CLI sign-in denied", { user_id: session.user.id, client_id: r.clientId });
      return c.redirect(
        redirectBack(r.redirectUri, {
          error: "access_denied",
          error_description: "the user said no",
          state: r.state,
        }),
        303,
      );
    }
    const code = await createCode(rt.sql, {
      clientId: r.clientId,
      userId: session.user.id,
      redirectUri: r.redirectUri,
      codeChallenge: r.codeChallenge,
      ttlMs: CODE_TTL_MS,
    });
    rt.log(c).info("CLI sign-in approved", { user_id: session.user.id, client_id: r.clientId });
    await rt.audit(c, {
      action: "auth.cli_sign_in",
      actor: auditActor(session),
      target: `user:${session.user.id}`,
      details: { client_id: r.clientId, redirect_host: new URL(r.redirectUri).host },
    });
    return c.redirect(redirectBack(r.redirectUri, { code, state: r.state }), 303);
  };
}

function tokenEndpoint(rt: AuthRuntime, life: Lifetimes): Handler<AppEnv> {
  return async (c) => {
    const form = await readForm(c);
    if (!form) return oauthError(c, "invalid_request", "a form-encoded body is required");
    const clientId = form.get("client_id");
    if (!clientId) return oauthError(c, "invalid_request", "client_id is required");
    if (!(await clientName(rt.sql, clientId))) {
      return oauthError(c, "invalid_client", "unknown client", 401);
    }
    const grantType = form.get("grant_type");
    let result: GrantResult;
    if (grantType === "authorization_code") {
      const code = form.get("code");
      const redirectUri = form.get("redirect_uri");
      const verifier = form.get("code_verifier");
      if (!code || !redirectUri || !verifier) {
        return oauthError(
          c,
          "invalid_request",
          "code, redirect_uri and code_verifier are required",
        );
      }
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
        return oauthError(
          c,
          "invalid_request",
          "code_verifier must be 43-128 unreserved characters",
        );
      }
      result = await exchangeCode(rt.sql, {
        code,
        clientId,
        redirectUri,
        codeVerifier: verifier,
        clientAddress: rt.clientAddress(c),
        userAgent: c.req.header("user-agent"),
      }, life);
    } else if (grantType === "refresh_token") {
      const token = form.get("refresh_token");
      if (!token) return oauthError(c, "invalid_request", "refresh_token is required");
      result = await refresh(rt.sql, token, clientId, life);
    } else {
      return oauthError(
        c,
        "unsupported_grant_type",
        "grant_type must be authorization_code or refresh_token",
      );
    }
    if (!result.ok) {
      rt.log(c)[result.reason === "replayed" ? "warn" : "info"]("CLI token request refused", {
        grant_type: grantType,
        reason: result.reason,
        grant_id: result.grantId,
        client_address: rt.clientAddress(c),
        family_revoked: result.reason === "replayed" ? true : undefined,
      });
      if (result.reason === "replayed") {
        await rt.audit(c, {
          action: "auth.cli_token_replayed",
          target: result.grantId ? `cli_session:${result.grantId}` : undefined,
          details: { grant_type: grantType, family_revoked: true },
        });
      }
      return oauthError(c, "invalid_grant", grantMessage(result.reason));
    }
    const t = result.tokens;
    c.header("Cache-Control", "no-store");
    return c.json({
      access_token: t.accessToken,
      token_type: "Bearer",
      expires_in: t.expiresInSeconds,
      refresh_token: t.refreshToken,
    });
  };
}

function grantMessage(reason: string): string {
  switch (reason) {
    case "replayed":
      return "this token was already used; the whole sign-in is revoked — run `despacito login`";
    case "pkce_failed":
      return "code_verifier does not match the code_challenge";
    case "redirect_mismatch":
      return "redirect_uri differs from the authorization request's";
    case "expired":
      return "expired";
    default:
      return "invalid, revoked or expired";
  }
}

/** The body as form fields, or undefined when it is not `application/x-www-form-urlencoded`. */
async function readForm(c: AppContext): Promise<URLSearchParams | undefined> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return undefined;
  let text: string;
  try {
    text = await c.req.text();
  } catch (e) {
    // Too large (413) or too slow (408) stays what it is.
    if (e instanceof DomainError && e.kind !== "invalid") throw e;
    return undefined;
  }
  // NUL and other control characters have no place in any OAuth parameter.
  const form = new URLSearchParams(text);
  // deno-lint-ignore no-control-regex
  for (const v of form.values()) if (/[\x00-\x1f\x7f]/.test(v)) return undefined;
  return form;
}

function oauthError(c: AppContext, error: string, description: string, status: 400 | 401 = 400) {
  c.header("Cache-Control", "no-store");
  return c.json({ error, error_description: description }, status);
}

/**
 * A server-rendered page: its own stylesheet is allowed (the app-wide default CSP, set before
 * every handler, allows nothing); the consent page passes its stricter policy with its form target.
 */
function page(
  c: AppContext,
  html: string,
  status: 200 | 400 | 401,
  csp = "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
) {
  c.header("Cache-Control", "no-store");
  c.header("Content-Security-Policy", csp);
  return c.html(html, status);
}
