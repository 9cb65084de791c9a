/**
 * Real PostgreSQL for tests. `sharedPostgres()` gives one server per test
 * process: the one named by DESPACITO_TEST_POSTGRES_URI (an admin URI; CI
 * may provide it) or a throwaway cluster this harness starts in a temp dir.
 * `freshDatabase()` creates an empty database on it for one test.
 * `startCluster()` gives a test its own server it may stop and start.
 */

import postgres from "postgres";
import { type Database, openDatabase, type Sql } from "../../src/db/connect.ts";
import { loadMigrations, migrate } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/log/log.ts";

export interface Cluster {
  /** Admin URI (database "postgres"). */
  adminUri: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  /** Immediate synchronous stop, for process exit. */
  stopSync(): void;
}

function findBin(name: string): string {
  const roots = ["/usr/lib/postgresql"];
  for (const root of roots) {
    try {
      const versions = [...Deno.readDirSync(root)].map((e) => e.name).sort((a, b) =>
        Number(b) - Number(a)
      );
      for (const v of versions) {
        const p = `${root}/${v}/bin/${name}`;
        try {
          Deno.statSync(p);
          return p;
        } catch { /* next */ }
      }
    } catch { /* no such root */ }
  }
  throw new Error(
    `PostgreSQL server binary ${name} not found: install Debian's postgresql package`,
  );
}

const isRoot = () => Deno.uid() === 0;

async function run(argv: string[], what: string) {
  const full = isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
  const r = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `${what} failed: ${new TextDecoder().decode(r.stderr)}${new TextDecoder().decode(r.stdout)}`,
    );
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const PREFIX = "despacito-pg-";

async function alive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the clusters of test or bench processes that died without running
 * their unload handler (killed by a timeout or a signal): a postmaster
 * outlives its owner and would keep its memory and port for good. Each
 * cluster's directory names its owner's pid; one without that file is still
 * being created by a live process and is left alone.
 */
async function reapAbandonedClusters(): Promise<void> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const e of Deno.readDir(tmp)) {
    if (!e.isDirectory || !e.name.startsWith(PREFIX)) continue;
    const dir = `${tmp}/${e.name}`;
    const owner = Number(await Deno.readTextFile(`${dir}/owner`).catch(() => ""));
    if (!Number.isInteger(owner) || owner <= 0 || await alive(owner)) continue;
    // Another process may be reaping the same directory: both may fail.
    await run([findBin("pg_ctl"), "-D", `${dir}/data`, "-m", "immediate", "-w", "stop"], "pg_ctl")
      .catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Starts a private PostgreSQL cluster on a free loopback port. */
export async function startCluster(): Promise<Cluster> {
  await reapAbandonedClusters();
  const dir = await Deno.makeTempDir({ prefix: PREFIX });
  await Deno.chmod(dir, 0o755);
  const data = `${dir}/data`;
  if (isRoot()) await new Deno.Command("chown", { args: ["postgres:postgres", dir] }).output();
  await run([
    findBin("initdb"),
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ], "initdb");
  const port = freePort();
  const pgCtl = findBin("pg_ctl");
  const opts =
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = () =>
    run([pgCtl, "-D", data, "-o", opts, "-l", `${dir}/log`, "-w", "start"], "pg_ctl start");
  const stop = () => run([pgCtl, "-D", data, "-m", "immediate", "-w", "stop"], "pg_ctl stop");
  await start();
  // Written once the server runs, so a reaper never sees a half-made cluster as abandoned.
  await Deno.writeTextFile(`${dir}/owner`, String(Deno.pid));
  let running = true;
  return {
    adminUri: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: async () => {
      await start();
      running = true;
    },
    stop: async () => {
      await stop();
      running = false;
    },
    stopSync: () => {
      const argv = [pgCtl, "-D", data, "-m", "immediate", "stop"];
      const full = isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
      new Deno.Command(full[0], { args: full.slice(1), stdout: "null", stderr: "null" })
        .outputSync();
      Deno.removeSync(dir, { recursive: true });
    },
    destroy: async () => {
      if (running) await stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

let shared: Promise<string> | undefined;

/** Admin URI of the per-process server, started on first use and stopped at exit. */
export function sharedPostgres(): Promise<string> {
  const external = Deno.env.get("DESPACITO_TEST_POSTGRES_URI");
  if (external) return Promise.resolve(external);
  shared ??= startCluster().then((c) => {
    // Unload handlers cannot await, so the stop is synchronous.
    globalThis.addEventListener("unload", () => c.stopSync());
    return c.adminUri;
  });
  return shared;
}

/** Creates an empty database for one test; `drop()` removes it. */
export async function freshDatabase(
  adminUri?: string,
): Promise<{ uri: string; drop(): Promise<void> }> {
  const admin = adminUri ?? (await sharedPostgres());
  const name = `despacito_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    uri: u.toString(),
    drop: async () => {
      const s = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await s.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await s.end();
      }
    },
  };
}

/**
 * A handle on `uri` configured exactly as the server's (camelCase rows, int8
 * as number), for tests that call the stores or inspect what the server wrote.
 */
export function storeDatabase(uri: string, poolSize = 2): Promise<Database> {
  return openDatabase({ postgresUri: uri, poolSize, dataDir: "", log: silentLogger });
}

/**
 * Runs `fn` on a fresh database with the shipped migrations applied, through a
 * handle configured as the server's (storeDatabase), for tests of the stores;
 * closes and drops it afterwards.
 */
export async function withMigratedDatabase(fn: (sql: Sql) => Promise<void>): Promise<void> {
  const fresh = await freshDatabase();
  const db = await storeDatabase(fresh.uri);
  try {
    await migrate(db.sql, await loadMigrations(), silentLogger);
    await fn(db.sql);
  } finally {
    await db.close();
    await fresh.drop();
  }
}
