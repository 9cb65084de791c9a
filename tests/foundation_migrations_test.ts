/**
 * Migrations behave the same on real PostgreSQL and on embedded PGlite:
 * fresh apply, idempotent re-run, a changed applied file refused by name, a
 * newer database refused naming the versions, a failing migration leaving
 * nothing behind, and two racing instances applying each file once.
 */

import assert from "node:assert/strict";
import { type Database, openDatabase } from "../src/db/connect.ts";
import { loadMigrations, migrate, MigrationError, migrationStatus } from "../src/db/migrate.ts";
import { silentLogger } from "../src/log/log.ts";
import { freshDatabase } from "./_harness/postgres.ts";

interface Engine {
  name: string;
  open(): Promise<{ db: Database; cleanup(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    name: "PostgreSQL",
    open: async () => {
      const fresh = await freshDatabase();
      const db = await openDatabase({ postgresUri: fresh.uri, dataDir: "", log: silentLogger });
      return {
        db,
        cleanup: async () => {
          await db.close();
          await fresh.drop();
        },
      };
    },
  },
  {
    name: "PGlite",
    open: async () => {
      const dataDir = await Deno.makeTempDir({ prefix: "despacito-mig-" });
      const db = await openDatabase({ dataDir, log: silentLogger });
      return {
        db,
        cleanup: async () => {
          await db.close();
          await Deno.remove(dataDir, { recursive: true });
        },
      };
    },
  },
];

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "despacito-migfiles-" });
  for (const [name, sql] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, sql);
  return dir;
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<MigrationError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof MigrationError, `expected MigrationError, got ${e}`);
    assert.match(e.message, pattern);
    return e;
  }
  throw new Error("expected the migration to be refused");
}

const V1 = "-- first\ncreate table widgets (id serial primary key, name text not null);\n";
const V2 = "-- second\nalter table widgets add column colour text;\n";

for (const engine of ENGINES) {
  Deno.test(`migrate() on ${engine.name}: fresh, re-run, changed file, newer database`, async (t) => {
    const { db, cleanup } = await engine.open();
    const dir = await migrationsDir({ "0001_widgets.sql": V1, "0002_colour.sql": V2 });
    try {
      await t.step("fresh database: applies every file in order, recording checksums", async () => {
        const files = await loadMigrations(dir);
        assert.deepEqual(await migrate(db.sql, files, silentLogger), [1, 2]);
        const rows = await db.sql<{ version: number; checksum: string }[]>`
          select version, checksum from schema_migrations order by version`;
        assert.deepEqual(rows.map((r) => r.version), [1, 2]);
        assert.deepEqual(rows.map((r) => r.checksum), files.map((f) => f.checksum));
        await db.sql`insert into widgets (name, colour) values ('a', 'red')`;
      });

      await t.step("re-run: applies nothing and keeps the data", async () => {
        assert.deepEqual(await migrate(db.sql, await loadMigrations(dir), silentLogger), []);
        const [{ count }] = await db.sql<{ count: number }[]>`select count(*) from widgets`;
        assert.equal(count, 1);
        const status = await migrationStatus(db.sql, await loadMigrations(dir));
        assert.deepEqual(status.map((s) => s.state), ["applied", "applied"]);
      });

      await t.step("an applied file that changed is refused, naming the file", async () => {
        const changed = await migrationsDir({
          "0001_widgets.sql": V1 + "-- edited after the fact\n",
          "0002_colour.sql": V2,
        });
        const files = await loadMigrations(changed);
        await rejectsWith(migrate(db.sql, files, silentLogger), /0001_widgets\.sql was changed/);
        const status = await migrationStatus(db.sql, files);
        assert.deepEqual(status.map((s) => s.state), ["changed", "applied"]);
        await Deno.remove(changed, { recursive: true });
      });

      await t.step("a database newer than the files is refused, naming the versions", async () => {
        const older = await migrationsDir({ "0001_widgets.sql": V1 });
        const files = await loadMigrations(older);
        await rejectsWith(
          migrate(db.sql, files, silentLogger),
          /newer than this despacito.*2 \(colour\).*knows up to 1/,
        );
        const status = await migrationStatus(db.sql, files);
        assert.deepEqual(status.map((s) => [s.version, s.state]), [[1, "applied"], [2, "unknown"]]);
        await Deno.remove(older, { recursive: true });
      });

      await t.step("a failing migration leaves neither its changes nor its record", async () => {
        const broken = await migrationsDir({
          "0001_widgets.sql": V1,
          "0002_colour.sql": V2,
          "0003_broken.sql": "create table half_done (id int);\nselect no_such_function();\n",
        });
        await rejectsWith(
          migrate(db.sql, await loadMigrations(broken), silentLogger),
          /0003_broken\.sql failed/,
        );
        const [{ exists }] = await db.sql<{ exists: boolean }[]>`
          select exists (select 1 from information_schema.tables where table_name = 'half_done')`;
        assert.equal(exists, false);
        const [{ max }] = await db.sql<{ max: number }[]>`
          select max(version) from schema_migrations`;
        assert.equal(max, 2);
        await Deno.remove(broken, { recursive: true });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await cleanup();
    }
  });

  Deno.test(`migrate() on ${engine.name}: the shipped migrations create the seed's tables`, async () => {
    const { db, cleanup } = await engine.open();
    try {
      await migrate(db.sql, await loadMigrations(), silentLogger);
      const tables = await db.sql<{ tableName: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public'`;
      const names = tables.map((t) => t.tableName);
      for (const t of ["users", "sessions", "auth_token", "schema_migrations"]) {
        assert.ok(names.includes(t), `missing table ${t}`);
      }
      await db.sql`insert into users (issuer, subject) values ('https://idp', 'alice')`;
      await assert.rejects(
        db.sql`insert into users (issuer, subject) values ('https://idp', 'alice')`,
        /duplicate key/,
      );
    } finally {
      await cleanup();
    }
  });
}

Deno.test("migrate() on PostgreSQL: two instances racing apply each file exactly once", async () => {
  const fresh = await freshDatabase();
  const open = () => openDatabase({ postgresUri: fresh.uri, dataDir: "", log: silentLogger });
  const [a, b] = await Promise.all([open(), open()]);
  const dir = await migrationsDir({
    "0001_widgets.sql": V1,
    // Slow enough that the second instance certainly waits on the lock.
    "0002_colour.sql": "select pg_sleep(0.3);\n" + V2,
  });
  try {
    const files = await loadMigrations(dir);
    const [ra, rb] = await Promise.all([
      migrate(a.sql, files, silentLogger),
      migrate(b.sql, files, silentLogger),
    ]);
    assert.deepEqual([...ra, ...rb].sort(), [1, 2]);
    const rows = await a.sql`select version from schema_migrations`;
    assert.equal(rows.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await a.close();
    await b.close();
    await fresh.drop();
  }
});

Deno.test("loadMigrations() refuses badly named files and duplicate versions", async () => {
  const bad = await migrationsDir({ "1_init.sql": "select 1;" });
  const dup = await migrationsDir({ "0001_a.sql": "select 1;", "0001_b.sql": "select 1;" });
  try {
    await assert.rejects(loadMigrations(bad), /NNNN_name\.sql: 1_init\.sql/);
    await assert.rejects(loadMigrations(dup), /share version 1/);
  } finally {
    await Deno.remove(bad, { recursive: true });
    await Deno.remove(dup, { recursive: true });
  }
});
