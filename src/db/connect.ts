/**
 * Opens the database: a postgres.js pool against real Postgres when
 * DESPACITO_POSTGRES_CONNECTION_URI is set, otherwise embedded PGlite (real
 * Postgres compiled to WASM) stored in the data dir and served on a private
 * Unix socket, so that the very same postgres.js client, SQL and migrations
 * run on both. Never runs migrations itself (see migrate.ts).
 *
 * Rows come back with camelCase keys (postgres.toCamel), SQL stays snake_case;
 * int8 values (counts, sequence numbers) come back as numbers.
 */

import postgres from "postgres";
import { join, resolve } from "node:path";
import type { Logger } from "../log/log.ts";
import type { Config } from "../config/config.ts";
import { clearStaleSocket } from "../core/unix_socket.ts";

export type Sql = postgres.Sql<Record<string, never>>;

export interface Database {
  sql: Sql;
  kind: "postgres" | "embedded";
  /** Where the data lives, without credentials, for logs and `migrate --status`. */
  location: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  postgresUri?: string;
  poolSize?: number;
  dataDir: string;
  log: Logger;
}

const clientOptions = (log: Logger) => ({
  onnotice: (n: postgres.Notice) => log.debug("postgres notice", { notice: n.message }),
  transform: { column: { from: postgres.toCamel } },
  types: {
    // int8 → number: our counters and sequences stay far below 2^53.
    int8: {
      to: 20,
      from: [20],
      serialize: (v: number) => String(v),
      parse: (v: string) => Number(v),
    },
  },
  connection: { application_name: "despacito" },
});

/** The database the configuration names (real Postgres, or embedded PGlite in the data dir). */
export function openConfiguredDatabase(
  config: Pick<Config, "postgresUri" | "postgresPoolSize" | "dataDir">,
  log: Logger,
): Promise<Database> {
  return openDatabase({
    postgresUri: config.postgresUri,
    poolSize: config.postgresPoolSize,
    dataDir: config.dataDir,
    log,
  });
}

/** The embedded database is open in another process (one process per data dir). */
export class DatabaseInUseError extends Error {
  constructor(readonly dbDir: string) {
    super(`the embedded database at ${dbDir} is in use by another despacito process`);
    this.name = "DatabaseInUseError";
  }
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const log = options.log.child({ component: "db" });
  if (options.postgresUri) {
    const sql = postgres(options.postgresUri, {
      ...clientOptions(log),
      max: options.poolSize ?? 10,
      idle_timeout: 60,
      connect_timeout: 10,
    }) as unknown as Sql;
    const location = describeUri(options.postgresUri);
    log.info("using PostgreSQL", { database: location });
    return { sql, kind: "postgres", location, close: () => sql.end({ timeout: 5 }) };
  }
  return await openEmbedded(options.dataDir, log);
}

async function openEmbedded(dataDir: string, log: Logger): Promise<Database> {
  // Imported lazily: the WASM build is large and production on real Postgres never needs it.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");

  const dbDir = resolve(join(dataDir, "pglite"));
  const runDir = resolve(join(dataDir, "pglite-run"));
  await Deno.mkdir(dbDir, { recursive: true, mode: 0o700 });
  await Deno.mkdir(runDir, { recursive: true, mode: 0o700 });
  const socketPath = join(runDir, ".s.PGSQL.5432");
  if (socketPath.length > 100) {
    throw new Error(`data dir path too long for the embedded database socket: ${socketPath}`);
  }
  // A live socket means another despacito has this data dir open; PGlite must not be opened twice.
  if ((await clearStaleSocket(socketPath)) !== "free") {
    throw new DatabaseInUseError(dbDir);
  }

  const db = await PGlite.create(dbDir);
  const server = new PGLiteSocketServer({ db, path: socketPath });
  await server.start();
  // PGlite serves one connection at a time, so the pool has exactly one.
  const sql = postgres({
    ...clientOptions(log),
    host: runDir,
    port: 5432,
    username: "postgres",
    database: "postgres",
    max: 1,
  }) as unknown as Sql;
  log.info(
    "using embedded PGlite database (set DESPACITO_POSTGRES_CONNECTION_URI for PostgreSQL)",
    {
      data_dir: dbDir,
    },
  );
  return {
    sql,
    kind: "embedded",
    location: `embedded PGlite at ${dbDir}`,
    close: async () => {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
      await Deno.remove(socketPath).catch(() => {});
    },
  };
}

/** postgres://user:pass@host:5432/db?x → postgres://user@host:5432/db */
export function describeUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return "postgres (unparseable URI)";
  }
}
