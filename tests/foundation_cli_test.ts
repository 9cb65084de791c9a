/**
 * The command line as operators meet it, run as a real process under the
 * shipped permission flags: configuration errors all at once with exit 2,
 * help and version, `migrate` and `migrate --status`, startup refusals
 * (schema changed or newer, port in use) and `healthcheck` over TCP.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { OPTIONS } from "../src/config/table.ts";
import { loadMigrations } from "../src/db/migrate.ts";
import { runCli, spawnServer, withServerEnv } from "./_harness/server.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "despacito-cli-" });
}

Deno.test("despacito serve with invalid config exits 2 listing every problem at once", async () => {
  const dataDir = await tempDir();
  try {
    const r = await runCli(["serve"], {
      DESPACITO_DATA_DIR: dataDir,
      DESPACITO_LISTEN: "nope",
      DESPACITO_LISTEN_SOCKET_MODE: "999",
      DESPACITO_LOG_LEVEL: "loud",
      DESPACITO_SHUTDOWN_TIMEOUT: "soon",
      DESPACITO_POSTGRES_CONNECTION_URI: "mysql://x",
    }, { flagsEnv: { DESPACITO_DATA_DIR: dataDir } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /invalid configuration/);
    for (
      const v of [
        "DESPACITO_LISTEN:",
        "DESPACITO_LISTEN_SOCKET_MODE:",
        "DESPACITO_LOG_LEVEL:",
        "DESPACITO_SHUTDOWN_TIMEOUT:",
        "DESPACITO_POSTGRES_CONNECTION_URI:",
      ]
    ) {
      assert.ok(r.stderr.includes(v), `stderr names ${v}:\n${r.stderr}`);
    }
    // The bad URI is named, never echoed.
    assert.ok(!r.stderr.includes("mysql://x"));
    assert.equal(r.stdout, "", "nothing started, nothing logged");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("despacito --help and help config print every option; version prints version and commit", async () => {
  const dataDir = await tempDir();
  try {
    const env = { DESPACITO_DATA_DIR: dataDir };
    const help = await runCli(["--help"], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /despacito migrate \[--status\]/);
    const config = await runCli(["help", "config"], env);
    assert.equal(config.code, 0);
    for (const o of OPTIONS) assert.ok(config.stdout.includes(o.env), o.env);
    assert.match(config.stdout, /DESPACITO_POSTGRES_CONNECTION_URI_FILE/);
    const version = await runCli(["version"], env);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^despacito \d+\.\d+\.\d+ \(commit [^)]+\)\n$/);
    const unknown = await runCli(["frobnicate"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("despacito migrate applies and exits; migrate --status lists pending then applied", async () => {
  await withServerEnv(async ({ env, dbUri }) => {
    const before = await runCli(["migrate", "--status"], env);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /^0001_init {2}pending$/m);
    assert.ok(!before.stdout.includes(new URL(dbUri).password || "\u0000"));
    const apply = await runCli(["migrate"], env);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /applied \d+ migration\(s\)/);
    const again = await runCli(["migrate"], env);
    assert.match(again.stdout, /schema is up to date/);
    const after = await runCli(["migrate", "--status"], env);
    assert.match(after.stdout, /^0001_init {2}applied {2}\d{4}-\d\d-\d\dT/m);
  });
});

Deno.test("despacito serve refuses a changed applied migration and a newer schema", async () => {
  await withServerEnv(async ({ env, dbUri }) => {
    const sql = postgres(dbUri, { max: 1, onnotice: () => {} });
    try {
      assert.equal((await runCli(["migrate"], env)).code, 0);

      await sql`update schema_migrations set checksum = 'tampered' where version = 1`;
      const changed = await runCli(["serve"], env);
      assert.equal(changed.code, 1);
      assert.match(changed.stderr, /migrations\/0001_init\.sql was changed after it was applied/);

      const [init] = await loadMigrations();
      await sql`update schema_migrations set checksum = ${init.checksum} where version = 1`;
      const [{ max }] = await sql`select max(version) as max from schema_migrations`;
      await sql`insert into schema_migrations (version, name, checksum) values (9001, 'future', 'x')`;
      const newer = await runCli(["serve"], env);
      assert.equal(newer.code, 1);
      assert.match(newer.stderr, new RegExp(`9001 \\(future\\).*knows up to ${max}`));
    } finally {
      await sql.end();
    }
  });
});

Deno.test("despacito serve names the address when the port is taken; healthcheck exits 0 then 1", async () => {
  await withServerEnv(async ({ env }) => {
    const server = await spawnServer({ env });
    try {
      const taken = { ...env, DESPACITO_LISTEN: server.address };
      const second = await runCli(["serve"], taken);
      assert.equal(second.code, 1);
      assert.ok(
        second.stderr.includes(`cannot listen on ${server.address}: address already in use`),
        second.stderr,
      );

      const healthy = await runCli(["healthcheck"], taken);
      assert.equal(healthy.code, 0, healthy.stderr);
      assert.match(healthy.stdout, /healthy/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    const down = await runCli(["healthcheck"], { ...env, DESPACITO_LISTEN: server.address });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unhealthy/);
  });
});
