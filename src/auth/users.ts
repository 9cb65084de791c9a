/**
 * People: users keyed by (issuer, subject) — OIDC accounts and local ones
 * (issuer 'local', subject = username). Owns upserts at OIDC sign-in (never
 * matching by email), local account records, disabling and password
 * changes (which also end every session and CLI sign-in) and the JSON shape of a user. Knows nothing of HTTP.
 */

import type { Sql } from "../db/connect.ts";
import { DomainError } from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import { revokeUserGrants } from "./oauth_store.ts";
import { revokeUserSessions } from "./sessions.ts";

export const LOCAL_ISSUER = "local";
export const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface UserRecord {
  id: string;
  issuer: string;
  subject: string;
  username: string | null;
  email: string | null;
  displayName: string | null;
  createdAt: Date;
  lastLoginAt: Date | null;
  disabledAt: Date | null;
}

export interface LocalUser extends UserRecord {
  passwordHash: string | null;
}

const COLUMNS =
  "id, issuer, subject, username, email, display_name, created_at, last_login_at, disabled_at";

export interface OidcIdentity {
  issuer: string;
  subject: string;
  username: string | null;
  email: string | null;
  displayName: string | null;
}

/** Creates or refreshes the user for an OIDC identity and notes the sign-in. */
export async function upsertOidcUser(sql: Sql, id: OidcIdentity): Promise<UserRecord> {
  const [row] = await sql<UserRecord[]>`
    insert into users (issuer, subject, username, email, display_name, last_login_at)
    values (${id.issuer}, ${id.subject}, ${id.username}, ${id.email}, ${id.displayName}, now())
    on conflict (issuer, subject) do update set
      username = excluded.username, email = excluded.email, display_name = excluded.display_name,
      updated_at = now(), last_login_at = case when users.disabled_at is null then now() else users.last_login_at end
    returning ${sql.unsafe(COLUMNS)}`;
  return row;
}

export async function findLocalUser(sql: Sql, username: string): Promise<LocalUser | undefined> {
  const [row] = await sql<LocalUser[]>`
    select ${sql.unsafe(COLUMNS)}, password_hash from users
    where issuer = ${LOCAL_ISSUER} and subject = ${username}`;
  return row;
}

export async function noteLogin(sql: Sql, userId: string): Promise<void> {
  await sql`update users set last_login_at = now() where id = ${userId}`;
}

export async function anyLocalUser(sql: Sql): Promise<boolean> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    select exists (select 1 from users where issuer = ${LOCAL_ISSUER})`;
  return exists;
}

export async function createLocalUser(
  sql: Sql,
  username: string,
  passwordHash: string,
): Promise<UserRecord> {
  const rows = await sql<UserRecord[]>`
    insert into users (issuer, subject, username, password_hash)
    values (${LOCAL_ISSUER}, ${username}, ${username}, ${passwordHash})
    on conflict (issuer, subject) do nothing
    returning ${sql.unsafe(COLUMNS)}`;
  if (rows.length === 0) {
    throw new DomainError("conflict", "user_exists", `local user ${username} already exists`);
  }
  return rows[0];
}

/** Sets a local password and ends the user's sessions; undefined when there is no such user. */
export async function setLocalPassword(
  sql: Sql,
  username: string,
  passwordHash: string,
): Promise<UserRecord | undefined> {
  return await sql.begin(async (tx) => {
    const [row] = await tx<UserRecord[]>`
      update users set password_hash = ${passwordHash}, updated_at = now()
      where issuer = ${LOCAL_ISSUER} and subject = ${username}
      returning ${tx.unsafe(COLUMNS)}`;
    if (row) {
      await revokeUserSessions(tx as unknown as Sql, row.id);
      await revokeUserGrants(tx as unknown as Sql, row.id, "password_changed");
    }
    return row;
  });
}

/**
 * Disables (or re-enables) a user named by local username or by id, ending
 * every session on disable. Undefined when there is no such user.
 */
export async function setDisabled(
  sql: Sql,
  who: string,
  disabled: boolean,
): Promise<UserRecord | undefined> {
  return await sql.begin(async (tx) => {
    const [row] = await tx<UserRecord[]>`
      update users set disabled_at = ${disabled ? new Date() : null}, updated_at = now()
      where (issuer = ${LOCAL_ISSUER} and subject = ${who})
         or (${isUuid(who)} and id = ${isUuid(who) ? who : null}::uuid)
      returning ${tx.unsafe(COLUMNS)}`;
    if (row && disabled) {
      await revokeUserSessions(tx as unknown as Sql, row.id);
      await revokeUserGrants(tx as unknown as Sql, row.id, "user_disabled");
    }
    return row;
  });
}

export async function listUsers(sql: Sql): Promise<UserRecord[]> {
  return await sql<UserRecord[]>`
    select ${sql.unsafe(COLUMNS)} from users order by issuer, username nulls last, subject`;
}

/** The user in API responses (GET /api/me, login answers). */
export function userJson(
  u: Pick<UserRecord, "id" | "issuer" | "username" | "email" | "displayName">,
) {
  return {
    id: u.id,
    issuer: u.issuer,
    username: u.username,
    email: u.email,
    display_name: u.displayName,
  };
}
