/**
 * One OIDC sign-in, from redirect to verified identity: PKCE (S256), state
 * and nonce kept server-side in a single-use transaction row that the
 * browser is bound to by a random cookie value; the callback consumes the
 * row first, then checks expiry, `iss`, state, and lets openid-client check
 * the code exchange, PKCE, ID token and nonce. The callback URL is rebuilt
 * from the configured public redirect URL, never from the request's own
 * (internal, behind Caddy). Upserts the user by (issuer, subject).
 */

import type { Sql } from "../db/connect.ts";
import { DomainError } from "../core/errors.ts";
import type { OidcProviders } from "./oidc_providers.ts";
import { randomId } from "./sessions.ts";
import { sha256Hex } from "../core/ids.ts";
import { upsertOidcUser, type UserRecord } from "./users.ts";

// Loaded on first use: only servers with OIDC providers need it, and start faster without it.
const openid = () => import("openid-client");

export const TRANSACTION_TTL_MS = 10 * 60_000;

export interface LoginDeps {
  sql: Sql;
  providers: OidcProviders;
  redirectUrl: string;
}

export interface StartedLogin {
  authorizationUrl: URL;
  /** The cookie value binding this browser to the transaction. */
  binding: string;
}

/** A return_to the callback may redirect to: a same-origin path, or "/". */
export function safeReturnTo(value: string | undefined): string {
  if (!value || value.length > 2000) return "/";
  // "/x" but not "//host" or "/\host" (browsers treat both as another origin), no control chars.
  if (!/^\/(?![\/\\])/.test(value) || value.includes("\\")) return "/";
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return "/";
  return value;
}

export async function startLogin(
  deps: LoginDeps,
  issuer: string,
  returnTo: string,
  now = new Date(),
): Promise<StartedLogin> {
  const config = await deps.providers.configuration(issuer);
  const client = await openid();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const binding = randomId();
  await deps.sql`delete from oidc_transactions where expires_at < ${now}`;
  await deps.sql`
    insert into oidc_transactions (binding_sha256, issuer, state, nonce, code_verifier, return_to, expires_at)
    values (${await sha256Hex(binding)}, ${issuer}, ${state}, ${nonce}, ${codeVerifier},
            ${safeReturnTo(returnTo)}, ${new Date(now.getTime() + TRANSACTION_TTL_MS)})`;
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: deps.redirectUrl,
    scope: "openid email profile",
    response_type: "code",
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  return { authorizationUrl, binding };
}

interface TransactionRow {
  issuer: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAt: Date;
}

const fail = (code: string, message: string, cause?: unknown) =>
  new DomainError("invalid", code, message, { cause });

export interface FinishedLogin {
  user: UserRecord;
  returnTo: string;
  issuer: string;
}

/** Completes the login the callback `query` answers; throws a DomainError on any failure. */
export async function finishLogin(
  deps: LoginDeps,
  binding: string | undefined,
  query: URLSearchParams,
  now = new Date(),
): Promise<FinishedLogin> {
  if (!binding) {
    throw fail("login_not_started", "no sign-in is in progress in this browser; start again");
  }
  // Consumed before anything else is checked: whatever happens next, it cannot be replayed.
  const [tx] = await deps.sql<TransactionRow[]>`
    delete from oidc_transactions where binding_sha256 = ${await sha256Hex(binding)}
    returning issuer, state, nonce, code_verifier, return_to, expires_at`;
  if (!tx) {
    throw fail("login_not_started", "this sign-in was already used or never started; start again");
  }
  if (tx.expiresAt <= now) throw fail("login_expired", "the sign-in took too long; start again");
  if (query.has("error")) {
    throw new DomainError(
      "unauthenticated",
      "provider_refused",
      `the provider refused the sign-in: ${query.get("error_description") ?? query.get("error")}`,
    );
  }
  const iss = query.get("iss");
  if (iss !== null && iss !== tx.issuer) {
    throw fail("issuer_mismatch", "the answer came from a different provider than the sign-in");
  }
  if (query.get("state") !== tx.state) {
    throw fail("state_mismatch", "the sign-in answer does not belong to this sign-in");
  }
  const config = await deps.providers.configuration(tx.issuer);
  const client = await openid();
  const callbackUrl = new URL(deps.redirectUrl);
  callbackUrl.search = query.toString();
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: tx.codeVerifier,
      expectedState: tx.state,
      expectedNonce: tx.nonce,
      idTokenExpected: true,
    });
  } catch (e) {
    throw new DomainError(
      "unauthenticated",
      "oidc_rejected",
      `the provider's answer did not verify: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const claims = tokens.claims()!;
  const profile: Record<string, unknown> = { ...claims };
  if (!claims.email || !claims.preferred_username || !claims.name) {
    // Many providers put profile claims only in userinfo; best effort, the ID token decides who.
    try {
      Object.assign(profile, await client.fetchUserInfo(config, tokens.access_token, claims.sub));
    } catch { /* userinfo is optional */ }
  }
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  const user = await upsertOidcUser(deps.sql, {
    issuer: tx.issuer,
    subject: claims.sub,
    username: str(profile.preferred_username) ?? str(profile.nickname),
    email: str(profile.email),
    displayName: str(profile.name),
  });
  if (user.disabledAt) {
    throw new DomainError("forbidden", "account_disabled", "this account is disabled");
  }
  return { user, returnTo: tx.returnTo, issuer: tx.issuer };
}
