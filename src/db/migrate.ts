/**
 * Schema migrations: numbered plain-SQL files in migrations/, applied in
 * order, each in its own transaction that also records its version and
 * checksum, all under one advisory lock so two instances never race.
 * Refuses a database whose applied files changed or that is newer than
 * this binary. Migrations are append-only: never edit an applied file.
 */

import { sha256Hex } from "../core/ids.ts";
import type { Sql } from "./connect.ts";
import type { Logger } from "../log/log.ts";

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrationState {
  version: number;
  name: string;
  state: "applied" | "pending" | "changed" | "unknown";
  appliedAt?: Date;
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

// An arbitrary constant shared by every despacito instance: "despacit" in ASCII.
const LOCK_KEY = 0x6465737061636974n;
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export const DEFAULT_MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

/** Reads migrations/NNNN_name.sql in version order. */
export async function loadMigrations(
  dir: URL | string = DEFAULT_MIGRATIONS_DIR,
): Promise<Migration[]> {
  const base = typeof dir === "string" ? dir.replace(/\/?$/, "/") : dir.href;
  const names: [string, RegExpExecArray][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const m = FILE_NAME.exec(entry.name);
    if (!m) throw new MigrationError(`migration file name must be NNNN_name.sql: ${entry.name}`);
    names.push([entry.name, m]);
  }
  // Read and hashed all at once: every start does this before it can serve.
  const out = await Promise.all(names.map(async ([file, m]): Promise<Migration> => {
    const sql = await Deno.readTextFile(
      typeof dir === "string" ? base + file : new URL(file, base),
    );
    return { version: Number(m[1]), name: m[2], file, sql, checksum: await sha256Hex(sql) };
  }));
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i].version === out[i - 1].version) {
      throw new MigrationError(`two migrations share version ${out[i].version}`);
    }
  }
  return out;
}

export interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
}

async function ensureTable(sql: Sql) {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY.toString()}::bigint)`;
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
  });
}

/**
 * What the database has applied, read now (creating the table first when it is missing). The
 * server starts this as soon as the database is open and hands it to `migrate`: the first
 * connection (PostgreSQL starting a backend, postgres.js asking for the array types) then
 * overlaps with building the areas and reading the migration files instead of following them.
 */
export async function readApplied(sql: Sql): Promise<AppliedRow[]> {
  try {
    return await applied(sql);
  } catch (e) {
    if ((e as { code?: string }).code !== UNDEFINED_TABLE) throw e;
  }
  await ensureTable(sql);
  return await applied(sql);
}

const UNDEFINED_TABLE = "42P01";

async function applied(sql: Sql): Promise<AppliedRow[]> {
  return await sql<AppliedRow[]>`
    select version, name, checksum, applied_at from schema_migrations order by version`;
}

/** Throws when an applied file changed or the database knows versions this binary does not. */
function verify(rows: AppliedRow[], files: Migration[]) {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const latest = files.at(-1)?.version ?? 0;
  const unknown = rows.filter((r) => !byVersion.has(r.version));
  if (unknown.length > 0) {
    throw new MigrationError(
      `the database schema is newer than this despacito: it has migration(s) ${
        unknown.map((r) => `${r.version} (${r.name})`).join(", ")
      }, this binary knows up to ${latest}. Run the newer despacito or restore a matching backup.`,
    );
  }
  for (const r of rows) {
    const f = byVersion.get(r.version)!;
    if (f.checksum !== r.checksum) {
      throw new MigrationError(
        `migrations/${f.file} was changed after it was applied (checksum differs). ` +
          `Applied migrations are append-only: restore the file and add a new migration instead.`,
      );
    }
  }
}

/**
 * Applies pending migrations; returns the versions applied now. `appliedNow`: a `readApplied`
 * of this database started earlier (else it is read here).
 */
export async function migrate(
  sql: Sql,
  files: Migration[],
  log: Logger,
  appliedNow?: Promise<AppliedRow[]>,
): Promise<number[]> {
  const before = await (appliedNow ?? readApplied(sql));
  verify(before, files);
  // Only pending files take the lock (each re-checked under it): a start on a current schema
  // is one read, not a locked transaction per file.
  const pending = files.filter((f) => !before.some((r) => r.version === f.version));
  const done: number[] = [];
  for (const f of pending) {
    const ran = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY.toString()}::bigint)`;
      // Another instance may have applied it while we waited for the lock.
      const [row] = await tx<{ checksum: string }[]>`
        select checksum from schema_migrations where version = ${f.version}`;
      if (row) return false;
      await tx.unsafe(f.sql);
      await tx`
        insert into schema_migrations (version, name, checksum)
        values (${f.version}, ${f.name}, ${f.checksum})`;
      return true;
    }).catch((e) => {
      throw new MigrationError(
        `migration ${f.file} failed: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    });
    if (ran) {
      done.push(f.version);
      log.info("migration applied", { component: "db", version: f.version, name: f.name });
    }
  }
  // A current schema was verified above: one read per start.
  if (pending.length > 0) verify(await applied(sql), files);
  return done;
}

/** Applied/pending/changed per file, plus versions only the database knows. */
export async function migrationStatus(sql: Sql, files: Migration[]): Promise<MigrationState[]> {
  await ensureTable(sql);
  const rows = await applied(sql);
  const byVersion = new Map(rows.map((r) => [r.version, r]));
  const out: MigrationState[] = files.map((f) => {
    const r = byVersion.get(f.version);
    if (!r) return { version: f.version, name: f.name, state: "pending" };
    return {
      version: f.version,
      name: f.name,
      state: r.checksum === f.checksum ? "applied" : "changed",
      appliedAt: r.appliedAt,
    };
  });
  const known = new Set(files.map((f) => f.version));
  for (const r of rows) {
    if (!known.has(r.version)) {
      out.push({ version: r.version, name: r.name, state: "unknown", appliedAt: r.appliedAt });
    }
  }
  return out.sort((a, b) => a.version - b.version);
}

/** For readiness: undefined when the schema matches this binary, else the reason. */
export async function schemaProblem(sql: Sql, files: Migration[]): Promise<string | undefined> {
  const rows = await sql<
    { version: number }[]
  >`select version from schema_migrations order by version`;
  const applied = new Set(rows.map((r) => r.version));
  const latest = files.at(-1)?.version ?? 0;
  const newer = rows.filter((r) => r.version > latest);
  if (newer.length > 0) {
    return `schema at version ${newer.at(-1)!.version} is newer than this despacito (${latest})`;
  }
  // The schema is "at" the last version before the first gap, so a lost record is noticed too.
  const missing = files.find((f) => !applied.has(f.version));
  if (missing) {
    const at = files.filter((f) => f.version < missing.version).at(-1)?.version ?? 0;
    return `schema at version ${at}, this despacito needs ${latest}`;
  }
  return undefined;
}
