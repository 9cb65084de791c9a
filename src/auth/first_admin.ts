/**
 * The optional first local account: at start, while no local account
 * exists, `admin` is created with the password in
 * DESPACITO_ADMIN_PASSWORD_FILE (a file, never an environment variable, so
 * the password stays out of process listings and unit files).
 */

import type { AuditSink } from "../core/audit.ts";
import { isDomainError } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";
import { hashPassword, passwordProblem } from "./passwords.ts";
import { anyLocalUser, createLocalUser } from "./users.ts";

export const FIRST_ADMIN = "admin";

export async function ensureFirstAdmin(
  sql: Sql,
  file: string,
  log: Logger,
  audit?: AuditSink,
): Promise<void> {
  if (await anyLocalUser(sql)) return;
  let password: string;
  try {
    password = (await Deno.readTextFile(file)).replace(/\r?\n$/, "");
  } catch (e) {
    throw new Error(`cannot read DESPACITO_ADMIN_PASSWORD_FILE ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const problem = passwordProblem(password);
  if (problem) throw new Error(`the password in DESPACITO_ADMIN_PASSWORD_FILE must be ${problem}`);
  let user;
  try {
    user = await createLocalUser(sql, FIRST_ADMIN, await hashPassword(password));
  } catch (e) {
    if (isDomainError(e) && e.code === "user_exists") return; // another instance was first
    throw e;
  }
  log.info("first local account created", { username: FIRST_ADMIN, user_id: user.id });
  await audit?.record({
    actor: { kind: "system", label: "DESPACITO_ADMIN_PASSWORD_FILE" },
    action: "user.created",
    target: `user:${user.id}`,
    details: { username: FIRST_ADMIN },
  });
}
