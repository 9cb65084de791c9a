/**
 * Liveness and readiness of the real process against a PostgreSQL server
 * the test owns: readiness goes 503 (with a reason) when Postgres stops and
 * back to 200 when it returns, without restarting despacito; liveness stays
 * 200 throughout because it never touches the database.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase, startCluster } from "./_harness/postgres.ts";
import { spawnServer, waitFor, withServerEnv } from "./_harness/server.ts";

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

Deno.test("GET /health/ready follows PostgreSQL going away and coming back; /health stays 200", async () => {
  const cluster = await startCluster();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-ready-" });
  try {
    const db = await freshDatabase(cluster.adminUri);
    const server = await spawnServer({
      env: {
        DESPACITO_DATA_DIR: dataDir,
        DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
        DESPACITO_LISTEN: "127.0.0.1:0",
      },
    });
    try {
      const ready = await get(`${server.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, "ready");
      const live = await get(`${server.url}/health`);
      assert.equal(live.status, 200);
      assert.equal(live.body.status, "ok");
      assert.match(String(live.body.version), /^\d+\.\d+\.\d+/);

      await cluster.stop();
      const down = await waitFor("readiness to report the database down", async () => {
        const r = await get(`${server.url}/health/ready`);
        return r.status === 503 ? r : undefined;
      });
      assert.equal(down.body.status, "unavailable");
      assert.match(String(down.body.reason), /database/);
      assert.equal((await get(`${server.url}/health`)).status, 200, "liveness ignores the DB");

      await cluster.start();
      const back = await waitFor("readiness to recover", async () => {
        const r = await get(`${server.url}/health/ready`);
        return r.status === 200 ? r : undefined;
      });
      assert.equal(back.body.status, "ready");
      // Same process throughout: no restart was needed.
      assert.equal(server.logs().filter((l) => l.msg === "despacito started").length, 1);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    await cluster.destroy();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("GET /health/ready is 503 naming the versions while the schema is behind", async () => {
  // A database with the migration record removed looks like an older schema.
  await withServerEnv(async ({ env, dbUri }) => {
    const server = await spawnServer({ env });
    const sql = postgres(dbUri, { max: 1, onnotice: () => {} });
    try {
      const url = `${server.url}/health/ready`;
      assert.equal((await get(url)).status, 200);
      await sql`delete from schema_migrations where version = 1`;
      const behind = await get(url);
      assert.equal(behind.status, 503);
      assert.match(String(behind.body.reason), /schema at version 0, this despacito needs \d+/);
    } finally {
      await sql.end();
      await server.stop();
    }
  });
});
