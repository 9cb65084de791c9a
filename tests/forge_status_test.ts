/**
 * Commit statuses, against despacito as it ships (tests/_harness/forge_world.ts):
 * every status follows a real deployment (a forge tag delivery, or a runner's
 * POST /webhook), and what reached the forge is read from the fake Forgejo.
 * The exact wording of durations (e.g. "1m 5s") is src/forge/statuses_test.ts's:
 * real deployments take what they take.
 */

import assert from "node:assert/strict";
import { buildDelivery, createPayload, type FakeForgejo } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, type Json, withForgeWorld } from "./_harness/forge_world.ts";
import { STORE_PATH } from "./_harness/deploy_env.ts";
import { waitFor } from "./_harness/server.ts";

const PAT = "pat-push-0123456789abcdefPUSH";

interface Ctx {
  forge: FakeForgejo;
  w: ForgeWorld;
  /** The connection's id. */
  id: string;
  /** Releases `version` of the app (a new commit, tag `v<version>`) the forge knows; its sha. */
  release(version: string): Promise<string>;
  /** The forge delivers the tag `v<version>` (created by release()); the deployment's id. */
  tagDeploy(version: string): Promise<string>;
  /** A runner's POST /webhook?wait=false; the deployment's id. */
  runner(pkg: string, version: string, flakeRef?: string): Promise<string>;
  /** Status posts of a deployment, oldest first, once `n` are settled. */
  settled(id: string, n: number): Promise<Json[]>;
  /** The forge's commit-status requests so far. */
  statusCalls(): FakeForgejo["calls"];
}

async function withStatuses(fn: (t: Ctx) => Promise<void>, env: Record<string, string> = {}) {
  await withForgeWorld({ env }, async (w) => {
    const { forge, env } = w;
    forge.addRepo("acme", "webapp", { [PAT]: { admin: false, push: true, pull: true } });
    const res = await w.connect("webapp", PAT, "tag");
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = res.json.repository.id;
    const secret = res.json.webhook.manual.secret;
    forge.calls.length = 0;
    await fn({
      forge,
      w,
      id,
      async release(version) {
        const sha = await env.webapp.release(version);
        // Forgejo answers 500 for a status on a commit it does not have: this one it has.
        forge.addTag("acme", "webapp", `v${version}`, sha);
        return sha;
      },
      async tagDeploy(version) {
        const sha = env.webapp.tags[`v${version}`];
        const d = await buildDelivery({
          event: "create",
          payload: createPayload(forge.url, "acme", "webapp", {
            ref: `refs/tags/v${version}`,
            refType: "tag",
            sha,
          }),
          secret,
        });
        const r = await w.post(id, d.body, d.headers);
        assert.equal(r.status, 202);
        return (await r.json()).deployment_id;
      },
      async runner(pkg, version, flakeRef) {
        const r = await env.webhook({
          package: pkg,
          version,
          nix_store_path: STORE_PATH.replace("1.1.0", version),
          ...(flakeRef ? { flake_ref: flakeRef } : {}),
        }, "?wait=false");
        assert.equal(r.status, 202, await r.clone().text());
        return (await r.json()).deployment_id;
      },
      settled: (dep, n) => w.settled(dep, n),
      statusCalls: () => forge.calls.filter((c) => c.path.includes("/statuses/")),
    });
  });
}

const deployed = (t: Ctx, id: string) => t.w.env.waitDeployment(id, (d) => d.status === "deployed");

Deno.test("commit statuses go pending → success with context, one-line description and link", async () => {
  await withStatuses(async (t) => {
    const sha = await t.release("1.2.5");
    const id = await t.tagDeploy("1.2.5");
    await deployed(t, id);
    await t.settled(id, 2);
    const target = `${t.w.base}/deployments/${id}`;
    const statuses = t.forge.statuses("acme", "webapp");
    assert.deepEqual(statuses.map((s) => ({ ...s, description: "-" })), [
      { sha, state: "pending", context: "despacito/webapp", description: "-", target_url: target },
      { sha, state: "success", context: "despacito/webapp", description: "-", target_url: target },
    ]);
    assert.equal(statuses[0].description, "Deploying v1.2.5 (queued)");
    assert.match(statuses[1].description, /^Deployed v1\.2\.5 in \d+(ms|s)$/);
    assert.deepEqual(t.statusCalls().map((c) => [c.method, c.path, c.authorization]), [
      ["POST", `/api/v1/repos/acme/webapp/statuses/${sha}`, `token ${PAT}`],
      ["POST", `/api/v1/repos/acme/webapp/statuses/${sha}`, `token ${PAT}`],
    ]);
    const posts = (await t.w.api("GET", `/api/forge/status-posts?deployment_id=${id}`)).json
      .status_posts;
    assert.deepEqual(posts.map((p: Json) => [p.state, p.ok, p.attempts]), [
      ["pending", true, 1],
      ["success", true, 1],
    ]);
    const repo = (await t.w.api("GET", "/api/repositories")).json.repositories[0];
    assert.equal(repo.last_status_post.state, "success");
    assert.equal(repo.last_status_post.deployment_id, id);
  });
});

Deno.test("commit statuses go pending → failure when colmena failed, error when despacito could not run it", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    const shaA = await t.release("1.2.5");
    await env.colmena.set({ mode: "fail" });
    const a = await t.tagDeploy("1.2.5");
    const fa = await env.waitDeployment(a, (d) => d.status === "failed");
    assert.equal(fa.failure_kind, "failure");
    await t.settled(a, 2);

    // Cancelled while queued behind a running deployment: despacito did not run it.
    const shaHeld = await t.release("1.2.6");
    const shaB = await t.release("1.3.0");
    await env.colmena.set({ mode: "hold" });
    const held = await t.tagDeploy("1.2.6");
    await env.waitDeployment(held, (d) => d.status === "running");
    const b = await t.tagDeploy("1.3.0");
    const cancel = await t.w.api("POST", `/api/deployments/${b}/cancel`);
    assert.equal(cancel.status, 202, JSON.stringify(cancel.json));
    await env.waitDeployment(b, (d) => d.status === "cancelled");
    await t.settled(b, 2);
    await env.colmena.release();
    await deployed(t, held);
    await t.settled(held, 2);
    await env.colmena.set({ mode: "ok" });

    const of = (sha: string) =>
      t.forge.statuses("acme", "webapp").filter((s) => s.sha === sha).map((s) => [
        s.state,
        s.description,
      ]);
    const [failedA, errorB] = [of(shaA), of(shaB)];
    assert.deepEqual(failedA.map((s) => s[0]), ["pending", "failure"]);
    assert.equal(failedA[0][1], "Deploying v1.2.5 (queued)");
    assert.match(failedA[1][1], /^Deployment of v1\.2\.5 failed after \d+(ms|s)$/);
    assert.deepEqual(errorB.map((s) => s[0]), ["pending", "error"]);
    assert.equal(errorB[0][1], "Deploying v1.3.0 (queued)");
    assert.match(errorB[1][1], /^Could not deploy v1\.3\.0 \(cancelled\) after \d+(ms|s)$/);
    assert.deepEqual(of(shaHeld).map((s) => s[0]), ["pending", "success"]);
  });
});

Deno.test("commit statuses are retried with backoff while the forge is down, and the outcome is recorded", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    await t.release("1.2.5");
    t.forge.failNext(/\/statuses\//, 2, 503);
    // colmena holds until the pending status got through, so the two states cannot overlap.
    await env.colmena.set({ mode: "hold" });
    const id = await t.tagDeploy("1.2.5");
    await t.settled(id, 1);
    await env.colmena.release();
    await deployed(t, id);
    await env.colmena.set({ mode: "ok" });
    const rows = await t.settled(id, 2);
    assert.deepEqual(rows.map((r) => [r.state, r.ok, r.attempts, r.error]), [
      ["pending", true, 3, null],
      ["success", true, 1, null],
    ]);
    assert.deepEqual(t.statusCalls().map((c) => c.status), [503, 503, 201, 201]);
    await waitFor(
      "the retry logged",
      () => t.w.logs().some((l) => l.msg === "commit status post failed; retrying") || undefined,
    );

    // A forge that stays down: recorded as failed after the configured attempts, nothing thrown.
    await t.release("1.3.0");
    t.forge.failNext(/\/statuses\//, 100, 502);
    const other = await t.tagDeploy("1.3.0");
    const d = await deployed(t, other);
    assert.equal(d.error, null, "the deployment is not held up");
    const gaveUp = await t.settled(other, 2);
    for (const p of gaveUp) {
      assert.equal(p.ok, false);
      assert.match(
        p.error,
        /^(gave up after 3 attempt\(s\)|superseded by a newer state).*HTTP 502/,
      );
    }
    assert.equal(gaveUp[1].attempts, 3);
    assert.match(gaveUp[1].error, /gave up after 3 attempt\(s\).*HTTP 502/);
  }, { DESPACITO_FORGE_STATUS_ATTEMPTS: "3" });
});

Deno.test("commit statuses skip deployments whose source is another repository, matched exactly", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    const skips = () =>
      t.w.logs().filter((l) =>
        l.msg === "no source commit of the connected repository known; no status"
      );
    // A deployment whose commit never becomes known: it fails before nix locked anything.
    await Deno.writeTextFile(`${env.flake.dir}/stray.nix`, "{ }\n");
    const unknown = await t.runner("webapp", "1.5.0");
    const u = await env.waitDeployment(unknown, (d) => d.status === "failed");
    assert.equal(u.locked_rev, null);
    await Deno.remove(`${env.flake.dir}/stray.nix`);
    // A package without a connection.
    const foreign = await t.runner("api", "2.0.1");
    await deployed(t, foreign);

    // flake.nix now fetches webapp from another repository (the api fixture's): a runner
    // deployment from the declared source, and one naming a commit of that repository.
    const declared = (await env.flake.lock() as Json).nodes.webapp.original;
    await t.w.declare("webapp", { ...declared, url: declared.url.replace(/webapp$/, "api") });
    const apiHead = await env.api.release("2.1.0");
    const other = await t.runner("webapp", "9.0.0");
    assert.equal((await deployed(t, other)).locked_rev, apiHead, "fetched from the api repo");
    const pinned = await t.runner(
      "webapp",
      "9.1.0",
      `${env.api.url}?ref=refs/tags/v2.0.0&rev=${env.api.tags["v2.0.0"]}`,
    );
    await deployed(t, pinned);
    // Decided (and logged) once per state: pending, then success.
    const logged = await waitFor("both deployments' skips logged", () => {
      const s = skips();
      return s.length === 4 ? s : undefined;
    });
    assert.deepEqual(logged.map((l) => l.deployment_id), [other, other, pinned, pinned]);
    for (const l of logged) assert.match(String(l.reason), /^its source is another repository/);

    await t.w.declare("webapp", declared);
    const sha = await t.release("1.6.0");
    const marker = await t.tagDeploy("1.6.0");
    await deployed(t, marker);
    await t.settled(marker, 2);
    const [{ n }] = await env.sql`select count(*)::int as n from forge_status_post`;
    assert.equal(n, 2, "only the marker's");
    assert.deepEqual(t.forge.statuses("acme", "webapp").map((s) => s.sha), [sha, sha]);
    assert.equal(skips().length, 4);
  });
});

Deno.test("commit statuses of a runner deployment without rev= wait for the locked rev, then pending → success", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    // A runner's POST /webhook without flake_ref: the declared source (the connected repo).
    const shaB = await t.release("1.4.0");
    const id = await t.runner("webapp", "v1.4.0");
    const d = await deployed(t, id);
    assert.equal(d.locked_rev, shaB);
    await t.settled(id, 2);
    const described = () =>
      t.forge.statuses("acme", "webapp").map((s) => [s.sha, s.state, s.description]);
    assert.deepEqual(described().map((s) => s.slice(0, 2)), [
      [shaB, "pending"],
      [shaB, "success"],
    ]);
    assert.equal(described()[0][2], "Deploying v1.4.0", "pending once the commit is known");
    assert.match(described()[1][2], /^Deployed v1\.4\.0 in \d+(ms|s)$/);

    // With a tag ref of the connected repository (no rev=) the same holds.
    const shaA = await t.release("1.5.0");
    await env.colmena.set({ mode: "fail" });
    const tagged = await t.runner("webapp", "v1.5.0", `${env.webapp.url}?ref=refs/tags/v1.5.0`);
    await env.waitDeployment(tagged, (d) => d.status === "failed");
    await t.settled(tagged, 2);
    assert.deepEqual(described().slice(2).map((s) => s.slice(0, 2)), [
      [shaA, "pending"],
      [shaA, "failure"],
    ]);
  });
});

Deno.test("commit statuses refused for the token (403 scope) are not retried and show as the repository's problem", async () => {
  await withStatuses(async (t) => {
    const [repo] = (await t.w.api("GET", "/api/repositories")).json.repositories;
    await t.release("1.2.5");
    t.forge.setScopes(PAT, ["read:repository"]);
    const id = await t.tagDeploy("1.2.5");
    await deployed(t, id);
    const rows = await t.settled(id, 2);
    for (const row of rows) {
      assert.equal(row.ok, false);
      assert.equal(row.attempts, 1, "a credential problem is not retried");
      assert.match(String(row.error), /^forge_token_cannot_write: .*write:repository/);
    }
    const shown = (await t.w.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.equal(shown.problem.code, "forge_token_cannot_write");
    assert.match(shown.problem.message, /write:repository/);

    // A working token again: the next posts succeed and the problem is gone.
    t.forge.setScopes(PAT, ["write:repository"]);
    await t.release("1.3.0");
    const next = await t.tagDeploy("1.3.0");
    await deployed(t, next);
    assert.ok((await t.settled(next, 2)).every((r) => r.ok === true));
    assert.equal((await t.w.api("GET", `/api/repositories/${repo.id}`)).json.problem, null);
    assert.equal(t.forge.statuses("acme", "webapp").length, 2);
  });
});

Deno.test("commit statuses to a moved repository (307) say where it went, once, on the repository", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    const [repo] = (await t.w.api("GET", "/api/repositories")).json.repositories;
    const sha = await t.release("1.2.5");
    t.forge.moveRepo("acme", "webapp", "newco", "web");
    // The forge's tag lookup would be redirected too: a runner deploys the tag.
    const id = await t.runner(
      "webapp",
      "v1.2.5",
      `${env.webapp.url}?ref=refs/tags/v1.2.5&rev=${sha}`,
    );
    await deployed(t, id);
    const rows = await t.settled(id, 2);
    for (const row of rows) {
      assert.equal(row.attempts, 1);
      assert.match(String(row.error), /^forge_repo_moved: .*moved to newco\/web/);
    }
    assert.deepEqual(
      t.statusCalls().map((c) => c.status),
      [307, 307],
      "the redirect is not followed",
    );
    const shown = (await t.w.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.equal(shown.problem.code, "forge_repo_moved");
    assert.match(shown.problem.message, /disconnect and connect newco\/web/);
  });
});

Deno.test("commit statuses on a commit the forge does not have (500) are retried, then recorded as failed", async () => {
  await withStatuses(async (t) => {
    const { env } = t.w;
    // A commit of the app the forge never heard of (pushed elsewhere).
    const unknown = await env.webapp.release("1.2.5");
    const id = await t.runner(
      "webapp",
      "v1.2.5",
      `${env.webapp.url}?ref=refs/tags/v1.2.5&rev=${unknown}`,
    );
    await deployed(t, id);
    const rows = await t.settled(id, 2);
    for (const row of rows) {
      assert.equal(row.ok, false);
      assert.match(String(row.error), /HTTP 500/);
    }
    assert.equal(rows[1].attempts, 3);
    assert.deepEqual(t.forge.statuses("acme", "webapp"), []);
    const [repo] = (await t.w.api("GET", "/api/repositories")).json.repositories;
    assert.equal(repo.problem, null, "not a credential problem");
  }, { DESPACITO_FORGE_STATUS_ATTEMPTS: "3" });
});
