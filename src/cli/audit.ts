/**
 * `despacito audit verify`: walks the audit trail's hash chain straight in
 * the database (no server needed) and names the first row that was edited,
 * deleted or reordered; exit 0 when intact, 1 when not. Also the CLI's
 * own audit sink: what admin commands change is recorded as actor "cli".
 */

import type { AuditEntry } from "../core/audit.ts";
import type { Sql } from "../db/connect.ts";
import { loadMigrations, migrate, MigrationError } from "../db/migrate.ts";
import { appendAudit, verifyAudit } from "../ops/audit_store.ts";
import { err, out } from "./io.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";

const USAGE = "usage: despacito audit verify [--json]";

export async function auditCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const json = rest.length === 1 && rest[0] === "--json";
  if (action !== "verify" || (rest.length > 0 && !json)) {
    err(USAGE);
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config, "stderr");
  return await withDatabase(config, log, async ({ sql }) => {
    try {
      await migrate(sql, await loadMigrations(), log);
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      err(`despacito: ${e.message}`);
      return 1;
    }
    const r = await verifyAudit(sql);
    if (json) out(JSON.stringify(r));
    else if (r.ok) out(`audit trail intact: ${r.rows} row(s), head ${r.head?.hash ?? "(empty)"}`);
    else out(`audit trail BROKEN at row ${r.problem!.rowId}: ${r.problem!.message}`);
    return r.ok ? 0 : 1;
  });
}

/** Records an admin command's change with the OS user as the actor's label. */
export async function recordCli(
  sql: Sql,
  entry: Omit<AuditEntry, "actor">,
): Promise<void> {
  const user = Deno.env.get("USER") ?? Deno.env.get("USERNAME");
  await appendAudit(sql, { ...entry, actor: { kind: "cli", label: user } });
}
