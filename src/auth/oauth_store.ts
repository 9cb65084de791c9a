/**
 * The CLI's OAuth grants in the database: authorization codes (single use,
 * a minute), grants (one per CLI sign-in, the family), rotating refresh
 * tokens and short-lived access tokens. Only SHA-256 hashes are stored.
 * Owns the rules that make a stolen token short-lived: a code or refresh
 * token used twice revokes its whole grant; a revoked grant, a disabled
 * user or an expired grant ends every token of the family. Knows no HTTP.
 */

import type postgres from "postgres";
import type { Sql } from "../db/connect.ts";
import { type SessionPrincipal, sessionUser } from "./principal.ts";
import { randomId } from "./sessions.ts";
import { isUuid, sha256Hex } from "../core/ids.ts";

export const ACCESS_PREFIX = "dcli_at_";
export const REFRESH_PREFIX = "dcli_rt_";
const TOKEN_FORMAT = /^dcli_(at|rt)_[A-Za-z0-9_-]{43}$/;
const CODE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface Lifetimes {
  accessMs: number;
  refreshMs: number;
}

export interface IssuedTokens {
  grantId: string;
  accessToken: string;
  refreshToken: string;
  expiresInSeconds: number;
}

/** Why a grant request was refused; the token endpoint answers `invalid_grant` for all. */
export type GrantRefusal =
  | "unknown"
  | "expired"
  | "replayed"
  | "revoked"
  | "user_disabled"
  | "client_mismatch"
  | "redirect_mismatch"
  | "pkce_failed";

export type GrantResult = { ok: true; tokens: IssuedTokens } | {
  ok: false;
  reason: GrantRefusal;
  grantId?: string;
};

export interface NewCode {
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  ttlMs: number;
}

const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export async function clientName(sql: Sql, clientId: string): Promise<string | undefined> {
  if (!CLIENT_ID.test(clientId)) return undefined;
  const [row] = await sql<{ name: string }[]>`
    select name from oauth_clients where id = ${clientId}`;
  return row?.name;
}

/** Stores a new authorization code and returns it (the raw value, never stored). */
export async function createCode(sql: Sql, c: NewCode, now = new Date()): Promise<string> {
  const code = randomId();
  await sql`
    insert into oauth_codes (code_sha256, client_id, user_id, redirect_uri, code_challenge, created_at, expires_at)
    values (${await sha256Hex(code)}, ${c.clientId}, ${c.userId}, ${c.redirectUri},
            ${c.codeChallenge}, ${now}, ${new Date(now.getTime() + c.ttlMs)})`;
  // Housekeeping: codes an hour past their end are of no use to anyone.
  await sql`delete from oauth_codes where expires_at < ${new Date(now.getTime() - 3_600_000)}`;
  return code;
}

/** BASE64URL(SHA-256(verifier)), RFC 7636 S256. */
export async function s256(verifier: string): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  return btoa(String.fromCharCode(...d)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

export interface CodeExchange {
  code: string;
  clientId: string;
  redirectUri: string;
  codeVerifier: string;
  clientAddress?: string;
  userAgent?: string;
}

/** authorization_code grant: one use, within its minute, same client, same redirect, PKCE. */
export async function exchangeCode(
  sql: Sql,
  x: CodeExchange,
  life: Lifetimes,
  now = new Date(),
): Promise<GrantResult> {
  if (!CODE_FORMAT.test(x.code)) return { ok: false, reason: "unknown" };
  const hash = await sha256Hex(x.code);
  const challenge = await s256(x.codeVerifier);
  return await sql.begin(async (tx) => {
    const [row] = await tx<
      {
        clientId: string;
        userId: string;
        redirectUri: string;
        codeChallenge: string;
        expiresAt: Date;
        usedAt: Date | null;
        grantId: string | null;
        disabled: boolean;
      }[]
    >`
      select c.client_id, c.user_id, c.redirect_uri, c.code_challenge, c.expires_at, c.used_at,
             c.grant_id, u.disabled_at is not null as disabled
      from oauth_codes c join users u on u.id = c.user_id
      where c.code_sha256 = ${hash} for update of c`;
    if (!row) return { ok: false, reason: "unknown" };
    if (row.usedAt) {
      // RFC 9700 §4.2.4: a code used twice revokes what its first use obtained.
      if (row.grantId) await revokeGrantTx(tx, row.grantId, "code_replayed");
      return { ok: false, reason: "replayed", grantId: row.grantId ?? undefined };
    }
    await tx`update oauth_codes set used_at = ${now} where code_sha256 = ${hash}`;
    if (row.expiresAt <= now) return { ok: false, reason: "expired" };
    if (row.clientId !== x.clientId) return { ok: false, reason: "client_mismatch" };
    if (row.redirectUri !== x.redirectUri) return { ok: false, reason: "redirect_mismatch" };
    if (!timingSafeEqual(row.codeChallenge, challenge)) return { ok: false, reason: "pkce_failed" };
    if (row.disabled) return { ok: false, reason: "user_disabled" };
    // Housekeeping: sign-ins ended a month ago (and their used tokens) are of no use to anyone.
    const month = new Date(now.getTime() - 30 * 86_400_000);
    await tx`delete from oauth_grants where expires_at < ${month} or revoked_at < ${month}`;
    const [grant] = await tx<{ id: string }[]>`
      insert into oauth_grants (client_id, user_id, created_at, last_used_at, expires_at, client_address, user_agent)
      values (${row.clientId}, ${row.userId}, ${now}, ${now}, ${new Date(
      now.getTime() + life.refreshMs,
    )},
              ${x.clientAddress ?? null}, ${x.userAgent?.slice(0, 300) ?? null})
      returning id`;
    await tx`update oauth_codes set grant_id = ${grant.id} where code_sha256 = ${hash}`;
    return { ok: true, tokens: await issueTx(tx, grant.id, life, now) };
  });
}

/**
 * refresh_token grant: the token is spent and a new pair issued; the grant's
 * lifetime slides forward. A spent token presented again revokes the grant,
 * so the legitimate holder's next refresh fails too: both parties must sign in again.
 */
export async function refresh(
  sql: Sql,
  raw: string,
  clientId: string,
  life: Lifetimes,
  now = new Date(),
): Promise<GrantResult> {
  if (!TOKEN_FORMAT.test(raw) || !raw.startsWith(REFRESH_PREFIX)) {
    return { ok: false, reason: "unknown" };
  }
  const hash = await sha256Hex(raw);
  return await sql.begin(async (tx) => {
    const [row] = await tx<
      {
        grantId: string;
        usedAt: Date | null;
        clientId: string;
        expiresAt: Date;
        revokedAt: Date | null;
        disabled: boolean;
      }[]
    >`
      select r.grant_id, r.used_at, g.client_id, g.expires_at, g.revoked_at,
             u.disabled_at is not null as disabled
      from oauth_refresh_tokens r join oauth_grants g on g.id = r.grant_id
        join users u on u.id = g.user_id
      where r.token_sha256 = ${hash} for update of r, g`;
    if (!row) return { ok: false, reason: "unknown" };
    const refused = (reason: GrantRefusal): GrantResult => ({
      ok: false,
      reason,
      grantId: row.grantId,
    });
    if (row.revokedAt) return refused("revoked");
    if (row.usedAt) {
      await revokeGrantTx(tx, row.grantId, "refresh_token_replayed");
      return refused("replayed");
    }
    if (row.clientId !== clientId) return refused("client_mismatch");
    if (row.expiresAt <= now) return refused("expired");
    if (row.disabled) return refused("user_disabled");
    await tx`update oauth_refresh_tokens set used_at = ${now} where token_sha256 = ${hash}`;
    await tx`
      update oauth_grants set last_used_at = ${now}, expires_at = ${new Date(
      now.getTime() + life.refreshMs,
    )}
      where id = ${row.grantId}`;
    return { ok: true, tokens: await issueTx(tx, row.grantId, life, now) };
  });
}

type Tx = postgres.TransactionSql<Record<string, never>>;

async function issueTx(tx: Tx, grantId: string, life: Lifetimes, now: Date) {
  const accessToken = ACCESS_PREFIX + randomId();
  const refreshToken = REFRESH_PREFIX + randomId();
  await tx`
    insert into oauth_access_tokens (token_sha256, grant_id, created_at, expires_at)
    values (${await sha256Hex(accessToken)}, ${grantId}, ${now}, ${new Date(
    now.getTime() + life.accessMs,
  )})`;
  await tx`
    insert into oauth_refresh_tokens (token_sha256, grant_id, created_at)
    values (${await sha256Hex(refreshToken)}, ${grantId}, ${now})`;
  await tx`delete from oauth_access_tokens where expires_at < ${now}`;
  return {
    grantId,
    accessToken,
    refreshToken,
    expiresInSeconds: Math.floor(life.accessMs / 1000),
  };
}

async function revokeGrantTx(tx: Tx, grantId: string, reason: string) {
  await tx`
    update oauth_grants set revoked_at = now(), revoked_reason = ${reason}
    where id = ${grantId} and revoked_at is null`;
}

export type AccessCheck =
  | { ok: true; principal: SessionPrincipal }
  | { ok: false; reason: "unknown" | "expired" | "revoked"; grantId?: string };

export function looksLikeCliToken(raw: string): boolean {
  return raw.startsWith("dcli_");
}

/** The user behind a CLI access token, while the token, its grant and the user are all valid. */
export async function verifyAccessToken(
  sql: Sql,
  raw: string,
  now = new Date(),
): Promise<AccessCheck> {
  if (!TOKEN_FORMAT.test(raw) || !raw.startsWith(ACCESS_PREFIX)) {
    return { ok: false, reason: "unknown" };
  }
  const [row] = await sql<
    {
      grantId: string;
      clientId: string;
      expiresAt: Date;
      grantExpiresAt: Date;
      revokedAt: Date | null;
      disabledAt: Date | null;
      userId: string;
      issuer: string;
      subject: string;
      username: string | null;
      email: string | null;
      displayName: string | null;
    }[]
  >`
    select a.grant_id, g.client_id, a.expires_at, g.expires_at as grant_expires_at, g.revoked_at,
           u.disabled_at, u.id as user_id, u.issuer, u.subject, u.username, u.email, u.display_name
    from oauth_access_tokens a join oauth_grants g on g.id = a.grant_id
      join users u on u.id = g.user_id
    where a.token_sha256 = ${await sha256Hex(raw)}`;
  if (!row) return { ok: false, reason: "unknown" };
  if (row.revokedAt || row.disabledAt) {
    return { ok: false, reason: "revoked", grantId: row.grantId };
  }
  if (row.expiresAt <= now || row.grantExpiresAt <= now) {
    return { ok: false, reason: "expired", grantId: row.grantId };
  }
  return {
    ok: true,
    principal: {
      kind: "session",
      session: { id: row.grantId, cli: true },
      user: sessionUser(row),
    },
  };
}

/**
 * RFC 7009: revokes the grant an access or refresh token belongs to (the
 * whole CLI sign-in), when it belongs to this client. Unknown tokens are
 * not an error: the answer must not tell a guesser anything.
 */
export async function revokeByToken(
  sql: Sql,
  raw: string,
  clientId: string,
): Promise<string | undefined> {
  if (!TOKEN_FORMAT.test(raw)) return undefined;
  const hash = await sha256Hex(raw);
  const [token] = raw.startsWith(ACCESS_PREFIX)
    ? await sql<{ grantId: string }[]>`
      select grant_id from oauth_access_tokens where token_sha256 = ${hash}`
    : await sql<{ grantId: string }[]>`
      select grant_id from oauth_refresh_tokens where token_sha256 = ${hash}`;
  if (!token) return undefined;
  const [row] = await sql<{ id: string }[]>`
    update oauth_grants set revoked_at = now(), revoked_reason = 'revoked_by_client'
    where id = ${token.grantId} and client_id = ${clientId} and revoked_at is null
    returning id`;
  return row?.id;
}

/** Ends every CLI sign-in of a user (disable, password change); the number ended. */
export async function revokeUserGrants(sql: Sql, userId: string, reason: string) {
  const rows = await sql`
    update oauth_grants set revoked_at = now(), revoked_reason = ${reason}
    where user_id = ${userId} and revoked_at is null returning id`;
  return rows.length;
}

export interface GrantRecord {
  id: string;
  clientId: string;
  clientName: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  clientAddress: string | null;
  userAgent: string | null;
}

/** A user's live CLI sign-ins, newest first. */
export async function listUserGrants(sql: Sql, userId: string): Promise<GrantRecord[]> {
  return await sql<GrantRecord[]>`
    select g.id, g.client_id, c.name as client_name, g.created_at, g.last_used_at, g.expires_at,
           g.client_address, g.user_agent
    from oauth_grants g join oauth_clients c on c.id = g.client_id
    where g.user_id = ${userId} and g.revoked_at is null and g.expires_at > now()
    order by g.created_at desc, g.id`;
}

/** Revokes one of the user's CLI sign-ins; false when there is no such live one. */
export async function revokeUserGrant(sql: Sql, userId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await sql`
    update oauth_grants set revoked_at = now(), revoked_reason = 'revoked_by_user'
    where id = ${id} and user_id = ${userId} and revoked_at is null returning id`;
  return rows.length > 0;
}

export function grantJson(g: GrantRecord) {
  return {
    id: g.id,
    client_id: g.clientId,
    client_name: g.clientName,
    created_at: g.createdAt.toISOString(),
    last_used_at: g.lastUsedAt.toISOString(),
    expires_at: g.expiresAt.toISOString(),
    client_address: g.clientAddress,
    user_agent: g.userAgent,
  };
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
