/**
 * Deliveries through a webhook despacito created (the fake forge delivers
 * for real) against despacito as it ships (tests/_harness/forge_world.ts):
 * releases that become final later, tag validation, and deliveries kept
 * pending while despacito cannot act on them (tried again every 15 s, as
 * shipped). What was queued is read from the deployments API; the fixture
 * app repo carries every tag the forge has, so each deployment is real.
 */

import assert from "node:assert/strict";
import { buildDelivery, createPayload, type FakeForgejo } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, type Json, withForgeWorld } from "./_harness/forge_world.ts";
import { waitFor } from "./_harness/server.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";

interface Ctx {
  forge: FakeForgejo;
  w: ForgeWorld;
  id: string;
  /** A new commit of the fixture app repo, tagged `tag` there (a release of the app); its sha. */
  commit(tag: string): Promise<string>;
  /** The same, and the forge has the tag too; its sha. */
  tag(name: string): Promise<string>;
  versions(): Promise<string[]>;
}

/** A connection whose webhook despacito created, so the fake forge delivers for real. */
async function withHook(trigger: "release" | "tag", fn: (t: Ctx) => Promise<void>) {
  await withForgeWorld({}, async (w) => {
    const { forge, env } = w;
    forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
    const res = await w.connect("webapp", PAT, trigger);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    await fn({
      forge,
      w,
      id: res.json.repository.id,
      // One commit per tag: despacito never deploys one revision under two versions.
      commit: (tag) => env.webapp.release(tag.replace(/^v/, "")),
      async tag(name) {
        const sha = await env.webapp.release(name.replace(/^v/, ""));
        forge.addTag("acme", "webapp", name, sha);
        return sha;
      },
      versions: async () => (await w.deployments()).map((d: Json) => d.version),
    });
  });
}

const bodies = async (responses: Response[]) => {
  assert.equal(responses.length, 1, "one hook, one delivery");
  return [responses[0].status, await responses[0].json()];
};

Deno.test("a release deploys when it becomes final by `updated` (promoted pre-release, published draft), once per tag", async () => {
  await withHook("release", async (t) => {
    const { forge } = t;
    // Each really deploys, at the commit the forge said, before the next release comes
    // (a newer version would supersede a queued one).
    const deployed = async (id: string) =>
      (await t.w.env.waitDeployment(id, (d) => d.status === "deployed")).locked_rev;
    // The app's commits the releases will be made on (nix fetches them from the fixture repo).
    const shaA = await t.commit("v2.0.0");
    const shaB = await t.commit("v2.1.0");
    const shaC = await t.commit("v2.2.0");
    // A pre-release: `published`, but not final.
    const [s1, b1] = await bodies(
      await forge.createRelease("acme", "webapp", {
        tag: "v2.0.0",
        draft: false,
        prerelease: true,
        commit: shaA,
      }),
    );
    assert.deepEqual([s1, b1], [200, { status: "ignored", reason: "pre-release" }]);
    // Promoted: Forgejo sends `updated` (the tag exists already).
    const [s2, b2] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.0.0", { prerelease: false }),
    );
    assert.equal(s2, 202);
    assert.equal(b2.status, "queued");
    const [d] = await t.w.deployments();
    assert.equal(d.id, b2.deployment_id);
    assert.equal(d.flake_ref, `${t.w.env.webapp.url}?ref=refs/tags/v2.0.0&rev=${shaA}`);
    // A later edit (notes, assets) is `updated` again: never a second deployment.
    const [s3, b3] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.0.0", { prerelease: false }),
    );
    assert.equal(s3, 200);
    assert.equal(b3.status, "ignored");
    assert.equal(b3.deployment_id, b2.deployment_id);
    assert.match(b3.reason, /release v2\.0\.0 already triggered deployment/);
    assert.deepEqual(await t.versions(), ["v2.0.0"]);
    assert.equal(await deployed(b2.deployment_id), shaA);

    // A draft whose tag already exists, published later: `updated` too.
    forge.addTag("acme", "webapp", "v2.1.0", shaB);
    assert.deepEqual(
      await forge.createRelease("acme", "webapp", {
        tag: "v2.1.0",
        draft: true,
        prerelease: false,
        commit: shaB,
      }),
      [],
      "a draft sends nothing",
    );
    const [s4, b4] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.1.0", { draft: false }),
    );
    assert.equal(s4, 202);
    assert.equal(b4.version, "v2.1.0");
    assert.equal(await deployed(b4.deployment_id), shaB);
    // A draft without its tag: publishing creates the tag, so Forgejo says `published`.
    await forge.createRelease("acme", "webapp", {
      tag: "v2.2.0",
      draft: true,
      prerelease: false,
      commit: shaC,
    });
    const [s5, b5] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.2.0", { draft: false, commit: shaC }),
    );
    assert.equal(s5, 202);
    assert.equal(await deployed(b5.deployment_id), shaC);
    assert.deepEqual(await t.versions(), ["v2.0.0", "v2.1.0", "v2.2.0"]);
  });
});

Deno.test("a forge tag passes the webhook's validation and must exist before anything is queued", async () => {
  await withHook("tag", async (t) => {
    const { forge, id } = t;
    const [hook] = forge.hooks("acme", "webapp");
    const send = async (ref: string) => {
      const d = await buildDelivery({
        event: "create",
        payload: createPayload(forge.url, "acme", "webapp", {
          ref,
          refType: "tag",
          sha: "1111111111111111111111111111111111111111",
        }),
        secret: hook.secret,
      });
      const r = await t.w.post(id, d.body, d.headers);
      return [r.status, await r.json()];
    };
    for (
      const bad of [
        "v1\u0000",
        "x".repeat(300),
        "-x",
        "--upload-pack=touch /tmp/pwned",
        "v1\u202Egnp",
        "v\u200B1",
        "v1\n",
        "a..b",
      ]
    ) {
      const [status, body] = await send(`refs/tags/${bad}`);
      assert.equal(status, 400, JSON.stringify(bad));
      assert.equal(body.error.code, "invalid_request");
      assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["tag"]);
    }
    const [status, body] = await send("refs/tags/v9.9.9");
    assert.equal(status, 422);
    assert.equal(body.error.code, "tag_not_found");
    assert.deepEqual(await t.w.deployments(), [], "nothing queued");
    assert.deepEqual(
      await t.w.env.flake.log(),
      ["lock inputs", "deployment flake"],
      "nothing written",
    );
    const repo = (await t.w.api("GET", `/api/repositories/${id}`)).json;
    assert.match(repo.last_delivery.result, /^rejected: .*no tag "v9\.9\.9"/);
  });
});

Deno.test("a delivery despacito cannot act on yet is kept (202 pending), shown, and handled once it can", async () => {
  await withHook("tag", async (t) => {
    const { forge, id, w } = t;
    const sha = await t.tag("v3");
    // The flake dir becomes unusable: its flake.lock is gone (an operator mid-edit).
    const lock = `${w.env.flake.dir}/flake.lock`;
    await Deno.rename(lock, `${lock}.away`);
    const [status, body] = await bodies(
      await forge.fire(
        "acme",
        "webapp",
        "create",
        createPayload(forge.url, "acme", "webapp", {
          ref: "refs/tags/v3",
          refType: "tag",
          sha,
        }),
      ),
    );
    assert.equal(status, 202, "not a 503: Forgejo would never send it again");
    assert.equal(body.status, "pending");
    assert.match(body.reason, /has no readable flake\.nix and flake\.lock/);
    const shown = (await w.api("GET", `/api/repositories/${id}`)).json;
    assert.match(
      shown.last_delivery.result,
      /^pending \(the flake dir .* has no readable flake\.nix/,
    );
    assert.deepEqual(await t.versions(), []);

    await Deno.rename(`${lock}.away`, lock); // the operator fixed the flake dir
    const result = await waitFor("the pending delivery handled", async () => {
      const r = (await w.api("GET", `/api/repositories/${id}`)).json.last_delivery.result;
      return r === "queued" ? r : undefined;
    });
    assert.equal(result, "queued");
    assert.deepEqual(await t.versions(), ["v3"]);
    const [{ n }] = await w.env.sql`
      select count(*)::int as n from forge_delivery where pending_payload is not null`;
    assert.equal(n, 0);
    const [d] = await w.deployments();
    const done = await w.env.waitDeployment(d.id, (d) => d.status === "deployed");
    assert.equal(done.locked_rev, sha);
  });
});

Deno.test("a pending delivery is dropped once a later one deployed, and given up after its deadline", async () => {
  await withHook("tag", async (t) => {
    const { forge, id, w } = t;
    const shas: Record<string, string> = {};
    for (const v of ["v4", "v5", "v6"]) shas[v] = await t.tag(v);
    const fire = (v: string) =>
      forge.fire(
        "acme",
        "webapp",
        "create",
        createPayload(forge.url, "acme", "webapp", {
          ref: `refs/tags/${v}`,
          refType: "tag",
          sha: shas[v],
        }),
      );
    // The forge does not answer the lookup of v4 (nor, later, of v6): those deliveries wait.
    forge.failNext(/\/tags\/v4$/, 1000, 503);
    forge.failNext(/\/tags\/v6$/, 1000, 503);
    const [v4] = await fire("v4");
    assert.equal(v4.status, 202);
    assert.equal((await v4.json()).status, "pending");
    // v5 arrives, can be acted on, and deploys first: v4 must never follow it.
    const [v5] = await fire("v5");
    assert.equal(v5.status, 202);
    const v5id = (await v5.json()).deployment_id;
    await w.env.waitDeployment(v5id, (d) => d.status === "deployed");

    // Past its deadline a pending delivery is given up, with what to do.
    const [v6] = await fire("v6");
    assert.equal((await v6.json()).status, "pending");
    await w.env.sql`update forge_delivery set retry_until = now() - interval '1 second'
                    where pending_payload is not null
                      and received_at = (select max(received_at) from forge_delivery)`;
    // Both are settled at the next retry (every 15 s as shipped).
    const [dropped] = await waitFor("v4 dropped", async () => {
      const rows = await w.env.sql<{ outcome: string }[]>`
        select outcome from forge_delivery where pending_payload is null and outcome like 'dropped:%'`;
      return rows.length > 0 ? rows : undefined;
    });
    assert.match(dropped.outcome, /a later delivery deployed first/);
    const gaveUp = await waitFor("v6 given up", async () => {
      const r = (await w.api("GET", `/api/repositories/${id}`)).json.last_delivery.result;
      return /^not processed/.test(r) ? r : undefined;
    });
    assert.match(gaveUp, /replay it from the forge/);
    assert.deepEqual(await t.versions(), ["v5"]);
    const tagLookups = forge.calls.filter((c) => c.path.includes("/tags/")).map((c) => c.path);
    assert.equal(
      tagLookups.filter((p) => p.endsWith("/v4")).length,
      1,
      "the dropped delivery was not looked up again",
    );
  });
});
