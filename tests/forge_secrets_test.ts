import assert from "node:assert/strict";
import {
  buildDelivery,
  pushPayload,
  releasePayload,
  startFakeForgejo,
} from "./_harness/fake_forgejo.ts";
import { SHA_A, SHA_B, startForgeApp, waitFor } from "./forge_setup.ts";
import { createSealer } from "../src/secrets/box.ts";
import { readKey } from "../src/secrets/key.ts";
import { readSecret } from "../src/secrets/store.ts";
import { freshDatabase } from "./_harness/postgres.ts";

const ADMIN_PAT = "pat-admin-SECRETVALUE-0123456789";
const PUSH_PAT = "pat-push-SECRETVALUE-9876543210";
/** The package input as the flake declares it: fetched with git from the forge itself. */
const sourceOf = (forge: { url: string }) => ({ type: "git", url: `${forge.url}/acme/webapp.git` });

Deno.test("forge secrets never appear in any database column, log line or API response", async () => {
  const forge = await startFakeForgejo();
  forge.addRepo("acme", "webapp", {
    [ADMIN_PAT]: { admin: true, push: true, pull: true },
    [PUSH_PAT]: { admin: false, push: true, pull: true },
  });
  forge.addTag("acme", "webapp", "v1.2.0", SHA_A);
  const app = await startForgeApp();
  app.ports.sources.set("webapp", sourceOf(forge));
  app.ports.sources.set("api", sourceOf(forge));
  try {
    const connect = (pkg: string, token: string, trigger: string) =>
      app.api("POST", "/api/repositories", {
        forge_url: forge.url,
        owner: "acme",
        repo: "webapp",
        package: pkg,
        token,
        trigger,
      });
    const a = await connect("webapp", ADMIN_PAT, "release");
    const b = await connect("api", PUSH_PAT, "tag");
    const hookSecret = (forge.calls.find((c) => c.path.endsWith("/hooks"))!.body as {
      config: { secret: string };
    }).config.secret;
    const manualSecret = b.json.webhook.manual.secret;
    const rotated =
      (await app.api("POST", `/api/repositories/${b.json.repository.id}/rotate-secret`))
        .json.secret;
    const secrets = [ADMIN_PAT, PUSH_PAT, hookSecret, manualSecret, rotated];

    // Exercise every path that touches a secret: deliveries (good and bad), statuses, failures.
    const [fired] = await forge.fire(
      "acme",
      "webapp",
      "release",
      releasePayload(forge.url, "acme", "webapp", { tag: "v1.2.0" }),
    );
    assert.equal(fired.status, 202);
    const push = pushPayload(forge.url, "acme", "webapp", { ref: "refs/tags/v2", after: SHA_B });
    for (const secret of [rotated, manualSecret, "wrong"]) {
      const d = await buildDelivery({ event: "push", payload: push, secret });
      await fetch(`${app.url}/webhook/forgejo/${b.json.repository.id}`, {
        method: "POST",
        headers: d.headers,
        body: d.body,
      });
    }
    forge.failNext(/\/statuses\//, 1, 500);
    const dep = crypto.randomUUID();
    app.ports.emit({
      deploymentId: dep,
      package: "webapp",
      version: "v1.2.0",
      status: "deployed",
      lockedRev: SHA_A,
      flakeRef: null,
      createdAt: new Date(),
      startedAt: new Date(),
      finishedAt: new Date(),
      failureKind: null,
    });
    await waitFor("the status post", async () => {
      const [r] = await app.sql`select ok from forge_status_post where deployment_id = ${dep}`;
      return r?.ok === true ? r : undefined;
    });
    await connect("webapp", "pat-wrong-SECRETVALUE-000", "tag"); // an error path with a token in the request

    const responses = [
      JSON.stringify((await app.api("GET", "/api/repositories")).json),
      JSON.stringify((await app.api("GET", `/api/repositories/${a.json.repository.id}`)).json),
      JSON.stringify(a.json),
      JSON.stringify(
        (await app.api("GET", `/api/forge/status-posts?deployment_id=${dep}`)).json,
      ),
    ].join("\n");

    const tables = await app.sql<{ tableName: string }[]>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`;
    assert.ok(tables.some((t) => t.tableName === "sealed_secret"));
    let dump = "";
    for (const { tableName } of tables) {
      const rows = await app.sql.unsafe(`select * from "${tableName}"`);
      dump += JSON.stringify(rows);
    }
    const logs = app.logs.join("\n");
    for (const s of [...secrets, "pat-wrong-SECRETVALUE-000"]) {
      assert.ok(!dump.includes(s), `a secret is stored in plaintext`);
      assert.ok(!logs.includes(s), `a secret is in the log`);
      assert.ok(!responses.includes(s), `a secret is in an API response`);
    }
    assert.ok(!dump.includes("SECRETVALUE") && !logs.includes("SECRETVALUE"));

    const key = await Deno.stat(`${app.dataDir}/secret.key`);
    assert.equal(key.mode! & 0o777, 0o600);
  } finally {
    await app.close();
    await forge.close();
  }
});

Deno.test("despacito secrets rotate-key re-seals every secret under a new key and keeps the old one only as a backup", async () => {
  const forge = await startFakeForgejo();
  forge.addRepo("acme", "webapp", { [PUSH_PAT]: { admin: false, push: true, pull: true } });
  forge.addTag("acme", "webapp", "v1", SHA_B);
  const db = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-rotate-" });
  const first = await startForgeApp({ reuse: { dbUri: db.uri, dataDir } });
  first.ports.sources.set("webapp", sourceOf(forge));
  const keyPath = `${dataDir}/secret.key`;
  let closedFirst = false;
  try {
    const created = await first.api("POST", "/api/repositories", {
      forge_url: forge.url,
      owner: "acme",
      repo: "webapp",
      package: "webapp",
      token: PUSH_PAT,
      trigger: "tag",
    });
    const id = created.json.repository.id;
    const secret = created.json.webhook.manual.secret;
    const before = (await readKey(keyPath))!;
    await first.close(); // the operator stops the server first
    closedFirst = true;

    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      DESPACITO_POSTGRES_CONNECTION_URI: first.dbUri,
      DESPACITO_DATA_DIR: first.dataDir,
      NO_COLOR: "1",
    };
    if (Deno.env.get("DENO_DIR")) env.DENO_DIR = Deno.env.get("DENO_DIR")!;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "secrets", "rotate-key"],
      cwd: new URL("..", import.meta.url).pathname,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    assert.ok(!stdout.includes(secret) && !stdout.includes(PUSH_PAT));

    const after = (await readKey(keyPath))!;
    assert.notEqual(after.id, before.id);
    assert.match(
      stdout,
      new RegExp(`re-sealed 2 secret\\(s\\): server key ${before.id} → ${after.id}`),
    );
    const backups = [...Deno.readDirSync(first.dataDir)].filter((e) =>
      e.name.startsWith("secret.key.OLD-")
    );
    assert.equal(backups.length, 1);
    assert.match(backups[0].name, /^secret\.key\.OLD-\d{8}T\d{6}\d*Z\.delete-after-checking$/);
    const backupPath = `${first.dataDir}/${backups[0].name}`;
    assert.equal((await readKey(backupPath))!.id, before.id);
    assert.equal((await Deno.stat(backupPath)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(keyPath)).mode! & 0o777, 0o600);

    // Restart on the same database and data dir: the new key opens everything.
    const second = await startForgeApp({ reuse: { dbUri: first.dbUri, dataDir: first.dataDir } });
    second.ports.sources.set("webapp", sourceOf(forge));
    try {
      const rows = await second.sql<
        { id: string; sealed: string }[]
      >`select id, sealed from sealed_secret`;
      assert.equal(rows.length, 2);
      assert.ok(rows.every((r) => r.sealed.startsWith(`v1.${after.id}.`)));
      const sealer = createSealer(after.key);
      const opened = await Promise.all(rows.map((r) => readSecret(second.sql, sealer, r.id)));
      assert.deepEqual(opened.sort(), [PUSH_PAT, secret].sort());
      const d = await buildDelivery({
        event: "push",
        payload: pushPayload(forge.url, "acme", "webapp", { ref: "refs/tags/v1", after: SHA_B }),
        secret,
      });
      const res = await fetch(`${second.url}/webhook/forgejo/${id}`, {
        method: "POST",
        headers: d.headers,
        body: d.body,
      });
      assert.equal(res.status, 202);
    } finally {
      await second.close();
    }
  } finally {
    if (!closedFirst) await first.close();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
    await forge.close();
  }
});
