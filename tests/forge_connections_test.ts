/**
 * Connecting a repository (POST /api/repositories), disconnecting it, against
 * despacito as it ships (tests/_harness/forge_world.ts) and the fake Forgejo.
 * The package's declared source is what the deployment flake's lock says,
 * rewritten per case (`w.declare`), as an operator's flake.nix would.
 */

import assert from "node:assert/strict";
import { type FakeForgejo, type Flavor, startFakeForgejo } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, withForgeWorld } from "./_harness/forge_world.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";
const PUSH_PAT = "pat-push-0123456789abcdefPUSH";
const READ_PAT = "pat-read-0123456789abcdefREAD";
/** A token with the read:repository scope only, of a user who may administer the repository. */
const READ_SCOPE_PAT = "pat-rscope-0123456789abcdefRSCP";
/** The package input as the flake declares it: fetched with git from the forge itself. */
const sourceOf = (forge: { url: string }) => ({ type: "git", url: `${forge.url}/acme/webapp.git` });

interface Ctx {
  w: ForgeWorld;
  forge: FakeForgejo;
  connect(token: string, extra?: Record<string, unknown>): ReturnType<ForgeWorld["api"]>;
}

/** One case: a fresh fake forge against the shared despacito; it leaves no connection behind. */
async function withSetup(w: ForgeWorld, fn: (t: Ctx) => Promise<void>, flavor: Flavor) {
  const forge = await startFakeForgejo(flavor);
  try {
    forge.addRepo("acme", "webapp", {
      [PAT]: { admin: true, push: true, pull: true },
      [PUSH_PAT]: { admin: false, push: true, pull: true },
      [READ_PAT]: { admin: false, push: false, pull: true },
      [READ_SCOPE_PAT]: { admin: true, push: true, pull: true, scopes: ["read:repository"] },
    });
    await w.declare("webapp", sourceOf(forge));
    const connect = (token: string, extra: Record<string, unknown> = {}) =>
      w.connect("webapp", token, "release", {
        forge_url: forge.url,
        source_url: undefined,
        ...extra,
      });
    await fn({ w, forge, connect });
    assert.deepEqual(forge.rejections, []);
  } finally {
    for (const r of (await w.api("GET", "/api/repositories")).json.repositories) {
      await w.api("DELETE", `/api/repositories/${r.id}`);
    }
    await forge.close();
  }
}

const CASES: [string, (t: Ctx) => Promise<void>, Flavor?][] = [];
const it = (name: string, fn: (t: Ctx) => Promise<void>, flavor?: Flavor) =>
  CASES.push([name, fn, flavor]);

it("POST /api/repositories checks the PAT and creates a signed json webhook for the trigger's events", async (t) => {
  const res = await t.connect(PAT);
  assert.equal(res.status, 201);
  const repo = res.json.repository;
  assert.equal(res.json.webhook.created, true);
  assert.equal(res.json.webhook.id, repo.webhook_id);
  assert.deepEqual(
    { ...repo, id: "-", created_at: "-" },
    {
      id: "-",
      forge_url: t.forge.url,
      forge_type: "forgejo",
      owner: "acme",
      repo: "webapp",
      package: "webapp",
      trigger: "release",
      source_url: null,
      webhook_id: repo.webhook_id,
      token: { set: true, last4: "WXYZ" },
      secret: { set: true, last4: repo.secret.last4, rotating_until: null },
      last_delivery: null,
      last_status_post: null,
      problem: null,
      created_at: "-",
    },
  );
  assert.deepEqual(
    t.forge.calls.map((c) => [c.method, c.path, c.authorization]),
    [
      ["GET", "/api/v1/repos/acme/webapp", `token ${PAT}`],
      // The scope probe: a write that can change nothing (no hook has id 0).
      ["DELETE", "/api/v1/repos/acme/webapp/hooks/0", `token ${PAT}`],
      ["GET", "/api/forgejo/v1/version", `token ${PAT}`],
      ["POST", "/api/v1/repos/acme/webapp/hooks", `token ${PAT}`],
    ],
  );
  const hookCall = t.forge.calls[3];
  assert.equal(hookCall.contentType, "application/json");
  const body = hookCall.body as { config: { secret: string } };
  assert.match(body.config.secret, /^[0-9a-f]{64}$/);
  assert.deepEqual(body, {
    type: "forgejo",
    config: {
      url: `${t.w.base}/webhook/forgejo/${repo.id}`,
      content_type: "json",
      secret: body.config.secret,
    },
    events: ["release"],
    active: true,
  });
  assert.equal(repo.secret.last4, body.config.secret.slice(-4));
  assert.deepEqual(t.forge.rejections, []);
  assert.ok(!JSON.stringify(res.json).includes(PAT));
  assert.ok(!JSON.stringify(res.json).includes(body.config.secret));

  const list = await t.w.api("GET", "/api/repositories");
  assert.deepEqual(list.json, { repositories: [repo] });
  assert.deepEqual((await t.w.api("GET", `/api/repositories/${repo.id}`)).json, repo);
  assert.equal((await t.connect(PAT)).json.error.code, "package_connected");
});

it("POST /api/repositories answers manual setup instructions when the PAT cannot administer the repo", async (t) => {
  const res = await t.connect(PUSH_PAT, { trigger: "tag" });
  assert.equal(res.status, 201);
  const manual = res.json.webhook.manual;
  assert.equal(res.json.webhook.created, false);
  assert.match(manual.secret, /^[0-9a-f]{64}$/);
  assert.deepEqual(manual, {
    url: `${t.w.base}/webhook/forgejo/${res.json.repository.id}`,
    secret: manual.secret,
    content_type: "json",
    events: ["create"],
    token_page_url: `${t.forge.url}/user/settings/applications`,
  });
  assert.equal(res.json.repository.webhook_id, null);
  assert.deepEqual(t.forge.calls.map((c) => [c.path, c.status]), [
    ["/api/v1/repos/acme/webapp", 200],
    ["/api/v1/repos/acme/webapp/hooks/0", 403], // not an admin, but the scope is write
    ["/api/forgejo/v1/version", 200],
  ]);
});

it("POST /api/repositories explains a rejected, read-only or unknown PAT, a missing repo and an unreachable forge", async (t) => {
  const code = async (token: string, extra: Record<string, unknown> = {}) => {
    const r = await t.connect(token, extra);
    return [r.status, r.json.error?.code];
  };
  assert.deepEqual(await code("pat-nobody-knows-this"), [422, "forge_token_rejected"]);
  assert.deepEqual(await code(READ_PAT), [422, "forge_token_cannot_write"]);
  // The flake declares acme/missing, so it is the forge that answers.
  await t.w.declare("webapp", { type: "git", url: `${t.forge.url}/acme/missing` });
  assert.deepEqual(await code(PAT, { repo: "missing" }), [422, "forge_repo_not_found"]);
  await t.w.declare("webapp", sourceOf(t.forge));
  assert.deepEqual(await code(PAT, { package: "not-in-flake" }), [422, "unknown_package"]);
  // An unreadable flake is not "no such input": it says so, and can be tried again.
  const lock = `${t.w.env.flake.dir}/flake.lock`;
  await Deno.rename(lock, `${lock}.away`);
  assert.deepEqual(await code(PAT), [503, "flake_dir_unusable"]);
  await Deno.rename(`${lock}.away`, lock);
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
  closed.close();
  const viaMirror = { forge_url: deadUrl, source_url: `git+${t.forge.url}/acme/webapp.git` };
  assert.deepEqual(await code(PAT, viaMirror), [503, "forge_unreachable"]);
  const bad = await t.w.api("POST", "/api/repositories", {
    forge_url: "ftp://x",
    trigger: "x",
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(
    bad.json.error.details.map((d: { field: string }) => d.field).sort(),
    ["forge_url", "owner", "package", "repo", "token", "trigger"],
  );
  assert.deepEqual((await t.w.api("GET", "/api/repositories")).json, { repositories: [] });
  for (const [, , auth] of t.forge.calls.map((c) => [c.method, c.path, c.authorization])) {
    assert.match(String(auth), /^token \S+$/);
  }
  const anonymous = await fetch(`${t.w.base}/api/repositories`);
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error.code, "unauthenticated");
});

it("POST /api/repositories refuses a package the flake fetches from another repository, unless source_url says where", async (t) => {
  const refused = async (declared: Record<string, string>, extra = {}) => {
    await t.w.declare("webapp", { type: "git", ...declared });
    const r = await t.connect(PAT, extra);
    assert.equal(r.status, 422, JSON.stringify(declared));
    assert.equal(r.json.error.code, "source_mismatch");
    return r.json.error.message as string;
  };
  const host = new URL(t.forge.url).host;
  assert.match(
    await refused({ url: "https://elsewhere.example/acme/webapp.git" }),
    new RegExp(
      `"webapp" is not this repository: git\\+https://elsewhere.example/acme/webapp.git is not ` +
        `${t.forge.url}/acme/webapp \\(expected git\\+http://${host}/acme/webapp\\[\\.git\\]`,
    ),
  );
  await refused({ url: `${t.forge.url}/acme/other.git` });
  await refused({ url: `${t.forge.url}/someone/acme/webapp` });
  await refused({ url: "file:///srv/mirrors/webapp" });
  assert.match(
    await refused({ url: `${t.forge.url}/acme/webapp.git` }, {
      source_url: "git+file:///srv/mirrors/webapp",
    }),
    /is not git\+file:\/\/\/srv\/mirrors\/webapp \(the connection's source_url\)/,
  );
  await t.w.declare("webapp", { type: "github", owner: "acme", repo: "webapp" });
  assert.equal((await t.connect(PAT)).json.error.code, "source_mismatch");
  const notRef = await t.connect(PAT, { source_url: "/not/a/flake ref" });
  assert.equal(notRef.status, 400);
  assert.deepEqual(notRef.json.error.details.map((d: { field: string }) => d.field), [
    "source_url",
  ]);
  assert.deepEqual(t.forge.calls, [], "nothing is asked of the forge before the flake agrees");

  // The forge's own URLs: https with or without .git, any case of owner/repo, ssh on its host.
  for (
    const url of [
      `${t.forge.url}/acme/webapp`,
      `${t.forge.url}/Acme/WebApp.git/`,
      `ssh://git@${new URL(t.forge.url).hostname}/acme/webapp.git`,
    ]
  ) {
    await t.w.declare("webapp", { type: "git", url });
    const ok = await t.connect(PAT);
    assert.equal(ok.status, 201, url);
    assert.equal(ok.json.repository.source_url, null);
    await t.w.api("DELETE", `/api/repositories/${ok.json.repository.id}`);
  }
  // A mirror, stated explicitly, is accepted and shown.
  await t.w.declare("webapp", { type: "git", url: "file:///srv/mirrors/webapp" });
  const mirror = await t.connect(PAT, { source_url: "git+file:///srv/mirrors/webapp?ref=main" });
  assert.equal(mirror.status, 201);
  assert.equal(mirror.json.repository.source_url, "git+file:///srv/mirrors/webapp?ref=main");
});

it("POST /api/repositories on Gitea creates a gitea-type webhook", async (t) => {
  const res = await t.connect(PAT);
  assert.equal(res.status, 201);
  assert.equal(res.json.repository.forge_type, "gitea");
  assert.equal((t.forge.calls[3].body as { type: string }).type, "gitea");
  assert.deepEqual(t.forge.rejections, []);
}, "gitea");

// permissions.push in the repository answer is the user's; the token's scope is
// checked per request, so the repository check alone lets this token through.
it("POST /api/repositories refuses a read-only token of a writer with 422 forge_token_cannot_write", async (t) => {
  const r = await t.connect(READ_SCOPE_PAT);
  assert.equal(r.status, 422);
  assert.equal(r.json.error.code, "forge_token_cannot_write");
  assert.equal(r.json.needed_scope, "write:repository");
  assert.match(r.json.error.message, /write:repository/);
  assert.deepEqual(t.forge.hooks("acme", "webapp"), [], "no hook, no manual fallback");
  assert.deepEqual((await t.w.api("GET", "/api/repositories")).json, { repositories: [] });
  assert.deepEqual(t.forge.rejections, []);
});

it("POST /api/repositories says a renamed or transferred repository moved, and where", async (t) => {
  t.forge.moveRepo("acme", "webapp", "newco", "web");
  const r = await t.connect(PAT);
  assert.equal(r.status, 422);
  assert.equal(r.json.error.code, "forge_repo_moved");
  assert.match(r.json.error.message, /moved to newco\/web/);
  assert.deepEqual(r.json.moved_to, {
    owner: "newco",
    repo: "web",
    location: "/api/v1/repos/newco/web",
  });
  assert.deepEqual(t.forge.calls.map((c) => c.status), [307], "the redirect is not followed");
});

it("DELETE /api/repositories/:id removes the webhook, or says it could not", async (t) => {
  const a = (await t.connect(PAT)).json.repository;
  const del = await t.w.api("DELETE", `/api/repositories/${a.id}`);
  assert.deepEqual(del.json, { deleted: true, webhook_removed: true });
  assert.deepEqual(t.forge.hooks("acme", "webapp"), []);
  assert.equal(t.forge.calls.at(-1)!.method, "DELETE");
  assert.equal(t.forge.calls.at(-1)!.path, `/api/v1/repos/acme/webapp/hooks/${a.webhook_id}`);
  assert.equal((await t.w.api("GET", `/api/repositories/${a.id}`)).status, 404);

  const b = (await t.connect(PAT)).json.repository;
  t.forge.failNext(/\/hooks\//, 1, 500);
  const del2 = await t.w.api("DELETE", `/api/repositories/${b.id}`);
  assert.equal(del2.json.deleted, true);
  assert.equal(del2.json.webhook_removed, false);
  assert.match(del2.json.warning, /remove it by hand at .*\/acme\/webapp\/settings\/hooks/);
  assert.deepEqual((await t.w.api("GET", "/api/repositories")).json, { repositories: [] });
  const [{ n }] = await t.w.env.sql`select count(*)::int as n from sealed_secret`;
  assert.equal(n, 0, "the sealed secrets go with the connection");
  assert.equal((await t.w.api("DELETE", `/api/repositories/${b.id}`)).status, 404);
});

// One despacito for every case (state allows: no case deploys, each removes its connections
// and brings its own fake forge); steps keep Deno's sanitizers on around the shared server.
Deno.test("POST/DELETE /api/repositories against one despacito as it ships", async (tt) => {
  await withForgeWorld({}, async (w) => {
    for (const [name, fn, flavor] of CASES) {
      // A failed step fails this test; the others still run (each cleans up after itself).
      await tt.step(name, () => withSetup(w, fn, flavor ?? "forgejo"));
    }
  });
});
