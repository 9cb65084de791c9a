/**
 * Browser sessions: a 256-bit random id in a cookie, stored only as its
 * SHA-256. Owns creation (always a new id), lookup with idle and absolute
 * limits, and revocation (one session, or all of a user's). A disabled
 * user's sessions stop working even before they are revoked. Never stores
 * or logs a raw session id.
 */

import type { Sql } from "../db/connect.ts";
import { sha256Hex } from "../core/ids.ts";
import { type SessionPrincipal, sessionUser } from "./principal.ts";

const SESSION_FORMAT = /^[A-Za-z0-9_-]{43}$/;
// last_seen_at is written at most this often, so a busy UI is not a write per request.
const TOUCH_EVERY_MS = 60_000;

export interface NewSession {
  userId: string;
  maxAgeMs: number;
  clientAddress?: string;
  userAgent?: string;
}

export interface CreatedSession {
  id: string;
  /** The cookie value; never stored. */
  token: string;
  expiresAt: Date;
}

export function randomId(bytes = 32): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

export async function createSession(
  sql: Sql,
  s: NewSession,
  now = new Date(),
): Promise<CreatedSession> {
  const token = randomId();
  const expiresAt = new Date(now.getTime() + s.maxAgeMs);
  const [row] = await sql<{ id: string }[]>`
    insert into sessions (token_sha256, user_id, created_at, last_seen_at, expires_at, client_address, user_agent)
    values (${await sha256Hex(token)}, ${s.userId}, ${now}, ${now}, ${expiresAt},
            ${s.clientAddress ?? null}, ${s.userAgent?.slice(0, 300) ?? null})
    returning id`;
  // Housekeeping: sessions long past their end are of no use to anyone.
  await sql`delete from sessions where expires_at < ${new Date(now.getTime() - 86_400_000)}`;
  return { id: row.id, token, expiresAt };
}

interface SessionRow {
  sessionId: string;
  lastSeenAt: Date;
  userId: string;
  issuer: string;
  subject: string;
  username: string | null;
  email: string | null;
  displayName: string | null;
}

/** The signed-in user behind a cookie value, or undefined (unknown, ended, idle, disabled). */
export async function resolveSession(
  sql: Sql,
  token: string,
  idleMs: number,
  now = new Date(),
): Promise<SessionPrincipal | undefined> {
  if (!SESSION_FORMAT.test(token)) return undefined;
  const [row] = await sql<SessionRow[]>`
    select s.id as session_id, s.last_seen_at, u.id as user_id, u.issuer, u.subject,
           u.username, u.email, u.display_name
    from sessions s join users u on u.id = s.user_id
    where s.token_sha256 = ${await sha256Hex(token)}
      and s.revoked_at is null
      and s.expires_at > ${now}
      and s.last_seen_at > ${new Date(now.getTime() - idleMs)}
      and u.disabled_at is null`;
  if (!row) return undefined;
  if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await sql`update sessions set last_seen_at = ${now} where id = ${row.sessionId}`;
  }
  return {
    kind: "session",
    session: { id: row.sessionId },
    user: sessionUser(row),
  };
}

/** Revokes the session with this cookie value; its id when there was one. */
export async function revokeSession(sql: Sql, token: string): Promise<string | undefined> {
  if (!SESSION_FORMAT.test(token)) return undefined;
  const [row] = await sql<{ id: string }[]>`
    update sessions set revoked_at = now()
    where token_sha256 = ${await sha256Hex(token)} and revoked_at is null returning id`;
  return row?.id;
}

/** Ends every session of a user (disable, password change); the number ended. */
export async function revokeUserSessions(sql: Sql, userId: string): Promise<number> {
  const rows = await sql`
    update sessions set revoked_at = now() where user_id = ${userId} and revoked_at is null
    returning id`;
  return rows.length;
}
