/**
 * `despacito state export` / `state import` and GET /api/state/export
 * against despacito as it ships (real processes, production flags, real
 * PostgreSQL): export → import into an empty database → export gives the
 * same text; no secret is ever exported; imported tokens get new secrets
 * that work (old ones do not); local passwords and forge secrets come from
 * files; a non-empty database, missing secret files and a malformed file
 * are refused with every problem named.
 */

import assert from "node:assert/strict";
import { stringify } from "yaml";
import { cliWithStdin, type OpsServer, startOps } from "./ops_support.ts";

const REPO_ID = "6f1c1a52-4a8e-4d51-9a43-0d0d4d6f7a11";
const SEED = {
  despacito_state: 1,
  users: [{
    id: "0b9d7f3e-2c5a-4f0e-8a44-3b1f5c0e9d21",
    issuer: "https://id.example",
    subject: "oidc-42",
    username: null,
    email: "erin@example.org",
    display_name: "Erin",
    created_at: "2026-01-02T03:04:05.000Z",
    disabled_at: null,
  }],
  tokens: [],
  repositories: [{
    id: REPO_ID,
    forge_url: "https://git.example",
    forge_type: "forgejo",
    owner: "acme",
    repo: "webapp",
    package: "webapp",
    trigger: "release",
    source_url: null,
    webhook_id: 17,
    created_by: "user alice",
    created_at: "2026-01-03T00:00:00.000Z",
  }],
  holds: [],
};
const FORGE_PAT = "pat-0123456789abcdefghijWXYZ";
const WEBHOOK_SECRET = "whsec-abcdefghijklmnop1234";

async function writeSecrets(h: OpsServer, files: Record<string, string>): Promise<string> {
  const dir = `${h.env.DESPACITO_DATA_DIR}/import-secrets`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text + "\n");
  }
  return dir;
}

Deno.test("state export → import into an empty database → export is identical, and nothing secret leaves", async () => {
  const a = await startOps({ DESPACITO_BASE_URL: "https://despacito.example" });
  const b = await startOps({ DESPACITO_BASE_URL: "https://despacito.example" });
  try {
    // A: a repository connection and an OIDC user seeded by import; tokens and a local user
    // made through the API and the CLI as an operator would.
    const seedDir = await writeSecrets(a, {
      "repository-webapp.token": FORGE_PAT,
      "repository-webapp.webhook-secret": WEBHOOK_SECRET,
    });
    const seeded = await cliWithStdin(
      a.env,
      ["state", "import", "-", "--secrets-dir", seedDir],
      stringify(SEED),
    );
    assert.equal(seeded.code, 0, seeded.stderr);
    const admin = await a.token();
    const ci = await a.call("POST", "/api/tokens", {
      token: admin,
      body: { description: "ci webapp", packages: ["webapp"], expires_in: "90d" },
    });
    const old = await a.call("POST", "/api/tokens", { token: admin, body: { description: "old" } });
    assert.equal(
      (await a.call("DELETE", `/api/tokens/${old.body.id}`, { token: admin })).status,
      204,
    );
    const added = await cliWithStdin(a.env, ["user", "add", "alice"], "alice's long password\n");
    assert.equal(added.code, 0, added.stderr);

    const exported = await a.cli(["state", "export"]);
    assert.equal(exported.code, 0, exported.stderr);
    const text = exported.stdout;
    const api = await a.call("GET", "/api/state/export", { token: admin });
    assert.equal(api.status, 200);
    assert.match(api.headers.get("content-type")!, /^application\/yaml/);
    assert.equal(api.text, text);
    const scoped = await a.call("GET", "/api/state/export", { token: ci.body.token });
    assert.equal(scoped.status, 403);
    for (
      const secret of [admin, ci.body.token, FORGE_PAT, WEBHOOK_SECRET, "alice's long password"]
    ) {
      assert.ok(!text.includes(secret), "a secret in the export");
    }
    assert.ok(!/\$2[aby]\$/.test(text), "a password hash in the export");
    assert.match(text, /^despacito_state: 1$/m);
    assert.match(text, /description: ci webapp/);

    // B: import into an empty database; secrets from files in its data dir.
    await Deno.writeTextFile(`${b.env.DESPACITO_DATA_DIR}/state.yaml`, text);
    const dir = await writeSecrets(b, {
      "repository-webapp.token": FORGE_PAT,
      "repository-webapp.webhook-secret": WEBHOOK_SECRET,
      "user-alice.password": "alice's long password",
    });
    const imported = await b.cli([
      "state",
      "import",
      `${b.env.DESPACITO_DATA_DIR}/state.yaml`,
      "--secrets-dir",
      dir,
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const lines = imported.stdout.trim().split("\n").map((l) => l.split("\t"));
    // Usable tokens only (the revoked one is restored as revoked, with no secret to hand out).
    assert.deepEqual(lines.map((l) => l[2]).sort(), ["ci webapp", "ops admin"]);
    assert.match(imported.stderr, /imported 2 user\(s\), 3 token\(s\), 1 repository/);

    const again = await b.cli(["state", "export"]);
    assert.equal(again.stdout, text, "export → import → export changed the state");

    // The new secrets work with the same ids and scopes; the old ones do not.
    const newCi = lines.find((l) => l[2] === "ci webapp")!;
    assert.equal(newCi[0], ci.body.id);
    const me = await b.call("GET", "/api/me", { token: newCi[1] });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.token.packages, ["webapp"]);
    assert.equal((await b.call("GET", "/api/me", { token: ci.body.token })).status, 401);
    const signIn = await b.call("POST", "/auth/local/login", {
      body: { username: "alice", password: "alice's long password" },
    });
    assert.equal(signIn.status, 200, signIn.text);
    const repos = await b.call("GET", "/api/repositories", { token: newCi[1] });
    assert.equal(repos.body.repositories[0].id, REPO_ID);
    assert.equal(repos.body.repositories[0].token.last4, FORGE_PAT.slice(-4));
    assert.equal(repos.body.repositories[0].secret.last4, WEBHOOK_SECRET.slice(-4));
    const newAdmin = lines.find((l) => l[2] === "ops admin")!;
    const audit = await b.call("GET", "/api/audit?action=state.imported", { token: newAdmin[1] });
    assert.equal(audit.body.entries[0].actor.kind, "cli");
    assert.deepEqual(audit.body.entries[0].details, { users: 2, tokens: 3, repositories: 1 });

    // A second import is refused: the database is no longer empty.
    const twice = await b.cli([
      "state",
      "import",
      `${b.env.DESPACITO_DATA_DIR}/state.yaml`,
      "--secrets-dir",
      dir,
    ]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /import needs an empty database/);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("state import names every missing secret file and every bad field, and writes nothing", async () => {
  const h = await startOps();
  try {
    const missing = await cliWithStdin(h.env, ["state", "import", "-"], stringify(SEED));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /repository-webapp\.token: missing/);
    assert.match(missing.stderr, /repository-webapp\.webhook-secret: missing/);

    const broken = {
      ...SEED,
      users: [{ ...SEED.users[0], id: "nope" }],
      repositories: [{ ...SEED.repositories[0], trigger: "push", created_at: 5 }],
      holds: [{
        package: "webapp",
        deployment_id: crypto.randomUUID(),
        reason: "the rollback failed on alpha",
        held_at: "2026-01-04T00:00:00.000Z",
      }],
    };
    const bad = await cliWithStdin(h.env, ["state", "import", "-"], stringify(broken));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /users\[0\]\.id: must be a uuid/);
    assert.match(bad.stderr, /repositories\[0\]\.trigger: must be release or tag/);
    assert.match(bad.stderr, /repositories\[0\]\.created_at: must be a time/);
    assert.match(bad.stderr, /holds\[0\]: webapp is held; a hold cannot be imported/);
    const notYaml = await cliWithStdin(h.env, ["state", "import", "-"], "users: [unclosed");
    assert.equal(notYaml.code, 2);
    assert.match(notYaml.stderr, /not YAML/);

    // A file outside what despacito may read is explained, not a stack trace.
    const outside = await h.cli(["state", "import", "/etc/hostname"]);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /outside what despacito may read/);

    const token = await h.token().catch((e) => {
      throw new Error(`${e}\n${h.server.stderr()}\n${h.server.stdout.slice(-20).join("\n")}`);
    });
    const state = await h.call("GET", "/api/state/export", { token });
    assert.match(state.text, /^users: \[\]$/m, "nothing was written");
    const usage = await h.cli(["state", "import"]);
    assert.equal(usage.code, 2);
  } finally {
    await h.close();
  }
});
