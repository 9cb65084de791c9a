/**
 * Bearer tokens over HTTP against real PostgreSQL (despacito as it ships: a
 * subprocess under the production permission flags): bootstrap open then closed (and off), expiry, revocation,
 * hash-only storage, package scope, and the request hygiene around them
 * (400 for bad input and malformed JSON, 413 beyond 1 MiB, JSON 404s).
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { silentLogger } from "../src/log/log.ts";
import type { Sql } from "../src/db/connect.ts";
import { loadMigrations, migrate } from "../src/db/migrate.ts";
import { type ServerProcess, spawnServer, waitFor } from "./_harness/server.ts";
import { sha256Hex } from "../src/core/ids.ts";
import { freshDatabase, storeDatabase } from "./_harness/postgres.ts";

interface Harness {
  server: ServerProcess;
  /** The same database, as the tests' own connection (camelCase rows like the server's). */
  sql: Sql;
  url: string;
  logs: string[];
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{
    status: number;
    body: Record<string, unknown>;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-tokens-" });
  const db = await freshDatabase();
  const server = await spawnServer({
    env: {
      DESPACITO_DATA_DIR: dataDir,
      DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
      DESPACITO_LISTEN: "127.0.0.1:0",
      DESPACITO_LOG_LEVEL: "debug",
      // These tests make many credential-less bootstrap attempts on purpose;
      // the bootstrap rate limit has its own tests (auth_local_test.ts).
      DESPACITO_AUTH_RATE_LIMIT: "1000",
      ...env,
    },
  });
  const store = await storeDatabase(db.uri, 2);
  const sql = store.sql;
  return {
    server,
    sql,
    url: server.url,
    get logs() {
      return server.stdout;
    },
    call: async (method, path, options = {}) => {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        headers["content-type"] = "application/json";
        body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      }
      const res = await fetch(server.url + path, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
    },
    close: async () => {
      await store.close();
      await server.stop();
      await db.drop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

function assertError(r: { status: number; body: Record<string, unknown> }, status: number) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const error = r.body.error as Record<string, unknown>;
  assert.equal(typeof error?.code, "string");
  assert.equal(typeof error?.message, "string");
}

Deno.test("POST /api/tokens: open while no token exists, then closed to strangers", async () => {
  const h = await harness();
  try {
    const first = await h.call("POST", "/api/tokens", {
      body: { description: "ci-runner-1", expires_in: "720h" },
    });
    assert.equal(first.status, 201);
    assert.match(String(first.body.token), /^[0-9a-f]{64}$/);
    assert.match(String(first.body.id), /^[0-9a-f-]{36}$/);
    assert.equal(first.body.description, "ci-runner-1");
    assert.equal(first.body.packages, null);
    const created = Date.parse(String(first.body.created_at));
    const expires = Date.parse(String(first.body.expires_at));
    assert.ok(Math.abs(expires - created - 720 * 3600_000) < 5_000);

    assertError(await h.call("POST", "/api/tokens", { body: { description: "sneaky" } }), 401);
    const wrong = await h.call("POST", "/api/tokens", {
      token: "0".repeat(64),
      body: { description: "sneaky" },
    });
    assertError(wrong, 401);
    assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="despacito"');

    const second = await h.call("POST", "/api/tokens", {
      token: String(first.body.token),
      body: { description: "ci-runner-2", packages: ["my-webapp", "api"], expires_in: "30d" },
    });
    assert.equal(second.status, 201);
    assert.deepEqual(second.body.packages, ["my-webapp", "api"]);

    const me = await h.call("GET", "/api/me", { token: String(second.body.token) });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, {
      kind: "token",
      token: { id: second.body.id, description: "ci-runner-2", packages: ["my-webapp", "api"] },
    });
    assertError(await h.call("GET", "/api/me"), 401);

    const [row] = await h.sql<{ packages: string[]; createdByTokenId: string }[]>`
      select packages, created_by_token_id from auth_token where id = ${String(second.body.id)}`;
    assert.deepEqual(row.packages, ["my-webapp", "api"]);
    assert.equal(row.createdByTokenId, first.body.id);
  } finally {
    await h.close();
  }
});

Deno.test("POST /api/tokens: with DESPACITO_TOKEN_BOOTSTRAP=false an empty database stays closed", async () => {
  const h = await harness({ DESPACITO_TOKEN_BOOTSTRAP: "false" });
  try {
    assertError(await h.call("POST", "/api/tokens", { body: { description: "first" } }), 401);
    const [{ count }] = await h.sql<{ count: number }[]>`
      select count(*)::int as count from auth_token`;
    assert.equal(count, 0);
  } finally {
    await h.close();
  }
});

Deno.test("bearer tokens: expired and revoked tokens get 401; listing shows metadata only", async () => {
  const h = await harness();
  try {
    const admin = await h.call("POST", "/api/tokens", { body: { description: "admin" } });
    const token = String(admin.body.token);
    const other = await h.call("POST", "/api/tokens", {
      token,
      body: { description: "short-lived", expires_in: "90m" },
    });
    const otherToken = String(other.body.token);
    assert.equal((await h.call("GET", "/api/me", { token: otherToken })).status, 200);

    // Expiry: move the deadline into the past rather than waiting for it.
    await h.sql`
      update auth_token set expires_at = now() - interval '1 second' where id = ${
      String(other.body.id)
    }`;
    const expired = await h.call("GET", "/api/me", { token: otherToken });
    assertError(expired, 401);
    assert.match(String((expired.body.error as { message: string }).message), /expired/);

    const list = await h.call("GET", "/api/tokens", { token });
    assert.equal(list.status, 200);
    const tokens = list.body.tokens as Record<string, unknown>[];
    assert.deepEqual(tokens.map((t) => t.description).sort(), ["admin", "short-lived"]);
    const text = JSON.stringify(list.body);
    assert.ok(!text.includes(token) && !text.includes(otherToken), "no raw token listed");
    assert.ok(!text.includes(await sha256Hex(token)), "no hash listed");
    for (const t of tokens) assert.equal("token" in t || "token_sha256" in t, false);

    // Revocation.
    const third = await h.call("POST", "/api/tokens", { token, body: { description: "doomed" } });
    const thirdToken = String(third.body.token);
    assert.equal((await h.call("GET", "/api/me", { token: thirdToken })).status, 200);
    const del = await h.call("DELETE", `/api/tokens/${third.body.id}`, { token });
    assert.equal(del.status, 204);
    assertError(await h.call("GET", "/api/me", { token: thirdToken }), 401);
    assertError(await h.call("DELETE", `/api/tokens/${third.body.id}`, { token }), 404);
    assertError(await h.call("DELETE", "/api/tokens/not-a-uuid", { token }), 404);
    assertError(await h.call("GET", "/api/tokens"), 401);
    const revoked = (await h.call("GET", "/api/tokens", { token })).body.tokens as {
      id: string;
      revoked_at: string | null;
    }[];
    assert.ok(revoked.find((t) => t.id === third.body.id)?.revoked_at);

    // A revoked or expired token never reopens bootstrap.
    assertError(await h.call("POST", "/api/tokens", { body: { description: "x" } }), 401);
  } finally {
    await h.close();
  }
});

Deno.test("bearer tokens: the raw token is stored nowhere in the database, only its SHA-256", async () => {
  const h = await harness();
  try {
    const a = await h.call("POST", "/api/tokens", { body: { description: "a" } });
    const tokenA = String(a.body.token);
    const b = await h.call("POST", "/api/tokens", {
      token: tokenA,
      body: { description: "b", packages: ["web"], expires_in: "1h" },
    });
    const tokenB = String(b.body.token);
    await h.call("GET", "/api/me", { token: tokenB }); // also records last_used_at

    // Every column of every user table, as text.
    const tables = await h.sql<{ schema: string; name: string }[]>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'`;
    assert.ok(tables.some((t) => t.name === "auth_token"));
    let dump = "";
    for (const t of tables) {
      const rows = await h.sql.unsafe(
        `select t::text as row from "${t.schema}"."${t.name}" t`,
      );
      dump += rows.map((r) => r.row).join("\n") + "\n";
    }
    for (const raw of [tokenA, tokenB]) {
      assert.ok(!dump.includes(raw), "raw token found in the database");
      assert.ok(dump.includes(await sha256Hex(raw)), "its SHA-256 is what is stored");
    }
  } finally {
    await h.close();
  }
});

Deno.test("POST /api/tokens: invalid input is 400 listing the problems, never 500", async () => {
  const h = await harness();
  try {
    for (const expires_in of ["forever", "-5h", "0", "10y", 3600, "99999d"]) {
      const r = await h.call("POST", "/api/tokens", { body: { description: "x", expires_in } });
      assertError(r, 400);
      const details = (r.body.error as { details: { field: string }[] }).details;
      assert.deepEqual(details.map((d) => d.field), ["expires_in"], String(expires_in));
    }
    const many = await h.call("POST", "/api/tokens", {
      body: { description: "", packages: ["ok", "../etc"], colour: "red" },
    });
    assertError(many, 400);
    assertError(await h.call("POST", "/api/tokens", { body: '{"description": "x",' }), 400);
    assertError(await h.call("POST", "/api/tokens", { body: "[1,2]" }), 400);
    assertError(await h.call("POST", "/api/tokens", { body: "null" }), 400);
    assertError(await h.call("POST", "/api/tokens", { body: "" }), 400);
    const malformed = await h.call("POST", "/api/tokens", { body: "{not json" });
    assertError(malformed, 400);
    assert.equal((malformed.body.error as { code: string }).code, "invalid_json");
    // Still nothing created: bootstrap is still open.
    const ok = await h.call("POST", "/api/tokens", {
      body: { description: "x", expires_in: "1d" },
    });
    assert.equal(ok.status, 201);
    assert.ok(!h.logs.some((l) => l.includes('"level":"error"')), "no error was logged");
  } finally {
    await h.close();
  }
});

Deno.test("request bodies beyond 1 MiB get 413, with or without Content-Length", async () => {
  const h = await harness();
  try {
    const big = JSON.stringify({ description: "x".repeat(1024 * 1024) });
    const withLength = await h.call("POST", "/api/tokens", { body: big });
    assertError(withLength, 413);
    assert.equal((withLength.body.error as { code: string }).code, "payload_too_large");
    // Answered before the body was read: the connection closes, so the unread rest is never taken
    // for the next request (a client reusing it got 431 from the connection guard, or stalled).
    assert.equal(withLength.headers.get("connection"), "close");
    for (let i = 0; i < 12; i++) {
      const again = await h.call("POST", "/api/tokens", { body: big });
      assert.equal(again.status, 413, `repeat ${i}: ${JSON.stringify(again.body)}`);
    }

    // Chunked: no Content-Length, the limit counts bytes as they arrive.
    const chunks = [new TextEncoder().encode(big)];
    const res = await fetch(`${h.url}/api/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ReadableStream.from(chunks),
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "payload_too_large");

    // Just under the limit is read (and rejected only for its content).
    const under = JSON.stringify({ description: "x".repeat(1024 * 1024 - 100) });
    assertError(await h.call("POST", "/api/tokens", { body: under }), 400);
  } finally {
    await h.close();
  }
});

Deno.test("HTTP hygiene: JSON 404 under /api, security headers, request ids", async () => {
  const h = await harness();
  try {
    const r = await h.call("GET", "/api/nothing-here");
    assertError(r, 404);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.equal(r.headers.get("x-frame-options"), "DENY");
    assert.match(r.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(r.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);

    const res = await fetch(`${h.url}/health`, { headers: { "x-request-id": "caddy-abc.123" } });
    await res.body?.cancel();
    assert.equal(res.headers.get("x-request-id"), "caddy-abc.123");
    // Request lines are written in batches (a few ms): wait for it rather than race it.
    const line = await waitFor(
      "the request's log line",
      () =>
        h.logs.map((l) => JSON.parse(l)).find((l) =>
          l.msg === "request" && l.request_id === "caddy-abc.123"
        ),
    );
    assert.deepEqual(
      [line.method, line.path, line.status, typeof line.duration_ms],
      ["GET", "/health", 200, "number"],
    );
    const evil = await fetch(`${h.url}/health`, { headers: { "x-request-id": 'a b"{}' } });
    await evil.body?.cancel();
    assert.notEqual(evil.headers.get("x-request-id"), 'a b"{}');
  } finally {
    await h.close();
  }
});

Deno.test("verifyToken()'s lookup is an index probe on token_sha256, never a scan", async () => {
  const pg = await freshDatabase();
  const sql = postgres(pg.uri, { max: 1, onnotice: () => {} });
  try {
    await migrate(sql as unknown as Sql, await loadMigrations(), silentLogger);
    // With sequential scans priced out, only a usable index keeps "Seq Scan" out of the plan.
    await sql`set enable_seqscan = off`;
    const plan = await sql.unsafe(
      "explain select id from auth_token where token_sha256 = $1",
      ["0".repeat(64)],
    );
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    assert.match(text, /Index (Only )?Scan using \w+ on auth_token/);
    assert.doesNotMatch(text, /Seq Scan/);
  } finally {
    await sql.end();
    await pg.drop();
  }
});
