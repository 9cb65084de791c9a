/**
 * `despacito secrets rotate-key`: re-seals every stored secret under a new
 * server key in one transaction and keeps the old key only as a backup
 * file. Run it with the server stopped.
 */

import { loadMigrations, migrate } from "../db/migrate.ts";
import { keyLocation } from "../secrets/key.ts";
import { rotateServerKey } from "../secrets/rotate.ts";
import { recordCli } from "./audit.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";
import { err, out } from "./io.ts";

export async function secretsCommand(args: string[]): Promise<number> {
  if (args[0] !== "rotate-key" || args.length !== 1) {
    err("usage: despacito secrets rotate-key   (stop the server first)");
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config);
  const { path } = keyLocation(config);
  return await withDatabase(config, log, async (db) => {
    await migrate(db.sql, await loadMigrations(), log);
    try {
      const r = await rotateServerKey({ sql: db.sql, keyPath: path });
      log.info("server key rotated", {
        component: "secrets",
        resealed: r.resealed,
        old_key_id: r.oldKeyId,
        new_key_id: r.newKeyId,
      });
      await recordCli(db.sql, {
        action: "server_key.rotated",
        details: { resealed: r.resealed, old_key_id: r.oldKeyId, new_key_id: r.newKeyId },
      });
      out(
        `re-sealed ${r.resealed} secret(s): server key ${r.oldKeyId} → ${r.newKeyId} in ${path}\n` +
          `the old key is now ${r.backupPath}\n` +
          "start despacito, check that it works, then delete that file (it opens old backups of the database).",
      );
      return 0;
    } catch (e) {
      err(`despacito: key rotation failed: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  });
}
