/**
 * Local account passwords: bcrypt (bcryptjs) at cost 12, passwords over 72
 * bytes refused rather than silently truncated, and sign-in checks that
 * take the same time whether or not the user exists (a dummy hash stands in
 * for a missing one). Never logs or returns a password or a hash.
 */

import type { Sql } from "../db/connect.ts";
import { findLocalUser, USERNAME, type UserRecord } from "./users.ts";

export const BCRYPT_COST = 12;
/** bcrypt reads at most 72 bytes; anything longer would be truncated. */
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_CHARS = 8;

// A cost-12 hash of a random string nobody knows: compared against when the user does not exist.
const DUMMY_HASH = "$2b$12$YTkh4sBJNvfzKruMTNqnY.aJhi7a3y9V43XzG1cbO2BEpyT3nEvS2";

// Loaded on first use: most servers never check a password, and start faster without it.
const bcrypt = async () => (await import("bcryptjs")).default;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Why a new password is not acceptable, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_CHARS) {
    return `at least ${MIN_PASSWORD_CHARS} characters`;
  }
  if (utf8Length(password) > MAX_PASSWORD_BYTES) {
    return `at most ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores anything beyond)`;
  }
  return undefined;
}

export async function hashPassword(password: string): Promise<string> {
  const problem = passwordProblem(password);
  if (problem) throw new Error(`password not acceptable: ${problem}`);
  return await (await bcrypt()).hash(password, BCRYPT_COST);
}

/** Always runs one bcrypt comparison, so a missing hash costs the same time as a wrong password. */
export async function verifyPassword(
  password: string,
  hash: string | null | undefined,
): Promise<boolean> {
  const tooLong = utf8Length(password) > MAX_PASSWORD_BYTES;
  const match = await (await bcrypt()).compare(tooLong ? "" : password, hash ?? DUMMY_HASH);
  return match && !tooLong && !!hash;
}

/**
 * Checks local credentials. Unknown user, wrong password, over-long password
 * and disabled account all answer undefined after the same work.
 */
export async function checkLocalLogin(
  sql: Sql,
  username: string,
  password: string,
): Promise<{ user?: UserRecord; reason: "ok" | "unknown_user" | "wrong_password" | "disabled" }> {
  const user = USERNAME.test(username) ? await findLocalUser(sql, username) : undefined;
  const ok = await verifyPassword(password, user?.passwordHash);
  if (!user) return { reason: "unknown_user" };
  if (!ok) return { reason: "wrong_password" };
  if (user.disabledAt) return { reason: "disabled" };
  const { passwordHash: _hash, ...record } = user;
  return { user: record, reason: "ok" };
}
