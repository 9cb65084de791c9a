/**
 * Forge secrets (PATs, webhook secrets) at rest and in transit, against
 * despacito as it ships (tests/_harness/forge_world.ts), and the operator's
 * `despacito secrets rotate-key` run the same way (runCli: the production
 * permission flags).
 */

import assert from "node:assert/strict";
import { buildDelivery, pushPayload, releasePayload } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, withForgeWorld } from "./_harness/forge_world.ts";
import { runCli, waitFor } from "./_harness/server.ts";
import { createSealer } from "../src/secrets/box.ts";
import { readKey } from "../src/secrets/key.ts";

const ADMIN_PAT = "pat-admin-SECRETVALUE-0123456789";
const PUSH_PAT = "pat-push-SECRETVALUE-9876543210";

/** acme/webapp and acme/api on the forge, each with the fixture's tags. */
function forgeRepos(w: ForgeWorld) {
  const tokens = {
    [ADMIN_PAT]: { admin: true, push: true, pull: true },
    [PUSH_PAT]: { admin: false, push: true, pull: true },
  };
  for (const pkg of ["webapp", "api"] as const) {
    w.forge.addRepo("acme", pkg, tokens);
    for (const [tag, sha] of Object.entries(w.env[pkg].tags)) {
      w.forge.addTag("acme", pkg, tag, sha);
    }
  }
}

Deno.test("forge secrets never appear in any database column, log line or API response", async () => {
  await withForgeWorld({}, async (w) => {
    const { forge, env } = w;
    forgeRepos(w);
    const a = await w.connect("webapp", ADMIN_PAT, "release");
    const b = await w.connect("api", PUSH_PAT, "tag");
    assert.deepEqual([a.status, b.status], [201, 201]);
    const hookSecret = (forge.calls.find((c) => c.path.endsWith("/hooks"))!.body as {
      config: { secret: string };
    }).config.secret;
    const manualSecret = b.json.webhook.manual.secret;
    const rotated = (await w.api("POST", `/api/repositories/${b.json.repository.id}/rotate-secret`))
      .json.secret;
    const secrets = [ADMIN_PAT, PUSH_PAT, hookSecret, manualSecret, rotated];

    // Exercise every path that touches a secret: deliveries (good and bad), statuses, failures.
    forge.failNext(/\/statuses\//, 1, 500);
    const [fired] = await forge.fire(
      "acme",
      "webapp",
      "release",
      releasePayload(forge.url, "acme", "webapp", { tag: "v1.2.0" }),
    );
    assert.equal(fired.status, 202);
    const dep = (await fired.json()).deployment_id;
    const push = pushPayload(forge.url, "acme", "api", {
      ref: "refs/tags/v2.0.0",
      after: env.api.tags["v2.0.0"],
    });
    for (const secret of [rotated, manualSecret, "wrong"]) {
      const d = await buildDelivery({ event: "push", payload: push, secret });
      await (await w.post(b.json.repository.id, d.body, d.headers)).body?.cancel();
    }
    // The first status post failed (500) and was retried with the token: both posts end ok.
    await env.waitDeployment(dep, (d) => d.status === "deployed");
    const posts = await w.settled(dep, 2);
    assert.ok(posts.every((p) => p.ok === true), JSON.stringify(posts));
    assert.equal(posts[0].attempts, 2);
    // An error path with a token in the request.
    assert.equal((await w.connect("webapp", "pat-wrong-SECRETVALUE-000", "tag")).status, 409);

    const responses = [
      JSON.stringify((await w.api("GET", "/api/repositories")).json),
      JSON.stringify((await w.api("GET", `/api/repositories/${a.json.repository.id}`)).json),
      JSON.stringify(a.json),
      JSON.stringify((await w.api("GET", `/api/forge/status-posts?deployment_id=${dep}`)).json),
    ].join("\n");

    const tables = await env.sql<{ tableName: string }[]>`
      select table_name as "tableName" from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`;
    assert.ok(tables.some((t) => t.tableName === "sealed_secret"));
    let dump = "";
    for (const { tableName } of tables) {
      const rows = await env.sql.unsafe(`select * from "${tableName}"`);
      dump += JSON.stringify(rows);
    }
    const logs = w.output();
    assert.ok(logs.includes('"msg":"despacito started"'), "the server's output is read");
    for (const s of [...secrets, "pat-wrong-SECRETVALUE-000"]) {
      assert.ok(!dump.includes(s), `a secret is stored in plaintext`);
      assert.ok(!logs.includes(s), `a secret is in the log`);
      assert.ok(!responses.includes(s), `a secret is in an API response`);
    }
    assert.ok(!dump.includes("SECRETVALUE") && !logs.includes("SECRETVALUE"));

    const key = await Deno.stat(`${env.env.DESPACITO_DATA_DIR}/secret.key`);
    assert.equal(key.mode! & 0o777, 0o600);
  });
});

Deno.test("despacito secrets rotate-key re-seals every secret under a new key and keeps the old one only as a backup", async () => {
  await withForgeWorld({}, async (w) => {
    const { forge, env } = w;
    forgeRepos(w);
    const dataDir = env.env.DESPACITO_DATA_DIR;
    const keyPath = `${dataDir}/secret.key`;
    const created = await w.connect("webapp", PUSH_PAT, "tag");
    assert.equal(created.status, 201);
    const id = created.json.repository.id;
    const secret = created.json.webhook.manual.secret;
    const before = (await readKey(keyPath))!;
    assert.equal(await env.stopServer(), 0, "the operator stops the server first");

    const out = await runCli(["secrets", "rotate-key"], env.env);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    assert.ok(!out.stdout.includes(secret) && !out.stdout.includes(PUSH_PAT));
    assert.ok(!out.stderr.includes(secret) && !out.stderr.includes(PUSH_PAT));

    const after = (await readKey(keyPath))!;
    assert.notEqual(after.id, before.id);
    assert.match(
      out.stdout,
      new RegExp(`re-sealed 2 secret\\(s\\): server key ${before.id} → ${after.id}`),
    );
    const backups = [...Deno.readDirSync(dataDir)].filter((e) =>
      e.name.startsWith("secret.key.OLD-")
    );
    assert.equal(backups.length, 1);
    assert.match(backups[0].name, /^secret\.key\.OLD-\d{8}T\d{6}\d*Z\.delete-after-checking$/);
    const backupPath = `${dataDir}/${backups[0].name}`;
    assert.equal((await readKey(backupPath))!.id, before.id);
    assert.equal((await Deno.stat(backupPath)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(keyPath)).mode! & 0o777, 0o600);

    const rows = await env.sql<{ id: string; sealed: string }[]>`
      select id, sealed from sealed_secret`;
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.sealed.startsWith(`v1.${after.id}.`)));
    const sealer = createSealer(after.key);
    const opened = rows.map((r) => sealer.open(r.sealed));
    assert.deepEqual(opened.sort(), [PUSH_PAT, secret].sort());

    // Restart on the same database and data dir: the new key opens everything.
    await env.startServer();
    const d = await buildDelivery({
      event: "push",
      payload: pushPayload(forge.url, "acme", "webapp", {
        ref: "refs/tags/v1.1.0",
        after: env.webapp.tags["v1.1.0"],
      }),
      secret,
    });
    const res = await w.post(id, d.body, d.headers);
    assert.equal(res.status, 202);
    const dep = (await res.json()).deployment_id;
    // The PAT opened too: the deployment's commit statuses reach the forge with it.
    await env.waitDeployment(dep, (d) => d.status === "deployed");
    await w.settled(dep, 2);
    const statusCalls = forge.calls.filter((c) => c.path.includes("/statuses/"));
    assert.equal(statusCalls.length, 2);
    assert.ok(
      statusCalls.every((c) => c.status === 201 && c.authorization === `token ${PUSH_PAT}`),
    );
    await waitFor(
      "both statuses on the forge",
      () => forge.statuses("acme", "webapp").length === 2 ? true : undefined,
    );
  });
});
