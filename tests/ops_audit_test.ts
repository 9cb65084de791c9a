/**
 * The audit trail against despacito as it ships (real process, production
 * flags, real PostgreSQL): actions over HTTP and the CLI append rows naming
 * who, what, target, request id and address; GET /api/audit filters and
 * pages; concurrent writers keep one chain; and tampering with the table
 * directly (edit, delete, swap, truncate) makes both GET /api/audit/verify
 * and `despacito audit verify` name the first bad row.
 */

import assert from "node:assert/strict";
import { cliWithStdin, type OpsServer, startOps } from "./ops_support.ts";

async function verify(h: OpsServer, token: string) {
  const api = await h.call("GET", "/api/audit/verify", { token });
  assert.equal(api.status, 200, api.text);
  const cli = await h.cli(["audit", "verify", "--json"]);
  const fromCli = JSON.parse(cli.stdout);
  assert.equal(cli.code, api.body.ok ? 0 : 1, cli.stderr);
  assert.deepEqual(fromCli.problem?.rowId ?? null, api.body.problem?.row_id ?? null);
  return api.body;
}

Deno.test("audit: actions over HTTP and the CLI append chained rows naming who, what and where", async () => {
  const h = await startOps();
  try {
    const token = await h.token();
    const created = await h.call("POST", "/api/tokens", {
      token,
      body: { description: "ci deployer", packages: ["web"] },
      headers: { "x-request-id": "req-create-1" },
    });
    assert.equal(created.status, 201);
    const revoked = await h.call("DELETE", `/api/tokens/${created.body.id}`, { token });
    assert.equal(revoked.status, 204);

    const add = await cliWithStdin(h.env, ["user", "add", "dora"], "a long password\n");
    assert.equal(add.code, 0, add.stderr);
    const bad = await h.call("POST", "/auth/local/login", {
      body: { username: "dora", password: "wrong password!" },
    });
    assert.equal(bad.status, 401);
    const good = await h.call("POST", "/auth/local/login", {
      body: { username: "dora", password: "a long password" },
    });
    assert.equal(good.status, 200, good.text);
    const cookie = good.headers.get("set-cookie")!.split(";")[0];
    const out = await h.call("POST", "/auth/logout", {
      body: {},
      headers: { cookie, origin: h.server.url },
    });
    assert.equal(out.status, 204);

    const list = await h.call("GET", "/api/audit", { token });
    assert.equal(list.status, 200, list.text);
    const actions = list.body.entries.map((e: { action: string }) => e.action).reverse();
    assert.deepEqual(actions, [
      "token.created",
      "token.created",
      "token.revoked",
      "user.created",
      "auth.sign_in_failed",
      "auth.sign_in",
      "auth.sign_out",
    ]);
    const [first, second, revokedRow, userRow, failed, signIn] = [...list.body.entries].reverse();
    assert.deepEqual(first.actor, { kind: "anonymous", id: null, label: null });
    assert.equal(first.details.bootstrap, true);
    assert.equal(second.actor.kind, "token");
    assert.equal(second.actor.label, "ops admin");
    assert.equal(second.request_id, "req-create-1");
    assert.equal(second.client_address, "127.0.0.1");
    assert.equal(second.target, `token:${created.body.id}`);
    assert.deepEqual(second.details.packages, ["web"]);
    assert.equal(revokedRow.target, `token:${created.body.id}`);
    assert.deepEqual(userRow.actor, { kind: "cli", id: null, label: "opsadmin" });
    assert.equal(failed.details.username, "dora");
    assert.equal(failed.details.reason, "wrong_password");
    assert.equal(signIn.actor.label, "dora");
    // No secret ever reaches the trail.
    assert.ok(!list.text.includes(created.body.token));
    assert.ok(!list.text.includes("a long password") && !list.text.includes("wrong password!"));

    // Filters and cursor paging.
    const signIns = await h.call("GET", "/api/audit?action=auth.sign_in", { token });
    assert.equal(signIns.body.entries.length, 1);
    const page1 = await h.call("GET", "/api/audit?limit=3", { token });
    assert.equal(page1.body.entries.length, 3);
    const page2 = await h.call("GET", `/api/audit?limit=3&cursor=${page1.body.next_cursor}`, {
      token,
    });
    assert.deepEqual(page2.body.entries.map((e: { id: number }) => e.id), [4, 3, 2]);
    const byTarget = await h.call("GET", `/api/audit?target=token:${created.body.id}`, { token });
    assert.equal(byTarget.body.entries.length, 2);
    const byActor = await h.call("GET", `/api/audit?actor=${encodeURIComponent("ops admin")}`, {
      token,
    });
    assert.deepEqual(byActor.body.entries.map((e: { action: string }) => e.action), [
      "token.revoked",
      "token.created",
    ]);
    const future = await h.call("GET", "/api/audit?since=2999-01-01", { token });
    assert.deepEqual(future.body, { entries: [], next_cursor: null });

    const bad1 = await h.call("GET", "/api/audit?action=nope&limit=0&since=yesterday&x=1", {
      token,
    });
    assert.equal(bad1.status, 400);
    assert.deepEqual(
      bad1.body.error.details.map((d: { field: string }) => d.field).sort(),
      ["action", "limit", "since", "x"],
    );
    // A deploy-scoped token may not read the trail.
    const scoped = await h.call("POST", "/api/tokens", {
      token,
      body: { description: "scoped", packages: ["web"] },
    });
    assert.equal((await h.call("GET", "/api/audit", { token: scoped.body.token })).status, 403);

    const v = await verify(h, token);
    assert.equal(v.ok, true);
    assert.equal(v.rows, 8);
  } finally {
    await h.close();
  }
});

Deno.test("audit: concurrent writers never fork the chain", async () => {
  const h = await startOps();
  try {
    const token = await h.token();
    const results = await Promise.all(
      Array.from(
        { length: 24 },
        (_, i) => h.call("POST", "/api/tokens", { token, body: { description: `parallel ${i}` } }),
      ),
    );
    assert.ok(results.every((r) => r.status === 201));
    const rows = await h.sql<{ id: string }[]>`select id from audit_log order by id`;
    assert.deepEqual(rows.map((r) => Number(r.id)), Array.from({ length: 25 }, (_, i) => i + 1));
    const v = await verify(h, token);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.rows, 25);
  } finally {
    await h.close();
  }
});

Deno.test("audit verify names the first edited, deleted, swapped or truncated row", async () => {
  const h = await startOps();
  try {
    const token = await h.token();
    for (let i = 0; i < 7; i++) {
      const r = await h.call("POST", "/api/tokens", { token, body: { description: `t${i}` } });
      assert.equal(r.status, 201);
    }
    assert.equal((await verify(h, token)).ok, true);
    const snapshot = await h.sql`select * from audit_log order by id`;
    const restore = async () => {
      await h.sql`delete from audit_log`;
      for (const r of snapshot) await h.sql`insert into audit_log ${h.sql(r)}`;
      assert.equal((await verify(h, token)).ok, true);
    };

    // Edit one field of row 3.
    await h.sql`update audit_log set actor_label = 'someone else' where id = 3`;
    let v = await verify(h, token);
    assert.deepEqual([v.ok, v.problem.row_id, v.problem.kind], [false, 3, "edited"]);
    await restore();

    // Edit the details (jsonb) of row 5.
    await h.sql`update audit_log set details = '{"description":"t9"}' where id = 5`;
    v = await verify(h, token);
    assert.deepEqual([v.problem.row_id, v.problem.kind], [5, "edited"]);
    await restore();

    // Delete row 4.
    await h.sql`delete from audit_log where id = 4`;
    v = await verify(h, token);
    assert.deepEqual([v.problem.row_id, v.problem.kind], [4, "deleted"]);
    assert.match(v.problem.message, /row 4 is missing/);
    await restore();

    // Swap rows 2 and 6 (their ids).
    await h.sql`update audit_log set id = -2 where id = 2`;
    await h.sql`update audit_log set id = 2 where id = 6`;
    await h.sql`update audit_log set id = 6 where id = -2`;
    v = await verify(h, token);
    assert.deepEqual([v.problem.row_id, v.problem.kind], [2, "edited"]);
    await restore();

    // Delete the newest rows: only the head record notices.
    await h.sql`delete from audit_log where id >= 7`;
    v = await verify(h, token);
    assert.deepEqual([v.problem.row_id, v.problem.kind], [7, "truncated"]);
    await restore();

    // Rewriting a row together with its own hash still breaks the link to the next row.
    await h.sql`update audit_log set hash = repeat('a', 64) where id = 3`;
    v = await verify(h, token);
    assert.equal(v.problem.row_id, 3);

    const text = await h.cli(["audit", "verify"]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /BROKEN at row 3/);
  } finally {
    await h.close();
  }
});

Deno.test("audit: the first admin made from DESPACITO_ADMIN_PASSWORD_FILE is recorded as a system action", async () => {
  const file = await Deno.makeTempFile({ prefix: "despacito-admin-" });
  await Deno.writeTextFile(file, "first admin password\n");
  const h = await startOps({ DESPACITO_ADMIN_PASSWORD_FILE: file });
  try {
    const token = await h.token();
    const r = await h.call("GET", "/api/audit?action=user.created", { token });
    assert.equal(r.body.entries.length, 1);
    assert.deepEqual(r.body.entries[0].actor, {
      kind: "system",
      id: null,
      label: "DESPACITO_ADMIN_PASSWORD_FILE",
    });
    assert.equal(r.body.entries[0].details.username, "admin");
  } finally {
    await h.close();
    await Deno.remove(file);
  }
});
