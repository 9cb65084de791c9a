/**
 * Least privilege, shown on the real process. The compiled binary's flags
 * are fixed when it is built (for the NixOS paths), while operators choose
 * *_FILE paths at run time; a secret file outside the granted places is
 * therefore refused by Deno's sandbox itself — even when the process runs
 * as root and the OS would allow the read. The control run grants the same
 * file (as `deno task start` does) and the server starts on it.
 */

import assert from "node:assert/strict";
import { freshDatabase } from "./_harness/postgres.ts";
import { denoRunArgs, runCli, spawnServer } from "./_harness/server.ts";

Deno.test("despacito serve is denied a secret file outside its directories, and reads it once granted", async () => {
  const root = await Deno.makeTempDir({ prefix: "despacito-perm-" });
  const db = await freshDatabase();
  try {
    const secret = `${root}/outside/postgres-uri`;
    await Deno.mkdir(`${root}/outside`);
    await Deno.writeTextFile(secret, db.uri + "\n");
    // Readable for this user: only Deno's permissions stand in the way.
    assert.equal((await Deno.readTextFile(secret)).trim(), db.uri);

    // The flags a build for these directories carries (no secret file named at build time).
    const deployment = { DESPACITO_DATA_DIR: `${root}/data`, DESPACITO_LISTEN: "127.0.0.1:0" };
    const env = { ...deployment, DESPACITO_POSTGRES_CONNECTION_URI_FILE: secret };
    const args = denoRunArgs(env, ["serve"], { flagsEnv: deployment });
    const read = args.find((a) => a.startsWith("--allow-read="))!;
    assert.ok(!read.includes(`${root}/outside`), "the secret's directory is not granted");

    const denied = await runCli(["serve"], env, { flagsEnv: deployment });
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /DESPACITO_POSTGRES_CONNECTION_URI_FILE: cannot read/);
    assert.match(denied.stderr, /Requires read access to "[^"]*outside\/postgres-uri"/);
    assert.ok(!denied.stderr.includes(db.uri), "the secret was never read, so never printed");

    // Control: flags computed with the secret file granted, as `deno task start` does.
    const server = await spawnServer({ env });
    try {
      const using = server.logs().find((l) => l.msg === "using PostgreSQL");
      assert.ok(using, "started on the PostgreSQL URI read from the file");
      const ready = await fetch(`${server.url}/health/ready`);
      const body = await ready.json();
      assert.equal(ready.status, 200, JSON.stringify(body));
      assert.equal(body.status, "ready");
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    await db.drop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("despacito serve under its flags cannot write outside the data dir (the embedded database moves nowhere else)", async () => {
  const root = await Deno.makeTempDir({ prefix: "despacito-perm-" });
  try {
    // Built for one data dir, started with another: the sandbox refuses to create it.
    const built = { DESPACITO_DATA_DIR: `${root}/granted`, DESPACITO_LISTEN: "127.0.0.1:0" };
    const env = { ...built, DESPACITO_DATA_DIR: `${root}/elsewhere` };
    const r = await runCli(["serve"], env, { flagsEnv: built });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Requires write access to "[^"]*elsewhere/);
    assert.equal(await Deno.lstat(`${root}/elsewhere`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
