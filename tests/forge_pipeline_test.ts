/**
 * The forge and the deploy pipeline together, for real: despacito as it
 * ships (tests/_harness/forge_world.ts: a subprocess under the production
 * permission flags, real Postgres, the fixture flakes with real git and nix,
 * the fake colmena), connected through POST /api/repositories to the fake
 * Forgejo, which delivers its webhooks through a loopback front (standing
 * in for Caddy) and receives the commit statuses. The fixture apps are
 * fetched with git+file://, so every connection states it with `source_url`.
 */

import assert from "node:assert/strict";
import { buildDelivery, createPayload, releasePayload } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, withForgeWorld } from "./_harness/forge_world.ts";
import { fleetRevs, STORE_PATH } from "./_harness/deploy_env.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";

interface World extends ForgeWorld {
  /** Connects acme/<pkg> with the admin PAT (despacito makes the hook); the connection's id. */
  hooked(pkg: "webapp" | "api", trigger: "release" | "tag"): Promise<string>;
}

async function withWorld(env: Record<string, string>, fn: (w: World) => Promise<void>) {
  await withForgeWorld({ env }, async (fw) => {
    const { forge, env: denv } = fw;
    forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
    forge.addRepo("acme", "api", { [PAT]: { admin: true, push: true, pull: true } });
    for (const [tag, sha] of Object.entries(denv.webapp.tags)) {
      forge.addTag("acme", "webapp", tag, sha);
    }
    const w: World = {
      ...fw,
      async hooked(pkg, trigger) {
        const res = await fw.connect(pkg, PAT, trigger);
        assert.equal(res.status, 201, JSON.stringify(res.json));
        assert.equal(res.json.webhook.created, true);
        return res.json.repository.id;
      },
    };
    await fn(w);
  });
}

const statusesOf = (w: World, repo: string, sha: string) =>
  w.forge.statuses("acme", repo).filter((s) => s.sha === sha);

Deno.test(
  "forge release → real pipeline: 202 within a second, input pinned to the tag's commit, statuses pending → success",
  async () => {
    await withWorld({}, async (w) => {
      const { env, forge } = w;
      // Without source_url the git+file:// input is not the forge's repository.
      const refused = await w.connect("webapp", PAT, "release", { source_url: undefined });
      assert.equal(refused.status, 422);
      assert.equal(refused.json.error.code, "source_mismatch");
      assert.ok(refused.json.error.message.includes(env.webapp.url), refused.json.error.message);
      const wrong = await w.connect("webapp", PAT, "release", { source_url: env.api.url });
      assert.equal(wrong.status, 422);
      assert.equal(wrong.json.error.code, "source_mismatch");
      assert.deepEqual(forge.hooks("acme", "webapp"), []);

      const connId = await w.hooked("webapp", "release");
      assert.equal(forge.hooks("acme", "webapp")[0].url, `${w.base}/webhook/forgejo/${connId}`);
      const sha = env.webapp.tags["v1.1.0"];
      const started = performance.now();
      const [res] = await forge.fire(
        "acme",
        "webapp",
        "release",
        releasePayload(forge.url, "acme", "webapp", { tag: "v1.1.0" }),
      );
      const took = performance.now() - started;
      assert.equal(res.status, 202);
      assert.ok(took < 1000, `answered in ${took} ms`);
      const body = await res.json();
      assert.equal(body.status, "queued");
      const id = body.deployment_id;

      const d = await env.waitDeployment(id, (d) => d.status === "deployed");
      assert.equal(d.version, "v1.1.0");
      assert.equal(d.flake_ref, `${env.webapp.url}?ref=refs/tags/v1.1.0&rev=${sha}`);
      assert.equal(d.nix_store_path, null);
      assert.deepEqual(d.triggered_by, { kind: "forge", id: connId, label: "acme/webapp" });
      assert.equal(d.locked_rev, sha);
      assert.equal(await env.flake.lockedRev("webapp"), sha);
      assert.deepEqual(await fleetRevs(env), { alpha: sha, beta: sha });
      assert.equal(await env.flake.status(), "");
      assert.equal((await env.colmena.runs()).length, 1);

      const posts = await w.settled(id, 2);
      assert.deepEqual(posts.map((p) => [p.state, p.ok, p.sha, p.repository]), [
        ["pending", true, sha, "acme/webapp"],
        ["success", true, sha, "acme/webapp"],
      ]);
      const statuses = statusesOf(w, "webapp", sha);
      assert.deepEqual(statuses.map((s) => [s.state, s.context, s.target_url]), [
        ["pending", "despacito/webapp", `${w.base}/deployments/${id}`],
        ["success", "despacito/webapp", `${w.base}/deployments/${id}`],
      ]);
      assert.equal(statuses[0].description, "Deploying v1.1.0 (queued)");
      assert.match(statuses[1].description, /^Deployed v1\.1\.0 in \d+(ms|s)( \d+s)?$/);
      const statusCalls = forge.calls.filter((c) => c.path.includes("/statuses/"));
      assert.ok(statusCalls.every((c) => c.authorization === `token ${PAT}`));
      assert.ok(statusCalls.every((c) => c.path === `/api/v1/repos/acme/webapp/statuses/${sha}`));
      const repo = (await w.api("GET", `/api/repositories/${connId}`)).json;
      assert.equal(repo.source_url, env.webapp.url);
      assert.equal(repo.last_delivery.result, "queued");
      assert.deepEqual(
        { ...repo.last_status_post, at: "-" },
        { at: "-", state: "success", ok: true, error: null, deployment_id: id },
      );
      // The audit trail names the forge connection as the one who asked for the deployment.
      const requested = (await w.api("GET", "/api/audit?action=deployment.requested")).json;
      assert.deepEqual(
        requested.entries.map((e: { actor: unknown; target: string }) => [e.actor, e.target]),
        [
          [{ kind: "forge", id: connId, label: "acme/webapp" }, `deployment:${id}`],
        ],
      );
      const connected = (await w.api("GET", "/api/audit?action=repository.connected")).json;
      assert.equal(connected.entries[0].target, `repository:${connId}`);
    });
  },
);

Deno.test(
  "forge redelivery never deploys twice through the real pipeline; a replayed release answers 200 with the deployment it triggered",
  async () => {
    await withWorld({}, async (w) => {
      const { env, forge } = w;
      const connId = await w.hooked("webapp", "release");
      const secret = forge.hooks("acme", "webapp")[0].secret;
      const payload = releasePayload(forge.url, "acme", "webapp", { tag: "v1.2.0" });
      const d1 = await buildDelivery({ event: "release", payload, secret, deliveryId: "dlv-1" });
      const post = (d: { body: Uint8Array<ArrayBuffer>; headers: Headers }) =>
        fetch(`${w.base}/webhook/forgejo/${connId}`, {
          method: "POST",
          body: d.body,
          headers: d.headers,
        });
      // The forge retrying while the first attempt is still being answered, and again later.
      const [a, b] = await Promise.all([post(d1), post(d1)]);
      const [ja, jb] = [await a.json(), await b.json()];
      assert.deepEqual([a.status, b.status], [202, 202]);
      assert.deepEqual(jb, ja);
      const id = ja.deployment_id;
      await env.waitDeployment(id, (d) => d.status === "deployed");
      const late = await post(d1);
      assert.equal(late.status, 202);
      assert.deepEqual(await late.json(), ja, "the first answer, byte for byte");

      // Forgejo's Replay (a new delivery id) or an edit of the release (`updated`): a
      // release deploys once per tag.
      const d2 = await buildDelivery({ event: "release", payload, secret, deliveryId: "dlv-2" });
      const again = await post(d2);
      assert.equal(again.status, 200);
      const reason = `release v1.2.0 already triggered deployment ${id}`;
      assert.deepEqual(await again.json(), { status: "ignored", reason, deployment_id: id });
      const [{ n }] = await env.sql<{ n: number }[]>`
      select count(*)::int as n from deployments where package = 'webapp'`;
      assert.equal(n, 1);
      assert.equal((await env.colmena.runs()).length, 1);
      const repo = (await w.api("GET", `/api/repositories/${connId}`)).json;
      assert.equal(repo.last_delivery.delivery_id, "dlv-2");
      assert.equal(repo.last_delivery.result, `ignored: ${reason}`);
      // Statuses were posted once per state, not once per delivery.
      await w.settled(id, 2);
      assert.equal(statusesOf(w, "webapp", env.webapp.tags["v1.2.0"]).length, 2);
    });
  },
);

Deno.test(
  "forge tag create → colmena fails: pending → failure; dirty flake repo: pending → error",
  async () => {
    await withWorld({}, async (w) => {
      const { env, forge } = w;
      await w.hooked("api", "tag");
      const fire = async (version: string) => {
        const sha = await env.api.release(version);
        forge.addTag("acme", "api", `v${version}`, sha);
        const [res] = await forge.fire(
          "acme",
          "api",
          "create",
          createPayload(forge.url, "acme", "api", {
            ref: `refs/tags/v${version}`,
            refType: "tag",
            sha,
          }),
        );
        assert.equal(res.status, 202);
        return { sha, id: (await res.json()).deployment_id as string };
      };

      await env.colmena.set({ mode: "fail" });
      const failing = await fire("2.1.0");
      const f = await env.waitDeployment(failing.id, (d) => d.status === "failed");
      assert.equal(f.failure_kind, "failure");
      await w.settled(failing.id, 2);
      const fs = statusesOf(w, "api", failing.sha);
      assert.deepEqual(fs.map((s) => [s.state, s.context]), [
        ["pending", "despacito/api"],
        ["failure", "despacito/api"],
      ]);
      assert.match(fs[1].description, /^Deployment of v2\.1\.0 failed after \d+(ms|s)$/);

      await env.colmena.set({ mode: "ok" });
      await Deno.writeTextFile(`${env.flake.dir}/stray.nix`, "{ }\n");
      const dirty = await fire("2.2.0");
      const e = await env.waitDeployment(dirty.id, (d) => d.status === "failed");
      assert.equal(e.failure_kind, "error");
      assert.match(e.error, /uncommitted changes.*stray\.nix/);
      await w.settled(dirty.id, 2);
      const es = statusesOf(w, "api", dirty.sha);
      assert.deepEqual(es.map((s) => s.state), ["pending", "error"]);
      assert.match(es[1].description, /^Could not deploy v2\.2\.0 after \d+(ms|s)$/);
      assert.equal((await env.colmena.runs()).length, 1, "the dirty repo never reached colmena");
    });
  },
);

Deno.test(
  "runner-triggered deployments of a connected repository get statuses on the locked commit",
  async () => {
    await withWorld({}, async (w) => {
      const { env } = w;
      await w.hooked("webapp", "release");
      // A tag ref without rev=: the commit is known once nix pinned it.
      const tagged = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      }, "?wait=false");
      assert.equal(tagged.status, 202);
      const t = (await tagged.json()).deployment_id;
      await env.waitDeployment(t, (d) => d.status === "deployed");
      await w.settled(t, 2);
      const ts = statusesOf(w, "webapp", env.webapp.tags["v1.1.0"]);
      assert.deepEqual(ts.map((s) => s.state), ["pending", "success"]);
      assert.equal(ts[0].description, "Deploying 1.1.0", "pending once the commit is known");
      assert.match(ts[1].description, /^Deployed 1\.1\.0 in /);

      // No flake_ref: the declared source (the connected repository) at its newest commit.
      const head = await env.webhook({
        package: "webapp",
        version: "1.2.0",
        nix_store_path: STORE_PATH.replace("1.1.0", "1.2.0"),
      }, "?wait=false");
      const h = (await head.json()).deployment_id;
      const d = await env.waitDeployment(h, (d) => d.status === "deployed");
      assert.equal(d.locked_rev, env.webapp.tags["v1.2.0"]);
      const posts = await w.settled(h, 2);
      assert.deepEqual(posts.map((p) => [p.state, p.sha]), [
        ["pending", d.locked_rev],
        ["success", d.locked_rev],
      ]);
      assert.equal(
        posts[0].target_url,
        `${w.base}/deployments/${h}`,
      );

      // An unconnected package gets none.
      const other = await env.webhook({
        package: "api",
        version: "2.0.1",
        nix_store_path: STORE_PATH,
      }, "?wait=false");
      const o = (await other.json()).deployment_id;
      await env.waitDeployment(o, (d) => d.status === "deployed");
      assert.deepEqual((await w.api("GET", `/api/forge/status-posts?deployment_id=${o}`)).json, {
        status_posts: [],
      });
      assert.deepEqual(w.forge.statuses("acme", "api"), []);
    });
  },
);

Deno.test(
  "commit statuses are retried with backoff while the forge is down, and the outcome is visible",
  async () => {
    await withWorld({ DESPACITO_FORGE_STATUS_ATTEMPTS: "3" }, async (w) => {
      const { env, forge } = w;
      const connId = await w.hooked("webapp", "release");
      forge.failNext(/\/statuses\//, 2, 503);
      // colmena holds until the pending status got through, so the two states cannot overlap.
      await env.colmena.set({ mode: "hold" });
      const [res] = await forge.fire(
        "acme",
        "webapp",
        "release",
        releasePayload(forge.url, "acme", "webapp", { tag: "v1.1.0" }),
      );
      const id = (await res.json()).deployment_id;
      await w.settled(id, 1);
      assert.equal((await w.api("GET", `/api/deployments/${id}`)).json.status, "running");
      await env.colmena.release();
      await env.waitDeployment(id, (d) => d.status === "deployed");
      await env.colmena.set({ mode: "ok" });
      const posts = await w.settled(id, 2);
      assert.deepEqual(posts.map((p) => [p.state, p.ok, p.attempts, p.http_status]), [
        ["pending", true, 3, 201],
        ["success", true, 1, 201],
      ]);
      assert.deepEqual(
        forge.calls.filter((c) => c.path.includes("/statuses/")).map((c) => c.status),
        [503, 503, 201, 201],
      );

      // A forge that stays down: the deployment is not held up, the failure is recorded.
      forge.failNext(/\/statuses\//, 1000, 502);
      const [res2] = await forge.fire(
        "acme",
        "webapp",
        "release",
        releasePayload(forge.url, "acme", "webapp", { tag: "v1.2.0" }),
      );
      const id2 = (await res2.json()).deployment_id;
      const d2 = await env.waitDeployment(id2, (d) => d.status === "deployed");
      assert.equal(d2.error, null);
      const failed = await w.settled(id2, 2);
      for (const p of failed) {
        assert.equal(p.ok, false);
        assert.match(
          p.error,
          /^(gave up after 3 attempt\(s\)|superseded by a newer state).*HTTP 502/,
        );
      }
      assert.equal(failed[1].state, "success");
      assert.equal(failed[1].attempts, 3);
      const repo = (await w.api("GET", `/api/repositories/${connId}`)).json;
      assert.equal(repo.last_status_post.deployment_id, id2);
      assert.equal(repo.last_status_post.ok, false);
      assert.match(repo.last_status_post.error, /gave up after 3 attempt\(s\).*HTTP 502/);
    });
  },
);

Deno.test(
  "forge pre-release promoted later (`updated`) deploys through the real pipeline, and a later edit does not redeploy",
  async () => {
    await withWorld({}, async (w) => {
      const { env, forge } = w;
      const connId = await w.hooked("webapp", "release");
      const sha = env.webapp.tags["v1.2.0"];
      const [pre] = await forge.createRelease("acme", "webapp", {
        tag: "v1.2.0",
        draft: false,
        prerelease: true,
        commit: sha,
      });
      assert.deepEqual([pre.status, await pre.json()], [200, {
        status: "ignored",
        reason: "pre-release",
      }]);
      const [promoted] = await forge.updateRelease("acme", "webapp", "v1.2.0", {
        prerelease: false,
      });
      assert.equal(promoted.status, 202);
      const id = (await promoted.json()).deployment_id;
      const d = await env.waitDeployment(id, (d) => d.status === "deployed");
      assert.equal(d.locked_rev, sha);
      assert.deepEqual(d.triggered_by, { kind: "forge", id: connId, label: "acme/webapp" });

      // Editing the notes of the deployed release sends `updated` again: nothing happens.
      const [edited] = await forge.updateRelease("acme", "webapp", "v1.2.0", {});
      assert.equal(edited.status, 200);
      assert.equal((await edited.json()).deployment_id, id);
      const [{ n }] = await env.sql<{ n: number }[]>`
      select count(*)::int as n from deployments where package = 'webapp'`;
      assert.equal(n, 1);
      assert.equal((await env.colmena.runs()).length, 1);
    });
  },
);
