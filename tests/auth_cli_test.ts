/**
 * `despacito user …` as an operator runs it: the real main.ts in a child
 * process under the shipped permission flags, against real Postgres, with
 * the password piped on stdin.
 */

import assert from "node:assert/strict";
import { checkLocalLogin } from "../src/auth/passwords.ts";
import { createSession, resolveSession } from "../src/auth/sessions.ts";
import { freshDatabase, storeDatabase } from "./_harness/postgres.ts";
import { runCli } from "./_harness/server.ts";

Deno.test("despacito user add/list/passwd/disable/enable manage local accounts", async () => {
  const db = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-cli-" });
  const env = { DESPACITO_POSTGRES_CONNECTION_URI: db.uri, DESPACITO_DATA_DIR: dataDir };
  const cli = async (args: string[], stdin = "") => {
    const r = await runCli(["user", ...args], env, { stdin });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  const store = await storeDatabase(db.uri, 1);
  const sql = store.sql;
  try {
    const added = await cli(["add", "carol"], "first password\n");
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /user carol created/);
    assert.ok(!added.out.includes("first password") && !added.err.includes("first password"));
    assert.equal((await checkLocalLogin(sql, "carol", "first password")).reason, "ok");
    const [row] = await sql<{ passwordHash: string }[]>`select password_hash from users`;
    assert.match(row.passwordHash, /^\$2[aby]\$12\$/);

    assert.equal((await cli(["add", "carol"], "another password\n")).code, 1);
    const short = await cli(["add", "dave"], "short\n");
    assert.equal(short.code, 2);
    assert.match(short.err, /at least 8 characters/);
    assert.match((await cli(["add", "dave"], "y".repeat(73) + "\n")).err, /at most 72 bytes/);
    assert.equal((await cli(["frobnicate"])).code, 2);

    const user = (await checkLocalLogin(sql, "carol", "first password")).user!;
    const s1 = await createSession(sql, { userId: user.id, maxAgeMs: 3_600_000 });
    const passwd = await cli(["passwd", "carol"], "second password\n");
    assert.equal(passwd.code, 0, passwd.err);
    assert.equal((await checkLocalLogin(sql, "carol", "first password")).reason, "wrong_password");
    assert.equal((await checkLocalLogin(sql, "carol", "second password")).reason, "ok");
    assert.equal(await resolveSession(sql, s1.token, 3_600_000), undefined);

    const s2 = await createSession(sql, { userId: user.id, maxAgeMs: 3_600_000 });
    assert.ok(await resolveSession(sql, s2.token, 3_600_000));
    assert.equal((await cli(["disable", "carol"])).code, 0);
    assert.equal(await resolveSession(sql, s2.token, 3_600_000), undefined);
    assert.equal((await checkLocalLogin(sql, "carol", "second password")).reason, "disabled");
    const listed = await cli(["list"]);
    assert.match(listed.out, new RegExp(`${user.id}\tlocal\tcarol\tdisabled`));
    assert.equal((await cli(["enable", user.id])).code, 0);
    assert.equal((await checkLocalLogin(sql, "carol", "second password")).reason, "ok");
    assert.equal((await cli(["disable", "nobody"])).code, 1);
  } finally {
    await store.close();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
