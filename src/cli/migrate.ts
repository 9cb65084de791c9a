/** `despacito migrate [--status]`: apply pending migrations and exit, or list them. */

import { strictArgs, UsageError } from "./args.ts";
import { loadMigrations, migrate, MigrationError, migrationStatus } from "../db/migrate.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";
import { err, out } from "./io.ts";

export async function migrateCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = strictArgs(args, { status: { type: "boolean" } }));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`despacito: ${e.message}\nusage: despacito migrate [--status]`);
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config, "stderr");
  const files = await loadMigrations();
  try {
    return await withDatabase(config, log, async (db) => {
      if (values.status) {
        out(`database: ${db.location}`);
        for (const s of await migrationStatus(db.sql, files)) {
          const when = s.appliedAt ? `  ${s.appliedAt.toISOString()}` : "";
          out(`${String(s.version).padStart(4, "0")}_${s.name}  ${s.state}${when}`);
        }
        return 0;
      }
      const applied = await migrate(db.sql, files, log);
      out(applied.length === 0 ? "schema is up to date" : `applied ${applied.length} migration(s)`);
      return 0;
    });
  } catch (e) {
    if (e instanceof MigrationError) {
      err(`despacito: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
